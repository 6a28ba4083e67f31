"""The drift view: every login across the hosts, where it exists and where it differs.

Webmin's cluster module copies missing users to other hosts; what an admin of several
hosts first needs is to *see* where the hosts disagree: a login missing somewhere, or
present with another uid (so files on shared or copied disks change owner), another
primary group or other groups. Each host is read from its read model as last read,
offline hosts included (the host list says which are offline).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import redis.asyncio

from services.api.core import hosts
from services.common import keys

# What must agree across hosts for a login to be "the same person" everywhere.
COMPARED = ("uid", "gid", "groups")


def _account(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "uid": record["uid"],
        "gid": record["gid"],
        "primary_group": record.get("primary_group"),
        # A set, as the host has it: the order of /etc/group lines is not a difference.
        "groups": sorted(set(record.get("groups") or [])),
    }


def _comparable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def drift(
    users_by_host: Mapping[str, list[dict[str, Any]]], *, system: bool = False, differing: bool = False
) -> list[dict[str, Any]]:
    """One entry per login, by login: its accounts by host, the hosts that lack it, and the
    compared fields whose values differ between the hosts that have it.

    A login that is a system account on every host is left out unless ``system``; one that
    is regular on at least one host is shown everywhere it exists. ``differing`` keeps only
    the logins that are missing somewhere or differ.
    """
    names = sorted(users_by_host)
    accounts: dict[str, dict[str, dict[str, Any]]] = {}
    regular: set[str] = set()
    for host in names:
        for record in users_by_host[host]:
            login = record["login"]
            accounts.setdefault(login, {})[host] = _account(record)
            if not record.get("system"):
                regular.add(login)
    rows = []
    for login in sorted(accounts):
        if not system and login not in regular:
            continue
        found = accounts[login]
        missing = [host for host in names if host not in found]
        differs = [f for f in COMPARED if len({_comparable(a[f]) for a in found.values()}) > 1]
        if differing and not missing and not differs:
            continue
        rows.append({"login": login, "accounts": found, "missing": missing, "differs": differs})
    return rows


async def fleet_users(
    client: redis.asyncio.Redis, default_host: str, *, system: bool = False, differing: bool = False
) -> dict[str, Any]:
    """The hosts compared (every known host with a read model) and the logins across them."""
    compared = [h for h in await hosts.listing(client, default_host) if h["users"]]
    pipe = client.pipeline(transaction=False)
    for host in compared:
        pipe.hvals(keys.host_users(host["name"]))
    values = await pipe.execute()
    users_by_host = {
        host["name"]: [orjson.loads(v) for v in raw] for host, raw in zip(compared, values, strict=True)
    }
    return {"hosts": compared, "users": drift(users_by_host, system=system, differing=differing)}
