"""Finding 11 (compose part): Redis was an unauthenticated trust anchor.

The attack: compose's Redis took commands from anyone who reached it: write a session
(log in as anyone), read the broker's messages (password hashes), enqueue a task for the
worker (act on the host's accounts as root).

The fix: compose's Redis runs with its default user off and one ACL user, ``wmi2``, whose
password (REDIS_PASSWORD, required in .env) reaches redis-server in a file, never an argv;
every WMI2 service's WMI_REDIS_URL carries it, and the healthcheck authenticates too. Here
compose's own command and healthcheck run against this machine's redis-server, and the
worker's and the api's Celery apps connect with such a URL.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from kombu.exceptions import OperationalError

from services.api.core.jobs import JobQueue
from tests.e2e.test_compose import COMPOSE, REDIS_SENTINEL, _resolved
from tests.support.ports import free_port
from tests.support.wait import wait_for

PASSWORD = REDIS_SENTINEL


@pytest.fixture(scope="module")
def redis_service(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    service: dict[str, Any] = _resolved(tmp_path_factory.mktemp("compose"), COMPOSE)["services"]["redis"]
    return service


@pytest.fixture(scope="module")
def compose_redis(redis_service: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Compose's redis command, run here: /data a directory, the image's entrypoint a stand-in."""
    top = tmp_path_factory.mktemp("redis")
    data, bin_dir = top / "data", top / "bin"
    data.mkdir()
    bin_dir.mkdir()
    port = free_port()
    entrypoint = bin_dir / "docker-entrypoint.sh"
    # The image's drops to its redis user; here, the same server on a free local port.
    entrypoint.write_text(f'#!/bin/sh\nexec "$@" --port {port} --bind 127.0.0.1 --dir {data} --save ""\n')
    entrypoint.chmod(0o755)
    # `config` keeps compose's escape ($$): compose hands the container a single $.
    argv = [arg.replace("$$", "$").replace("/data/", f"{data}/") for arg in redis_service["command"]]
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", **redis_service["environment"])
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _answers(port), timeout=20, what="compose's redis")
        assert not stat.S_IMODE((data / "users.acl").stat().st_mode) & 0o077
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _answers(port: int) -> bool:
    client = redis.Redis(port=port, username="wmi2", password=PASSWORD)
    try:
        return bool(client.ping())
    finally:
        client.close()


def test_compose_redis_refuses_anyone_without_the_password(compose_redis: int) -> None:
    for who in ({}, {"username": "wmi2", "password": "guess"}, {"username": "default", "password": ""}):
        client = redis.Redis(port=compose_redis, **who)  # type: ignore[arg-type]
        with pytest.raises(redis.AuthenticationError):
            client.set("wmi:session:forged", "{}")
        client.close()
    client = redis.Redis(port=compose_redis, username="wmi2", password=PASSWORD)
    assert client.set("wmi:probe", "1") and client.delete("wmi:probe") == 1
    client.close()


def test_compose_redis_healthcheck_authenticates(redis_service: dict[str, Any], compose_redis: int) -> None:
    kind, check = redis_service["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    check = check.replace("$$", "$").replace("redis-cli ", f"redis-cli -p {compose_redis} ")
    run = {**os.environ, **redis_service["environment"]}
    assert subprocess.run(["sh", "-c", check], env=run, timeout=30).returncode == 0
    wrong = {**run, "REDIS_PASSWORD": "guess"}
    assert subprocess.run(["sh", "-c", check], env=wrong, timeout=30, capture_output=True).returncode != 0


def test_the_celery_apps_pass_the_credentials_to_the_broker(compose_redis: int) -> None:
    url = f"redis://wmi2:{PASSWORD}@127.0.0.1:{compose_redis}/0"
    queue = JobQueue(url, 3600)
    try:
        with queue.app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)
    finally:
        queue.close()
    from services.worker.app import broker_url

    worker = _worker_app(broker_url(url))
    with worker.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1)
    denied = _worker_app(f"redis://wmi2:guess@127.0.0.1:{compose_redis}/0")
    refused = (OperationalError, redis.AuthenticationError)
    with pytest.raises(refused), denied.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1)


def _worker_app(url: str) -> Any:
    """The worker's Celery app as services/worker/app.py makes it, for this broker URL."""
    from services.common.settings import get_settings
    from services.worker.app import make_app

    saved = os.environ.get("WMI_REDIS_URL")
    os.environ["WMI_REDIS_URL"] = url
    get_settings.cache_clear()
    try:
        return make_app()
    finally:
        if saved is None:
            del os.environ["WMI_REDIS_URL"]
        else:
            os.environ["WMI_REDIS_URL"] = saved
        get_settings.cache_clear()
