"""Everything Redis holds, as bytes: to prove that a secret is nowhere in it."""

from __future__ import annotations

import redis


def redis_dump(client: redis.Redis) -> bytes:
    """Every key and every value, whatever its type."""
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
            parts.extend(v for _id, fields in client.xrange(key) for v in fields.values())
    return b"\n".join(parts)
