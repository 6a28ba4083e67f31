"""The fleet's drift view over hand-written read models: which logins differ between hosts, and how."""

from __future__ import annotations

import orjson

from services.common import keys
from tests.support.api_app import HOST, ApiWorld, write_read_model

OTHER = "beta"
SEEN = "2026-05-01T12:00:00+00:00"


def _beating(api: ApiWorld, host: str) -> None:
    """As the host's worker leaves it: its record, and a live heartbeat."""
    api.redis.hset(keys.HOSTS, host, orjson.dumps({"name": host, "last_seen": SEEN}))
    api.redis.set(keys.host_heartbeat(host), SEEN, ex=60)


def test_the_drift_view_over_hand_written_hosts(api: ApiWorld) -> None:
    write_read_model(api.redis, OTHER)
    bob = orjson.loads(api.redis.hget(keys.host_users(OTHER), "bob") or b"{}")
    api.redis.hset(keys.host_users(OTHER), "bob", orjson.dumps({**bob, "uid": 2001, "groups": ["audio"]}))
    api.redis.hdel(keys.host_users(OTHER), "alice")
    _beating(api, OTHER)
    view = api.viewer().get("/api/v1/fleet/users").json()
    assert [h["name"] for h in view["hosts"]] == [HOST, OTHER]
    rows = {row["login"]: row for row in view["users"]}
    assert sorted(rows) == ["alice", "bob"], "system accounts are left out"
    assert rows["bob"]["differs"] == ["uid", "groups"] and rows["bob"]["missing"] == []
    assert rows["alice"]["missing"] == [OTHER] and rows["alice"]["differs"] == []
    differing = api.viewer().get("/api/v1/fleet/users", params={"differing": True}).json()["users"]
    assert [r["login"] for r in differing] == ["alice", "bob"]
    with_system = api.viewer().get("/api/v1/fleet/users", params={"system": True}).json()["users"]
    assert "root" in [r["login"] for r in with_system]
