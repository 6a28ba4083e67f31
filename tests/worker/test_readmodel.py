"""The read model in Redis and the events of a refresh, against a real redis-server and sandbox."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from services.common import keys
from services.common.events import Publisher
from services.worker.hostfiles import read_host
from services.worker.hostlock import HostBusy, host_lock
from services.worker.readmodel import refresh

HOST = "testhost"


def _events(client: redis.Redis) -> list[dict[str, Any]]:
    return [orjson.loads(fields[b"d"]) for _id, fields in client.xrange(keys.EVENT_STREAM)]


def _refresh(client: redis.Redis, sysroot: Path, **who: str) -> list[dict[str, Any]]:
    """Refresh and return the events it published."""
    before = len(_events(client))
    refresh(client, Publisher(client, 1000), HOST, sysroot, **who)
    return _events(client)[before:]


def _tool(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def test_first_read_stores_the_host_and_publishes_nothing(redis_client: redis.Redis, sysroot: Path) -> None:
    assert _refresh(redis_client, sysroot) == []
    stored = {k.decode(): orjson.loads(v) for k, v in redis_client.hgetall(keys.host_users(HOST)).items()}
    expected = {k: v.model_dump(mode="json") for k, v in read_host(sysroot, HOST).users.items()}
    assert stored == expected and "root" in stored
    assert redis_client.hlen(keys.host_groups(HOST)) == len(read_host(sysroot, HOST).groups)
    info = orjson.loads(redis_client.get(keys.host_info(HOST)) or b"{}")
    assert info["name"] == HOST and info["uid_min"] == 1000
    assert _refresh(redis_client, sysroot) == [], "nothing changed, nothing to say"


def test_external_changes_become_events(redis_client: redis.Redis, sysroot: Path) -> None:
    root = str(sysroot)
    _refresh(redis_client, sysroot)
    _tool("useradd", "-P", root, "-M", "-G", "users", "--", "mia")
    created = _refresh(redis_client, sysroot)
    assert [(e["type"], e["data"].get("login") or e["data"]["name"]) for e in created] == [
        ("group.created", "mia"), ("user.created", "mia"), ("group.updated", "users")]  # fmt: skip
    assert all(e["job"] is None and e["actor"] is None and e["data"]["external"] is True for e in created)
    assert created[2]["data"]["changed"] == ["members"] and created[2]["data"]["members"] == ["mia"]

    _tool("usermod", "-P", root, "-c", "Mia M", "-s", "/bin/sh", "--", "mia")
    [updated] = _refresh(redis_client, sysroot)
    assert updated["type"] == "user.updated" and updated["data"]["changed"] == ["full_name", "shell"]
    assert updated["data"]["full_name"] == "Mia M"

    _tool("userdel", "-P", root, "--", "mia")
    deleted = _refresh(redis_client, sysroot)
    assert [e["type"] for e in deleted] == ["group.updated", "user.deleted", "group.deleted"]
    gone = next(e for e in deleted if e["type"] == "user.deleted")
    assert gone["data"]["login"] == "mia" and gone["data"]["full_name"] == "Mia M", "the old record"
    assert not redis_client.hexists(keys.host_users(HOST), "mia")
    assert not redis_client.hexists(keys.host_groups(HOST), "mia")


def test_a_jobs_changes_carry_the_job_and_its_actor(redis_client: redis.Redis, sysroot: Path) -> None:
    _refresh(redis_client, sysroot)
    _tool("groupadd", "-P", str(sysroot), "--", "lab")
    [created] = _refresh(redis_client, sysroot, job="job1", actor="admin")
    assert created["type"] == "group.created" and (created["job"], created["actor"]) == ("job1", "admin")
    assert "external" not in created["data"] and created["data"]["members"] == []
    assert created["host"] == HOST


def test_a_model_left_by_an_earlier_worker_is_brought_up_to_date(
    redis_client: redis.Redis, sysroot: Path
) -> None:
    _refresh(redis_client, sysroot)
    redis_client.hdel(keys.host_users(HOST), "games")
    redis_client.hset(keys.host_users(HOST), "gone", b'{"login": "gone"}')
    redis_client.hset(keys.host_users(HOST), "news", b"not json")
    changes = {(e["type"], e["data"]["login"]) for e in _refresh(redis_client, sysroot)}
    assert changes == {("user.created", "games"), ("user.deleted", "gone"), ("user.updated", "news")}
    assert _refresh(redis_client, sysroot) == []


def test_the_host_lock_excludes_a_second_holder(redis_client: redis.Redis) -> None:
    with host_lock(redis_client, HOST), pytest.raises(HostBusy), host_lock(redis_client, HOST, wait=0.2):
        pass
    with host_lock(redis_client, HOST, wait=0.2):
        assert redis_client.exists(keys.host_lock(HOST))
    assert not redis_client.exists(keys.host_lock(HOST))


def test_events_are_published_even_by_a_redis_that_forgot_the_script(
    redis_client: redis.Redis, sysroot: Path
) -> None:
    """The events go in the model's transaction as EVALSHA; a restarted Redis answers NOSCRIPT."""
    _refresh(redis_client, sysroot)
    _tool("useradd", "-P", str(sysroot), "-M", "--", "ivy")
    redis_client.script_flush()
    created = _refresh(redis_client, sysroot, job="job2", actor="admin")
    assert [(e["type"], e["job"]) for e in created] == [("group.created", "job2"), ("user.created", "job2")]
    assert redis_client.hexists(keys.host_users(HOST), "ivy")


def test_a_model_stored_by_another_process_is_not_diffed_against_this_ones_memory(
    redis_client: redis.Redis, sysroot: Path
) -> None:
    """A job diffs against the files its process last saw only while Redis still holds the
    model made from them."""
    from services.worker import readmodel

    _refresh(redis_client, sysroot)
    remembered = dict(readmodel._seen), dict(readmodel._last_stored)
    _tool("useradd", "-P", str(sysroot), "-M", "--", "otto")
    readmodel._seen.clear()  # another worker process (the watcher's) stores this change
    readmodel._last_stored.clear()
    _refresh(redis_client, sysroot)
    readmodel._seen.update(remembered[0])  # this process still remembers the files before it
    readmodel._last_stored.update(remembered[1])
    _tool("usermod", "-P", str(sysroot), "-c", "Otto O", "--", "otto")
    [updated] = _refresh(redis_client, sysroot, job="job3", actor="admin")
    assert updated["type"] == "user.updated" and updated["data"]["changed"] == ["full_name"]
