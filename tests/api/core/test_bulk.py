"""Bulk actions on a selection (``POST /api/v1/users/bulk``, services/api/core/bulk.py): one
job, one row per user, each row's outcome in the job, the host's files as the single changes
would leave them."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import crypt_r
import redis
from sqlalchemy import update

from services.common import keys
from services.common.db import Job
from tests.support.inprocess import Host
from tests.support.jobs import events
from tests.support.oracle import check_with_the_tools
from tests.support.sandbox_files import entry, members
from tests.support.seed import seed_users

BULK = "/api/v1/users/bulk"


def _shadow_hash(sysroot: Path, login: str) -> str:
    fields = entry(sysroot, "shadow", login)
    assert fields is not None
    return fields[1]


def _bulk(host: Host, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The 202 answer and the finished job."""
    admin = host.api.admin()
    answer = admin.post(BULK, json=body)
    assert answer.status_code == 202, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.json()["id"] in host.worker.run_queued()
    job = admin.get(answer.headers["Location"]).json()
    return answer.json(), job


def test_a_bulk_lock_is_one_job_with_a_row_per_user(host: Host, redis_client: redis.Redis) -> None:
    logins = seed_users(host.sysroot, 250)
    host.worker.reread()
    answer, job = _bulk(host, {"logins": logins, "action": "lock"})
    assert answer["rows"] == 250 and answer["skipped"] == [] and answer["credentials"] == []
    assert job["state"] == "succeeded" and job["action"] == "batch" and job["target"] == "250 users"
    assert job["result"] == "250 of 250 changes made."
    mine = events(redis_client, job["id"])
    progress = [(e["data"]["done"], e["data"]["total"]) for e in mine if e["type"] == "job.progress"]
    assert progress == [(100, 250), (200, 250), (250, 250)]
    types = [e["type"] for e in mine]
    assert types[:2] == ["job.queued", "job.running"] and types[-1] == "job.succeeded"
    assert types.index("user.updated") < types.index("job.progress"), "the accounts are announced first"
    assert [r["target"] for r in job["rows"]] == logins
    assert all(r["action"] == "user.lock" and r["result"] and r["error"] is None for r in job["rows"])
    assert all(_shadow_hash(host.sysroot, login).startswith("!") for login in logins)
    listed = host.api.admin().get("/api/v1/users", params={"locked": "true", "system": "false"}).json()
    assert listed["total"] == 250
    check_with_the_tools(host.sysroot)


def test_add_and_remove_groups_leave_out_those_already_so(host: Host) -> None:
    logins = seed_users(host.sysroot, 5, groups={"choir": [0, 1]})
    host.worker.reread()
    answer, job = _bulk(host, {"logins": logins, "action": "add_groups", "groups": ["choir", "video"]})
    assert answer["rows"] == 5 and answer["skipped"] == []
    assert set(members(host.sysroot, "choir")) >= set(logins) and set(members(host.sysroot, "video")) >= set(
        logins
    )
    answer, job = _bulk(host, {"logins": logins[:3], "action": "remove_groups", "groups": ["video"]})
    assert job["state"] == "succeeded" and answer["rows"] == 3
    assert not set(members(host.sysroot, "video")) & set(logins[:3])
    again = host.api.admin().post(
        BULK, json={"logins": logins[:3], "action": "remove_groups", "groups": ["video"]}
    )
    assert again.status_code == 409, again.text  # nothing left to do for any of them
    mixed, _job = _bulk(host, {"logins": logins, "action": "remove_groups", "groups": ["video"]})
    assert mixed["rows"] == 2 and [s["login"] for s in mixed["skipped"]] == logins[:3]
    assert "already is as requested" in mixed["skipped"][0]["reason"]
    check_with_the_tools(host.sysroot)


def test_generated_passwords_are_in_the_answer_alone(host: Host, redis_client: redis.Redis) -> None:
    logins = seed_users(host.sysroot, 4)
    host.worker.reread()
    answer, job = _bulk(host, {"logins": logins, "action": "generate_passwords"})
    credentials = {c["login"]: c["password"] for c in answer["credentials"]}
    assert sorted(credentials) == sorted(logins) and len(set(credentials.values())) == 4
    for login, password in credentials.items():
        stored = _shadow_hash(host.sysroot, login)
        assert stored.startswith("$6$") and crypt_r.crypt(password, stored) == stored
    # Neither the clear text nor the hash is in the job, its events, the queue or Redis.
    text = (
        str(job)
        + str(redis_client.xrange(keys.EVENT_STREAM))
        + str([redis_client.dump(k) for k in redis_client.scan_iter()])
    )
    for login, password in credentials.items():
        assert password not in text and _shadow_hash(host.sysroot, login) not in text
    assert all(row["password_hash"] == "(set)" for row in (r["params"] for r in job["params"]["rows"]))


