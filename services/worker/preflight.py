"""Refusing a change the host cannot take, before any tool runs.

A shadow tool that cannot create its lock file (a full disk, an ``/etc`` mounted
read-only, an immutable file) does not say so: it retries its lock for about 14 seconds,
then fails with "cannot lock /etc/passwd; try again later", and the job holds the host
lock all that while, stalling every job queued behind it. What can be known cheaply is
checked first, on every job's path: one ``statvfs`` of ``/etc``, one ``stat`` and one
``access`` of each account file and of ``/etc`` itself; for a new home, one ``statvfs``
and one ``access`` of the home base.

Free space counts the blocks that the tools' user may use: root (the worker in
production) may also use the blocks a filesystem reserves for it.
"""

from __future__ import annotations

import os
from pathlib import Path

from services.worker.archive import home_base
from services.worker.checks import ToolError

MIB = 1024 * 1024
ACCOUNT_FILES = ("passwd", "shadow", "group", "gshadow")
# A tool writes a whole new copy of a file beside it, and a backup, before the rename:
# twice the largest file, and never less than 1 MiB (a small host's files are a few KB).
ETC_MIN_FREE = MIB
# Lock files, new copies and backups: a few per account file at once.
ETC_MIN_INODES = 64
# A home is a copy of /etc/skel (Debian's: 3 files, 5 KB); 4 MiB leaves it room for a
# first login's files too, on hosts whose skel holds a little more.
HOME_MIN_FREE = 4 * MIB
HOME_MIN_INODES = 64


def check(sysroot: Path, *, creates_home: bool) -> None:
    """Raise ToolError with a sentence for the admin if the change cannot be written."""
    etc = sysroot / "etc"
    files = [etc / name for name in ACCOUNT_FILES if (etc / name).exists()]
    largest = max((path.stat().st_size for path in files), default=0)
    _check_room(sysroot, etc, max(ETC_MIN_FREE, 2 * largest), ETC_MIN_INODES, "changes nothing")
    for path in (etc, *files):
        if not os.access(path, os.W_OK):
            raise ToolError(
                f"The host's {_shown(sysroot, path)} cannot be written (read-only or immutable: "
                f"see lsattr): WMI2 changes nothing until it can."
            )
    if creates_home:
        _check_home(sysroot)


def _check_home(sysroot: Path) -> None:
    base = sysroot / home_base(sysroot).lstrip("/")
    if not base.is_dir():
        return  # useradd says what is wrong with a missing base in its own words
    refusal = "creates no home (a user without one can be created)"
    _check_room(sysroot, base, HOME_MIN_FREE, HOME_MIN_INODES, refusal)
    if not os.access(base, os.W_OK):
        raise ToolError(f"The host's {_shown(sysroot, base)} cannot be written: WMI2 {refusal}.")


def _check_room(sysroot: Path, path: Path, min_free: int, min_inodes: int, refusal: str) -> None:
    fs = os.statvfs(path)
    where = _shown(sysroot, path)
    if fs.f_flag & os.ST_RDONLY:
        raise ToolError(f"The host's {where} is read-only: WMI2 {refusal} until it is writable again.")
    privileged = os.geteuid() == 0
    free = (fs.f_bfree if privileged else fs.f_bavail) * fs.f_frsize
    if free < min_free:
        raise ToolError(
            f"The host's {where} has only {_size(free)} free: "
            f"WMI2 {refusal} until there is at least {_size(min_free)}."
        )
    inodes = fs.f_ffree if privileged else fs.f_favail
    # f_files is 0 on filesystems that allocate inodes as they go (btrfs): nothing to run out of.
    if fs.f_files and inodes < min_inodes:
        raise ToolError(
            f"The host's {where} can hold only {inodes} more files: "
            f"WMI2 {refusal} until it can hold at least {min_inodes}."
        )


def _shown(sysroot: Path, path: Path) -> str:
    """The path as the host's admin knows it: /etc, not the sandbox's /tmp/.../etc."""
    return "/" + str(path.relative_to(sysroot))


def _size(count: int) -> str:
    return f"{count // 1024} KB" if count < MIB else f"{round(count / MIB, 1):g} MB"
