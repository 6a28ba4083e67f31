"""Change sets on a sandbox root, judged by the shadow tools themselves."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from services.common import actions
from services.common.actions import Action
from services.worker import changeset
from services.worker.changeset import Host, Item
from tests.support.oracle import check_with_the_tools
from tests.support.sandbox_files import entry, members

HASH = "$6$saltsalt$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.fixture
def host(sysroot: Path, tmp_path: Path) -> Host:
    return Host(name="testhost", sysroot=sysroot, archive_dir=tmp_path / "archives")


def item(action: Action, **params: object) -> Item:
    return Item(
        f"job-{action}-{params.get('login') or params.get('name')}",
        action,
        actions.parse_params(action, params),
    )


def outcomes(host: Host, items: list[Item]) -> list[tuple[str | None, str | None]]:
    return [(o.result, o.error) for o in changeset.apply(host, items).outcomes]


def test_a_set_of_every_kind_of_change_leaves_files_the_tools_accept(host: Host, sysroot: Path) -> None:
    done = outcomes(host, [
        item(Action.GROUP_CREATE, name="class3a"),
        *(item(Action.USER_CREATE, login=f"p{n:03d}", full_name=f"Pupil {n}", groups=["class3a", "users"],
               password_hash=HASH, create_home=n % 2 == 0) for n in range(40)),
        item(Action.USER_MODIFY, login="p001", full_name="Renamed", shell="/bin/sh", groups_remove=["users"]),
        item(Action.USER_LOCK, login="p002"),
        item(Action.USER_DELETE, login="p003", home="remove"),
        item(Action.GROUP_REMOVE_MEMBERS, name="class3a", logins=["p004", "p005"]),
        item(Action.GROUP_CREATE, name="leaving"),
        item(Action.GROUP_DELETE, name="leaving"),
    ])  # fmt: skip
    assert all(error is None for _, error in done), done
    check_with_the_tools(sysroot)
    assert members(sysroot, "class3a") == {f"p{n:03d}" for n in range(40)} - {"p003", "p004", "p005"}
    assert entry(sysroot, "passwd", "p001")[4:] == ["Renamed", "/home/p001", "/bin/sh"]  # type: ignore[index]
    assert entry(sysroot, "shadow", "p002")[1] == "!" + HASH  # type: ignore[index]
    assert entry(sysroot, "passwd", "p003") is None and entry(sysroot, "group", "p003") is None
    assert (sysroot / "home" / "p000").is_dir() and not (sysroot / "home" / "p001").exists()
    assert entry(sysroot, "group", "leaving") is None


def test_the_tools_work_on_files_written_by_wmi2(host: Host, sysroot: Path) -> None:
    changeset.apply(host, [item(Action.USER_CREATE, login=f"w{n}", groups=["users"]) for n in range(5)])
    root = str(sysroot)
    for argv in (
        ["useradd", "--prefix", root, "-G", "users", "tooluser"],
        ["usermod", "--prefix", root, "-c", "By hand", "w1"],
        ["userdel", "--prefix", root, "w2"],
        ["groupadd", "--prefix", root, "handmade"],
        ["gpasswd", "--root", root, "-a", "w3", "handmade"],
    ):
        subprocess.run(argv, check=True, capture_output=True)
    check_with_the_tools(sysroot)
    # And WMI2 works on what the tools wrote: the files are read again, not taken from memory.
    assert outcomes(
        host, [item(Action.USER_DELETE, login="tooluser"), item(Action.USER_CREATE, login="w2")]
    ) == [
        ("User tooluser deleted, home /home/tooluser kept", None),
        ("User w2 created, home /home/w2; its home /home/w2 existed already and was left as it was, "
         "as useradd leaves it", None),
    ]  # fmt: skip
    assert "w3" in members(sysroot, "handmade") and entry(sysroot, "passwd", "w1")[4] == "By hand"  # type: ignore[index]
    check_with_the_tools(sysroot)


def test_wmi2_writes_the_lines_useradd_writes(host: Host, sysroot: Path) -> None:
    subprocess.run(["useradd", "--prefix", str(sysroot), "-m", "-k", str(sysroot / "etc" / "skel"),
                    "-c", "Same", "-G", "audio", "bytool"], check=True)  # fmt: skip
    changeset.apply(host, [item(Action.USER_CREATE, login="bywmi", full_name="Same", groups=["audio"])])

    def shape(file: str, login: str) -> list[str]:
        fields = entry(sysroot, file, login)
        assert fields is not None
        return [f.replace(login, "L") for f in fields]

    for file in ("passwd", "shadow", "group", "gshadow"):
        tool, ours = shape(file, "bytool"), shape(file, "bywmi")
        if file in ("passwd", "group"):  # the ids differ, nothing else
            tool[2 : 4 if file == "passwd" else 3] = ours[2 : 4 if file == "passwd" else 3]
        assert ours == tool, file
    for name in ("", ".profile", ".bashrc"):
        by_tool, by_wmi = (
            (sysroot / "home" / "bytool" / name).lstat(),
            (sysroot / "home" / "bywmi" / name).lstat(),
        )
        assert (by_wmi.st_mode, by_wmi.st_size) == (by_tool.st_mode, by_tool.st_size), name
    tool_uid = int(entry(sysroot, "passwd", "bytool")[2])  # type: ignore[index]
    ours_uid = int(entry(sysroot, "passwd", "bywmi")[2])  # type: ignore[index]
    assert ours_uid == tool_uid + 1  # the next id, as useradd picks it
    assert (sysroot / "home" / "bywmi" / ".profile").stat().st_uid == ours_uid


def test_a_refused_change_fails_alone(host: Host, sysroot: Path) -> None:
    done = outcomes(host, [
        item(Action.USER_CREATE, login="ann", groups=["users"]),
        item(Action.USER_CREATE, login="bea", groups=["users", "nosuchgroup"]),
        item(Action.USER_CREATE, login="ann"),
        item(Action.USER_CREATE, login="cid", create_home=False),
    ])  # fmt: skip
    assert done == [
        ("User ann created, home /home/ann", None),
        (None, "useradd: group 'nosuchgroup' does not exist"),
        (None, "useradd: user 'ann' already exists"),
        ("User cid created, without a home", None),
    ]
    assert entry(sysroot, "passwd", "bea") is None and "bea" not in members(sysroot, "users")
    check_with_the_tools(sysroot)


def test_a_useradd_run_by_hand_during_a_big_set_loses_nothing(host: Host, sysroot: Path) -> None:
    """1,000 creations with passwords and homes, and ``useradd`` run by hand meanwhile: the
    tool waits for the lock and works; neither its account nor any of WMI2's is lost."""
    items = [item(Action.USER_CREATE, login=f"s{n:04d}", password_hash=HASH) for n in range(1000)]
    by_hand: list[subprocess.CompletedProcess[str]] = []

    def run_tool(n: int) -> None:
        argv = ["useradd", "--prefix", str(sysroot), f"hand{n}"]
        by_hand.append(subprocess.run(argv, capture_output=True, text=True, check=False))

    tools = [threading.Timer(delay, run_tool, [n]) for n, delay in enumerate((0.0, 0.05, 0.2))]
    for tool in tools:
        tool.start()
    done = outcomes(host, items)
    for tool in tools:
        tool.join()
    assert [p.returncode for p in by_hand] == [0, 0, 0], [p.stderr for p in by_hand]
    assert all(error is None for _, error in done)
    names = {line.split(":")[0] for line in (sysroot / "etc" / "passwd").read_text().splitlines()}
    assert {f"s{n:04d}" for n in range(1000)} | {"hand0", "hand1", "hand2"} <= names
    assert len(list((sysroot / "home").iterdir())) == 1000
    check_with_the_tools(sysroot)


