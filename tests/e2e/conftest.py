"""The end-to-end tier: the whole system as it runs, over HTTPS, one stack per test module.

A module that uses ``admin`` loads ``pytest_plugins = ["tests.support.web_fixtures"]``, whose
``stack`` (a worker and ``wmi2 web`` on a sandbox host) serves all of its tests; so the tests
of one module use names of their own, and find the host as the tests before them left it.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.api import logged_in_client
from tests.support.stack import ADMIN, Stack


@pytest.fixture
def admin(stack: Stack) -> Iterator[httpx.Client]:
    """A logged-in admin's client of the module's stack."""
    client = logged_in_client(stack.url, *ADMIN)
    yield client
    client.close()
