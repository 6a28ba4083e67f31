"""Groups and memberships through the API, checked in group and gshadow alike."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.api import run_ok
from tests.support.sandbox_files import entry, members


def _gshadow_members(sysroot: Path, group: str) -> set[str]:
    fields = entry(sysroot, "gshadow", group)
    assert fields is not None
    return {m for m in fields[3].split(",") if m}


def test_group_create_members_and_delete(admin: httpx.Client, sysroot: Path) -> None:
    for login in ("ann", "ben", "cat"):
        run_ok(admin, "POST", "/api/v1/users", json={"login": login, "create_home": False})
    run_ok(admin, "POST", "/api/v1/groups", json={"name": "physics", "gid": 2001})
    fields = entry(sysroot, "group", "physics")
    assert fields is not None and fields[2] == "2001"

    run_ok(admin, "POST", "/api/v1/groups/physics/members", json={"logins": ["ann", "ben", "cat"]})
    assert members(sysroot, "physics") == {"ann", "ben", "cat"}
    assert _gshadow_members(sysroot, "physics") == {"ann", "ben", "cat"}
    group = admin.get("/api/v1/groups/physics").json()
    assert sorted(group["members"]) == ["ann", "ben", "cat"]
    assert "physics" in admin.get("/api/v1/users/ben").json()["groups"]

    run_ok(admin, "DELETE", "/api/v1/groups/physics/members", json={"logins": ["ann", "cat"]})
    assert members(sysroot, "physics") == {"ben"}
    assert _gshadow_members(sysroot, "physics") == {"ben"}

    run_ok(admin, "DELETE", "/api/v1/groups/physics")
    assert entry(sysroot, "group", "physics") is None
    assert entry(sysroot, "gshadow", "physics") is None
    assert admin.get("/api/v1/groups/physics").status_code == 404
    assert "physics" not in admin.get("/api/v1/users/ben").json()["groups"]


def test_group_listing_matches_the_files(admin: httpx.Client, sysroot: Path) -> None:
    run_ok(admin, "POST", "/api/v1/groups", json={"name": "chemistry"})
    names = {g["name"] for g in admin.get("/api/v1/groups").json()}
    in_file = {line.split(":")[0] for line in (sysroot / "etc" / "group").read_text().splitlines()}
    assert "chemistry" in names and names <= in_file
