"""Sending a job to its host's queue: the broker's address, and a broker that cannot be reached."""

from __future__ import annotations

from typing import Any

import orjson

from services.api.core.jobs import JobQueue, broker_url
from services.api.main import create_app
from services.common import keys
from services.common.sessions import COOKIE
from tests.support.api_app import ADMIN, ApiWorld, queued_messages, session_cookie
from tests.support.inprocess import Served


def _events(api: ApiWorld) -> list[dict[str, Any]]:
    return [{"id": i.decode(), **orjson.loads(f[b"d"])} for i, f in api.redis.xrange(keys.EVENT_STREAM)]


def test_a_broker_that_cannot_be_reached_answers_503_and_fails_the_job(api: ApiWorld) -> None:
    """An app of its own, its producer pointed at a dead broker while Redis itself stays up."""
    app = create_app(api.settings)
    app.state.job_queue = JobQueue("redis://127.0.0.1:1/0", visibility_timeout=60)
    # Fails fast rather than waiting on the broker: no reconnecting, two quick publish retries.
    conf = app.state.job_queue.app.conf
    assert conf.broker_connection_retry is False and conf.task_publish_retry_policy["max_retries"] == 2
    served = Served(api.settings, app)
    try:
        with served.client() as client:
            login = client.post("/api/v1/session", json={"login": ADMIN[0], "password": ADMIN[1]})
            client.headers.update({"Cookie": f"{COOKIE}={session_cookie(login)}",
                                   "X-CSRF-Token": login.json()["csrf_token"]})  # fmt: skip
            response = client.post("/api/v1/users/alice/lock")
    finally:
        served.close()
    assert response.status_code == 503 and "could not be reached" in response.json()["detail"]
    [job] = api.admin().get("/api/v1/jobs").json()
    assert job["state"] == "failed" and "could not be reached" in job["error"] and job["finished_at"]
    assert [e["type"] for e in _events(api)] == ["job.queued", "job.failed"]
    assert queued_messages(api.redis) == []


def test_broker_url_spells_a_unix_socket_the_kombu_way() -> None:
    assert broker_url("unix:///var/wmi/redis.sock") == "redis+socket:///var/wmi/redis.sock"
    assert broker_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
