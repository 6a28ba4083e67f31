"""Finding 5 (MEDIUM): U+2028 or U+0085 in a full name hid an account.

The attack: the account files were split with str.splitlines(), which also breaks lines
at U+2028, U+2029, U+0085, \\x0b, \\x0c and \\x1c-\\x1e. A GECOS field holding one of them
cut its passwd line in two halves that were each too short to be an account: the user
``ghost`` was invisible to WMI2 while it could log in.

The fix: the account files are split on '\\n' only; every value WMI2 writes refuses the
non-printable characters (Unicode categories C* and Zl/Zp: api 422, worker ToolError);
and a line WMI2 cannot read is listed in the host's info (``unreadable``, shown by
GET /api/v1/hosts/{host}), never dropped silently.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import HTTPException

from services.api import schemas
from services.api.core import validation
from services.common import actions, keys
from services.common.accounts import HostInfo
from services.common.actions import Action
from services.worker import hostfiles
from services.worker.apply import Host, apply
from services.worker.checks import ToolError
from tests.security.hostsnapshot import host_snapshot
from tests.support.api_app import HOST, ApiWorld
from tests.support.sandbox_files import snapshot

pytest_plugins = ["tests.support.api_fixtures"]

# Every line break of str.splitlines() but '\n' and '\r', and a few invisible characters.
SEPARATORS = [
    "\u2028",
    "\u2029",
    "\u0085",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1d",
    "\x1e",
    "\u202e",
    "\u200b",
    "\x7f",
]


def _append(sysroot: Path, file: str, line: str) -> None:
    with (sysroot / "etc" / file).open("a", encoding="utf-8") as out:
        out.write(line + "\n")


@pytest.mark.parametrize("separator", SEPARATORS, ids=lambda c: f"U+{ord(c):04X}")
def test_a_hand_written_account_with_a_separator_in_its_gecos_is_seen(sysroot: Path, separator: str) -> None:
    _append(sysroot, "passwd", f"ghost:x:1500:1500:Gh{separator}ost,,,:/home/ghost:/bin/sh")
    _append(sysroot, "shadow", "ghost:$6$s$h:20000:0:99999:7:::")
    _append(sysroot, "group", "ghost:x:1500:")
    _append(sysroot, "passwd", "after:x:1501:1500:After:/home/after:/bin/sh")
    records = hostfiles.read_records(sysroot, "h")
    assert records.users["ghost"]["login"] == "ghost" and records.users["ghost"]["uid"] == 1500
    assert records.users["ghost"]["full_name"] == f"Gh{separator}ost"
    assert records.users["ghost"]["has_password"] is True
    assert "after" in records.users and records.info.unreadable == []
    assert hostfiles.passwd_entry(sysroot / "etc", "ghost") is not None


def test_a_line_that_holds_no_readable_account_is_listed_not_hidden(sysroot: Path) -> None:
    _append(sysroot, "passwd", "odd:x:12ab:1500::/home/odd:/bin/sh")
    _append(sysroot, "passwd", "short:x:1502")
    _append(sysroot, "group", "crew:x:nope:")
    info = hostfiles.read_records(sysroot, "h").info
    assert info.unreadable == [
        "group line 39 ('crew'): its gid is not a number",
        "passwd line 19 ('odd'): its uid is not a number",
        "passwd line 20 ('short'): it has 3 fields instead of 7",
    ]


@pytest.mark.parametrize("separator", SEPARATORS, ids=lambda c: f"U+{ord(c):04X}")
def test_the_api_refuses_such_a_full_name(separator: str) -> None:
    snap = host_snapshot()
    for check in (
        lambda: validation.user_create(snap, schemas.UserCreateIn(login="zoe", full_name=f"Zo{separator}e")),
        lambda: validation.user_modify(snap, "alice", schemas.UserPatchIn(full_name=f"Al{separator}ice")),
    ):
        with pytest.raises(HTTPException) as refused:
            check()
        assert refused.value.status_code == 422 and f"U+{ord(separator):04X}" in str(refused.value.detail)


@pytest.mark.parametrize("separator", SEPARATORS, ids=lambda c: f"U+{ord(c):04X}")
def test_the_worker_refuses_such_a_full_name(sysroot: Path, tmp_path: Path, separator: str) -> None:
    host = Host(name="testhost", sysroot=sysroot, archive_dir=tmp_path / "archives")
    before = snapshot(sysroot)
    with pytest.raises(ToolError, match="invisible character"):
        apply(host, Action.USER_CREATE, actions.UserCreate(login="zoe", full_name=f"Zo{separator}e"))
    assert snapshot(sysroot) == before


def test_the_api_shows_the_unreadable_lines_with_the_host(api: ApiWorld) -> None:
    info = HostInfo.model_validate_json(api.redis.get(keys.host_info(HOST)) or b"")
    info.unreadable = ["passwd line 19 ('odd'): its uid is not a number"]
    api.redis.set(keys.host_info(HOST), info.model_dump_json())
    assert api.viewer().get(f"/api/v1/hosts/{HOST}").json()["unreadable"] == info.unreadable
