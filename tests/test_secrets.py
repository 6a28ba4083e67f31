"""A clear-text password is never logged, enqueued, stored or published."""

from __future__ import annotations

from pathlib import Path

import httpx
import redis

from services.common.settings import Settings
from tests.support.api import run_ok
from tests.support.sse import EventCollector

PASSWORD = "Tr0ub4dor&3-unique-marker"


def _redis_dump(client: redis.Redis) -> bytes:
    """Every key and value in Redis, whatever its type."""
    parts: list[bytes] = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        parts.append(key)
        if kind == b"string":
            parts.append(client.get(key) or b"")
        elif kind == b"hash":
            parts.extend(b"%s=%s" % kv for kv in client.hgetall(key).items())
        elif kind == b"list":
            parts.extend(client.lrange(key, 0, -1))
        elif kind == b"set":
            parts.extend(client.smembers(key))
        elif kind == b"zset":
            parts.extend(client.zrange(key, 0, -1))
        elif kind == b"stream":
            for _id, fields in client.xrange(key):
                parts.extend(fields.values())
    return b"\n".join(parts)


def test_the_password_appears_nowhere(
    admin: httpx.Client, redis_client: redis.Redis, settings: Settings, sysroot: Path
) -> None:
    with EventCollector(admin) as stream:
        created = run_ok(admin, "POST", "/api/v1/users", json={"login": "peggy", "password": PASSWORD})
        changed = run_ok(admin, "POST", "/api/v1/users/peggy/password", json={"password": PASSWORD + "2"})
        stream.wait(lambda e: e["type"] == "job.succeeded" and e["job"] == changed["id"])
        published = str(stream.events)
    secret = PASSWORD.encode()
    assert secret not in _redis_dump(redis_client)
    assert PASSWORD not in published
    assert PASSWORD not in str(created) and PASSWORD not in str(changed)
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), f"the password is in {path}"
    assert secret not in (sysroot / "etc" / "shadow").read_bytes()