def test_an_unknown_login_refuses_the_request_and_nothing_changes(host: Host) -> None:
    logins = seed_users(host.sysroot, 3)
    host.worker.reread()
    before = (host.sysroot / "etc" / "shadow").read_bytes()
    refused = host.api.admin().post(BULK, json={"logins": [*logins, "nobody-here"], "action": "lock"})
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["errors"] == [
        {"field": "logins.3", "problem": "nobody-here: There is no user 'nobody-here' on host 'apihost'."}
    ]
    assert (host.sysroot / "etc" / "shadow").read_bytes() == before
    assert host.api.admin().get("/api/v1/jobs").json() == []
    for body in ({"logins": [], "action": "lock"}, {"logins": logins, "action": "explode"},
                 {"logins": logins, "action": "add_groups"},
                 {"logins": logins, "action": "lock", "groups": ["users"]}):  # fmt: skip
        assert host.api.admin().post(BULK, json=body).status_code == 422, body


def test_a_row_refused_by_the_host_fails_alone(host: Host) -> None:
    """A user removed behind WMI2's back between the request and the job: its row fails,
    the others are made, and the job says how many."""
    logins = seed_users(host.sysroot, 3)
    host.worker.reread()
    admin = host.api.admin()
    answer = admin.post(BULK, json={"logins": logins, "action": "delete", "home": "keep"})
    assert answer.status_code == 202, answer.text
    shadow = host.sysroot / "etc" / "shadow"
    for name in ("passwd", "shadow"):
        path = host.sysroot / "etc" / name
        path.write_text(
            "".join(
                line for line in path.read_text().splitlines(True) if not line.startswith(logins[1] + ":")
            )
        )
    assert entry(host.sysroot, "passwd", logins[1]) is None and shadow.exists()
    host.worker.run_queued()
    job = admin.get(answer.headers["Location"]).json()
    assert job["state"] == "succeeded" and job["result"] == "2 of 3 changes made; 1 refused (see each row)."
    failed = [r for r in job["rows"] if r["error"]]
    assert [r["target"] for r in failed] == [logins[1]] and failed[0]["result"] is None
    assert all(entry(host.sysroot, "passwd", login) is None for login in logins)


def test_a_batch_delivered_again_does_not_apply_its_rows_twice(host: Host) -> None:
    """Its worker died after the set was written, before the job was finished: delivered
    again, the rows found on the host are done, and only the others are applied."""
    logins = seed_users(host.sysroot, 3)
    host.worker.reread()
    admin = host.api.admin()
    answer = admin.post(BULK, json={"logins": logins, "action": "delete", "home": "keep"})
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    # The earlier delivery: claimed (attempt 1), and the first two rows made on the host.
    with host.api.db() as db:
        db.execute(update(Job).where(Job.id == job_id).values(state="running", attempts=1))
        db.commit()
    for login in logins[:2]:
        subprocess.run(["userdel", "-P", str(host.sysroot), "--", login], check=True)
    host.worker.run_queued()
    job = admin.get(f"/api/v1/jobs/{job_id}").json()
    assert job["state"] == "succeeded" and job["result"] == "3 of 3 changes made.", job
    assert [r["result"].startswith("Done: the change had reached the host") for r in job["rows"]] == [
        True, True, False
    ]  # fmt: skip
    assert all(entry(host.sysroot, "passwd", login) is None for login in logins)
    check_with_the_tools(host.sysroot)


def test_the_job_page_shows_each_row_and_how_it_ended(host: Host) -> None:
    logins = seed_users(host.sysroot, 3)
    host.worker.reread()
    _answer, job = _bulk(host, {"logins": logins, "action": "lock"})
    page = host.api.admin().get(f"/jobs/{job['id']}/")
    assert page.status_code == 200 and "3, one per row below" in page.text
    for login in logins:
        assert f'<th scope="row">{login}</th>' in page.text
    # Each row's badge (the job's own is a live one: it has a data-badge too).
    assert page.text.count('badge-succeeded">succeeded') == 3
    assert "password_hash" not in page.text
