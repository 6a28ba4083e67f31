"""Archiving a home directory before its user is deleted with it."""

from __future__ import annotations

import os
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from services.worker.checks import ToolError

UNTOUCHED = "Nothing was changed: delete the user keeping its home, then see to the home by hand."


def home_base(sysroot: Path) -> str:
    """Where useradd puts homes: HOME in SYSROOT/etc/default/useradd, /home when unset."""
    path = sysroot / "etc" / "default" / "useradd"
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    for line in text.split("\n"):
        key, _, value = line.strip().partition("=")
        if key == "HOME" and value.startswith("/"):
            return value
    return "/home"


def removable_home(sysroot: Path, home: str) -> Path:
    """The home's directory inside SYSROOT, once it is known to be a home that userdel -r
    removes whole, and nothing else.

    A home that is a symbolic link is refused (userdel -r removes the account but keeps
    the link's target, and an archive would copy whatever the link points to), and so is
    one outside the home base, which may be any directory of the host (/, /etc, /srv).
    """
    root = sysroot.resolve()
    base = home_base(sysroot)
    path = root / home.lstrip("/")
    if path.is_symlink():
        raise ToolError(
            f"The home {home} is a symbolic link, which WMI2 neither removes nor archives. {UNTOUCHED}"
        )
    if (root / base.lstrip("/")).resolve() not in path.resolve().parents:
        raise ToolError(
            f"The home {home!r} is not under {base}: WMI2 neither removes nor archives it. {UNTOUCHED}"
        )
    return path.resolve()


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
