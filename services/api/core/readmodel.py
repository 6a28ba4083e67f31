"""The api's one reader of a host's read model (the Redis hashes its worker writes).

At 30,000 accounts the model is some 9 MB of JSON: fetching and decoding it for every
request cost more than everything else the request did. So each api process keeps each
host's model decoded in memory (:class:`ReadModels`), stamped with what the worker writes
in the same transaction as every change: the digest of the account files and the host's
facts (``read_at`` moves on every store, even one that leaves the digest as it was, such
as a worker bringing an older version's model up to date). A request reads the stamp
(well under a kilobyte) and reloads the model only when it moved; lists are filtered,
sorted and sliced in memory, and records are answered as the JSON the worker stored.
A model stored without a digest (never by a worker: by hand, in tests) is never kept.

Single records (``GET /users/{login}``, a user's page) are still one ``HGET`` each.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar, cast

import orjson
import redis
import redis.asyncio
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from services.api.core import hosts as host_list
from services.common import keys
from services.common.accounts import Group, HostInfo, User

M = TypeVar("M", bound=BaseModel)
Stamp = tuple[bytes | None, bytes | None]

# Hosts whose model a process keeps (the one loaded longest ago goes first): a fleet's
# browsing should not hold every host's accounts in every process.
KEPT_HOSTS = 16


def user_status(user: Mapping[str, Any]) -> str:
    """Without a password nobody logs in, locked or not: that is said first. (The users
    pages show it, and sort by it: one rule, here.)"""
    if not user.get("has_password"):
        return "no password"
    return "locked" if user.get("locked") else "active"


# --- one record as a list needs it -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """A record's stored JSON, and what lists filter and sort it on (decoded once per change)."""

    name: str
    raw: bytes
    # What ``q`` searches, lowercased: a user's login and full name, a group's name.
    text: str
    system: bool
    locked: bool
    # A user's groups, its primary group among them (``id`` counts it too); none for a group.
    groups: frozenset[str]
    primary: str | None
    # The sort value of each of its kind's columns, in the order of ``Kind.columns``.
    order: tuple[Any, ...]

    def record(self) -> dict[str, Any]:
        record: dict[str, Any] = orjson.loads(self.raw)
        return record


def _words(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value or "")


def _user_row(name: str, raw: bytes, r: dict[str, Any]) -> Row:
    groups = [str(g) for g in r.get("groups") or []]
    primary = r.get("primary_group")
    text = f"{r.get('login', name)}\0{r.get('full_name', '')}".lower()
    order = (name, str(r.get("full_name", "")).lower(), _number(r.get("uid")), _words(groups).lower(),
             user_status(r))  # fmt: skip
    return Row(name=name, raw=raw, text=text, system=bool(r.get("system")), locked=bool(r.get("locked")),
               groups=frozenset([*groups, *([primary] if primary else [])]), primary=primary,
               order=order)  # fmt: skip


def _group_row(name: str, raw: bytes, r: dict[str, Any]) -> Row:
    members = r.get("members") or []
    order = (name, _number(r.get("gid")), len(members))
    return Row(name=name, raw=raw, text=name.lower(), system=bool(r.get("system")), locked=False,
               groups=frozenset(), primary=None, order=order)  # fmt: skip


def _number(value: Any) -> int:
    return value if isinstance(value, int) else 0


@dataclass(frozen=True)
class Kind:
    """Users or groups: the name field, the sortable columns (the name first), the row maker."""

    name_key: str
    columns: tuple[str, ...]
    row: Callable[[str, bytes, dict[str, Any]], Row]

    def column(self, sort: str | None) -> int:
        return self.columns.index(sort) if sort in self.columns else 0


USERS = Kind("login", ("login", "full_name", "uid", "groups", "status"), _user_row)
GROUPS = Kind("name", ("name", "gid", "members"), _group_row)


def _row(kind: Kind, name: str, raw: bytes) -> Row:
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        record = {}
    return kind.row(name, raw, record if isinstance(record, dict) else {})


