"""Reading a sandbox's account files into the read model's records."""

from __future__ import annotations

import subprocess
from pathlib import Path

from services.worker.hostfiles import has_password, last_change, read_host, read_records


def _tool(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def test_a_fresh_sandbox(sysroot: Path) -> None:
    host = read_host(sysroot, "h")
    root, nobody, sync = host.users["root"], host.users["nobody"], host.users["sync"]
    assert root.uid == 0 and root.primary_group == "root" and root.system
    assert root.locked and not root.has_password and root.last_change == "2024-10-04"
    assert nobody.system and nobody.uid == 65534 and not nobody.locked
    assert sync.primary_group == "nogroup"
    assert host.groups["users"].system and host.groups["nogroup"].system
    assert host.info.name == "h" and "/bin/bash" in host.info.shells and "#" not in "".join(host.info.shells)
    assert (host.info.uid_min, host.info.uid_max, host.info.gid_min) == (1000, 60000, 1000)


def test_a_created_user_and_its_groups(sysroot: Path) -> None:
    root = str(sysroot)
    _tool("groupadd", "-P", root, "--", "devs")
    gecos, groups = "Ann Example,Room 1", "devs,users"
    _tool("useradd", "-P", root, "-M", "-c", gecos, "-G", groups, "-p", "$6$s$h", "--", "ann")
    host = read_host(sysroot, "h")
    ann = host.users["ann"]
    assert ann.full_name == "Ann Example" and ann.primary_group == "ann"
    assert ann.groups == ["devs", "users"]
    assert ann.has_password and not ann.locked and not ann.system and ann.last_change is not None
    assert host.groups["devs"].members == ["ann"] and not host.groups["devs"].system
    _tool("usermod", "-P", root, "-L", "--", "ann")
    ann = read_host(sysroot, "h").users["ann"]
    assert ann.locked and ann.has_password


def test_uid_range_comes_from_login_defs(sysroot: Path) -> None:
    defs = sysroot / "etc" / "login.defs"
    defs.write_text(defs.read_text().replace("UID_MIN                  1000", "UID_MIN 500"))
    with (sysroot / "etc" / "passwd").open("a") as passwd:
        passwd.write("\n# a comment\nbroken line\nold:x:600:100::/home/old:/bin/sh\n")
    host = read_host(sysroot, "h")
    assert host.info.uid_min == 500
    assert not host.users["old"].system and host.users["old"].primary_group == "users"
    assert "broken line" not in host.users and host.users["old"].last_change is None


def test_password_fields() -> None:
    assert has_password("$6$salt$hash") and has_password("!$6$salt$hash")
    assert not any(has_password(h) for h in ("", "*", "!", "!!", "!*"))
    assert last_change("0") == "1970-01-01" and last_change("20000") == "2024-10-04"
    assert last_change("") is None


def test_a_users_record_follows_every_input_it_is_made_from(sysroot: Path) -> None:
    """Some inputs of a user's record are not on its passwd line: its shadow line, the name
    of its primary group, the groups that list it, login.defs. Each changes here with the
    passwd line left as it was, and the record must follow."""
    root = str(sysroot)
    _tool("groupadd", "-P", root, "--", "devs")
    _tool("useradd", "-P", root, "-M", "-G", "devs", "-p", "$6$s$h", "--", "ann")
    steps: list[tuple[tuple[str, ...], dict[str, object]]] = [
        (("groupmod", "-P", root, "-n", "developers", "--", "devs"), {"groups": ["developers"]}),
        (("groupmod", "-P", root, "-n", "annsgroup", "--", "ann"), {"primary_group": "annsgroup"}),
        (("usermod", "-P", root, "-L", "--", "ann"), {"locked": True, "has_password": True}),
        (("usermod", "-P", root, "-r", "-G", "developers", "--", "ann"), {"groups": []}),
    ]
    for command, expected in steps:
        _tool(*command)
        ann = read_records(sysroot, "h").users["ann"]
        assert {k: ann[k] for k in expected} == expected, command
    assert not read_records(sysroot, "h").users["ann"]["system"]
    defs = sysroot / "etc" / "login.defs"
    defs.write_text(defs.read_text().replace("UID_MIN                  1000", "UID_MIN 2000"))
    assert read_records(sysroot, "h").users["ann"]["system"]
