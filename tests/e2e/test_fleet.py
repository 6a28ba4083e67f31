"""A fleet of three hosts: three workers, three sandbox roots, one web origin.

Each action lands on its own host's files only; a crashed worker's host is announced
offline within 10 s (measured on the event's own timestamp) and refused changes with a
message saying so; back, it is announced online with a read model that saw what changed
while it was down; and the drift view shows a login that differs between hosts.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.events import id_tuple
from tests.support.api import logged_in_client, run_ok
from tests.support.fleet import ADMIN, Fleet, tree
from tests.support.sandbox_files import entry
from tests.support.sse import EventCollector

HOSTS = ("alpha", "beta", "gamma")
DEFAULT = "gamma"  # the web origin's own host: where the one-host paths act
OFFLINE_WITHIN = 10.0  # seconds: the contract


@pytest.fixture
def fleet(tmp_path: Path, redis_url: str) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path, redis_url, HOSTS, DEFAULT)
    fleet.prepare()
    try:
        yield fleet
    finally:
        fleet.stop()


def _host_events(stream: EventCollector, host: str) -> list[str]:
    return [e["type"] for e in list(stream.events) if e["host"] == host and e["type"].startswith("host.")]


def _on_its_host_only(fleet: Fleet, admin: httpx.Client, host: str, method: str, url: str, **kw: Any) -> None:
    """Run one action; the other hosts' roots must come out of it byte-identical."""
    others = {name: tree(fleet.roots[name]) for name in HOSTS if name != host}
    before = tree(fleet.roots[host])
    job = run_ok(admin, method, url, **kw)
    assert job["host"] == host
    assert tree(fleet.roots[host]) != before, f"{method} {url} changed nothing on {host}"
    for name, files in others.items():
        assert tree(fleet.roots[name]) == files, f"{method} {url} touched {name}'s files"


@pytest.mark.timeout(300)
def test_a_fleet_of_three_hosts(fleet: Fleet) -> None:
    fleet.start_web()
    admin = logged_in_client(fleet.url, *ADMIN)  # opened already: closed by the finally below
    try:
        _run_the_fleet(fleet, admin)
    finally:
        admin.close()


def _run_the_fleet(fleet: Fleet, admin: httpx.Client) -> None:
    with EventCollector(admin) as stream:
        _the_hosts_come_online(fleet, admin, stream)
        _each_action_acts_on_its_host_only(fleet, admin)
        _the_drift_view_shows_what_differs(admin)
        offline = _a_dead_worker_is_announced_offline(fleet, admin, stream)
        beta_before = _a_change_for_an_offline_host_is_refused(fleet, admin)
        _a_returning_host_is_read_afresh(fleet, admin, stream, offline, beta_before)
        _a_clean_stop_is_announced_at_once(fleet, stream)
        # Each transition was announced once, however many sweeps saw it.
        assert _host_events(stream, "beta") == ["host.online", "host.offline", "host.online"]
        assert _host_events(stream, "alpha") == ["host.online", "host.offline"]
        assert _host_events(stream, "gamma") == ["host.online"]


def _the_hosts_come_online(fleet: Fleet, admin: httpx.Client, stream: EventCollector) -> None:
    fleet.start_workers(*HOSTS)
    hosts = {h["name"]: h for h in admin.get("/api/v1/hosts").json()}
    assert sorted(hosts) == sorted(HOSTS)
    assert all(h["online"] and h["last_seen"] and h["users"] and h["groups"] for h in hosts.values())
    stream.wait(lambda e: e["type"] == "host.online" and e["host"] == "beta")
    # Every page offers every host, and keeps the one chosen.
    page = admin.get("/users/", params={"host": "beta"}).text
    assert all(f'<option value="{h}"' in page for h in HOSTS)
    assert '<option value="beta" selected>' in page and 'href="/fleet/' in page


def _each_action_acts_on_its_host_only(fleet: Fleet, admin: httpx.Client) -> None:
    """Each action on its own host; the one-host path on the default host."""
    _on_its_host_only(fleet, admin, "alpha", "POST", "/api/v1/hosts/alpha/users", json={"login": "dave"})
    _on_its_host_only(fleet, admin, "alpha", "POST", "/api/v1/hosts/alpha/users",
                      json={"login": "carol", "groups": ["audio"]})  # fmt: skip
    _on_its_host_only(fleet, admin, "beta", "POST", "/api/v1/hosts/beta/users", json={"login": "carol"})
    _on_its_host_only(fleet, admin, DEFAULT, "POST", "/api/v1/users", json={"login": "erin"})
    _on_its_host_only(fleet, admin, "beta", "POST", "/api/v1/hosts/beta/groups/users/members",
                      json={"logins": ["carol"]})  # fmt: skip
    assert admin.get("/api/v1/hosts/alpha/users/carol").json()["uid"] == 1001
    assert admin.get("/api/v1/hosts/beta/users/carol").json()["uid"] == 1000
    assert admin.get("/api/v1/hosts/gamma/users/carol").status_code == 404
    regular = admin.get("/api/v1/users", params={"system": False}).json()["items"]
    assert [u["login"] for u in regular] == ["erin"], "the default host's"
    unknown = admin.get("/api/v1/hosts/nowhere/users")
    assert unknown.status_code == 404 and "no such host 'nowhere'" in unknown.json()["detail"]