# --- a table of rows, and what a list asks of it -------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What a list keeps; ``None`` keeps either. ``q``: a case-insensitive substring."""

    q: str = ""
    group: str | None = None
    locked: bool | None = None
    system: bool | None = None

    def by_flags(self, rows: list[Row]) -> list[Row]:
        """The rows ``system`` and ``locked`` keep, in their order (a few combinations: a
        table keeps each one it is asked for)."""
        kept = rows
        if self.system is not None:
            system = self.system
            kept = [r for r in kept if r.system is system]
        if self.locked is not None:
            locked = self.locked
            kept = [r for r in kept if r.locked is locked]
        return kept

    def by_text(self, rows: list[Row]) -> list[Row]:
        """The rows ``group`` and ``q`` keep, in their order (as many as there are words)."""
        kept = rows
        if self.group is not None:
            group = self.group
            kept = [r for r in kept if group in r.groups]
        if self.q:
            needle = self.q.lower()
            kept = [r for r in kept if needle in r.text]
        return kept


@dataclass(frozen=True)
class Selection:
    """One page of a list: how many rows match in all, and those from ``offset`` on."""

    total: int
    offset: int
    rows: list[Row]

    def items_json(self) -> bytes:
        """The page's records as a JSON array, made of the stored JSON without decoding it."""
        return b"[" + b",".join(row.raw for row in self.rows) + b"]"


class Table:
    """A host's users or groups, by name; each column's order is sorted once, when first
    asked, and filtered by system and locked once per combination asked."""

    def __init__(self, kind: Kind, rows: dict[str, Row]) -> None:
        self.kind = kind
        self.rows = rows
        self._orders: dict[int, list[Row]] = {}
        # Each order as the yes-or-no filters (system, locked) leave it, once asked for.
        self._flags: dict[tuple[int, bool | None, bool | None], list[Row]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, name: str) -> Row | None:
        return self.rows.get(name)

    def ordered(self, sort: str | None = None) -> list[Row]:
        column = self.kind.column(sort)
        found = self._orders.get(column)
        if found is None:
            # The name breaks ties, so that a page never shuffles rows of equal value.
            found = sorted(self.rows.values(), key=lambda r: (r.order[column], r.name))
            self._orders[column] = found  # two threads sorting at once store equal lists
        return found

    def _flagged(self, sort: str | None, filters: Filters) -> list[Row]:
        key = (self.kind.column(sort), filters.system, filters.locked)
        found = self._flags.get(key)
        if found is None:
            found = self._flags[key] = filters.by_flags(self.ordered(sort))
        return found

    def select(
        self,
        filters: Filters,
        *,
        sort: str | None = None,
        desc: bool = False,
        offset: int = 0,
        limit: int = 100,
    ) -> Selection:
        kept = filters.by_text(self._flagged(sort, filters))
        if desc:
            kept = kept[::-1]
        return Selection(total=len(kept), offset=offset, rows=kept[offset : offset + limit])

    def count(self, filters: Filters) -> int:
        return self.select(filters, limit=0).total

    def raw(self) -> Mapping[str, bytes]:
        return _RawView(self.rows)


class _RawView(Mapping[str, bytes]):
    """A table's stored JSON by name, without copying 30,000 entries into a dict."""

    def __init__(self, rows: Mapping[str, Row]) -> None:
        self._rows = rows

    def __getitem__(self, name: str) -> bytes:
        return self._rows[name].raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


def _table(kind: Kind, raw: Mapping[bytes, bytes], before: Table | None) -> Table:
    """A table of ``raw`` (HGETALL's answer); a record stored exactly as before keeps its row.

    A first load makes its rows in name order, the order lists are read in most: a filter's
    pass over 30,000 rows made in the hash's order ran 5 to 15 times slower, its memory reads
    scattered. A reload keeps most rows where they are, and makes the few new ones as they come.
    """
    rows: dict[str, Row] = {}
    previous = before.rows if before is not None else {}
    for key, value in raw.items() if previous else sorted(raw.items()):
        name = key.decode()
        kept = previous.get(name)
        rows[name] = kept if kept is not None and kept.raw == value else _row(kind, name, value)
    return Table(kind, rows)


# --- a host's model, kept per process ----------------------------------------------------------


@dataclass(frozen=True)
class HostModel:
    host: str
    stamp: Stamp
    users: Table
    groups: Table
    info: HostInfo | None

    @property
    def keepable(self) -> bool:
        return self.stamp[0] is not None

    @cached_property
    def gid_names(self) -> dict[int, str]:
        """The group of each gid (the first by name when two share one): only a group's
        creation asks, so it is made then, not on every reload."""
        names: dict[int, str] = {}
        for row in self.groups.rows.values():
            gid = row.order[1]
            if gid not in names or row.name < names[gid]:
                names[gid] = row.name
        return names


