"""The drift view's comparison of one login's accounts across hosts (services/api/core/fleet.py)."""

from __future__ import annotations

from typing import Any

from services.api.core.fleet import drift


def test_drift_compares_uid_gid_and_groups_as_sets() -> None:
    def user(login: str, uid: int, groups: list[str], system: bool = False) -> dict[str, Any]:
        return {"login": login, "uid": uid, "gid": uid, "primary_group": login, "groups": groups,
                "system": system}  # fmt: skip

    daemon = user("daemon", 1, [], system=True)
    view = drift({
        "a": [user("ann", 1000, ["audio", "video"]), user("bob", 1001, []), daemon],
        "b": [user("ann", 1000, ["video", "audio"]), user("bob", 1002, ["sudo"]), daemon],
        "c": [user("ann", 1000, ["audio", "video"]), daemon],
    })  # fmt: skip
    rows = {row["login"]: row for row in view}
    assert sorted(rows) == ["ann", "bob"], "system accounts everywhere are left out by default"
    assert rows["ann"]["differs"] == [] and rows["ann"]["missing"] == []
    assert rows["bob"]["differs"] == ["uid", "gid", "groups"] and rows["bob"]["missing"] == ["c"]
    only = drift({"a": [user("ann", 1000, [])], "b": [user("ann", 1000, [])]}, differing=True)
    assert only == []
    assert [r["login"] for r in drift({"a": [user("daemon", 1, [], system=True)]}, system=True)] == ["daemon"]
