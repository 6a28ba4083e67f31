"""A bounded schemathesis run over /api/v1, from the API's own OpenAPI document.

A logged-in admin (the session cookie and the X-CSRF-Token header) sends what schemathesis
generates from each operation's schema, valid (positive) and not (negative), to a real
WMI2 (``wmi2 web`` over HTTPS, and a worker on a sandbox root that applies every change
the API accepts). Some of the cases use known names in the path and bodies built to be
valid (``VALID_BODIES``: a few logins and groups created, changed, joined, left and deleted
in turn), or the worker would hardly ever get a change: a random string is rarely a valid
login. Jobs that fail at the worker are printed, not failed on: two requests for one
change pass the API's check before the first is applied (the second delete finds no user).
It must hold:

- no answer is a 5xx (``not_a_server_error``);
- every answer is documented: its status code, its content type, its body's schema and
  its headers (``status_code_conformance``, ``content_type_conformance``,
  ``response_schema_conformance``, ``response_headers_conformance``), and what breaks the
  schema is refused (``negative_data_rejection``);
- once the jobs are over, ``pwck -r -R SYSROOT`` and ``grpck -r -R SYSROOT`` find nothing.

Bounded: Hypothesis derandomized (the same cases each run), at most ``EXAMPLES`` cases per
operation, no shrinking, and a ``BUDGET`` in seconds after which the remaining cases are
skipped (the test says how many requests it made; it never fails on time).

Left out, so that the fuzzer does not end its own run:

- ``DELETE /api/v1/session`` logs the fuzzer out: every later request would be a 401.

The fuzzer is an admin of its own (``fuzzer``), not the fixture's: ``PATCH
/api/v1/accounts/{login}`` may then disable or demote the fixture's admin and viewer
(the API refuses an admin's change to its own account), and is fuzzed like the rest.

pwck on a sandbox: ``-R SYSROOT`` works (it chroots, as root), but a sandbox is not a whole
system: the system accounts' homes (/usr/sbin, /var/www…) and shells (/usr/sbin/nologin)
do not exist in it, nor does the home of a user made with ``create_home: false``, and pwck
counts each as a bad entry (exit 2). So the test first creates, inside SYSROOT only, every
home directory and shell that passwd names, then demands a clean exit and no message.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.common.sessions import COOKIE
from tests.conftest import HOST
from tests.support.api import logged_in_client, run_ok
from tests.support.wait import wait_for

EXAMPLES = 16  # cases per operation, positive and negative together
BUDGET = 30.0  # seconds of fuzzing; the cases left when it is spent are skipped
FUZZER = ("fuzzer", "fuzzer-password-1")
EXCLUDED = {("DELETE", "/api/v1/session")}
# A few names the fuzzer's valid bodies create, change and delete again and again.
LOGINS = ["fuzzed", "fz1", "fz2", "fz3"]
GROUPS = ["fuzzgroup", "fzg1", "fzg2", "users"]
# Names given to path parameters some of the time: a random login is almost always a 404,
# and the worker would have nothing to apply.
KNOWN = {"host": [HOST], "login": [*LOGINS, "admin", "viewer", "fuzzer"], "name": GROUPS}
_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\0"), min_size=1, max_size=24)
_GECOS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ.'-", max_size=24)
_SHELLS = st.sampled_from(["/bin/sh", "/bin/bash", "/usr/sbin/nologin"])
_SOME_GROUPS = st.lists(st.sampled_from(GROUPS), max_size=2)
# Bodies the API should accept, by schema: a random string is almost never a valid login,
# so without these the fuzzer would hardly ever get a change through to the worker.
VALID_BODIES: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "UserCreateIn": st.fixed_dictionaries(
        {"login": st.sampled_from(LOGINS[1:])},
        optional={
            "full_name": _GECOS,
            "shell": _SHELLS,
            "groups": _SOME_GROUPS,
            "password": _TEXT,
            "create_home": st.booleans(),
        },
    ),
    "UserPatchIn": st.fixed_dictionaries(
        {},
        optional={
            "full_name": _GECOS,
            "shell": _SHELLS,
            "groups_add": _SOME_GROUPS,
            "groups_remove": _SOME_GROUPS,
        },
    ),
    "PasswordIn": st.fixed_dictionaries({"password": _TEXT}),
    "GroupCreateIn": st.fixed_dictionaries({"name": st.sampled_from(GROUPS[1:3])}),
    "MembersIn": st.fixed_dictionaries({"logins": st.lists(st.sampled_from(LOGINS), min_size=1, max_size=2)}),
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]

pytestmark = pytest.mark.timeout(170)


class Tally:
    def __init__(self, budget: float) -> None:
        self.deadline = time.monotonic() + budget
        self.statuses: Counter[int] = Counter()
        self.by_operation: Counter[str] = Counter()
        self.skipped = 0
        self.failures: list[str] = []

    def spent(self) -> bool:
        return time.monotonic() > self.deadline


def strategies(operation: schemathesis.APIOperation, auth: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Valid and invalid cases, half of them on known names; the session always given (as
    fixed values, so that a negative case never counts on a missing cookie or header)."""
    names = {p.name for p in operation.path_parameters}
    fixed = {name: st.sampled_from(KNOWN[name]) for name in names & KNOWN.keys()}
    options = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        try:
            generated = operation.as_strategy(generation_mode=mode, **auth)
        except Exception:  # nothing to negate: no parameters, no body
            continue
        options.append(generated)
        if fixed:
            options.append(
                st.fixed_dictionaries(fixed).flatmap(
                    lambda params, mode=mode: operation.as_strategy(
                        generation_mode=mode, path_parameters=params, **auth
                    )
                )
            )
    valid = VALID_BODIES.get(_body_schema(operation))
    if valid is not None:
        options.append(
            st.tuples(st.fixed_dictionaries(fixed), valid).flatmap(
                lambda both: operation.as_strategy(path_parameters=both[0] or None, body=both[1], **auth)
            )
        )
    return st.one_of(options)


