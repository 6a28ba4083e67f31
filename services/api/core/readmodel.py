"""Reads of a host's read model in Redis (written by that host's worker).

Each read is one Redis round trip. Lists are served as the JSON the worker stored, only
parsed to filter and sort them, never validated one by one: the worker wrote them from
the same models.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
import redis
import redis.asyncio
from pydantic import BaseModel

from services.api.core import hosts as host_list
from services.common import keys
from services.common.accounts import Group, HostInfo, User

M = TypeVar("M", bound=BaseModel)


class Records(Mapping[str, M]):
    """A read-model hash as fetched, each record validated only once it is looked at.

    A change looks at a few records of a host that may hold thousands: validating every
    one of them into a model (as this did) cost more than the rest of the request on a
    host of 1,000 users.
    """

    def __init__(self, model: type[M], raw: Mapping[bytes, bytes]) -> None:
        self._model = model
        self._raw = {k.decode(): v for k, v in raw.items()}
        self._models: dict[str, M] = {}

    def __getitem__(self, name: str) -> M:
        found = self._models.get(name)
        if found is None:
            found = self._models[name] = self._model.model_validate_json(self._raw[name])
        return found

    def __contains__(self, name: object) -> bool:
        return name in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def raw_values(self) -> Iterator[bytes]:
        """The stored JSON of every record, unvalidated."""
        return iter(self._raw.values())


@dataclass(frozen=True)
class HostSnapshot:
    """One host's users, groups and facts, read together to validate a change."""

    host: str
    users: Records[User]
    groups: Records[Group]
    info: HostInfo | None
    # The api's WMI_MANAGE_SYSTEM_ACCOUNTS, carried with what every check already receives.
    manage_system_accounts: bool = False

    def gid_owner(self, gid: int) -> str | None:
        for raw in self.groups.raw_values():
            record = orjson.loads(raw)
            if record.get("gid") == gid:
                return str(record.get("name"))
        return None


def ask_snapshot(pipe: redis.client.Pipeline, host: str) -> None:
    """Queue the reads of a :class:`HostSnapshot`; in a MULTI, they see the same state."""
    pipe.hgetall(keys.host_users(host))
    pipe.hgetall(keys.host_groups(host))
    pipe.get(keys.host_info(host))


def snapshot_of(
    host: str,
    users_raw: Mapping[bytes, bytes],
    groups_raw: Mapping[bytes, bytes],
    info_raw: bytes | None,
    *,
    manage_system_accounts: bool = False,
) -> HostSnapshot:
    """The snapshot made of the answers to :func:`ask_snapshot`."""
    return HostSnapshot(
        host=host,
        users=Records(User, users_raw),
        groups=Records(Group, groups_raw),
        info=HostInfo.model_validate_json(info_raw) if info_raw else None,
        manage_system_accounts=manage_system_accounts,
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
