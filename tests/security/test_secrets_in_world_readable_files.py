"""Finding 3: secrets in world-readable files.

The attack: any local user read the data dir (0755) and the files in it (0644): the SQLite
database with every WMI account's password hash, Redis's append-only file with the Celery
messages that carry host password hashes and the sessions, the archives of deleted homes.

The fix: every ``wmi2`` process runs with umask 077 (set in the CLI's entry, inherited by
redis-server, Celery and the web servers), and ``prepare`` (so ``wmi2 up``) makes the data
dir and whatever an earlier run left in it its owner's alone, once, at start. The sandbox
sysroot keeps a real host's modes: its etc/passwd stays 0644.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.security.conftest import UpRun


def _readable_by_others(data_dir: Path) -> list[str]:
    sysroot = data_dir / "sysroot"
    found = []
    for top, dirs, files in os.walk(data_dir):
        here = Path(top)
        dirs[:] = [d for d in dirs if here / d != sysroot]
        for name in (*dirs, *files):
            mode = (here / name).lstat().st_mode
            if not stat.S_ISLNK(mode) and mode & 0o077:
                found.append(f"{here / name} {stat.filemode(mode)}")
    return found


def test_nothing_under_the_data_dir_is_readable_by_others(up_run: UpRun) -> None:
    data_dir = up_run.data_dir
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    # What this run made, among which Redis's append-only file, and what an earlier run left.
    assert list((data_dir / "redis").rglob("*.aof")), "no append-only file to check"
    assert (data_dir / "tls" / "key.pem").exists()
    assert _readable_by_others(data_dir) == []


def test_a_leftover_world_readable_database_is_tightened(up_run: UpRun) -> None:
    assert stat.S_IMODE((up_run.data_dir / "wmi2.db").stat().st_mode) == 0o600
    assert (up_run.data_dir / "wmi2.db").stat().st_size > 0, "not the database wmi2 up used"
    assert stat.S_IMODE((up_run.data_dir / "archives" / "olduser.tar.gz").stat().st_mode) == 0o600


def test_the_sandbox_keeps_a_real_hosts_modes(up_run: UpRun) -> None:
    etc = up_run.data_dir / "sysroot" / "etc"
    assert stat.S_IMODE(etc.stat().st_mode) == 0o755
    assert stat.S_IMODE((etc / "passwd").stat().st_mode) == 0o644
    assert stat.S_IMODE((etc / "shadow").stat().st_mode) == 0o640
    assert stat.S_IMODE((up_run.data_dir / "sysroot" / "home").stat().st_mode) == 0o755