def _stamp_keys(host: str) -> tuple[str, str]:
    return keys.host_digest(host), keys.host_info(host)


def _fetch(client: redis.Redis, host: str) -> tuple[Stamp, Mapping[bytes, bytes], Mapping[bytes, bytes]]:
    """The stamp and both hashes, in one MULTI: the worker stores them in one too."""
    pipe = client.pipeline(transaction=True)
    pipe.mget(_stamp_keys(host))
    pipe.hgetall(keys.host_users(host))
    pipe.hgetall(keys.host_groups(host))
    (digest, info), users, groups = pipe.execute()
    return (digest, info), users, groups


def _model(host: str, client: redis.Redis, before: HostModel | None) -> HostModel:
    stamp, users_raw, groups_raw = _fetch(client, host)
    users = _table(USERS, users_raw, before.users if before else None)
    groups = _table(GROUPS, groups_raw, before.groups if before else None)
    info = HostInfo.model_validate_json(stamp[1]) if stamp[1] else None
    return HostModel(host, stamp, users, groups, info)


class ReadModels:
    """Each host's :class:`HostModel`, for one api process (``app.state.readmodels``).

    Reloads run in a worker thread with the blocking client, one at a time per host: the
    requests that find the stamp moved at the same moment wait for one reload rather than
    each fetching the model again.
    """

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._models: OrderedDict[str, HostModel] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def kept(self, host: str, stamp: Stamp) -> HostModel | None:
        """The model this process holds for ``host`` if it is the one ``stamp`` names; no reload."""
        return self._kept(host, stamp)

    def _kept(self, host: str, stamp: Stamp) -> HostModel | None:
        model = self._models.get(host)
        if model is None or stamp[0] is None or model.stamp != stamp:
            return None
        return model

    def _lock(self, host: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(host, threading.Lock())

    def stamp(self, host: str) -> Stamp:
        digest, info = self._client.mget(_stamp_keys(host))
        return _as_bytes(digest), _as_bytes(info)

    def current(self, host: str, stamp: Stamp | None = None) -> HostModel:
        """The host's model as Redis holds it now (``stamp``: already read by the caller)."""
        found = self._kept(host, stamp if stamp is not None else self.stamp(host))
        if found is not None:
            return found
        with self._lock(host):
            # Another thread may have reloaded it while this one waited.
            found = self._kept(host, self.stamp(host))
            if found is not None:
                return found
            model = _model(host, self._client, self._models.get(host))
            self._keep(model)
            return model

    def _keep(self, model: HostModel) -> None:
        with self._guard:
            if not model.keepable:
                self._models.pop(model.host, None)
                return
            self._models[model.host] = model
            self._models.move_to_end(model.host)
            while len(self._models) > KEPT_HOSTS:
                self._models.popitem(last=False)

    async def current_async(self, aredis: redis.asyncio.Redis, host: str) -> HostModel:
        """:meth:`current` for the event loop: the stamp read on it, a reload off it."""
        digest, info = await aredis.mget(_stamp_keys(host))
        found = self._kept(host, (_as_bytes(digest), _as_bytes(info)))
        if found is not None:
            return found
        return await run_in_threadpool(self.current, host)


# --- a snapshot for validating a change ----------------------------------------------------------


def _by_name(raw: Mapping[str, bytes] | Mapping[bytes, bytes]) -> Mapping[str, bytes]:
    """HGETALL's answer (a dict, bytes names) decoded; a view by name (a table's, a live
    hash's) as it is: never iterated here, which would read every name of a live hash."""
    if isinstance(raw, dict) and isinstance(next(iter(raw), None), bytes):
        return {k.decode(): v for k, v in cast(Mapping[bytes, bytes], raw).items()}
    return cast(Mapping[str, bytes], raw)


class Records(Mapping[str, M]):
    """A host's records as stored, each validated into its model only once it is looked at.

    A change looks at a few records of a host that may hold thousands: validating every
    one of them into a model cost more than the rest of the request.
    """

    def __init__(self, model: type[M], raw: Mapping[str, bytes] | Mapping[bytes, bytes]) -> None:
        self._model = model
        self._raw = _by_name(raw)
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

    def raw_values(self) -> Iterable[bytes]:
        """The stored JSON of every record, unvalidated."""
        return self._raw.values()


@dataclass(frozen=True)
class HostSnapshot:
    """One host's users, groups and facts, read together to validate a change."""

    host: str
    users: Records[User]
    groups: Records[Group]
    info: HostInfo | None
    # The api's WMI_MANAGE_SYSTEM_ACCOUNTS, carried with what every check already receives.
    manage_system_accounts: bool = False
    # The group of each gid, when the snapshot comes with it (from a HostModel), or how to
    # get it (a live snapshot: the whole model, for the rare check that needs it).
    gid_names: Mapping[int, str] | None = None
    load_gid_names: Callable[[], Mapping[int, str]] | None = None

    def gid_owner(self, gid: int) -> str | None:
        if self.gid_names is None and self.load_gid_names is not None:
            return self.load_gid_names().get(gid)
        if self.gid_names is not None:
            return self.gid_names.get(gid)
        for raw in self.groups.raw_values():
            record = orjson.loads(raw)
            if record.get("gid") == gid:
                return str(record.get("name"))
        return None


def snapshot(model: HostModel, *, manage_system_accounts: bool = False) -> HostSnapshot:
    return HostSnapshot(
        host=model.host,
        users=Records(User, model.users.raw()),
        groups=Records(Group, model.groups.raw()),
        info=model.info,
        manage_system_accounts=manage_system_accounts,
        gid_names=model.gid_names,
    )


class LiveHash(Mapping[str, bytes]):
    """A host's Redis hash read a field at a time (``HGET``), each field at most once.

    What a change's validation looks at (its login, its groups, its members) when the
    process's copy of the model is not current: while a host is changing fast (a flood of
    creations) every request would otherwise reload all of it, 9 MB at 30,000 accounts.
    """

    def __init__(self, client: redis.Redis, key: str) -> None:
        self._client = client
        self._key = key
        self._seen: dict[str, bytes | None] = {}

    def _field(self, name: str) -> bytes | None:
        if name not in self._seen:
            self._seen[name] = _as_bytes(self._client.hget(self._key, name))
        return self._seen[name]

    def __getitem__(self, name: str) -> bytes:
        found = self._field(name)
        if found is None:
            raise KeyError(name)
        return found

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._field(name) is not None

    def __iter__(self) -> Iterator[str]:
        return (key.decode() if isinstance(key, bytes) else str(key) for key in self._client.hkeys(self._key))

    def __len__(self) -> int:
        return int(self._client.hlen(self._key))


def live_snapshot(
    client: redis.Redis, host: str, info: bytes | None, load_gid_names: Callable[[], Mapping[int, str]],
    *, manage_system_accounts: bool = False,
) -> HostSnapshot:  # fmt: skip
    """A snapshot that reads only the records a check looks at (see :class:`LiveHash`)."""
    return HostSnapshot(
        host=host,
        users=Records(User, LiveHash(client, keys.host_users(host))),
        groups=Records(Group, LiveHash(client, keys.host_groups(host))),
        info=HostInfo.model_validate_json(info) if info else None,
        manage_system_accounts=manage_system_accounts,
        load_gid_names=load_gid_names,
    )


# --- single records --------------------------------------------------------------------------------


def _as_bytes(value: bytes | str | None) -> bytes | None:
    """The clients are made without ``decode_responses``: values come back as bytes."""
    return value.encode() if isinstance(value, str) else value


async def user_json(client: redis.asyncio.Redis, host: str, login: str) -> bytes | None:
    return _as_bytes(await client.hget(keys.host_users(host), login))


async def group_json(client: redis.asyncio.Redis, host: str, name: str) -> bytes | None:
    return _as_bytes(await client.hget(keys.host_groups(host), name))


def _record(raw: bytes | None) -> dict[str, Any] | None:
    record: dict[str, Any] | None = orjson.loads(raw) if raw else None
    return record


def user(client: redis.Redis, host: str, login: str) -> dict[str, Any] | None:
    return _record(_as_bytes(client.hget(keys.host_users(host), login)))


def info(client: redis.Redis, host: str) -> dict[str, Any] | None:
    return _record(_as_bytes(client.get(keys.host_info(host))))


async def hosts(client: redis.asyncio.Redis, default_host: str) -> list[dict[str, Any]]:
    """Every known host with its liveness and counts (see services.api.core.hosts.listing)."""
    return await host_list.listing(client, default_host)
