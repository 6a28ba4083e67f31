"""Groups and memberships through the API, their jobs run on a sandbox root, checked in group and
gshadow alike."""

from __future__ import annotations

from pathlib import Path

from tests.support.api_app import ApiWorld
from tests.support.inprocess import Host
from tests.support.sandbox_files import entry, members


def _gshadow_members(sysroot: Path, group: str) -> set[str]:
    fields = entry(sysroot, "gshadow", group)
    assert fields is not None
    return {m for m in fields[3].split(",") if m}


def test_group_create_members_and_delete(host: Host) -> None:
    admin, sysroot = host.api.admin(), host.sysroot
    for login in ("ann", "ben", "cat"):
        host.run_ok(admin, "POST", "/api/v1/users", json={"login": login, "create_home": False})
    host.run_ok(admin, "POST", "/api/v1/groups", json={"name": "physics", "gid": 2001})
    fields = entry(sysroot, "group", "physics")
    assert fields is not None and fields[2] == "2001"

    host.run_ok(admin, "POST", "/api/v1/groups/physics/members", json={"logins": ["ann", "ben", "cat"]})
    assert members(sysroot, "physics") == {"ann", "ben", "cat"}
    assert _gshadow_members(sysroot, "physics") == {"ann", "ben", "cat"}
    group = admin.get("/api/v1/groups/physics").json()
    assert sorted(group["members"]) == ["ann", "ben", "cat"]
    assert "physics" in admin.get("/api/v1/users/ben").json()["groups"]

    host.run_ok(admin, "DELETE", "/api/v1/groups/physics/members", json={"logins": ["ann", "cat"]})
    assert members(sysroot, "physics") == {"ben"}
    assert _gshadow_members(sysroot, "physics") == {"ben"}

    host.run_ok(admin, "DELETE", "/api/v1/groups/physics")
    assert entry(sysroot, "group", "physics") is None
    assert entry(sysroot, "gshadow", "physics") is None
    assert admin.get("/api/v1/groups/physics").status_code == 404
    assert "physics" not in admin.get("/api/v1/users/ben").json()["groups"]


def test_group_listing_matches_the_files(host: Host) -> None:
    admin, sysroot = host.api.admin(), host.sysroot
    host.run_ok(admin, "POST", "/api/v1/groups", json={"name": "chemistry"})
    names = {g["name"] for g in admin.get("/api/v1/groups", params={"limit": 500}).json()["items"]}
    in_file = {line.split(":")[0] for line in (sysroot / "etc" / "group").read_text().splitlines()}
    assert "chemistry" in names and names <= in_file


def test_groups_come_from_the_read_model(api: ApiWorld) -> None:
    viewer = api.viewer()
    regular = viewer.get("/api/v1/groups", params={"system": False}).json()["items"]
    assert [g["name"] for g in regular] == ["alice", "bob", "devs"]
    system = viewer.get("/api/v1/groups", params={"system": True}).json()["items"]
    assert "sudo" in [g["name"] for g in system]
    assert viewer.get("/api/v1/groups/devs").json()["members"] == ["alice"]
    assert viewer.get("/api/v1/groups/nope").status_code == 404
