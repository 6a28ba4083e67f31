"""A real PostgreSQL for the tests that need one (the store as compose runs it).

The server is ``WMI_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``:
a user that may CREATE DATABASE). ``.ci/run`` installs and starts one where none answers.
Without one the tests fail, saying so: they never skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import URL, create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from services.common.db import engine_for

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def server_url() -> URL:
    """The server's URL, once it has answered; the test fails with the reason otherwise."""
    url = make_url(os.environ.get("WMI_TEST_POSTGRES_URL", DEFAULT_URL))
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        error = str(exc.orig)
    else:
        return url
    finally:
        engine.dispose()
    pytest.fail(
        f"no PostgreSQL answers at {url.render_as_string(hide_password=True)}: {error}\n"
        "These tests need one (compose runs WMI2 on PostgreSQL): .ci/run installs and starts one; "
        "or set WMI_TEST_POSTGRES_URL to a server URL whose user may CREATE DATABASE.",
        pytrace=False,
    )


@contextmanager
def fresh_database(server: URL) -> Iterator[str]:
    """A new empty database, ``wmi2_test_<random>``, dropped after (with whatever still holds it)."""
    name = f"wmi2_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        engine_for(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
