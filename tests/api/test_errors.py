"""What the api answers when a part it needs is away: Redis down is a 503 saying so, not a hang."""

from __future__ import annotations

from tests.support.api_app import ApiWorld
from tests.support.redis_server import RedisServer
from tests.support.wait import wait_for


def test_a_redis_that_cannot_be_reached_answers_503(api: ApiWorld, redis_server: RedisServer) -> None:
    admin = api.admin()
    redis_server.stop()
    try:
        for response in (admin.get("/api/v1/users"), admin.post("/api/v1/users/alice/lock")):
            assert response.status_code == 503 and "Redis cannot be reached" in response.json()["detail"]
        assert admin.get("/api/v1/health").status_code == 200
    finally:
        redis_server.start()
    assert api.recorded().jobs == 0
    assert wait_for(lambda: admin.get("/api/v1/users").status_code == 200, timeout=30, what="recovery")
