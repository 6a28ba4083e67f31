"""Finding 2 (MEDIUM): a crypt hash was visible in /proc/<pid>/cmdline.

The attack: any local user may read every process's command line; while ``useradd -p
HASH`` or ``usermod -p HASH`` ran, the account's password hash was in it, ready for an
offline dictionary attack.

The fix: no hash in any argv. The account is created without -p, then the hash is fed as
``login:hash`` on the standard input of ``chpasswd -e --root SYSROOT``; a password change
does the same. A poller reading every /proc/*/cmdline in a tight loop while passwords are
set must never see a hash, and each hash must have landed in SYSROOT/etc/shadow.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from services.common import actions
from services.common.actions import Action
from services.worker import shadow
from services.worker.apply import Host, apply
from services.worker.shadow import ToolError
from tests.support.sandbox_files import entry

ROUNDS = 6
TOOLS = ("useradd", "usermod", "chpasswd")


class CmdlinePoller(threading.Thread):
    """Reads every process's command line, again and again, until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.seen: set[bytes] = set()

    def run(self) -> None:
        while not self.stop.is_set():
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    text = cmdline.read_bytes()
                except OSError:
                    continue  # the process ended meanwhile
                if any(tool.encode() in text for tool in TOOLS):
                    self.seen.add(text)


@pytest.fixture
def host(sysroot: Path, tmp_path: Path) -> Host:
    return Host(name="testhost", sysroot=sysroot, archive_dir=tmp_path / "archives")


def _hash(n: int) -> str:
    return f"$6$saltsalt{n:04d}$" + f"{n:04d}" * 21


def _shadow_hash(sysroot: Path, login: str) -> str:
    fields = entry(sysroot, "shadow", login)
    assert fields is not None
    return fields[1]


def test_no_hash_is_ever_in_a_command_line(host: Host, sysroot: Path) -> None:
    poller = CmdlinePoller()
    poller.start()
    hashes = []
    try:
        for n in range(ROUNDS):
            created, changed = _hash(2 * n), _hash(2 * n + 1)
            hashes += [created, changed]
            login = f"pw{n}"
            apply(
                host,
                Action.USER_CREATE,
                actions.UserCreate(login=login, create_home=False, password_hash=created),
            )
            assert _shadow_hash(sysroot, login) == created
            apply(host, Action.USER_PASSWORD, actions.UserPassword(login=login, password_hash=changed))
            assert _shadow_hash(sysroot, login) == changed
    finally:
        poller.stop.set()
        poller.join()
    # The poller did watch the tools run: without it, seeing no hash would prove nothing.
    assert poller.seen, "the poller never caught a tool running"
    leaked = [h for h in hashes for text in poller.seen if h.encode() in text]
    assert leaked == []


def test_a_failed_chpasswd_says_the_account_was_created_without_its_password(
    host: Host, sysroot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(sysroot: Path, login: str, password_hash: str) -> None:
        raise ToolError("chpasswd: error detected, changes ignored")

    monkeypatch.setattr(shadow, "set_password", refuse)
    with pytest.raises(ToolError, match="User kim was created without its password"):
        apply(
            host,
            Action.USER_CREATE,
            actions.UserCreate(login="kim", create_home=False, password_hash=_hash(1)),
        )
    assert _shadow_hash(sysroot, "kim") == "!"
