"""Issue 10.8: with Redis frozen (SIGSTOP), api requests hung until TCP gave up.

Bug: the api's Redis clients had no socket timeout, so a Redis that accepts connections
but never answers held every request (5-8 s seen, unbounded in principle). Fix: the web
services' clients time out each command (``WMI_REDIS_TIMEOUT``) and the timeout becomes
the same 503 as an unreachable Redis; once Redis answers again, so does the api, with no
restart.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.api.main import create_app
from services.cli.accounts import create_admin
from services.common.settings import Settings
from tests.support.redis_server import RedisServer

LOGIN, PASSWORD = "frozen-admin", "frozen-password-1"
# A client that waited this long would have hung: far above the api's own bound.
PATIENCE = 30.0


@pytest.fixture
def frozen_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", appendonly=False)
    server.start()
    yield server
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGCONT)
    server.stop()


def _settings(redis_url: str, tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "var", redis_url=redis_url, host_name="frozenhost",
                        database_url=f"sqlite:///{tmp_path / 'wmi2.db'}", redis_timeout=1.0)  # fmt: skip
    create_admin(settings.resolved_database_url, LOGIN, PASSWORD, "admin")
    return settings


async def _answers_while_frozen(settings: Settings, redis_pid: int) -> tuple[list[int], int]:
    """The statuses of three reads while Redis is frozen, then of one once it is back."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="https://wmi.test", timeout=PATIENCE) as client,
    ):
        logged = await client.post("/api/v1/session", json={"login": LOGIN, "password": PASSWORD})
        assert logged.status_code == 200, logged.text
        os.kill(redis_pid, signal.SIGSTOP)
        try:
            frozen = [await client.get(path) for path in ("/api/v1/session", "/api/v1/users", "/api/v1/jobs")]
        finally:
            os.kill(redis_pid, signal.SIGCONT)
        assert all("Redis" in answer.json()["detail"] for answer in frozen if answer.status_code == 503)
        back = await client.get("/api/v1/session")
        return [answer.status_code for answer in frozen], back.status_code


def test_a_frozen_redis_gets_503_and_the_api_comes_back(frozen_redis: RedisServer, tmp_path: Path) -> None:
    assert frozen_redis.proc is not None
    settings = _settings(frozen_redis.url, tmp_path)
    frozen, back = asyncio.run(_answers_while_frozen(settings, frozen_redis.proc.pid))
    assert frozen == [503, 503, 503] and back == 200
