"""The SQL store: WMI accounts, jobs and the audit trail (SQLAlchemy 2).

SQLite in the data dir by default, PostgreSQL for compose and fleets. The API and the
worker both write here (the API records jobs, the worker finishes them), from several
processes: SQLite runs in WAL mode with a busy timeout so that they wait instead of
failing. The schema is made and changed by the Alembic migrations in ``migrations/``.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
    inspect,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The revision whose schema ``create_all`` made, before there were migrations.
INITIAL_REVISION = "0001"
# A PostgreSQL advisory lock key of our own: "WMI2" in ASCII.
MIGRATION_LOCK_KEY = 0x574D4932


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Admin(Base):
    """A WMI account (not a host account)."""

    __tablename__ = "admins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(255))
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # A batch's rows, each {"action", "target", "result", "error"}, in order; None otherwise.
    rows: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # False from the moment a job ends until its final event is in the event log: a job that
    # ended while Redis was away is announced later, from this row (services/worker/sweeper.py).
    announced: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    __table_args__ = (Index("ix_jobs_created_at", "created_at"),)


class AuditEntry(Base):
    """Who did what, to what, when, with what result."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True)

    __table_args__ = (Index("ix_audit_at", "at"),)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    # A ping before each use finds a server connection that died while pooled; a SQLite
    # file has none to lose, and the ping was a round trip on every transaction.
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    return make_engine(url)


@lru_cache(maxsize=4)
def sessionmaker_for(url: str) -> sessionmaker[Any]:
    return sessionmaker(engine_for(url), expire_on_commit=False)


def alembic_config(url: str, connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code: no ``alembic.ini``, any working directory."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    # The options go through ConfigParser, which reads "%" as interpolation: a
    # percent-encoded password in the URL must be doubled to survive.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Hold a lock that every process migrating this database takes, across processes and hosts."""
    if engine.dialect.name == "postgresql":
        # A session-level advisory lock, on a connection of its own: it outlives the
        # migration's transactions and goes with the session if this process dies.
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                conn.commit()
        return
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        # Another dialect (WMI2 runs on SQLite and PostgreSQL), or a database in this
        # process's memory: nobody to wait for.
        yield
        return
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    # flock on a file beside the database: released by the kernel if this process dies.
    with open(path.with_name(path.name + ".migrate-lock"), "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def init_db(url: str) -> None:
    """Bring the database's schema to the latest migration (``alembic upgrade head``).

    Every process that uses the database may call this at start (``wmi2 prepare`` and
    ``wmi2 migrate`` do; so may api and worker), several at once as in compose: the
    migration runs under a lock that all of them take (PostgreSQL: an advisory lock;
    SQLite: ``flock`` on ``<database>.migrate-lock``), so one migrates while the others
    wait, then find the schema at head and change nothing. A database that an older WMI2
    made with ``create_all`` (tables, but no ``alembic_version``) is first stamped at the
    initial revision, whose schema it has, then upgraded.
    """
    from alembic import command

    engine = engine_for(url)
    with _migration_lock(engine), engine.connect() as connection:
        config = alembic_config(url, connection)
        tables = set(inspect(connection).get_table_names())
        if "alembic_version" not in tables and {"admins", "jobs", "audit"} <= tables:
            command.stamp(config, INITIAL_REVISION)
        command.upgrade(config, "head")
        connection.commit()


def schema_revision(url: str) -> str | None:
    """The migration the database is at, or None before the first one."""
    from alembic.runtime.migration import MigrationContext

    with engine_for(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
