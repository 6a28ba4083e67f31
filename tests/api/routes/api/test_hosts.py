"""The API's routing to a fleet's hosts, against the running api and hand-written read models.

``/api/v1/hosts/{host}/users...`` and ``.../groups...`` act on the host they name and read
its read model; an unknown host is 404; a host whose worker was heard from but no longer
beats is refused changes at once (409), with nothing recorded nor sent.
"""

from __future__ import annotations

import orjson

from services.common import keys
from tests.support.api_app import HOST, ApiWorld, queued_messages, write_read_model

OTHER = "beta"
SEEN = "2026-05-01T12:00:00+00:00"


def _beating(api: ApiWorld, host: str) -> None:
    """As the host's worker leaves it: its record, and a live heartbeat."""
    api.redis.hset(keys.HOSTS, host, orjson.dumps({"name": host, "last_seen": SEEN}))
    api.redis.set(keys.host_heartbeat(host), SEEN, ex=60)


def test_a_change_goes_to_the_queue_of_the_host_in_the_path(api: ApiWorld) -> None:
    write_read_model(api.redis, OTHER)
    _beating(api, OTHER)
    admin = api.admin()
    accepted = admin.post(f"/api/v1/hosts/{OTHER}/users", json={"login": "zoe"})
    assert accepted.status_code == 202, accepted.text
    job = admin.get(accepted.headers["Location"]).json()
    assert job["host"] == OTHER
    assert [m["args"][0] for m in queued_messages(api.redis, OTHER)] == [job["id"]]
    assert queued_messages(api.redis, HOST) == [], "nothing for the default host"
    one_host = admin.post("/api/v1/users", json={"login": "zoe"})
    assert admin.get(one_host.headers["Location"]).json()["host"] == HOST


def test_reads_come_from_the_read_model_of_the_host_in_the_path(api: ApiWorld) -> None:
    write_read_model(api.redis, OTHER)
    api.redis.hdel(keys.host_users(OTHER), "alice")
    viewer = api.viewer()
    assert viewer.get(f"/api/v1/hosts/{OTHER}/users/alice").status_code == 404
    assert viewer.get("/api/v1/users/alice").status_code == 200
    regular = viewer.get(f"/api/v1/hosts/{OTHER}/users", params={"system": False}).json()["items"]
    assert [u["login"] for u in regular] == ["bob"]
    assert viewer.get(f"/api/v1/hosts/{OTHER}/groups/devs").json()["members"] == ["alice"]


def test_an_unknown_host_is_404_after_the_session_check(api: ApiWorld) -> None:
    assert api.anonymous().get("/api/v1/hosts/nowhere/users").status_code == 401
    admin = api.admin()
    for method, path in (("GET", "/api/v1/hosts/nowhere"), ("GET", "/api/v1/hosts/nowhere/groups"),
                         ("POST", "/api/v1/hosts/nowhere/users")):  # fmt: skip
        response = admin.request(method, path, json={"login": "zoe"} if method == "POST" else None)
        assert response.status_code == 404, (path, response.text)
        assert "no such host 'nowhere'" in response.json()["detail"]


def test_a_change_for_an_offline_host_is_refused_at_once(api: ApiWorld) -> None:
    write_read_model(api.redis, OTHER)
    api.redis.hset(keys.HOSTS, OTHER, orjson.dumps({"name": OTHER, "last_seen": SEEN}))  # no heartbeat
    admin = api.admin()
    before = api.recorded()
    for method, path, body in (("POST", "users", {"login": "zoe"}), ("POST", "users/alice/lock", None),
                               ("DELETE", "groups/devs", None)):  # fmt: skip
        response = admin.request(method, f"/api/v1/hosts/{OTHER}/{path}", json=body)
        assert response.status_code == 409, response.text
        assert response.json()["detail"] == (
            "Host 'beta' is offline: its worker has not been heard from since 2026-05-01 12:00:00 UTC. "
            "Nothing was changed; try again once the host is back online."
        )
    assert api.recorded() == before and queued_messages(api.redis, OTHER) == []
    # Even a change that its stale read model would refuse: "offline" is said first.
    assert admin.post(f"/api/v1/hosts/{OTHER}/users", json={"login": "alice"}).status_code == 409
    assert api.viewer().get(f"/api/v1/hosts/{OTHER}/users/alice").status_code == 200, "reads still work"
    _beating(api, OTHER)
    assert admin.post(f"/api/v1/hosts/{OTHER}/users", json={"login": "zoe"}).status_code == 202


def test_one_host_lists_itself(api: ApiWorld) -> None:
    _beating(api, OTHER)
    host = api.viewer().get(f"/api/v1/hosts/{OTHER}").json()
    assert host == {"name": OTHER, "online": True, "last_seen": SEEN, "users": 0, "groups": 0,
                    "unreadable": []}  # fmt: skip


def test_hosts_are_online_while_their_heartbeat_lives(api: ApiWorld) -> None:
    viewer = api.viewer()
    users, groups = api.redis.hlen(keys.host_users(HOST)), api.redis.hlen(keys.host_groups(HOST))
    never = {"name": HOST, "online": False, "last_seen": None, "users": users, "groups": groups,
             "unreadable": []}  # fmt: skip
    assert viewer.get("/api/v1/hosts").json() == [never]
    seen, before = "2026-01-01T00:00:00.500000+00:00", "2025-12-31T23:00:00+00:00"
    api.redis.hset(keys.HOSTS, mapping={HOST: orjson.dumps({"last_seen": seen}),
                                        "other": orjson.dumps({"last_seen": before})})  # fmt: skip
    api.redis.set(keys.host_heartbeat(HOST), seen, ex=10)
    hosts = viewer.get("/api/v1/hosts").json()
    assert hosts == [
        {**never, "online": True, "last_seen": seen},
        {"name": "other", "online": False, "last_seen": before, "users": 0, "groups": 0, "unreadable": []},
    ]
