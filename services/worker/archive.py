"""Archiving a home directory before its user is deleted with it."""

from __future__ import annotations

import os
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from services.worker.shadow import ToolError


def home_under(sysroot: Path, home: str) -> Path:
    """The home's directory inside SYSROOT, refusing one that is the root itself or escapes it."""
    root = sysroot.resolve()
    path = (root / home.lstrip("/")).resolve()
    if path == root or root not in path.parents:
        raise ToolError(f"The home {home!r} is not a directory that can be archived.")
    return path


def archive_home(home: Path, archive_dir: Path, host: str, login: str) -> Path:
    """Write ``home`` as ``archive_dir/host/login-TIMESTAMP.tar.gz`` and return that path.

    Symbolic links are stored as links, never followed: a link in a home may point
    anywhere on the host.
    """
    folder = archive_dir / host
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"{login}-{stamp}.tar.gz"
    partial = target.with_name(target.name + ".part")
    # Readable by root only: a home holds the user's private files.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out, tarfile.open(fileobj=out, mode="w:gz") as tar:
            tar.add(home, arcname=login)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    # Only a finished archive gets its name, so a crash never leaves a truncated one behind.
    partial.rename(target)
    return target
