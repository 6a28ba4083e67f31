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
from redis.exceptions import NoScriptError

from services.common import keys
from services.common.events import Publisher, body
from services.worker import accountfiles, linediff
from services.worker.hostfiles import HostFiles, Record, parse, read_files

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


# Who made a change: (job, actor), or None for a change made outside WMI2.
Maker = tuple[str | None, str | None] | None


def _store(
    client: redis.Redis,
    publisher: Publisher,
    host: str,
    changes: list[Change],
    info: bytes,
    digest: bytes,
    makers: list[Maker] | None,
    writer_done: bool = False,
) -> None:
    """Store what changed, the files' digest and (given ``makers``, one per change) the events.

    One transaction: one round trip, and a reader never finds the model changed without
    its events in the log, nor the other way round.
    """
    pipe = client.pipeline(transaction=True)
    _queue_records(pipe, host, changes)
    pipe.set(keys.host_info(host), info)
    pipe.set(keys.host_digest(host), digest)
    if writer_done:
        pipe.delete(keys.host_writer(host))
    queued = []
    for change, maker in zip(changes, makers or [], strict=False):
        job, actor = maker or (None, None)
        data = change.data if job else {**change.data, "external": True}
        raw = body(change.type, host, data, job=job, actor=actor)
        publisher.queue(pipe, raw)
        queued.append(raw)
    results = pipe.execute(raise_on_error=False)
    published = results[len(results) - len(queued) :] if queued else []
    for raw, result in zip(queued, published, strict=True):
        if isinstance(result, NoScriptError):
            publisher.publish_body(raw)  # Redis restarted and forgot the script: loads it
        elif isinstance(result, Exception):
            raise result


# Fields per HSET or HDEL: a few commands of one transaction for a host's first read of
# 30,000 accounts, rather than 60,000.
FIELDS_PER_COMMAND = 1000


def _compact(record: dict[str, Any]) -> bytes:
    """The record's JSON in a bytes object of its own size: orjson returns one that keeps
    the 4 KB it was written into, so 60,000 of them held 235 MB (RESULTS.md)."""
    return bytes(memoryview(orjson.dumps(record)))


def _queue_records(pipe: redis.client.Pipeline, host: str, changes: list[Change]) -> None:
    """Queue the records that changed, a few commands for many records: each name
    changes once in a set of changes, so the order between names does not matter."""
    written: dict[str, dict[str, bytes]] = {keys.host_users(host): {}, keys.host_groups(host): {}}
    removed: dict[str, list[str]] = {keys.host_users(host): [], keys.host_groups(host): []}
    for change in changes:
        kind, _, what = change.type.partition(".")
        key = keys.host_users(host) if kind == "user" else keys.host_groups(host)
        name = change.data["login" if kind == "user" else "name"]
        if what == "deleted":
            removed[key].append(name)
        else:
            written[key][name] = _compact({k: v for k, v in change.data.items() if k != "changed"})
    for key, names in removed.items():
        for start in range(0, len(names), FIELDS_PER_COMMAND):
            pipe.hdel(key, *names[start : start + FIELDS_PER_COMMAND])
    for key, records in written.items():
        items = list(records.items())
        for start in range(0, len(items), FIELDS_PER_COMMAND):
            pipe.hset(key, mapping=dict(items[start : start + FIELDS_PER_COMMAND]))


# Per host, the digest this process last stored: enough to know that the model is still
# its own. Not the records: the changes that follow are found from the lines that differ
# (_seen) and the stored records of the names they touch, and keeping a copy of a large
# host's records in each of the worker's processes cost more memory than the rare full
# comparison's fetch from Redis costs time (loadtest/RESULTS.md).
_last_stored: dict[str, bytes] = {}


def as_written(client: redis.Redis, host: str, sysroot: Path) -> bool:
    """The model in Redis is the one this process wrote, from files that have not changed
    since (a stat of each file and one round trip; no read of a host of any size)."""
    mine = _last_stored.get(host)
    if mine is None or not accountfiles.as_left(sysroot / "etc"):
        return False
    stored, present = _stored(client, host)
    return present and stored == mine


def unchanged(client: redis.Redis, host: str, sysroot: Path) -> bool:
    """The files are what the stored model was made from: nothing to refresh.

    Needs no lock: a file being replaced by a tool reads either as it was (unchanged, and
    its replacement is another watch event) or as something new (changed).
    """
    stored, present = _stored(client, host)
    files = read_files(sysroot)
    if stored != files.digest or not present:
        return False
    _seen[host] = files  # what the next change is compared with
    return True


def _stored(client: redis.Redis, host: str) -> tuple[bytes | None, bool]:
    """The digest the model was stored with, and whether the model is there (one round trip)."""
    pipe = client.pipeline(transaction=False)
    pipe.get(keys.host_digest(host))
    pipe.exists(keys.host_users(host), keys.host_info(host))
    stored, present = pipe.execute()
    return stored, present == 2


def _fetch(client: redis.Redis, host: str) -> tuple[Records, Records]:
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(keys.host_users(host))
    pipe.hgetall(keys.host_groups(host))
    users, groups = pipe.execute()
    return _load(users), _load(groups)


