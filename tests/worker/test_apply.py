"""Each action's effect on a sandbox's files, through the real shadow tools (no Celery here)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from services.common import actions
from services.common.actions import Action
from services.worker.apply import Host, apply
from services.worker.checks import ToolError
from tests.support.sandbox_files import entry, members

HASH = "$6$saltsalt$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.fixture
def host(sysroot: Path, tmp_path: Path) -> Host:
    return Host(name="testhost", sysroot=sysroot, archive_dir=tmp_path / "archives")


def run(host: Host, action: Action, **params: object) -> str:
    return apply(host, action, actions.parse_params(action, params))


def _hash(sysroot: Path, login: str) -> str:
    fields = entry(sysroot, "shadow", login)
    assert fields is not None
    return fields[1]


def test_create_with_home_groups_and_password(host: Host, sysroot: Path) -> None:
    result = run(host, Action.USER_CREATE, login="alice", full_name="Alice L", shell="/bin/sh",
                 groups=["users", "audio"], password_hash=HASH)  # fmt: skip
    assert result == "User alice created, home /home/alice"
    passwd = entry(sysroot, "passwd", "alice")
    assert passwd is not None and passwd[4] == "Alice L" and passwd[6] == "/bin/sh"
    assert (sysroot / "home" / "alice" / ".profile").read_text().startswith("# ~/.profile")
    assert "alice" in members(sysroot, "users") and "alice" in members(sysroot, "audio")
    assert _hash(sysroot, "alice") == HASH


def test_create_without_home(host: Host, sysroot: Path) -> None:
    assert run(host, Action.USER_CREATE, login="bob", create_home=False) == "User bob created, without a home"
    assert entry(sysroot, "passwd", "bob") is not None
    assert not (sysroot / "home" / "bob").exists()
    assert _hash(sysroot, "bob") == "!"


def test_modify(host: Host, sysroot: Path) -> None:
    run(host, Action.USER_CREATE, login="carl", create_home=False, groups=["audio", "video"])
    result = run(host, Action.USER_MODIFY, login="carl", full_name="Carl C", shell="/bin/dash",
                 groups_add=["users", "staff"], groups_remove=["audio"])  # fmt: skip
    assert result.startswith("User carl updated: full name; shell; added to users, staff")
    passwd = entry(sysroot, "passwd", "carl")
    assert passwd is not None and passwd[4] == "Carl C" and passwd[6] == "/bin/dash"
    assert {g for g in ("audio", "video", "users", "staff") if "carl" in members(sysroot, g)} == {
        "video", "users", "staff"}  # fmt: skip


def test_password_lock_unlock(host: Host, sysroot: Path) -> None:
    run(host, Action.USER_CREATE, login="dora", create_home=False)
    with pytest.raises(ToolError, match="passwordless"):
        run(host, Action.USER_UNLOCK, login="dora")
    assert _hash(sysroot, "dora") == "!"
    run(host, Action.USER_PASSWORD, login="dora", password_hash=HASH)
    assert _hash(sysroot, "dora") == HASH
    assert run(host, Action.USER_LOCK, login="dora") == "User dora locked"
    assert _hash(sysroot, "dora") == "!" + HASH
    run(host, Action.USER_UNLOCK, login="dora")
    assert _hash(sysroot, "dora") == HASH


@pytest.mark.parametrize("mode", ["keep", "remove", "archive"])
def test_delete(host: Host, sysroot: Path, mode: str) -> None:
    run(host, Action.USER_CREATE, login="erin")
    (sysroot / "home" / "erin" / "notes.txt").write_text("keep me")
    result = run(host, Action.USER_DELETE, login="erin", home=mode)
    assert entry(sysroot, "passwd", "erin") is None and entry(sysroot, "shadow", "erin") is None
    assert (sysroot / "home" / "erin").exists() == (mode == "keep")
    archives = list(host.archive_dir.rglob("*"))
    if mode != "archive":
        assert archives == []
        return
    [archive] = list((host.archive_dir / "testhost").glob("erin-*.tar.gz"))
    assert str(archive) in result and archive.stat().st_mode & 0o077 == 0
    with tarfile.open(archive) as tar:
        notes = tar.extractfile("erin/notes.txt")
        assert notes is not None and notes.read() == b"keep me"
        assert "erin/.bashrc" in tar.getnames()


def test_groups_and_members(host: Host, sysroot: Path) -> None:
    for login in ("fay", "gus", "hal"):
        run(host, Action.USER_CREATE, login=login, create_home=False)
    assert run(host, Action.GROUP_CREATE, name="physics", gid=2001) == "Group physics created, gid 2001"
    assert run(host, Action.GROUP_CREATE, name="maths") == "Group maths created, gid 2002"
    run(host, Action.GROUP_ADD_MEMBERS, name="physics", logins=["fay", "gus", "hal"])
    assert members(sysroot, "physics") == {"fay", "gus", "hal"}
    gshadow = entry(sysroot, "gshadow", "physics")
    assert gshadow is not None and set(gshadow[3].split(",")) == {"fay", "gus", "hal"}
    assert run(host, Action.GROUP_REMOVE_MEMBERS, name="physics", logins=["fay", "hal"]) == (
        "fay, hal removed from group physics")  # fmt: skip
    assert members(sysroot, "physics") == {"gus"}
    gshadow = entry(sysroot, "gshadow", "physics")
    assert gshadow is not None and gshadow[3] == "gus"
    run(host, Action.GROUP_DELETE, name="physics")
    assert entry(sysroot, "group", "physics") is None and entry(sysroot, "gshadow", "physics") is None


def test_a_failing_member_changes_no_member(host: Host, sysroot: Path) -> None:
    """Members were added one tool call each, and a failing one left those before it added
    (the error said so). Every member is now checked before the group changes."""
    run(host, Action.USER_CREATE, login="ida", create_home=False)
    with pytest.raises(ToolError, match=r"user 'ghost' does not exist"):
        run(host, Action.GROUP_ADD_MEMBERS, name="users", logins=["ida", "ghost"])
    assert "ida" not in members(sysroot, "users")


def test_tool_errors_carry_the_tools_words(host: Host, sysroot: Path) -> None:
    run(host, Action.USER_CREATE, login="jon", create_home=False)
    with pytest.raises(ToolError, match="cannot remove the primary group of user 'jon'"):
        run(host, Action.GROUP_DELETE, name="jon")
    with pytest.raises(ToolError, match="already exists"):
        run(host, Action.USER_CREATE, login="jon")
    with pytest.raises(ToolError, match="does not exist"):
        run(host, Action.USER_DELETE, login="nobody-here")


@pytest.mark.parametrize(
    ("action", "params", "problem"),
    [
        (Action.USER_CREATE, {"login": "-o"}, "not allowed"),
        (Action.USER_CREATE, {"login": "kim", "groups": ["--help"]}, "group name"),
        (Action.USER_CREATE, {"login": "kim", "shell": "/bin/zsh"}, "/etc/shells"),
        (Action.USER_CREATE, {"login": "kim", "full_name": "a:b"}, "':'"),
        (Action.USER_PASSWORD, {"login": "kim", "password_hash": "x:0:0"}, "crypt"),
        (Action.GROUP_DELETE, {"name": "-r"}, "not allowed"),
        (Action.GROUP_CREATE, {"name": "neg", "gid": -1}, "negative"),
    ],
)
def test_bad_values_never_reach_a_tool(
    host: Host, sysroot: Path, action: Action, params: dict[str, object], problem: str
) -> None:
    before = {name: (sysroot / "etc" / name).read_bytes() for name in ("passwd", "group", "shadow")}
    with pytest.raises(ToolError, match=problem):
        apply(host, action, actions.parse_params(action, params))
    assert before == {name: (sysroot / "etc" / name).read_bytes() for name in ("passwd", "group", "shadow")}
