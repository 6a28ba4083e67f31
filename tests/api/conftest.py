"""The api tier: ``create_app(settings)`` in this process, the session's redis-server, a SQLite file.

- ``api``: the app on a hand-written read model of host ``apihost`` (tests/support/api_app.py),
  online or not as each test makes it; an otherwise empty Redis (but for the sessions, kept
  so that the argon2 logins are made once per session) and empty job and audit tables.
- ``host``: the same app, with ``apihost`` a sandbox root read by its real worker code, online
  (one heartbeat), whose jobs the test runs with ``host.run_ok(...)`` (tests/support/inprocess.py).

One app per test session (per xdist process): making it, and logging in, cost more than a test.
The tier's own WMI accounts are stored with argon2 hashes of the lowest cost, set again before
each test (a login upgrades a weak hash to the library's parameters): every check still runs
argon2, in a millisecond instead of half a second. tests/security keeps the real cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from argon2 import PasswordHasher
from sqlalchemy import delete, update

from services.common.db import Admin, AuditEntry, Job, init_db, sessionmaker_for
from services.common.settings import Settings
from services.worker.sandbox import init_sandbox
from tests.support import inprocess
from tests.support.api_app import (
    ADMIN,
    DISABLED,
    HOST,
    VIEWER,
    Tokens,
    reset_redis,
    write_read_model,
)
from tests.support.inprocess import Host, InProcessApi, Served
from tests.support.redis_server import RedisServer

ACCOUNTS = (ADMIN, VIEWER, DISABLED)
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
# Made once: the same hash each test, so that the reset below costs no argon2 run.
CHEAP_HASHES = {login: CHEAP.hash(password) for login, password in ACCOUNTS}


@pytest.fixture(scope="session")
def api_settings(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("api-inprocess") / "var"
    data_dir.mkdir()
    settings = Settings(data_dir=data_dir, sysroot=data_dir.parent / "sysroot", redis_url=redis_server.url,
                        host_name=HOST, database_url=f"sqlite:///{data_dir / 'wmi2.db'}")  # fmt: skip
    url = settings.resolved_database_url
    init_db(url)
    with sessionmaker_for(url)() as db:
        for (login, _password), role in zip(ACCOUNTS, ("admin", "viewer", "admin"), strict=True):
            db.add(
                Admin(
                    login=login, password_hash=CHEAP_HASHES[login], role=role, disabled=login == DISABLED[0]
                )
            )
        db.commit()
    return settings


@pytest.fixture(scope="session")
def served(api_settings: Settings) -> Iterator[Served]:
    app = Served(api_settings)
    yield app
    app.close()


@pytest.fixture(scope="session")
def api_tokens() -> dict[str, Tokens]:
    return {}


def _fresh_world(served: Served, redis_server: RedisServer, tokens: dict[str, Tokens]) -> InProcessApi:
    if redis_server.proc is None:  # a test stopped it and failed before starting it again
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    reset_redis(client)
    world = InProcessApi(served, client, tokens)
    with world.db() as db:
        db.execute(delete(Job))
        db.execute(delete(AuditEntry))
        for login, cheap in CHEAP_HASHES.items():
            db.execute(update(Admin).where(Admin.login == login).values(password_hash=cheap))
        db.commit()
    return world


@pytest.fixture
def api(served: Served, redis_server: RedisServer, api_tokens: dict[str, Tokens]) -> Iterator[InProcessApi]:
    """The app, a fresh hand-written read model in an otherwise empty Redis, and no job recorded yet."""
    world = _fresh_world(served, redis_server, api_tokens)
    write_read_model(world.redis)
    yield world
    world.close()
    world.redis.close()


@pytest.fixture
def host(
    served: Served, redis_server: RedisServer, api_tokens: dict[str, Tokens], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Host]:  # fmt: skip
    """The app, its host a fresh sandbox root that its worker has read, online; no job recorded yet."""
    world = _fresh_world(served, redis_server, api_tokens)
    sysroot = init_sandbox(tmp_path / "sysroot")
    # The worker's own data dir (its archives), the api's database.
    (tmp_path / "worker").mkdir()
    settings = served.settings.model_copy(update={"sysroot": sysroot, "data_dir": tmp_path / "worker"})
    with inprocess.running_worker(settings, monkeypatch) as worker:
        yield Host(world, worker, sysroot, settings)
    world.close()
    world.redis.close()
