"""The account files' lock, taken as the shadow suite takes it, so that WMI2 and the tools
(``useradd``, ``vipw``, ``passwd`` … run by hand on the host) never write at the same time.

Two locks, in the suite's order (shadow-utils' ``lib/commonio.c``):

1. ``lckpwdf()``: a write lock (``fcntl``) on ``etc/.pwd.lock``. glibc's ``lckpwdf`` takes it
   on ``/etc/.pwd.lock``; the tools take it when they run on the real root or ``--root``
   (a chroot), not with ``--prefix``. It is taken here on SYSROOT's, which is the host's own
   on a real host.
2. One ``FILE.lock`` per file, in the order passwd, shadow, group, gshadow: the holder's pid
   written to ``FILE.PID`` and hard-linked to ``FILE.lock`` (a link is atomic, even over
   NFS). A lock whose pid is not alive is stale and is removed, as the tools do. Every tool
   takes these, ``--prefix`` or not.

The tools try their locks 15 times a second apart and give up; WMI2 holds them only while
it writes (milliseconds), so a tool run beside a change set waits, then works.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

FILES = ("passwd", "shadow", "group", "gshadow")
# How long to wait for a lock that a tool holds (a tool holds one for a few ms; vipw for as
# long as its editor is open), and how often to try.
WAIT = 30.0
POLL = 0.01


class Busy(Exception):
    """The account files stayed locked by another process; the message says which."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder(lock: Path) -> int | None:
    """The pid written in a lock file, or None when it holds none (being written, or junk)."""
    try:
        text = lock.read_text(errors="replace").strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def _try_link(mine: Path, lock: Path) -> bool:
    """One attempt of commonio's ``do_lock_file``: link our pid file to the lock."""
    try:
        os.link(mine, lock)
    except FileExistsError:
        holder = _holder(lock)
        if holder is None or holder == os.getpid() or _alive(holder):
            return False
        # Stale: left by a process that died holding it. Removed as the tools remove it.
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
        return False
    # A link that did not raise but did not take (some network filesystems) shows as 1 link.
    return os.stat(mine).st_nlink == 2


def _lock_file(path: Path, deadline: float) -> Path:
    """``path.lock``, held by this process until it is unlinked."""
    lock = path.with_name(path.name + ".lock")
    mine = path.with_name(f"{path.name}.{os.getpid()}")
    fd = os.open(mine, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, str(os.getpid()).encode())
    finally:
        os.close(fd)
    try:
        while not _try_link(mine, lock):
            if time.monotonic() > deadline:
                raise Busy(f"{lock} is held by process {_holder(lock)}: the account files were not changed.")
            time.sleep(POLL)
    finally:
        mine.unlink()
    return lock


def _lckpwdf(etc: Path, deadline: float) -> int:
    """The fd holding glibc's lckpwdf() lock on ``etc/.pwd.lock``."""
    fd = os.open(etc / ".pwd.lock", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    while True:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN) or time.monotonic() > deadline:
                os.close(fd)
                raise Busy(f"{etc / '.pwd.lock'} stayed locked: the account files were not changed.") from exc
            time.sleep(POLL)


@contextlib.contextmanager
def locked(etc: Path, wait: float = WAIT) -> Iterator[None]:
    """Hold the account files of ``etc`` as the shadow tools hold them, or raise :class:`Busy`."""
    deadline = time.monotonic() + wait
    fd = _lckpwdf(etc, deadline)
    held: list[Path] = []
    try:
        for name in FILES:
            held.append(_lock_file(etc / name, deadline))
        yield
    finally:
        for lock in reversed(held):
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
        os.close(fd)