def test_a_change_waits_for_a_tool_holding_the_files(host: Host, sysroot: Path) -> None:
    lock = sysroot / "etc" / "passwd.lock"
    lock.write_text(str(os.getpid()))  # held by a live process: this one
    try:
        timer = threading.Timer(0.3, lock.unlink)
        timer.start()
        assert outcomes(host, [item(Action.USER_CREATE, login="late", create_home=False)]) == [
            ("User late created, without a home", None)
        ]
        timer.join()
    finally:
        lock.unlink(missing_ok=True)


def test_the_accounts_are_announced_before_their_homes_are_made(host: Host, sysroot: Path) -> None:
    """``written`` is told once the lines are written and before the homes exist: a set's
    events need not wait for a thousand homes."""
    seen: list[tuple[bool, bool, int]] = []

    def written(applied: changeset.Applied) -> None:
        home = sysroot / "home" / "hana"
        seen.append((entry(sysroot, "passwd", "hana") is not None, home.exists(), len(applied.outcomes)))

    items = [Item("j1", Action.USER_CREATE, actions.UserCreate(login="hana", password_hash=HASH))]
    applied = changeset.apply(host, items, written=written)
    assert seen == [(True, False, 1)]
    assert applied.outcomes[0].result == "User hana created, home /home/hana"
    assert (sysroot / "home" / "hana" / ".bashrc").is_file()