def _the_drift_view_shows_what_differs(admin: httpx.Client) -> None:
    """carol has two uids and other groups on alpha and beta, and is not on gamma."""
    view = admin.get("/api/v1/fleet/users", params={"differing": "true"}).json()
    assert [h["name"] for h in view["hosts"]] == sorted(HOSTS)
    rows = {row["login"]: row for row in view["users"]}
    carol = rows["carol"]
    accounts = carol["accounts"]
    assert {h: a["uid"] for h, a in accounts.items()} == {"alpha": 1001, "beta": 1000}
    assert {h: a["groups"] for h, a in accounts.items()} == {"alpha": ["audio"], "beta": ["users"]}
    assert {"uid", "groups"} <= set(carol["differs"]) and carol["missing"] == ["gamma"]
    assert rows["dave"]["missing"] == ["beta", "gamma"] and rows["dave"]["differs"] == []
    page = admin.get("/fleet/", params={"differing": "1"})
    assert page.status_code == 200, page.text
    assert 'data-key="carol"' in page.text and "<mark>1001</mark>" in page.text


def _a_dead_worker_is_announced_offline(
    fleet: Fleet, admin: httpx.Client, stream: EventCollector
) -> dict[str, Any]:
    """beta's worker dies without a word: the monitor announces it offline within 10 s."""
    killed_at = fleet.kill_worker("beta")
    offline = stream.wait(lambda e: e["type"] == "host.offline" and e["host"] == "beta", timeout=60)
    delay = (datetime.fromisoformat(offline["at"]) - killed_at).total_seconds()
    assert delay <= OFFLINE_WITHIN, f"host.offline came {delay:.1f} s after the worker died"
    assert "has not been heard from since" in offline["data"]["reason"]
    listed = {h["name"]: h for h in admin.get("/api/v1/hosts").json()}
    assert listed["beta"]["online"] is False and listed["alpha"]["online"] and listed["gamma"]["online"]
    return offline


def _a_change_for_an_offline_host_is_refused(fleet: Fleet, admin: httpx.Client) -> dict[str, bytes | None]:
    """Refused at once, and nothing is recorded or sent; the other hosts still work."""
    jobs_before = len(admin.get("/api/v1/jobs").json())
    beta_before = tree(fleet.roots["beta"])
    refused = admin.post("/api/v1/hosts/beta/users", json={"login": "frank"})
    assert refused.status_code == 409, refused.text
    detail = refused.json()["detail"]
    assert detail.startswith("Host 'beta' is offline: its worker has not been heard from since "), detail
    assert len(admin.get("/api/v1/jobs").json()) == jobs_before
    assert admin.get("/api/v1/hosts/beta/users/carol").status_code == 200, "its last read is still shown"
    run_ok(admin, "POST", "/api/v1/hosts/alpha/users", json={"login": "frank"})
    return beta_before


def _a_returning_host_is_read_afresh(
    fleet: Fleet,
    admin: httpx.Client,
    stream: EventCollector,
    offline: dict[str, Any],
    beta_before: dict[str, bytes | None],
) -> None:
    """Someone adds a user on beta's command line while no worker watches it; then it comes back."""
    command = ["useradd", "--prefix", str(fleet.roots["beta"]), "--", "grace"]
    subprocess.run(command, check=True, capture_output=True)
    assert tree(fleet.roots["beta"]) != beta_before
    assert admin.get("/api/v1/hosts/beta/users/grace").status_code == 404
    fleet.start_workers("beta")
    after = id_tuple(offline["id"])
    online = stream.wait(lambda e: e["type"] == "host.online" and e["host"] == "beta"
                         and id_tuple(e["id"]) > after)  # fmt: skip
    assert datetime.fromisoformat(online["at"]) > datetime.fromisoformat(offline["at"])
    assert admin.get("/api/v1/hosts/beta/users/grace").json()["login"] == "grace", "read afresh on return"
    run_ok(admin, "POST", "/api/v1/hosts/beta/users", json={"login": "frank"})
    assert entry(fleet.roots["beta"], "passwd", "frank") is not None


def _a_clean_stop_is_announced_at_once(fleet: Fleet, stream: EventCollector) -> None:
    """By the worker itself as its shutdown begins, without waiting for its heartbeat to expire."""
    fleet.workers["alpha"].stop()
    stopped = stream.wait(lambda e: e["type"] == "host.offline" and e["host"] == "alpha", timeout=60)
    assert stopped["data"]["reason"] == "its worker is stopping"
