"""A large host's read model written straight into Redis, as its worker would store it.

Every user has its own group; one in ten is also in ``staff``. Stored with a digest, as a
worker stores it, so that the api keeps it decoded in memory (services/api/core/readmodel.py).
"""

from __future__ import annotations

from uuid import uuid4

import orjson
import redis

from services.common import keys
from tests.support.api_app import HOST

LARGE = 30_000


def login(n: int) -> str:
    return f"user{n:05d}"


def write_large_model(client: redis.Redis, count: int = LARGE, host: str = HOST) -> None:
    """``count`` users (``user00000``…) and their groups, added to the host's model."""
    users, groups = {}, {}
    for n in range(count):
        name = login(n)
        users[name] = orjson.dumps({
            "login": name, "uid": 2000 + n, "gid": 2000 + n, "primary_group": name,
            "full_name": f"User Number {n}", "home": f"/home/{name}", "shell": "/bin/bash",
            "groups": ["staff"] if n % 10 == 0 else [], "locked": n % 17 == 5, "has_password": True,
            "last_change": "2026-01-01", "system": False,
        })  # fmt: skip
        groups[name] = orjson.dumps({"name": name, "gid": 2000 + n, "members": [], "system": False})
    pipe = client.pipeline(transaction=True)
    pipe.hset(keys.host_users(host), mapping=users)
    pipe.hset(keys.host_groups(host), mapping=groups)
    # A digest of its own, as every store of a worker: a model cached by an earlier test is not this one.
    pipe.set(keys.host_digest(host), uuid4().hex)
    pipe.execute()
