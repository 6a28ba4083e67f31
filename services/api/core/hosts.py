"""The managed hosts: which exist, which are online, and the refusal of a change for one that is not.

A host is *known* once a worker has beaten for it (its record in ``keys.HOSTS``) or read
it (its read model); the default host (``WMI_HOST_NAME``) is always known, so that the
one-host paths work before its worker's first beat. A host is *online* while its
heartbeat key exists: that key, not the announced state, is what the API trusts, so a
host whose worker died is refused the moment its heartbeat expires, without waiting for
the monitor's ``host.offline``.

A change for an offline host is refused at once (409) rather than queued: a queued job
would wait, invisible, for a worker that may never return, and then act on accounts
that may have changed meanwhile. A job accepted just before the host went offline waits
on its queue and runs when the worker is back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import redis
import redis.asyncio
from fastapi import HTTPException, status

from services.common import keys
from services.common.hoststate import last_seen


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _moment(iso: str | None) -> str | None:
    """An ISO time as a sentence shows it: "2026-05-01 13:45:07 UTC"."""
    if iso is None:
        return None
    try:
        return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return iso


def _unreadable(info: bytes | None) -> list[str]:
    # Shown with the host: an account line WMI2 cannot read must not go unnoticed.
    return list(orjson.loads(info).get("unreadable", [])) if info else []


def offline_message(host: str, seen: str | None) -> str:
    since = _moment(seen)
    heard = f"has not been heard from since {since}" if since else "has not been heard from"
    return (
        f"Host {host!r} is offline: its worker {heard}. "
        "Nothing was changed; try again once the host is back online."
    )


def no_such_host(host: str) -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        f"There is no such host {host!r}: no worker has ever managed a host of that name.",
    )


async def listing(
    client: redis.asyncio.Redis, default_host: str, only: str | None = None
) -> list[dict[str, Any]]:
    """Every known host (or only the one named): online, when last heard from, and how many
    users and groups it has (system accounts included: the counts of its read model)."""
    records = {_text(k): v for k, v in (await client.hgetall(keys.HOSTS)).items()}
    names = [only] if only is not None else sorted(records.keys() | {default_host})
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.exists(keys.host_heartbeat(name))
        pipe.hlen(keys.host_users(name))
        pipe.hlen(keys.host_groups(name))
        pipe.get(keys.host_info(name))
    found = await pipe.execute()
    return [
        {"name": name, "online": bool(beating), "last_seen": last_seen(records.get(name)),
         "users": users, "groups": groups, "unreadable": _unreadable(info)}
        for name, beating, users, groups, info
        in zip(names, found[0::4], found[1::4], found[2::4], found[3::4], strict=True)
    ]  # fmt: skip


async def is_known(client: redis.asyncio.Redis, host: str, default_host: str) -> bool:
    if host == default_host:
        return True
    pipe = client.pipeline(transaction=False)
    pipe.hexists(keys.HOSTS, host)
    pipe.exists(keys.host_info(host))
    beaten, read = await pipe.execute()
    return bool(beaten or read)


def ensure_online(client: redis.Redis, host: str) -> None:
    """Refuse (409) a change for a host whose worker was heard from, but is no longer.

    A host never heard from is left to the checks that follow (the path's 404 for an
    unknown host, the validation's 503 for a host not read yet).
    """
    pipe = client.pipeline(transaction=False)
    ask_online(pipe, host)
    check_online(host, *pipe.execute())


def ask_online(pipe: redis.client.Pipeline, host: str) -> None:
    """Queue the two reads :func:`check_online` needs (so they may share a round trip)."""
    pipe.hget(keys.HOSTS, host)
    pipe.exists(keys.host_heartbeat(host))


def check_online(host: str, record: bytes | None, beating: int) -> None:
    """:func:`ensure_online`, given the answers to :func:`ask_online`."""
    if record is not None and not beating:
        raise HTTPException(status.HTTP_409_CONFLICT, offline_message(host, last_seen(record)))
