"""Hostile values in every string field of every mutating route: refused, and nothing changes.

The corpus and the routes are in :mod:`tests.security.hostile` (the routes and their
fields come from the OpenAPI document). Each hostile value goes into one place (a body
property, a path or query parameter) of a request whose other fields are valid; the answer
must be a 4xx with a JSON ``detail`` sentence (413 or 422 for the 10 MB value), and no job
may be recorded.

Two runs, each on the cheapest fixture that tells the truth about it:

- the api alone (a hand-written read model, no worker): first every place of every mutating
  route with a *valid* value, which must be accepted (2xx, or 409 when it would change
  nothing), so that a refusal below is the hostile value's doing and not a broken
  request's; then the hostile values into the routes that make no job (the login, the WMI
  accounts, a job's cancel), which touch no host file. The values a field may take (any
  password but one holding NUL, a few full names: ``hostile.MAY_ACCEPT``) are left out of
  this run: it could not tell what accepting them did;
- a whole WMI2 (api, worker, sandbox root), over the routes that may make a job (a
  documented 202): the hostile values, and the sandbox's account files and home listing
  must stay byte-identical. A value a field may take and that is accepted must make a job
  that succeeds and changes only the lines of the account it names, with the value as sent
  (the full name in passwd; in shadow, a hash that crypt(3) matches with the password),
  for a sample of them (``hostile.PROBED``: each costs a job).

10 MB is sent once per route that takes a body, into its first string field (a path or
query parameter that long is refused by the HTTP server before the API sees it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import crypt_r
import httpx
import pytest
from sqlalchemy import delete, func, select

from services.common.db import Admin, Job, sessionmaker_for
from services.common.settings import Settings
from tests.conftest import ADMIN as STACK_ADMIN
from tests.conftest import HOST as STACK_HOST
from tests.security import hostile
from tests.support.api import run_ok, wait_job
from tests.support.api_app import ADMIN, HOST, ApiWorld
from tests.support.sandbox_files import ACCOUNT_FILES, entry, snapshot

pytest_plugins = ["tests.support.api_fixtures"]
pytestmark = pytest.mark.timeout(170)

TARGET_ACCOUNT = "hvtarget"


def send(client: httpx.Client, req: hostile.Request, *, follow: bool = True) -> httpx.Response:
    """The answer, after the redirects a client would follow on the same origin (see
    ``test_a_mutation_is_never_redirected``)."""
    response = client.request(req.method, req.url, json=req.json)
    for _ in range(3 if follow else 0):
        target = response.url.join(response.headers.get("location", ""))
        if response.status_code not in (307, 308) or target.netloc != response.url.netloc:
            break
        response = client.request(req.method, target, json=req.json)
    return response


def refusal_problem(req: hostile.Request, response: httpx.Response) -> str | None:
    """Why ``response`` is not a proper refusal of ``req``, or None."""
    expected = (413, 422) if req.value is hostile.HUGE else range(400, 500)
    if response.status_code not in expected:
        return f"{req.describe()}: {response.status_code} {response.text[:300]}"
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    if not isinstance(detail, str) or not detail:
        return f"{req.describe()}: {response.status_code} without a JSON detail: {response.text[:300]}"
    return None


class JobCount:
    """How many jobs the database holds, asked through one engine."""

    def __init__(self, url: str) -> None:
        self.sessions = sessionmaker_for(url)

    def __call__(self) -> int:
        with self.sessions() as db:
            return db.scalar(select(func.count()).select_from(Job)) or 0


def _drop_accounts(url: str) -> None:
    with sessionmaker_for(url)() as db:
        db.execute(delete(Admin).where(Admin.login.startswith("hv")))
        db.commit()


def test_the_api_refuses_hostile_values(api: ApiWorld) -> None:
    admin = api.admin()
    made = admin.post("/api/v1/accounts", json={"login": TARGET_ACCOUNT, "password": "hv-password-1"})
    assert made.status_code == 201, made.text
    try:
        locked = admin.post("/api/v1/users/alice/lock")
        assert locked.status_code == 202, locked.text
        world = hostile.World(host=HOST, user="alice", outsider="bob", group="devs", account=TARGET_ACCOUNT,
                              login=ADMIN, job=locked.json()["id"])  # fmt: skip
        document = admin.get("/api/v1/openapi.json").json()
        jobs = JobCount(api.settings.resolved_database_url)
        problems = []
        for req in hostile.controls(world, document):
            response = send(admin, req)
            if not (response.is_success or response.status_code == 409):
                problems.append(f"control {req.describe()}: {response.status_code} {response.text[:300]}")
        refused = "\n".join(problems)
        assert not problems, f"valid requests refused, the test below would prove nothing:\n{refused}"

        requests = hostile.hostile_requests(world, document, jobs=False, refusable_only=True)
        for req in requests:
            before = jobs()
            response = send(admin, req)
            if response.is_success and hostile.may_accept(req):
                continue
            problem = refusal_problem(req, response)
            if problem is None and jobs() != before:
                problem = f"{req.describe()}: refused, but a job was recorded"
            if problem is not None:
                problems.append(problem)
        print(f"\n{len(requests)} hostile requests over {len(hostile.routes(document, jobs=False))} routes")
        assert not problems, "\n".join(problems)
    finally:
        _drop_accounts(api.settings.resolved_database_url)


def _only_changed(before: dict[str, bytes], after: dict[str, bytes], name: str) -> list[str]:
    """What changed in ``after`` but the lines (and home) of ``name``."""
    changed = []
    for file in ACCOUNT_FILES:
        keep = [line for line in before[file].split(b"\n") if not line.startswith(name.encode() + b":")]
        now = [line for line in after[file].split(b"\n") if not line.startswith(name.encode() + b":")]
        if keep != now:
            changed.append(file)
    homes = {h for h in before["home/"].split(b"\n") if h != name.encode()}
    if homes != {h for h in after["home/"].split(b"\n") if h != name.encode()}:
        changed.append("home/")
    return changed


def _accepted_problem(
    req: hostile.Request, job: dict[str, Any], sysroot: Path, before: dict[str, bytes]
) -> str | None:
    """An accepted value must have done what was asked, to its own account only."""
    body = req.json or {}
    name = body.get("login") or req.url.split("/users/", 1)[-1].split("/", 1)[0]
    if job["state"] != "succeeded":
        return f"{req.describe()}: accepted, but its job {job['state']}: {job.get('error')}"
    changed = _only_changed(before, snapshot(sysroot), name)
    if changed:
        return f"{req.describe()}: changed {changed} beyond the account {name!r}"
    if req.place.name == "full_name":
        passwd = entry(sysroot, "passwd", name)
        if passwd is None or passwd[4] != req.value:
            return f"{req.describe()}: the passwd line of {name!r} is {passwd}"
    if req.place.name == "password":
        shadow = entry(sysroot, "shadow", name)
        if shadow is None or crypt_r.crypt(req.value, shadow[1]) != shadow[1]:
            return f"{req.describe()}: the shadow hash of {name!r} is not the password's"
    return None


def test_hostile_values_change_nothing_on_the_host(
    admin: httpx.Client, sysroot: Path, settings: Settings
) -> None:
    run_ok(admin, "POST", "/api/v1/groups", json={"name": "devs"})
    run_ok(
        admin, "POST", "/api/v1/users", json={"login": "alice", "groups": ["devs"], "password": "alice-pw-1"}
    )
    job = run_ok(admin, "POST", "/api/v1/users", json={"login": "bob"})
    made = admin.post("/api/v1/accounts", json={"login": TARGET_ACCOUNT, "password": "hv-password-1"})
    assert made.status_code == 201, made.text
    world = hostile.World(host=STACK_HOST, user="alice", outsider="bob", group="devs", account=TARGET_ACCOUNT,
                          login=STACK_ADMIN, job=job["id"])  # fmt: skip
    document = admin.get("/api/v1/openapi.json").json()
    jobs = JobCount(settings.resolved_database_url)

    problems, accepted, sent = [], 0, 0
    tried: set[tuple[str, str, str]] = set()
    files = snapshot(sysroot)
    for req in hostile.hostile_requests(world, document, jobs=True):
        if hostile.may_accept(req):
            # Followed to the files for a sample of the values (hostile.PROBED), once per body
            # field and value: each makes a job, for a second or so.
            if req.value not in hostile.PROBED or (req.place.schema, req.place.name, req.value) in tried:
                continue
            tried.add((req.place.schema, req.place.name, req.value))
        before = jobs()
        response = send(admin, req)
        sent += 1
        if response.is_success and hostile.may_accept(req):
            if response.status_code == 202:
                accepted += 1
                problem = _accepted_problem(req, wait_job(admin, response), sysroot, files)
                files = snapshot(sysroot)
                if problem is not None:
                    problems.append(problem)
            continue
        problem = refusal_problem(req, response)
        if problem is None and jobs() != before:
            problem = f"{req.describe()}: refused, but a job was recorded"
        if problem is not None:
            problems.append(problem)
    print(f"\n{sent} hostile requests over {len(hostile.routes(document, jobs=True))} routes, "
          f"{accepted} accepted where a field may take the value")  # fmt: skip
    assert not problems, "\n".join(problems)
    after = snapshot(sysroot)
    assert after == files, [name for name in files if files[name] != after[name]]


def test_a_mutation_is_never_redirected(api: ApiWorld) -> None:
    """Found by the hostile corpus: an encoded '/' in a path parameter was decoded before
    routing, and Starlette's redirect_slashes answered PATCH/DELETE /api/v1/users/..%2F with
    a 307 to /api/v1/users/.. (which a client resolves to /api/v1). Fix: a path holding an
    encoded '/' is a 404 before routing (services/api/fastpath.py, EncodedSlash)."""
    world = hostile.World(host=HOST, user="alice", outsider="bob", group="devs", account=TARGET_ACCOUNT,
                          login=ADMIN)  # fmt: skip
    document = api.admin().get("/api/v1/openapi.json").json()
    admin = api.admin()
    redirected = []
    for route in hostile.routes(document):
        for place in route.places:
            if place.where == "path":
                req = hostile.request(world, route, place, "../")
                response = send(admin, req, follow=False)
                if response.is_redirect:
                    redirected.append(
                        f"{req.describe()}: {response.status_code} to {response.headers['location']}"
                    )
    assert not redirected, "\n".join(redirected)


def test_a_huge_page_or_offset_is_no_server_error(api: ApiWorld) -> None:
    """Found by the fuzzer on /api/v1/audit: an OFFSET past SQLite's 64 bits was a 500."""
    admin, huge = api.admin(), "9" * 20
    answers = {
        path: admin.get(path).status_code
        for path in (f"/api/v1/jobs?offset={huge}", f"/api/v1/audit?offset={huge}", f"/audit/?page={huge}",
                     f"/jobs/?page={huge}", f"/users/?page={huge}", f"/groups/?page={huge}")
    }  # fmt: skip
    assert all(code < 500 for code in answers.values()), answers
