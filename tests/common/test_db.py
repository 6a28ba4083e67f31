"""The SQL store's Alembic migrations, on SQLite and on a real PostgreSQL as in compose.

PostgreSQL: see tests/support/postgres.py (``WMI_TEST_POSTGRES_URL``; ``.ci/run`` starts one
where none answers). Each test gets a fresh database, dropped after it. Without a server the
tests fail with a message saying so: they never skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, inspect, select, text

from services.common.db import (
    Admin,
    AuditEntry,
    Base,
    Job,
    alembic_config,
    engine_for,
    init_db,
    schema_revision,
    sessionmaker_for,
)
from tests.support.postgres import fresh_database, server_url
from tests.support.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]
TABLES = {"admins", "jobs", "audit", "alembic_version"}


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


@pytest.fixture(scope="module")
def postgres_server() -> URL:
    return server_url()


@pytest.fixture
def postgres_db(postgres_server: URL) -> Iterator[str]:
    with fresh_database(postgres_server) as url:
        yield url


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'wmi2.db'}"
    yield url
    engine_for(url).dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "postgres_db")
    return url


def _schema_differences(url: str) -> list[object]:
    with engine_for(url).connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        diff: list[object] = compare_metadata(context, Base.metadata)
        return diff


def test_migrations_make_exactly_the_models_schema(db_url: str) -> None:
    assert schema_revision(db_url) is None
    init_db(db_url)
    assert schema_revision(db_url) == _head()
    with engine_for(db_url).connect() as conn:
        found = inspect(conn)
        assert set(found.get_table_names()) == TABLES
        indexes = {i["name"] for t in ("jobs", "audit") for i in found.get_indexes(t)}
        assert {"ix_jobs_created_at", "ix_audit_at"} <= indexes
    # Autogenerate's comparison: no table, column, type, nullability, index or unique
    # constraint differs between the migrated database and services/common/db.py's models.
    assert _schema_differences(db_url) == []


def test_running_init_db_again_changes_nothing(db_url: str) -> None:
    init_db(db_url)
    with sessionmaker_for(db_url)() as db:
        db.add(Admin(login="keeper", password_hash="h", role="admin"))
        db.commit()
    init_db(db_url)
    init_db(db_url)
    assert schema_revision(db_url) == _head()
    with sessionmaker_for(db_url)() as db:
        assert db.scalars(select(Admin.login)).all() == ["keeper"]
    with engine_for(db_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1


def test_concurrent_init_db_from_several_processes(db_url: str, tmp_path: Path) -> None:
    """As in compose, where api, worker and events start together: all succeed, one migrates.

    The processes run outside the repository (cwd elsewhere, the code on PYTHONPATH): the
    migrations are found from the package, not from the working directory.
    """
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    go = tmp_path / "go"
    script = (
        "import sys, time, pathlib\n"
        "from services.common.db import init_db\n"
        "pathlib.Path(sys.argv[2]).touch()\n"  # imported: ready
        "while not pathlib.Path(sys.argv[3]).exists(): time.sleep(0.01)\n"
        "init_db(sys.argv[1])\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, db_url, str(tmp_path / f"ready{i}"), str(go)],
            cwd=elsewhere,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for i in range(3)
    ]

    def ready_or_dead() -> bool:
        ready = all((tmp_path / f"ready{i}").exists() for i in range(len(procs)))
        return ready or any(p.poll() is not None for p in procs)

    try:
        # Released together, once every one has imported: they reach init_db at the same moment.
        wait_for(ready_or_dead, timeout=60, what="the processes to import WMI2")
        assert all(p.poll() is None for p in procs), "a process exited early:\n" + "\n".join(_outputs(procs))
        go.touch()
        outputs = [p.communicate(timeout=60)[0].decode() for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    assert schema_revision(db_url) == _head()
    assert _schema_differences(db_url) == []


def _outputs(procs: list[subprocess.Popen[bytes]]) -> list[str]:
    return [p.communicate()[0].decode() if p.poll() is not None else "(running)" for p in procs]


def test_a_database_made_before_migrations_is_adopted(sqlite_db: str) -> None:
    """An older WMI2 made its tables with create_all: init_db stamps it and keeps its rows."""
    Base.metadata.create_all(engine_for(sqlite_db))
    with sessionmaker_for(sqlite_db)() as db:
        db.add(Admin(login="old", password_hash="h", role="admin"))
        db.commit()
    init_db(sqlite_db)
    assert schema_revision(sqlite_db) == _head()
    with sessionmaker_for(sqlite_db)() as db:
        assert db.scalars(select(Admin.login)).all() == ["old"]
    assert _schema_differences(sqlite_db) == []


def test_rows_round_trip_on_postgresql(postgres_db: str) -> None:
    init_db(postgres_db)
    paris = timezone(timedelta(hours=2))
    started = datetime(2026, 6, 1, 14, 30, 5, 123456, tzinfo=paris)
    params = {
        "login": "zoë",
        "groups_add": ["users", "audio"],
        "gecos": {"full_name": "Zoë Ørsted", "room": None},
        "uid": 1001,
        "create_home": True,
    }
    with sessionmaker_for(postgres_db)() as db:
        db.add(Admin(login="root-admin", password_hash="$argon2id$v=19$x", role="admin"))
        db.add(Job(id="j" * 32, host="h1", action="user.create", target="zoë", actor="root-admin",
                   params=params, started_at=started))  # fmt: skip
        db.add(AuditEntry(actor="root-admin", action="user.create", target="zoë", host="h1",
                          outcome="succeeded", detail="created", job_id="j" * 32))  # fmt: skip
        db.commit()
    before = datetime.now(UTC)
    with sessionmaker_for(postgres_db)() as db:
        admin = db.scalars(select(Admin)).one()
        assert (admin.login, admin.role, admin.disabled) == ("root-admin", "admin", False)
        assert admin.created_at.tzinfo is not None
        job = db.scalars(select(Job)).one()
        assert job.params == params
        assert (job.state, job.attempts, job.result, job.finished_at) == ("queued", 0, None, None)
        # The same instant comes back, with a time zone, whatever zone it went in with.
        assert job.started_at == started
        assert job.started_at is not None and job.started_at.utcoffset() is not None
        assert job.created_at.tzinfo is not None
        assert before - timedelta(minutes=5) < job.created_at <= before
        entry = db.scalars(select(AuditEntry)).one()
        assert (entry.outcome, entry.job_id, entry.host) == ("succeeded", "j" * 32, "h1")
        assert entry.at.tzinfo is not None
        # And JSON is real JSON in PostgreSQL, queryable by key.
        found = db.execute(text("SELECT params->>'login' FROM jobs")).scalar_one()
        assert found == "zoë"
