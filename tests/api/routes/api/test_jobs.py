"""Good mutations become jobs (row, event, Celery message); reads come from the read model and job table."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import crypt_r
import orjson
import pytest
from sqlalchemy import select, update

from services.common import keys, tasks
from services.common.accounts import Group
from services.common.db import AuditEntry, Job, utcnow
from tests.support.api_app import ADMIN, HOST, ApiWorld, queued_messages
from tests.support.redis_dump import redis_dump

PASSWORD = "Tr0ub4dor&3-api-marker"


def _events(api: ApiWorld) -> list[dict[str, Any]]:
    return [{"id": i.decode(), **orjson.loads(f[b"d"])} for i, f in api.redis.xrange(keys.EVENT_STREAM)]


def _redis_dump(api: ApiWorld) -> bytes:
    """Every key and value; queued messages also with their bodies decoded."""
    decoded = [orjson.dumps(m["args"]) for m in queued_messages(api.redis)]
    return b"\n".join([redis_dump(api.redis), *decoded])


def test_a_new_user_becomes_a_job_an_event_and_a_message_carrying_only_a_hash(api: ApiWorld) -> None:
    body = {
        "login": "zoe",
        "full_name": "Zoe Z",
        "shell": "/bin/bash",
        "groups": ["devs"],
        "password": PASSWORD,
    }
    response = api.admin().post("/api/v1/users", json=body)
    assert response.status_code == 202, response.text
    accepted = response.json()
    job_id = accepted["id"]
    assert accepted == {"id": job_id, "state": "queued", "url": f"/api/v1/jobs/{job_id}"}
    assert response.headers["location"] == accepted["url"]

    job = api.job(job_id)
    assert job is not None and (job.state, job.action, job.target, job.actor, job.host) == (
        "queued", "user.create", "zoe", ADMIN[0], HOST)  # fmt: skip
    assert job.params["password_hash"] == "(set)" and job.params["groups"] == ["devs"]

    [event] = [e for e in _events(api) if e["type"] == "job.queued"]
    assert (event["job"], event["actor"], event["host"]) == (job_id, ADMIN[0], HOST)
    assert event["data"] == {"action": "user.create", "target": "zoe"}

    [message] = queued_messages(api.redis)
    assert message["headers"]["task"] == tasks.RUN_ACTION and message["headers"]["id"] == job_id
    task_job, action, params = message["args"]
    assert (task_job, action, params["login"], params["create_home"]) == (job_id, "user.create", "zoe", True)
    # The message says a password was given; its hash waits in a key of its own.
    assert params["password_hash"] == "(set)"
    assert b"$6$" not in message["raw"] and PASSWORD.encode() not in message["raw"]
    hashed = orjson.loads(api.redis.get(keys.job_secret(job_id)) or b"{}")["password_hash"]
    assert hashed.startswith("$6$") and crypt_r.crypt(PASSWORD, hashed) == hashed
    assert 0 < api.redis.ttl(keys.job_secret(job_id)) <= 24 * 3600

    assert PASSWORD.encode() not in _redis_dump(api)
    for path in api.settings.data_dir.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
    assert api.admin().get(accepted["url"]).json()["params"]["password_hash"] == "(set)"


def test_a_password_change_sends_a_fresh_hash_and_keeps_the_password_out(api: ApiWorld) -> None:
    response = api.admin().post("/api/v1/users/alice/password", json={"password": PASSWORD})
    assert response.status_code == 202
    [message] = queued_messages(api.redis)
    job_id, action, params = message["args"]
    assert (action, params) == ("user.password", {"login": "alice", "password_hash": "(set)"})
    hashed = orjson.loads(api.redis.get(keys.job_secret(job_id)) or b"{}")["password_hash"]
    assert crypt_r.crypt(PASSWORD, hashed) == hashed
    assert PASSWORD.encode() not in _redis_dump(api)
    assert api.job(response.json()["id"]).params == {"login": "alice", "password_hash": "(set)"}  # type: ignore[union-attr]


# Well-formed, and no job's.
NO_JOB = "0" * 32

# method, path, request arguments, action, target, the parameters the worker gets.
USERS, GROUPS = "/api/v1/users", "/api/v1/groups"
GOOD: list[tuple[str, str, dict[str, Any], str, str, dict[str, Any]]] = [
    (
        "POST",
        USERS,
        {"json": {"login": "yan", "create_home": False}},
        "user.create",
        "yan",
        {
            "login": "yan",
            "full_name": "",
            "shell": None,
            "create_home": False,
            "groups": [],
            "password_hash": None,
        },
    ),
    (
        "PATCH",
        f"{USERS}/alice",
        {"json": {"groups": ["users", "devs"], "shell": "/bin/sh"}},
        "user.modify",
        "alice",
        {
            "login": "alice",
            "full_name": None,
            "shell": "/bin/sh",
            "groups_add": ["devs"],
            "groups_remove": ["audio"],
        },
    ),
    (
        "PATCH",
        f"{USERS}/bob",
        {"json": {"full_name": "", "groups_add": ["users", "users"]}},
        "user.modify",
        "bob",
        {"login": "bob", "full_name": "", "shell": None, "groups_add": ["users"], "groups_remove": []},
    ),
    (
        "DELETE",
        f"{USERS}/alice",
        {"params": {"home": "archive"}},
        "user.delete",
        "alice",
        {"login": "alice", "home": "archive"},
    ),
    ("DELETE", f"{USERS}/bob", {}, "user.delete", "bob", {"login": "bob", "home": "keep"}),
    ("POST", f"{USERS}/alice/lock", {}, "user.lock", "alice", {"login": "alice"}),
    ("POST", f"{USERS}/alice/unlock", {}, "user.unlock", "alice", {"login": "alice"}),
    (
        "POST",
        GROUPS,
        {"json": {"name": "lab", "gid": 2001}},
        "group.create",
        "lab",
        {"name": "lab", "gid": 2001},
    ),
    ("POST", GROUPS, {"json": {"name": "lab2"}}, "group.create", "lab2", {"name": "lab2", "gid": None}),
    ("DELETE", f"{GROUPS}/devs", {}, "group.delete", "devs", {"name": "devs"}),
    (
        "POST",
        f"{GROUPS}/devs/members",
        {"json": {"logins": ["alice", "bob", "bob"]}},
        "group.add_members",
        "devs",
        {"name": "devs", "logins": ["bob"]},
    ),
    (
        "DELETE",
        f"{GROUPS}/users/members",
        {"json": {"logins": ["alice", "bob"]}},
        "group.remove_members",
        "users",
        {"name": "users", "logins": ["alice"]},
    ),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "action", "target", "params"), GOOD)
def test_each_action_reaches_the_host_queue_as_the_worker_expects(
    api: ApiWorld,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    action: str,
    target: str,
    params: dict[str, Any],
) -> None:
    response = api.admin().request(method, path, **kwargs)
    assert response.status_code == 202, response.text
    [message] = queued_messages(api.redis)
    assert message["args"] == [response.json()["id"], action, params]
    job = api.job(response.json()["id"])
    assert job is not None and (job.action, job.target, job.params) == (action, target, params)


def test_jobs_are_listed_newest_first_with_paging_and_a_state_filter(api: ApiWorld) -> None:
    admin = api.admin()
    ids = [admin.post(f"/api/v1/users/{login}/lock").json()["id"] for login in ("alice", "bob", "alice")]
    listed = admin.get("/api/v1/jobs").json()
    assert [j["id"] for j in listed] == ids[::-1]
    assert set(listed[0]) == {"id", "state", "action", "target", "actor", "host", "created_at",
                              "finished_at", "result", "error", "params", "rows", "started_at",
                              "age_seconds", "stuck"}  # fmt: skip
    assert listed[0]["created_at"].endswith("Z") and listed[0]["finished_at"] is None
    assert [j["id"] for j in admin.get("/api/v1/jobs", params={"limit": 1, "offset": 1}).json()] == [ids[1]]
    assert len(admin.get("/api/v1/jobs", params={"state": "queued"}).json()) == 3
    assert admin.get("/api/v1/jobs", params={"state": "failed"}).json() == []
    assert admin.get(f"/api/v1/jobs/{ids[0]}").json()["target"] == "alice"
    missing = admin.get(f"/api/v1/jobs/{NO_JOB}")
    assert missing.status_code == 404 and missing.json()["detail"] == f"There is no job {NO_JOB!r}."


# --- a stuck job shown as such; a queued job cancelled, a failed or cancelled one retried -------------


def _set_job(api: ApiWorld, job_id: str, **values: Any) -> None:
    with api.db() as db:
        db.execute(update(Job).where(Job.id == job_id).values(**values))
        db.commit()


def _lock(api: ApiWorld, login: str = "alice") -> str:
    response = api.admin().post(f"/api/v1/users/{login}/lock")
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def _audit(api: ApiWorld, action: str) -> list[AuditEntry]:
    with api.db() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_a_job_waiting_or_running_too_long_is_flagged_stuck_with_its_age(api: ApiWorld) -> None:
    """Ages are made by moving the rows' times back: no test waits for a clock."""
    now = utcnow()
    fresh, waiting, running, slow, old_done = (_lock(api) for _ in range(5))
    _set_job(api, waiting, created_at=now - timedelta(seconds=31))
    # Queued long ago, but started just now: it is the run that is timed.
    _set_job(api, running, state="running", created_at=now - timedelta(hours=1), started_at=now)
    _set_job(api, slow, state="running", started_at=now - timedelta(seconds=121))
    _set_job(api, old_done, state="failed", created_at=now - timedelta(days=3), finished_at=now)
    shown = {j["id"]: j for j in api.viewer().get("/api/v1/jobs").json()}
    assert {i: shown[i]["stuck"] for i in (fresh, waiting, running, slow, old_done)} == {
        fresh: False, waiting: True, running: False, slow: True, old_done: False}  # fmt: skip
    assert shown[waiting]["age_seconds"] >= 31 and shown[old_done]["age_seconds"] >= 3 * 86400
    assert 0 <= shown[fresh]["age_seconds"] < shown[waiting]["age_seconds"]
    assert shown[running]["started_at"] is not None and shown[fresh]["started_at"] is None
    assert api.viewer().get(f"/api/v1/jobs/{waiting}").json()["stuck"] is True


