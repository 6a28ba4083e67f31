"""The host's read model in Redis: re-read the files, store what changed, publish it as events.

Call :func:`refresh` holding the host lock (services.worker.hostlock), so that a task's
change and the watcher's re-read never interleave: a change made by a job is then
always published with that job, and the watcher finds nothing left to publish.

The model is stored with a digest of the files it was made from. The watcher's re-read,
which follows every job's change a moment later, first compares digests and stops there
when the files are what the model was made from: one read of the files and one Redis
round trip, instead of a parse and a comparison of every record while the next job
waits for the lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import redis

from services.common import keys
from services.common.events import Publisher
from services.worker.hostfiles import parse, read_files

Records = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Change:
    type: str
    data: dict[str, Any]


def _load(raw: dict[bytes, bytes]) -> Records:
    records: Records = {}
    for key, value in raw.items():
        try:
            records[key.decode()] = orjson.loads(value)
        except orjson.JSONDecodeError:
            records[key.decode()] = {}  # unreadable: compares as changed, and is rewritten
    return records


def diff(kind: str, old: Records, new: Records) -> tuple[list[Change], list[Change], list[Change]]:
    """The created, updated and deleted records of one kind ("user" or "group"), by name."""
    created = [Change(f"{kind}.created", new[k]) for k in sorted(new.keys() - old.keys())]
    deleted = [Change(f"{kind}.deleted", old[k]) for k in sorted(old.keys() - new.keys())]
    updated = []
    # Comparing whole records first: the field by field look is only for the few that differ.
    for k in sorted(k for k in new.keys() & old.keys() if new[k] != old[k]):
        changed = [field for field, value in new[k].items() if old[k].get(field) != value]
        if changed:
            updated.append(Change(f"{kind}.updated", {**new[k], "changed": changed}))
    return created, updated, deleted


def _order(users: Records, groups: Records, old_users: Records, old_groups: Records) -> list[Change]:
    """Changes in an order a reader can follow: a user's group appears before the user."""
    u_new, u_upd, u_del = diff("user", old_users, users)
    g_new, g_upd, g_del = diff("group", old_groups, groups)
    return [*g_new, *u_new, *u_upd, *g_upd, *u_del, *g_del]


def _write(client: redis.Redis, host: str, changes: list[Change], info: bytes, digest: bytes) -> None:
    """Store only what changed, and the digest of the files it was read from, in one transaction."""
    pipe = client.pipeline(transaction=True)
    for change in changes:
        kind, _, what = change.type.partition(".")
        key = keys.host_users(host) if kind == "user" else keys.host_groups(host)
        name = change.data["login" if kind == "user" else "name"]
        if what == "deleted":
            pipe.hdel(key, name)
        else:
            record = {k: v for k, v in change.data.items() if k != "changed"}
            pipe.hset(key, name, orjson.dumps(record))
    pipe.set(keys.host_info(host), info)
    pipe.set(keys.host_digest(host), digest)
    pipe.execute()


def _unchanged(client: redis.Redis, host: str, digest: bytes) -> bool:
    """The model is there and was made from files with this digest (one round trip)."""
    pipe = client.pipeline(transaction=False)
    pipe.get(keys.host_digest(host))
    pipe.exists(keys.host_users(host), keys.host_info(host))
    stored, present = pipe.execute()
    return bool(stored == digest and present == 2)


def refresh(
    client: redis.Redis,
    publisher: Publisher,
    host: str,
    sysroot: Path,
    *,
    job: str | None = None,
    actor: str | None = None,
    if_changed: bool = False,
) -> list[Change]:
    """Re-read the host, store the differences, publish them; return them.

    The first read (no read model yet) publishes nothing: what a host held before any
    worker watched it is not news. Without a job, a change was made behind WMI2's back
    and its events say so (``data["external"]``). With ``if_changed`` (the watcher), files
    identical to those the model was made from end the refresh at once; without it (a job,
    a worker's start) every record is compared with what Redis holds.
    """
    files = read_files(sysroot)
    if if_changed and _unchanged(client, host, files.digest):
        return []
    accounts = parse(files, host)
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(keys.host_users(host))
    pipe.hgetall(keys.host_groups(host))
    old_users, old_groups = (_load(raw) for raw in pipe.execute())
    changes = _order(accounts.users, accounts.groups, old_users, old_groups)
    _write(client, host, changes, accounts.info.model_dump_json().encode(), files.digest)
    if not old_users:
        return []
    for change in changes:
        data = change.data if job else {**change.data, "external": True}
        publisher.publish(change.type, host, data, job=job, actor=actor)
    return changes
