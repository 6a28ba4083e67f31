"""A host's read model as plain dicts, for the pages (which only display it: no validation)."""

from __future__ import annotations

from typing import Any

import orjson
import redis

from services.common import keys


def _records(raw: dict[Any, Any]) -> list[dict[str, Any]]:
    return [orjson.loads(value) for value in raw.values()]


def users(client: redis.Redis, host: str) -> list[dict[str, Any]]:
    return _records(client.hgetall(keys.host_users(host)))


def groups(client: redis.Redis, host: str) -> list[dict[str, Any]]:
    return _records(client.hgetall(keys.host_groups(host)))


def user(client: redis.Redis, host: str, login: str) -> dict[str, Any] | None:
    raw = client.hget(keys.host_users(host), login)
    return orjson.loads(raw) if raw else None


def group(client: redis.Redis, host: str, name: str) -> dict[str, Any] | None:
    raw = client.hget(keys.host_groups(host), name)
    return orjson.loads(raw) if raw else None


def info(client: redis.Redis, host: str) -> dict[str, Any] | None:
    raw = client.get(keys.host_info(host))
    return orjson.loads(raw) if raw else None
