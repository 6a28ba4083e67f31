"""The api service alone, for its own tests: served by ``wmi2 api`` (uvicorn), no worker.

The host's read model is written to Redis by hand, as a worker would have left it, so
that each request is checked against a known host. One server for the whole session
(starting uvicorn per test would cost seconds each); each test gets an emptied Redis (but
for the sessions, reused to spare an argon2 login per test), a freshly written read model
and empty job and audit tables.

Test modules load these with ``pytest_plugins = ["tests.support.api_fixtures"]`` (a module
of its own, imported by pytest first, so that its assertions are rewritten).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import delete, update

from services.cli.accounts import create_admin
from services.common.db import Admin, AuditEntry, Job, sessionmaker_for
from services.common.settings import Settings
from tests.support.api_app import (
    ADMIN,
    DISABLED,
    HOST,
    VIEWER,
    ApiWorld,
    Tokens,
    reset_redis,
    write_read_model,
)
from tests.support.ports import free_port
from tests.support.processes import Service
from tests.support.redis_server import RedisServer
from tests.support.wait import wait_for


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WMI_")}
    return dict(env, WMI_DATA_DIR=str(settings.data_dir), WMI_REDIS_URL=str(settings.redis_url),
                WMI_DATABASE_URL=str(settings.database_url), WMI_HOST_NAME=settings.host_name,
                WMI_WEB_WORKERS="1", WMI_BIND="127.0.0.1")  # fmt: skip


@pytest.fixture(scope="session")
def api_settings(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("api") / "var"
    data_dir.mkdir()
    settings = Settings(data_dir=data_dir, redis_url=redis_server.url, host_name=HOST, web_workers=1,
                        database_url=f"sqlite:///{data_dir / 'wmi2.db'}")  # fmt: skip
    url = settings.resolved_database_url
    for login, password, role in ((*ADMIN, "admin"), (*VIEWER, "viewer"), (*DISABLED, "admin")):
        create_admin(url, login, password, role)
    with sessionmaker_for(url)() as db:
        db.execute(update(Admin).where(Admin.login == DISABLED[0]).values(disabled=True))
        db.commit()
    return settings


@pytest.fixture(scope="session")
def api_server(api_settings: Settings) -> Iterator[str]:
    port = free_port()
    service = Service(["api", "--port", str(port)], _env(api_settings), api_settings.data_dir / "api.log")
    service.start()
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert service.alive(), "wmi2 api exited:\n" + service.output()
        return httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200

    try:
        wait_for(healthy, timeout=60, what="wmi2 api")
        yield url
    finally:
        service.stop()


@pytest.fixture(scope="session")
def api_tokens() -> dict[str, Tokens]:
    return {}


@pytest.fixture
def api(
    api_server: str, api_settings: Settings, redis_server: RedisServer, api_tokens: dict[str, Tokens]
) -> Iterator[ApiWorld]:
    """The running api, a fresh read model in an otherwise empty Redis, and no job recorded yet."""
    if redis_server.proc is None:  # a test stopped it and failed before starting it again
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    reset_redis(client)
    write_read_model(client)
    world = ApiWorld(api_server, api_settings, client, api_tokens)
    with world.db() as db:
        db.execute(delete(Job))
        db.execute(delete(AuditEntry))
        db.commit()
    yield world
    world.close()
    client.close()
