"""A change read by lines gives the same records as a full read, and misses none."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from services.worker import hostfiles, linediff
from services.worker.sandbox import init_sandbox

SETUP = [
    ["useradd", "-G", "users,audio", "-c", "Ann", "ann"],
    ["useradd", "-c", "Ben", "ben"],
    ["groupadd", "-g", "3000", "team"],
    ["gpasswd", "-a", "ann", "team"],
    ["usermod", "-p", "$6$salt$notarealhash", "ann"],
]
CHANGES = {
    "a user added": [["useradd", "-G", "team", "cid"]],
    "a member added": [["usermod", "-aG", "video", "ben"]],
    "a user locked": [["usermod", "-L", "ann"]],
    "a full name changed": [["usermod", "-c", "Benjamin", "ben"]],
    "a user deleted": [["userdel", "ann"]],
    "a group's gid changed": [["groupmod", "-g", "3100", "ben"]],
    "a group renamed": [["groupmod", "-n", "squad", "team"]],
    "a group deleted": [["groupdel", "team"]],
    # A group's administrators are in no record: its lines change, its record does not.
    "a gshadow administrator added": [["gpasswd", "-A", "ben", "team"]],
    "several at once": [["useradd", "dan"], ["usermod", "-aG", "team", "dan"], ["userdel", "ben"]],
}


def _run(sysroot: Path, argv: list[str]) -> None:
    root = ["--root", str(sysroot)] if argv[0] == "gpasswd" else ["--prefix", str(sysroot)]
    subprocess.run([argv[0], *root, *argv[1:]], check=True, capture_output=True)


@pytest.fixture
def before(tmp_path: Path) -> tuple[Path, hostfiles.HostFiles]:
    sysroot = init_sandbox(tmp_path / "root")
    for argv in SETUP:
        _run(sysroot, argv)
    return sysroot, hostfiles.read_files(sysroot)


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_the_records_of_changed_lines_are_those_of_a_full_read(
    before: tuple[Path, hostfiles.HostFiles], change: str
) -> None:
    sysroot, old = before
    full_before = hostfiles.parse(old, "h")
    for argv in CHANGES[change]:
        _run(sysroot, argv)
    new = hostfiles.read_files(sysroot)
    full_after = hostfiles.parse(new, "h")
    found = linediff.records(old, new)
    assert found is not None
    users, groups = found
    changed = 0
    for kind, touched, was, now in (
        ("user", users, full_before.users, full_after.users),
        ("group", groups, full_before.groups, full_after.groups),
    ):
        differ = {n for n in was.keys() | now.keys() if was.get(n) != now.get(n)}
        assert differ <= touched.keys(), (kind, differ - touched.keys())
        assert {n: now.get(n) for n in touched} == touched, kind
        changed += len(differ)
    assert changed > 0 or change == "a gshadow administrator added"


def test_a_change_it_cannot_follow_asks_for_a_full_read(before: tuple[Path, hostfiles.HostFiles]) -> None:
    sysroot, old = before
    with (sysroot / "etc" / "passwd").open("a") as passwd:
        passwd.write("broken:x:notanumber:100::/home/broken:/bin/sh\n")
    assert linediff.records(old, hostfiles.read_files(sysroot)) is None
    (sysroot / "etc" / "passwd").write_text(
        (sysroot / "etc" / "passwd").read_text().replace("broken:", "#broken:")
    )
    with (sysroot / "etc" / "login.defs").open("a") as defs:
        defs.write("UID_MIN 2000\n")
    assert linediff.records(old, hostfiles.read_files(sysroot)) is None
