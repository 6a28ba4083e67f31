"""Reads of a host's read model in Redis (written by that host's worker).

Each read is one Redis round trip. Lists are served as the JSON the worker stored, only
parsed to filter and sort them, never validated one by one: the worker wrote them from
the same models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import redis
import redis.asyncio

from services.api.core import hosts as host_list
from services.common import keys
from services.common.accounts import Group, HostInfo, User


@dataclass(frozen=True)
class HostSnapshot:
    """One host's users, groups and facts, read together to validate a change."""

    host: str
    users: dict[str, User]
    groups: dict[str, Group]
    info: HostInfo | None

    def gid_owner(self, gid: int) -> str | None:
        return next((g.name for g in self.groups.values() if g.gid == gid), None)


def snapshot(client: redis.Redis, host: str) -> HostSnapshot:
    # MULTI/EXEC: the three reads see the same state, in one round trip.
    pipe = client.pipeline(transaction=True)
    pipe.hgetall(keys.host_users(host))
    pipe.hgetall(keys.host_groups(host))
    pipe.get(keys.host_info(host))
    users_raw, groups_raw, info_raw = pipe.execute()
    return HostSnapshot(
        host=host,
        users={k.decode(): User.model_validate_json(v) for k, v in users_raw.items()},
        groups={k.decode(): Group.model_validate_json(v) for k, v in groups_raw.items()},
        info=HostInfo.model_validate_json(info_raw) if info_raw else None,
    )


def _as_bytes(value: bytes | str | None) -> bytes | None:
    """The clients are made without ``decode_responses``: values come back as bytes."""
    return value.encode() if isinstance(value, str) else value


def _sorted_list(raw: Mapping[Any, bytes | str], name_field: str, include_system: bool) -> bytes:
    records: list[dict[str, Any]] = [orjson.loads(v) for v in raw.values()]
    shown = [r for r in records if include_system or not r.get("system")]
    shown.sort(key=lambda r: str(r.get(name_field, "")))
    return orjson.dumps(shown)


async def users_json(client: redis.asyncio.Redis, host: str, include_system: bool) -> bytes:
    return _sorted_list(await client.hgetall(keys.host_users(host)), "login", include_system)


async def groups_json(client: redis.asyncio.Redis, host: str, include_system: bool) -> bytes:
    return _sorted_list(await client.hgetall(keys.host_groups(host)), "name", include_system)


async def user_json(client: redis.asyncio.Redis, host: str, login: str) -> bytes | None:
    return _as_bytes(await client.hget(keys.host_users(host), login))


async def group_json(client: redis.asyncio.Redis, host: str, name: str) -> bytes | None:
    return _as_bytes(await client.hget(keys.host_groups(host), name))


async def hosts(client: redis.asyncio.Redis, default_host: str) -> list[dict[str, Any]]:
    """Every known host with its liveness and counts (see services.api.core.hosts.listing)."""
    return await host_list.listing(client, default_host)