def refresh(
    client: redis.Redis,
    publisher: Publisher,
    host: str,
    sysroot: Path,
    *,
    job: str | None = None,
    actor: str | None = None,
    if_changed: bool = False,
    writer_done: bool = False,
) -> list[Change]:
    """Re-read the host, store the differences, publish them; return them.

    The first read (no read model yet) publishes nothing: what a host held before any
    worker watched it is not news. Without a job, a change was made behind WMI2's back
    and its events say so (``data["external"]``). With ``if_changed`` (the watcher, and a job
    before its tools run), files identical to those the model was made from end the refresh
    at once; without it (a job's own re-read, a worker's start) files that did not change
    are compared record by record with what
    Redis holds, so that a model left by another version of WMI2 is brought up to date.
    With ``writer_done``, the record of the job changing the host (services/worker/writer.py)
    is cleared in the transaction that publishes its changes.
    """
    files = read_files(sysroot)
    stored, present = _stored(client, host)
    if stored == files.digest and present:
        _seen[host] = files
        if if_changed:
            return []
        old_users, old_groups = _fetch(client, host)
    else:
        by_lines = _refresh_by_lines(client, publisher, host, files, stored, (job, actor), writer_done)
        if by_lines is not None:
            return by_lines
        old_users, old_groups = _fetch(client, host)
    accounts = parse(files, host)
    changes = _order(accounts.users, accounts.groups, old_users, old_groups)
    info = accounts.info.model_dump_json().encode()
    makers: list[Maker] | None = [(job, actor)] * len(changes) if old_users else None
    _store(client, publisher, host, changes, info, files.digest, makers, writer_done)
    _last_stored[host] = files.digest
    _seen[host] = files
    return changes if old_users else []


# Per host, the files as last read when the model stored was made from them: what the
# next change is compared with, line by line (services/worker/linediff.py).
_seen: dict[str, HostFiles] = {}


def _refresh_by_lines(
    client: redis.Redis,
    publisher: Publisher,
    host: str,
    files: HostFiles,
    stored: bytes | None,
    maker: tuple[str | None, str | None],
    writer_done: bool,
) -> list[Change] | None:
    """Store and publish what changed since the files last seen, from the lines that differ;
    None when that cannot be done (nothing seen that the stored model was made from, or a
    change the line comparison does not follow)."""
    seen = _seen.get(host)
    if seen is None or stored is None or seen.digest != stored:
        return None
    found = linediff.records(seen, files)
    if found is None:
        return None
    users, groups = found
    job, actor = maker
    makers = {name: (job, actor) for name in users} if job else {}
    group_makers = {name: (job, actor) for name in groups} if job else {}
    own = OwnChanges(users, groups, files.digest, makers, group_makers)
    changes = store_own(client, publisher, host, own, writer_done=writer_done)
    if changes is not None:
        _seen[host] = files
    return changes


def _stored_records(
    client: redis.Redis, host: str, users: list[str], groups: list[str]
) -> tuple[Records, Records, bytes | None, bool]:
    """The stored records of these names (one round trip, whatever the host's size), the
    stored facts, and whether a model is stored at all."""
    pipe = client.pipeline(transaction=True)
    pipe.hmget(keys.host_users(host), users) if users else pipe.echo(b"")
    pipe.hmget(keys.host_groups(host), groups) if groups else pipe.echo(b"")
    pipe.get(keys.host_info(host))
    pipe.exists(keys.host_users(host), keys.host_info(host))
    raw_users, raw_groups, info, present = pipe.execute()
    found_users = _load(
        {n.encode(): v for n, v in zip(users, raw_users or [], strict=False) if v is not None}
    )
    found_groups = _load(
        {n.encode(): v for n, v in zip(groups, raw_groups or [], strict=False) if v is not None}
    )
    return found_users, found_groups, info, present == 2


def store_own(
    client: redis.Redis,
    publisher: Publisher,
    host: str,
    own: OwnChanges,
    *,
    writer_done: bool = True,
) -> list[Change] | None:
    """Store and publish a change set's own changes from the records it made (see
    :mod:`ownchanges`), compared with the stored records of the same names, each under
    the first job that touched its name; None when no model is stored yet (the caller
    then reads the whole host)."""
    old_users, old_groups, info, present = _stored_records(client, host, list(own.users), list(own.groups))
    if not present or info is None:
        return None
    new_users = {k: v for k, v in own.users.items() if v is not None}
    new_groups = {k: v for k, v in own.groups.items() if v is not None}
    changes = _order(new_users, new_groups, old_users, old_groups)
    makers: list[Maker] = [own.maker_of(change) for change in changes]
    _store(client, publisher, host, changes, info, own.digest, makers, writer_done)
    _last_stored[host] = own.digest
    return changes


@dataclass(frozen=True)
class OwnChanges:
    """What a change set touched: the new records (None: gone), the files' new digest, and
    for each name the job (and its actor) that touched it first."""

    users: dict[str, Record | None]
    groups: dict[str, Record | None]
    digest: bytes
    user_makers: dict[str, tuple[str, str | None]]
    group_makers: dict[str, tuple[str, str | None]]

    def maker_of(self, change: Change) -> Maker:
        kind = change.type.partition(".")[0]
        if kind == "user":
            return self.user_makers.get(change.data["login"])
        return self.group_makers.get(change.data["name"])
