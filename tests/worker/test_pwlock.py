"""The account files' lock, as the shadow tools take it and respect it."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from services.worker import pwlock


def _file_locks(etc: Path) -> list[str]:
    """The per-file locks present (``.pwd.lock`` stays: lckpwdf's lock is on the file, not its presence)."""
    return sorted(p.name for p in etc.glob("*.lock") if p.name != ".pwd.lock")


def test_a_tool_waits_while_the_files_are_held_then_works(sysroot: Path) -> None:
    etc = sysroot / "etc"
    with pwlock.locked(etc):
        assert (etc / "passwd.lock").read_text() == str(os.getpid())
        tool = subprocess.Popen(
            ["useradd", "--prefix", str(sysroot), "waiter"], stderr=subprocess.PIPE, text=True
        )
        with pytest.raises(subprocess.TimeoutExpired):
            tool.wait(0.5)  # it retries its lock once a second
    assert tool.wait(20) == 0, tool.stderr.read() if tool.stderr else ""
    assert "waiter:" in (etc / "passwd").read_text()
    assert _file_locks(etc) == []


def test_a_lock_left_by_a_dead_process_is_taken(sysroot: Path) -> None:
    etc = sysroot / "etc"
    child = subprocess.Popen(["true"])
    child.wait()
    (etc / "group.lock").write_text(str(child.pid))
    with pwlock.locked(etc, wait=2):
        assert (etc / "group.lock").read_text() == str(os.getpid())


def test_a_lock_held_by_a_live_process_is_waited_for_then_refused(sysroot: Path) -> None:
    etc = sysroot / "etc"
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        (etc / "gshadow.lock").write_text(str(sleeper.pid))
        with pytest.raises(pwlock.Busy, match=f"held by process {sleeper.pid}"), pwlock.locked(etc, wait=0.3):
            pass
        # Nothing of ours is left: the other files' locks taken on the way were given back.
        assert _file_locks(etc) == ["gshadow.lock"]
    finally:
        sleeper.kill()
        sleeper.wait()


def test_lckpwdf_is_held_against_other_processes(sysroot: Path) -> None:
    etc = sysroot / "etc"
    probe = (
        "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_WRONLY); "
        "fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)"
    )
    taken = threading.Event()
    with pwlock.locked(etc):
        taken.set()
        busy = subprocess.run(
            ["python3", "-c", probe, str(etc / ".pwd.lock")], capture_output=True, check=False
        )
    assert busy.returncode != 0 and b"Resource temporarily unavailable" in busy.stderr
    free = subprocess.run(["python3", "-c", probe, str(etc / ".pwd.lock")], capture_output=True, check=False)
    assert free.returncode == 0 and taken.is_set()