def test_a_queued_job_is_cancelled_once_its_secret_gone_audited_and_announced(api: ApiWorld) -> None:
    admin = api.admin()
    created = admin.post("/api/v1/users", json={"login": "zoe", "password": PASSWORD})
    job_id = created.json()["id"]
    assert api.redis.exists(keys.job_secret(job_id))

    response = admin.post(f"/api/v1/jobs/{job_id}/cancel")
    assert response.status_code == 200, response.text
    job = response.json()
    assert (job["id"], job["state"], job["stuck"]) == (job_id, "cancelled", False)
    assert job["result"] == f"Cancelled by {ADMIN[0]} before it ran: nothing was changed."
    assert job["finished_at"] is not None
    row = api.job(job_id)
    assert row is not None and (row.state, row.announced) == ("cancelled", True)
    assert not api.redis.exists(keys.job_secret(job_id))

    [entry] = _audit(api, "job.cancel")
    assert (entry.actor, entry.target, entry.host, entry.outcome, entry.job_id) == (
        ADMIN[0], "zoe", HOST, "cancelled", job_id)  # fmt: skip
    [event] = [e for e in _events(api) if e["type"] == "job.cancelled"]
    assert (event["job"], event["host"], event["actor"]) == (job_id, HOST, ADMIN[0])
    assert event["data"] == {"action": "user.create", "target": "zoe", "result": job["result"]}

    again = admin.post(f"/api/v1/jobs/{job_id}/cancel")
    assert again.status_code == 409
    assert again.json()["detail"] == f"The job '{job_id}' is cancelled: only a queued job can be cancelled."
    assert len(_audit(api, "job.cancel")) == 1
    assert len([e for e in _events(api) if e["type"] == "job.cancelled"]) == 1
    assert [j["id"] for j in admin.get("/api/v1/jobs", params={"state": "cancelled"}).json()] == [job_id]


