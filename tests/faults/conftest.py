"""Fixtures shared by the fault tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from celery import Celery

from services.common.events import Publisher
from services.worker.sweeper import Sweeper
from tests.support.jobs import HOST, Jobs


@pytest.fixture
def sweeper(jobs: Jobs, redis_url: str, redis_client: redis.Redis) -> Iterator[Sweeper]:
    """The worker's sweeper, driven by the test (no thread, no worker)."""
    app = Celery(broker=redis_url)
    yield Sweeper(app, Publisher(redis_client, 1000), jobs.url, HOST)
    app.close()
