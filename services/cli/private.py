"""Keeping the data dir to its owner: it holds the database (password hashes), Redis's
append-only file (the password hashes waiting for their jobs, sessions) and the TLS key.

Every ``wmi2`` process runs with :data:`PRIVATE_UMASK`, so what it creates, and what its
children (redis-server, Celery, the web servers) create, is its owner's alone; what an
older version left readable is tightened once, at ``prepare``. The sandbox sysroot is
the exception: it is a root filesystem, whose ``etc/passwd`` and homes keep a real host's
modes.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PRIVATE_UMASK = 0o077
# A fresh Debian host's: the sandbox must look like one (etc/ 0755, etc/passwd 0644...).
SANDBOX_UMASK = 0o022
GROUP_OTHER = 0o077


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """Run the block with ``mask`` as the process's umask, then restore the previous one."""
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def tighten(data_dir: Path, sandbox: Path) -> None:
    """``chmod go-rwx`` the data dir and everything in it, except the ``sandbox`` tree."""
    sandbox = sandbox.resolve()
    for top, dirs, files in os.walk(data_dir):
        here = Path(top)
        # Pruned in place, so the walk never enters the sandbox.
        dirs[:] = [name for name in dirs if (here / name).resolve() != sandbox]
        for name in (*dirs, *files):
            _owner_only(here / name)
    _owner_only(data_dir)


def _owner_only(path: Path) -> None:
    info = path.lstat()
    # A link's own mode means nothing, and chmod would follow it out of the data dir.
    if stat.S_ISLNK(info.st_mode) or not info.st_mode & GROUP_OTHER:
        return
    try:
        path.chmod(stat.S_IMODE(info.st_mode) & ~GROUP_OTHER)
    except PermissionError:
        print(f"wmi2: cannot make {path} private (owned by uid {info.st_uid})", file=sys.stderr)