@pytest.mark.parametrize("state", ["running", "succeeded", "failed"])
def test_only_a_queued_job_can_be_cancelled(api: ApiWorld, state: str) -> None:
    job_id = _lock(api)
    _set_job(api, job_id, state=state)
    response = api.admin().post(f"/api/v1/jobs/{job_id}/cancel")
    assert response.status_code == 409
    assert response.json()["detail"] == f"The job '{job_id}' is {state}: only a queued job can be cancelled."
    assert api.job(job_id).state == state  # type: ignore[union-attr]
    assert _audit(api, "job.cancel") == []


def test_cancelling_takes_an_admin_with_its_token_and_a_job_that_exists(api: ApiWorld) -> None:
    job_id = _lock(api)
    assert api.viewer().post(f"/api/v1/jobs/{job_id}/cancel").status_code == 403
    assert api.admin(csrf=False).post(f"/api/v1/jobs/{job_id}/cancel").status_code == 403
    assert api.anonymous().post(f"/api/v1/jobs/{job_id}/cancel").status_code == 401
    assert api.job(job_id).state == "queued"  # type: ignore[union-attr]
    missing = api.admin().post(f"/api/v1/jobs/{NO_JOB}/cancel")
    assert missing.status_code == 404 and missing.json()["detail"] == f"There is no job {NO_JOB!r}."
    assert api.admin().post(f"/api/v1/jobs/{NO_JOB}/retry").status_code == 404


