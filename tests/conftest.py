"""Fixtures for real parts: one per resource, each torn down by the test that made it.

A session-wide ``redis-server`` on a free port (flushed before each test), a sandbox root
per test, and service subprocesses started through the ``wmi2`` command itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis

from services.cli.accounts import create_admin
from services.cli.tls import ensure_certificate
from services.common import keys
from services.common.settings import Settings
from services.worker.sandbox import init_sandbox
from tests.support.api import logged_in_client
from tests.support.jobs import Jobs
from tests.support.ports import free_port
from tests.support.processes import Service
from tests.support.redis_server import RedisServer
from tests.support.wait import wait_for

HOST = "testhost"
ADMIN = ("admin", "admin-password-1")
VIEWER = ("viewer", "viewer-password-1")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    if redis_server.proc is None:  # a test stopped it and failed before starting it again
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "var"
    path.mkdir()
    return path


@pytest.fixture
def sysroot(tmp_path: Path) -> Path:
    return init_sandbox(tmp_path / "sysroot")


def host_settings(data_dir: Path, sysroot: Path, redis_url: str) -> Settings:
    """The settings of a sandbox host ``HOST`` whose data is under ``data_dir``."""
    return Settings(
        data_dir=data_dir,
        sysroot=sysroot,
        redis_url=redis_url,
        database_url=f"sqlite:///{data_dir / 'wmi2.db'}",
        host_name=HOST,
        web_workers=1,
        heartbeat_interval=0.5,
        heartbeat_ttl=3.0,
    )


def service_env(settings: Settings) -> dict[str, str]:
    """The environment of a service subprocess: the same settings as ``settings``."""
    return dict(
        os.environ,
        WMI_DATA_DIR=str(settings.data_dir),
        WMI_SYSROOT=str(settings.sysroot),
        WMI_REDIS_URL=str(settings.redis_url),
        WMI_DATABASE_URL=str(settings.database_url),
        WMI_HOST_NAME=settings.host_name,
        WMI_WEB_WORKERS="1",
        WMI_HEARTBEAT_INTERVAL=str(settings.heartbeat_interval),
        WMI_HEARTBEAT_TTL=str(settings.heartbeat_ttl),
    )


@contextmanager
def worker_running(env: dict[str, str], settings: Settings) -> Iterator[Service]:
    """A real Celery worker for the sandbox host, ready once the host's read model is in Redis."""
    service = Service(["worker"], env, settings.data_dir / "worker.log")
    service.start()
    client = redis.Redis.from_url(str(settings.redis_url))
    try:
        wait_for(lambda: service.alive() and client.exists(keys.host_info(HOST)), timeout=60,
                 what="the worker's first read of the host")  # fmt: skip
        yield service
    finally:
        client.close()
        service.stop()


@pytest.fixture
def settings(data_dir: Path, sysroot: Path, redis_url: str) -> Settings:
    return host_settings(data_dir, sysroot, redis_url)


@pytest.fixture
def wmi_env(settings: Settings) -> dict[str, str]:
    """The environment of a service subprocess: the same settings as ``settings``."""
    return service_env(settings)


@pytest.fixture
def jobs(settings: Settings) -> Iterator[Jobs]:
    made = Jobs(settings)
    yield made
    made.celery.close()


@pytest.fixture
def worker(wmi_env: dict[str, str], settings: Settings, redis_url: str) -> Iterator[Service]:
    """A real Celery worker for the sandbox host, ready once the host's read model is in Redis."""
    with worker_running(wmi_env, settings) as service:
        yield service


class Web:
    """The api and events services on one HTTPS origin, as ``wmi2 web`` serves them."""

    def __init__(self, env: dict[str, str], settings: Settings) -> None:
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.service = Service(["web", "--port", str(self.port)], env, settings.data_dir / "web.log")

    def start(self) -> None:
        self.service.start()
        wait_for(self._healthy, timeout=60, what="the web origin")

    def _healthy(self) -> bool:
        if not self.service.alive():
            raise AssertionError("wmi2 web exited:\n" + self.service.output())
        return httpx.get(f"{self.url}/api/v1/health", verify=False, timeout=2).status_code == 200

    def stop(self) -> None:
        self.service.stop()


@pytest.fixture
def accounts(settings: Settings) -> None:
    """An admin and a viewer WMI account."""
    create_admin(settings.resolved_database_url, *ADMIN, "admin")
    create_admin(settings.resolved_database_url, *VIEWER, "viewer")


@pytest.fixture
def web(wmi_env: dict[str, str], settings: Settings, accounts: None) -> Iterator[Web]:
    ensure_certificate(settings.cert_file, settings.key_file)
    origin = Web(wmi_env, settings)
    origin.start()
    yield origin
    origin.stop()


@pytest.fixture
def admin(web: Web, worker: Service) -> Iterator[httpx.Client]:
    """A logged-in admin's client against a running WMI2 (web + worker)."""
    client = logged_in_client(web.url, *ADMIN)
    yield client
    client.close()


@pytest.fixture
def viewer(web: Web) -> Iterator[httpx.Client]:
    client = logged_in_client(web.url, *VIEWER)
    yield client
    client.close()


@pytest.fixture
def anonymous(web: Web) -> Iterator[httpx.Client]:
    client = httpx.Client(base_url=web.url, verify=False, timeout=30)
    yield client
    client.close()
