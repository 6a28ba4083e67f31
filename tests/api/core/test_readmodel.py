"""services/api/core/readmodel.py: each host's model decoded once per change, then filtered,
sorted and sliced in memory; against a real redis-server.

The model is written here as the worker writes it: the records, the host's facts (whose
``read_at`` moves on every store) and the files' digest, in one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import orjson
import pytest
import redis
import redis.asyncio

from services.api.core import readmodel
from services.api.core.readmodel import Filters, ReadModels
from services.common import keys
from services.common.accounts import Group, HostInfo, User

HOST = "modelhost"


def _user(login: str, uid: int, **fields: object) -> User:
    values: dict[str, object] = {
        "login": login, "uid": uid, "gid": uid, "primary_group": login, "full_name": login.title(),
        "home": f"/home/{login}", "shell": "/bin/bash", "groups": [], "locked": False, "has_password": True,
        "last_change": None, "system": False,
    }  # fmt: skip
    return User.model_validate({**values, **fields})


USERS = [
    _user("root", 0, system=True, full_name="root", primary_group="root"),
    _user("alice", 1000, full_name="Alice Liddell", groups=["devs"]),
    _user("bob", 1001, full_name="Bob Marley", locked=True),
    _user("carol", 1002, full_name="Carol ALICEson", primary_group="devs", gid=1100),
    _user("dave", 1003, full_name="Dave", groups=["devs"], locked=True),
]
GROUPS = [
    Group(name="root", gid=0, members=[], system=True),
    Group(name="devs", gid=1100, members=["alice", "dave"], system=False),
    Group(name="alice", gid=1000, members=[], system=False),
]


def _store(client: redis.Redis, *, digest: bytes | None = b"d1", read_at: str = "2026-01-01T00:00:00+00:00",
           users: list[User] = USERS, groups: list[Group] = GROUPS) -> None:  # fmt: skip
    info = HostInfo(
        name=HOST, shells=["/bin/bash"], uid_min=1000, uid_max=60000, gid_min=1000, read_at=read_at
    )
    pipe = client.pipeline(transaction=True)
    pipe.delete(keys.host_users(HOST), keys.host_groups(HOST), keys.host_digest(HOST))
    pipe.hset(keys.host_users(HOST), mapping={u.login: u.model_dump_json() for u in users})
    pipe.hset(keys.host_groups(HOST), mapping={g.name: g.model_dump_json() for g in groups})
    pipe.set(keys.host_info(HOST), info.model_dump_json())
    if digest is not None:
        pipe.set(keys.host_digest(HOST), digest)
    pipe.execute()


def _calls(client: redis.Redis, command: str) -> int:
    stats = client.info("commandstats").get(f"cmdstat_{command}", {})
    return int(stats.get("calls", 0))


def _hgetalls(client: redis.Redis) -> int:
    return _calls(client, "hgetall")


@pytest.fixture
def models(redis_client: redis.Redis) -> Iterator[ReadModels]:
    _store(redis_client)
    yield ReadModels(redis_client)


def _names(rows: list[readmodel.Row]) -> list[str]:
    return [r.name for r in rows]


def test_requests_read_the_stamp_not_the_model_while_the_host_does_not_change(
    models: ReadModels, redis_client: redis.Redis
) -> None:
    first = models.current(HOST)
    fetched = _hgetalls(redis_client)
    for _ in range(5):
        assert models.current(HOST) is first
    assert _hgetalls(redis_client) == fetched, "the model was fetched again though nothing changed"


def test_the_model_is_reloaded_when_the_worker_stores_again_even_with_the_same_digest(
    models: ReadModels, redis_client: redis.Redis
) -> None:
    first = models.current(HOST)
    # Written behind the stamp's back: not seen, which shows the answer came from memory.
    redis_client.hset(keys.host_users(HOST), "zed", _user("zed", 1500).model_dump_json())
    assert models.current(HOST).users.get("zed") is None

    # A worker bringing an older model up to date keeps the digest; its store moves read_at.
    _store(redis_client, users=[*USERS, _user("zed", 1500)], read_at="2026-01-01T00:00:01+00:00")
    second = models.current(HOST)
    assert second is not first and second.users.get("zed") is not None
    # A record stored exactly as before keeps its row: only what changed is decoded again.
    assert second.users.get("alice") is first.users.get("alice")

    _store(redis_client, digest=b"d2", users=USERS, read_at="2026-01-01T00:00:01+00:00")
    assert models.current(HOST).users.get("zed") is None


def test_a_model_stored_without_a_digest_is_read_afresh_every_time(redis_client: redis.Redis) -> None:
    _store(redis_client, digest=None)
    models = ReadModels(redis_client)
    first = models.current(HOST)
    redis_client.hdel(keys.host_users(HOST), "bob")
    second = models.current(HOST)
    assert second is not first and second.users.get("bob") is None


def test_the_event_loop_reads_the_stamp_and_shares_the_model(models: ReadModels, redis_url: str) -> None:
    async def twice() -> tuple[readmodel.HostModel, readmodel.HostModel]:
        aredis = redis.asyncio.Redis.from_url(redis_url)
        try:
            return await models.current_async(aredis, HOST), await models.current_async(aredis, HOST)
        finally:
            await aredis.aclose()

    first, second = asyncio.run(twice())
    assert first is second is models.current(HOST)
    assert len(first.users) == len(USERS)


def test_filters_keep_what_they_say_and_combine(models: ReadModels) -> None:
    users = models.current(HOST).users
    everyone = users.select(Filters())
    assert everyone.total == 5 and _names(everyone.rows) == ["alice", "bob", "carol", "dave", "root"]
    # q: the login or the full name, whatever the case.
    assert _names(users.select(Filters(q="ALIce")).rows) == ["alice", "carol"]
    assert _names(users.select(Filters(q="marley")).rows) == ["bob"]
    assert users.select(Filters(q="1001")).total == 0, "the uid is not searched"
    # group: listed in it, or it is the primary group.
    assert _names(users.select(Filters(group="devs")).rows) == ["alice", "carol", "dave"]
    assert _names(users.select(Filters(locked=True)).rows) == ["bob", "dave"]
    assert _names(users.select(Filters(locked=False, system=False)).rows) == ["alice", "carol"]
    assert _names(users.select(Filters(system=True)).rows) == ["root"]
    assert _names(users.select(Filters(group="devs", locked=True)).rows) == ["dave"]
    assert users.select(Filters(group="nobody")).total == 0


def test_a_page_is_a_slice_of_the_sorted_matches_with_their_total(models: ReadModels) -> None:
    users = models.current(HOST).users
    page = users.select(Filters(system=False), offset=1, limit=2)
    assert (page.total, page.offset, _names(page.rows)) == (4, 1, ["bob", "carol"])
    assert users.select(Filters(), offset=10).rows == []
    by_uid = users.select(Filters(), sort="uid", desc=True)
    assert _names(by_uid.rows) == ["dave", "carol", "bob", "alice", "root"]
    assert _names(users.select(Filters(), sort="status").rows)[:2] == ["alice", "carol"]  # active first
    # An unknown column sorts by name; the page's items are the records as stored.
    assert _names(users.select(Filters(), sort="password").rows)[0] == "alice"
    answer = orjson.loads(page.items_json())
    assert [u["login"] for u in answer] == ["bob", "carol"] and answer[0] == USERS[2].model_dump()


def test_groups_are_searched_by_name_and_counted(models: ReadModels) -> None:
    model = models.current(HOST)
    assert _names(model.groups.select(Filters(q="DEV")).rows) == ["devs"]
    assert _names(model.groups.select(Filters(), sort="members", desc=True).rows)[0] == "devs"
    assert model.groups.count(Filters(system=False)) == 2
    assert model.users.count(Filters(system=False)) == 4


def test_a_snapshot_validates_only_what_a_change_looks_at(models: ReadModels) -> None:
    snap = readmodel.snapshot(models.current(HOST), manage_system_accounts=True)
    assert "alice" in snap.users and "zed" not in snap.users and len(snap.groups) == 3
    assert snap.users["carol"].primary_group == "devs"
    assert snap.gid_owner(1100) == "devs" and snap.gid_owner(4242) is None
    assert snap.info is not None and snap.info.uid_min == 1000 and snap.manage_system_accounts


def test_a_live_snapshot_reads_the_records_a_check_asks_for_and_no_whole_hash(
    models: ReadModels, redis_client: redis.Redis
) -> None:
    """While a host changes fast, a change's checks must not reload all of it (9 MB at
    30,000 accounts) because the stamp moved: they read the fields they look at."""
    models.current(HOST)
    _store(redis_client, digest=b"d2")  # the worker stored again: the kept model is stale
    stamp = models.stamp(HOST)
    assert models.kept(HOST, stamp) is None
    before, names = _hgetalls(redis_client), _calls(redis_client, "hkeys")
    snap = readmodel.live_snapshot(redis_client, HOST, stamp[1], lambda: models.current(HOST).gid_names)
    assert "alice" in snap.users and "zed" not in snap.users and "devs" in snap.groups
    assert snap.users["carol"].primary_group == "devs" and snap.groups["devs"].members == ["alice", "dave"]
    assert snap.info is not None and snap.info.name == HOST
    assert _hgetalls(redis_client) == before and _calls(redis_client, "hkeys") == names, "a whole hash read"
    # Only the rare check by gid loads the model.
    assert snap.gid_owner(1100) == "devs" and _hgetalls(redis_client) == before + 2