@pytest.mark.parametrize("state", ["failed", "cancelled"])
def test_a_failed_or_cancelled_job_is_retried_as_a_new_job(api: ApiWorld, state: str) -> None:
    admin = api.admin()
    first = admin.post("/api/v1/groups/devs/members", json={"logins": ["bob"]}).json()["id"]
    _set_job(api, first, state=state, error="boom", actor="someone-else")
    api.redis.delete(keys.host_queue(HOST))

    response = admin.post(f"/api/v1/jobs/{first}/retry")
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["id"] != first and accepted == {
        "id": accepted["id"], "state": "queued", "url": f"/api/v1/jobs/{accepted['id']}"}  # fmt: skip
    new, old = api.job(accepted["id"]), api.job(first)
    assert new is not None and old is not None
    assert (new.action, new.target, new.params, new.actor, new.host) == (
        "group.add_members", "devs", {"name": "devs", "logins": ["bob"]}, ADMIN[0], HOST)  # fmt: skip
    assert (old.state, old.error) == (state, "boom")
    [message] = queued_messages(api.redis)
    assert message["args"] == [accepted["id"], "group.add_members", {"name": "devs", "logins": ["bob"]}]
    assert [e["job"] for e in _events(api) if e["type"] == "job.queued"][-1] == accepted["id"]


@pytest.mark.parametrize("state", ["queued", "running", "succeeded"])
def test_a_job_that_has_not_failed_is_not_retried(api: ApiWorld, state: str) -> None:
    job_id = _lock(api)
    _set_job(api, job_id, state=state)
    response = api.admin().post(f"/api/v1/jobs/{job_id}/retry")
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"The job '{job_id}' is {state}: only a failed or cancelled job can be retried.")  # fmt: skip
    assert api.recorded().jobs == 1


def test_a_job_given_a_password_asks_for_the_password_again(api: ApiWorld) -> None:
    admin = api.admin()
    ids = [admin.post("/api/v1/users/alice/password", json={"password": PASSWORD}).json()["id"],
           admin.post("/api/v1/users", json={"login": "zoe", "password": PASSWORD}).json()["id"]]  # fmt: skip
    for job_id in ids:
        _set_job(api, job_id, state="failed")
        response = admin.post(f"/api/v1/jobs/{job_id}/retry")
        assert response.status_code == 409 and "set the password again" in response.json()["detail"]
    assert api.recorded().jobs == 2


def test_a_retry_is_checked_against_the_host_as_it_is_now(api: ApiWorld) -> None:
    """The worker checks again anyway; a change that no longer fits is refused at once."""
    admin = api.admin()
    job_id = admin.post("/api/v1/groups", json={"name": "lab"}).json()["id"]
    _set_job(api, job_id, state="failed")
    # Meanwhile someone made the group on the host.
    lab = Group(name="lab", gid=2500, members=[], system=False)
    api.redis.hset(keys.host_groups(HOST), "lab", lab.model_dump_json())
    refused = admin.post(f"/api/v1/jobs/{job_id}/retry")
    assert refused.status_code == 409
    assert refused.json()["detail"] == f"The group 'lab' already exists on host '{HOST}'."
    assert api.recorded().jobs == 1

    # And a host whose worker is gone is refused before anything is recorded.
    api.redis.hdel(keys.host_groups(HOST), "lab")
    api.redis.hset(keys.HOSTS, HOST, orjson.dumps({"last_seen": "2026-01-01T00:00:00+00:00"}))
    offline = admin.post(f"/api/v1/jobs/{job_id}/retry")
    assert offline.status_code == 409 and "offline" in offline.json()["detail"]
    assert api.recorded().jobs == 1


@pytest.mark.parametrize("job_id", ["x" * 5000, "nul\x00id", "ABCDEF0123456789ABCDEF0123456789"])
@pytest.mark.parametrize("how", ["GET", "POST cancel", "POST retry"])
def test_a_job_id_that_cannot_be_one_is_refused_before_the_database(
    api: ApiWorld, job_id: str, how: str
) -> None:
    """A NUL in a path reached PostgreSQL (a 500); any id not made as WMI2 makes them is a 422."""
    method, _, verb = how.partition(" ")
    path = f"/api/v1/jobs/{quote(job_id)}" + (f"/{verb}" if verb else "")
    response = api.admin().request(method, path)
    assert response.status_code == 422 and "job_id" in response.json()["detail"], response.text
