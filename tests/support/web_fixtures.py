"""A running WMI2 shared by the tests of one module, and the browser fixtures.

Starting a worker and the web origin costs seconds, and the machine is shared: each
browser test module gets one stack (``stack``), its tests using names of their own. A
module sets ``SEED_USERS`` (and ``SEED_GROUPS``) to find that many users on the host from
the start.

Test modules load these with ``pytest_plugins = ["tests.support.web_fixtures"]``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.support.browser import browser, context, new_context, playwright  # noqa: F401 (fixtures)
from tests.support.redis_server import RedisServer
from tests.support.seed import seed_users
from tests.support.stack import Stack


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer
) -> Iterator[Stack]:
    if redis_server.proc is None:  # a test stopped it and failed before starting it again
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    running = Stack(tmp_path_factory.mktemp("web"), redis_server.url)
    sysroot = running.prepare()
    count = getattr(request.module, "SEED_USERS", 0)
    if count:
        seed_users(sysroot, count, groups=getattr(request.module, "SEED_GROUPS", None))
    running.start()
    try:
        yield running
    finally:
        running.stop()