def _body_schema(operation: schemathesis.APIOperation) -> str:
    body = operation.definition.raw.get("requestBody", {}).get("content", {}).get("application/json", {})
    return str(body.get("schema", {}).get("$ref", "")).rsplit("/", 1)[-1]


def fuzz(operation: schemathesis.APIOperation, base_url: str, auth: dict[str, Any], tally: Tally) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    http = requests.Session()
    http.verify = False

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
              print_blob=False)  # fmt: skip
    @given(case=strategies(operation, auth))
    def one(case: schemathesis.Case) -> None:
        if tally.spent():
            tally.skipped += 1
            return
        response = case.call(base_url=base_url, session=http, timeout=30, verify=False)
        tally.statuses[response.status_code] += 1
        tally.by_operation[label] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, FailureGroup) as failure:
            if len(tally.failures) < 20:
                tally.failures.append(f"{label}: {failure}")

    try:
        one()
    finally:
        http.close()


def complete_for_pwck(sysroot: Path) -> None:
    """Create what passwd names but a sandbox lacks (see the module's docstring), inside it."""
    root = sysroot.resolve()
    for line in (sysroot / "etc" / "passwd").read_text().splitlines():
        fields = line.split(":")
        if len(fields) != 7:
            continue  # pwck will say what is wrong with it
        home, shell = (root / fields[5].lstrip("/")).resolve(), (root / fields[6].lstrip("/")).resolve()
        if home.is_relative_to(root) and not home.exists():
            home.mkdir(parents=True)
        if fields[6] and shell.is_relative_to(root) and not shell.exists():
            shell.parent.mkdir(parents=True, exist_ok=True)
            shell.touch(mode=0o755)


def check_tool(tool: str, sysroot: Path) -> None:
    done = subprocess.run([tool, "-r", "-R", str(sysroot)], capture_output=True, text=True, timeout=60)
    output = (done.stdout + done.stderr).replace(f"{tool}: no changes\n", "")
    assert done.returncode == 0 and not output.strip(), (
        f"{tool} -r -R {sysroot}: exit {done.returncode}\n{output}"
    )


def test_fuzz_api(admin: httpx.Client, web: Any, sysroot: Path) -> None:
    made = admin.post("/api/v1/accounts", json={"login": FUZZER[0], "password": FUZZER[1], "role": "admin"})
    assert made.status_code == 201, made.text
    run_ok(admin, "POST", "/api/v1/groups", json={"name": "fuzzgroup"})
    run_ok(
        admin,
        "POST",
        "/api/v1/users",
        json={"login": "fuzzed", "full_name": "Fuzz Ed", "password": "fuzzed-pw-1"},
    )
    document = admin.get("/api/v1/openapi.json").json()

    fuzzer = logged_in_client(web.url, *FUZZER)
    auth = {"headers": {"X-CSRF-Token": fuzzer.headers["X-CSRF-Token"]},
            "cookies": {COOKIE: fuzzer.cookies[COOKIE]}}  # fmt: skip
    schema = schemathesis.openapi.from_dict(document)
    tally = Tally(BUDGET)
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) not in EXCLUDED:
            fuzz(operation, web.url, auth, tally)
    elapsed = time.monotonic() - started
    made = sum(tally.statuses.values())
    print(f"\nschemathesis {schemathesis.__version__}: {made} requests in {elapsed:.1f} s over "
          f"{len(tally.by_operation)} operations ({tally.skipped} cases skipped past the budget); "
          f"statuses {dict(sorted(tally.statuses.items()))}")  # fmt: skip

    assert made > 0
    assert not tally.failures, "\n\n".join(tally.failures)
    assert not [s for s in tally.statuses if s >= 500], tally.statuses

    # Every job the fuzzer got accepted has run before the files are checked (asked as the
    # fuzzer: it may have disabled the fixture's admin).
    def settled() -> Counter[str] | None:
        jobs = fuzzer.get("/api/v1/jobs", params={"limit": 500}).json()
        states = Counter(job["state"] for job in jobs)
        return None if states.keys() - {"succeeded", "failed", "cancelled", "scheduled"} else states

    print("jobs:", dict(wait_for(settled, timeout=60, what="the fuzzer's jobs to finish")))
    for job in fuzzer.get("/api/v1/jobs", params={"limit": 500, "state": "failed"}).json():
        print(
            f"  failed: {job['action']} {job['target']}: {job['error']}"
        )  # a refusal the api could not foresee
    complete_for_pwck(sysroot)
    check_tool("pwck", sysroot)
    check_tool("grpck", sysroot)
    fuzzer.close()
