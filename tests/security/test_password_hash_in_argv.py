"""Finding 2 (MEDIUM): a crypt hash was visible in /proc/<pid>/cmdline.

The attack: any local user may read every process's command line; while ``useradd -p
HASH`` or ``usermod -p HASH`` ran, the account's password hash was in it, ready for an
offline dictionary attack.

The first fix fed the hash to ``chpasswd -e`` on its standard input. Since change sets,
the worker writes the account files itself and runs no tool with an account's values:
a hash goes from the job's secret straight into the new shadow file. Checked here: no
process at all is started while passwords are set, and afterwards each hash is in
SYSROOT/etc/shadow (and its backup ``shadow-``, as the tools keep it) and nowhere else
under the sandbox, the archives or the temporary files.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from services.common import actions
from services.common.actions import Action
from services.worker.apply import Host, apply
from tests.support.sandbox_files import entry

ROUNDS = 6


@pytest.fixture
def host(sysroot: Path, tmp_path: Path) -> Host:
    return Host(name="testhost", sysroot=sysroot, archive_dir=tmp_path / "archives")


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The argv of every process this process starts (still started for real)."""
    seen: list[list[str]] = []
    real = subprocess.Popen.__init__

    def spy(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        seen.append([str(a) for a in args] if isinstance(args, list | tuple) else [str(args)])
        real(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", spy)
    return seen


def _hash(n: int) -> str:
    return f"$6$saltsalt{n:04d}$" + f"{n:04d}" * 21


def _shadow_hash(sysroot: Path, login: str) -> str:
    fields = entry(sysroot, "shadow", login)
    assert fields is not None
    return fields[1]


def _files_holding(root: Path, secret: str) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and secret.encode() in path.read_bytes():
            found.append(str(path.relative_to(root)))
    return sorted(found)


def test_no_hash_is_ever_in_a_command_line(
    host: Host, sysroot: Path, tmp_path: Path, started: list[list[str]]
) -> None:
    hashes = []
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
    leaked = [h for h in hashes for argv in started if any(h in a for a in argv)]
    assert leaked == [] and started == []
    shadow_files = {"sysroot/etc/shadow", "sysroot/etc/shadow-"}
    for current in hashes[1::2]:
        holding = _files_holding(tmp_path, current)
        assert "sysroot/etc/shadow" in holding and set(holding) <= shadow_files, holding
