"""The events of one's own request on an open stream, and a reconnect that replays what was missed."""

from __future__ import annotations

import httpx

from services.common.events import id_tuple
from tests.support.api import run_ok
from tests.support.sse import EventCollector
from tests.support.stack import Stack

pytest_plugins = ["tests.support.web_fixtures"]


def test_own_request_yields_queued_running_succeeded_and_user_created(admin: httpx.Client) -> None:
    with EventCollector(admin) as stream:
        job = run_ok(admin, "POST", "/api/v1/users", json={"login": "frank", "full_name": "Frank"})
        stream.wait(lambda e: e["type"] == "job.succeeded" and e["job"] == job["id"])
        mine = stream.of_job(job["id"])
    types = [e["type"] for e in mine]
    assert types.index("job.queued") < types.index("job.running") < types.index("job.succeeded")
    created = next(e for e in mine if e["type"] == "user.created")
    assert created["data"]["login"] == "frank" and created["actor"] == "admin"
    assert types.index("job.running") < types.index("user.created") < types.index("job.succeeded")
    ids = [id_tuple(e["id"]) for e in mine]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_reconnect_with_last_event_id_gets_exactly_the_missed_events(admin: httpx.Client) -> None:
    with EventCollector(admin) as stream:
        first = run_ok(admin, "POST", "/api/v1/users", json={"login": "gina", "create_home": False})
        last_seen = stream.wait(lambda e: e["type"] == "job.succeeded" and e["job"] == first["id"])
    missed_jobs = [
        run_ok(admin, "POST", "/api/v1/users", json={"login": login, "create_home": False})["id"]
        for login in ("hank", "iris")
    ]
    with EventCollector(admin, last_event_id=last_seen["id"]) as replay:
        replay.wait(lambda e: e["type"] == "job.succeeded" and e["job"] == missed_jobs[-1])
        live = run_ok(admin, "POST", "/api/v1/users", json={"login": "jack", "create_home": False})
        replay.wait(lambda e: e["type"] == "job.succeeded" and e["job"] == live["id"])
        received = list(replay.events)
    ids = [e["id"] for e in received]
    assert len(ids) == len(set(ids)), "an event came twice"
    assert [id_tuple(i) for i in ids] == sorted(id_tuple(i) for i in ids)
    assert all(id_tuple(i) > id_tuple(last_seen["id"]) for i in ids)
    for job_id in [*missed_jobs, live["id"]]:
        types = [e["type"] for e in received if e["job"] == job_id]
        assert types.count("job.queued") == 1 and types.count("job.succeeded") == 1
        assert types.count("user.created") == 1


def test_the_stream_needs_a_session(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url, verify=False, timeout=30) as anonymous:
        assert anonymous.get("/events").status_code == 401
