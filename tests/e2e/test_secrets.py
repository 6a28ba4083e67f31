"""A clear-text password is never logged, enqueued, stored or published."""

from __future__ import annotations

import httpx
import redis

from tests.support.api import run_ok
from tests.support.redis_dump import redis_dump
from tests.support.sse import EventCollector
from tests.support.stack import Stack

pytest_plugins = ["tests.support.web_fixtures"]

PASSWORD = "Tr0ub4dor&3-unique-marker"


def test_the_password_appears_nowhere(admin: httpx.Client, stack: Stack) -> None:
    """Nowhere: not in Redis, the events, the answers, any file of the data dir (the services'
    logs included), nor the shadow file."""
    settings, sysroot = stack.settings, stack.sysroot
    with EventCollector(admin) as stream:
        created = run_ok(admin, "POST", "/api/v1/users", json={"login": "peggy", "password": PASSWORD})
        changed = run_ok(admin, "POST", "/api/v1/users/peggy/password", json={"password": PASSWORD + "2"})
        stream.wait(lambda e: e["type"] == "job.succeeded" and e["job"] == changed["id"])
        published = str(stream.events)
    secret = PASSWORD.encode()
    redis_client = redis.Redis.from_url(str(settings.redis_url))
    try:
        assert secret not in redis_dump(redis_client)
    finally:
        redis_client.close()
    assert PASSWORD not in published
    assert PASSWORD not in str(created) and PASSWORD not in str(changed)
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), f"the password is in {path}"
    assert secret not in (sysroot / "etc" / "shadow").read_bytes()
