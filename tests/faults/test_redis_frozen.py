"""Issue 10.8: with Redis frozen (SIGSTOP), api requests hung until TCP gave up.

Bug: the api's Redis clients had no socket timeout, so a Redis that accepts connections
but never answers held every request (5-8 s seen, unbounded in principle). Fix: the web
services' clients time out each command (``WMI_REDIS_TIMEOUT``) and the timeout becomes
the same 503 as an unreachable Redis; once Redis answers again, so does the api, with no
restart.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
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
def frozen_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", appendonly=False)
    server.start()
    yield server
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGCONT)
    server.stop()


@pytest.fixture
async def api(frozen_redis: RedisServer, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    data = tmp_path / "var"
    settings = Settings(data_dir=data, redis_url=frozen_redis.url, host_name="frozenhost",
                        database_url=f"sqlite:///{tmp_path / 'wmi2.db'}", redis_timeout=1.0)  # fmt: skip
    create_admin(settings.resolved_database_url, LOGIN, PASSWORD, "admin")
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="https://wmi.test", timeout=PATIENCE) as client,
    ):
        yield client


@pytest.mark.anyio
async def test_a_frozen_redis_gets_503_and_the_api_comes_back(
    api: httpx.AsyncClient, frozen_redis: RedisServer
) -> None:
    logged = await api.post("/api/v1/session", json={"login": LOGIN, "password": PASSWORD})
    assert logged.status_code == 200, logged.text
    assert frozen_redis.proc is not None
    os.kill(frozen_redis.proc.pid, signal.SIGSTOP)
    try:
        for path in ("/api/v1/session", "/api/v1/users", "/api/v1/jobs"):
            answer = await api.get(path)
            assert answer.status_code == 503, (path, answer.status_code, answer.text)
            assert "Redis" in answer.json()["detail"]
    finally:
        os.kill(frozen_redis.proc.pid, signal.SIGCONT)
    assert (await api.get("/api/v1/session")).status_code == 200
