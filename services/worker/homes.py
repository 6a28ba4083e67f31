"""A home made as ``useradd -m`` makes it, for a creation cut off before its home was made.

``useradd`` writes the account's lines first and makes the home last; a worker killed in
between leaves an account without its home, which a redelivered job completes here rather
than failing on "user already exists".
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from services.worker import archive, shadow

# What useradd uses when login.defs says nothing: 0777 & ~UMASK, with Debian's UMASK 022.
DEFAULT_MODE = 0o755


class HomeExists(shadow.ToolError):
    """The home to make is there already (a user deleted keeping it, or made by hand)."""


def home_mode(etc: Path) -> int:
    """HOME_MODE of login.defs, else 0777 masked by its UMASK."""
    values: dict[str, str] = {}
    path = etc / "login.defs"
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    for line in text.split("\n"):
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("HOME_MODE", "UMASK"):
            values[parts[0]] = parts[1]
    try:
        if "HOME_MODE" in values:
            return int(values["HOME_MODE"], 8) & 0o7777
        if "UMASK" in values:
            return 0o777 & ~int(values["UMASK"], 8)
    except ValueError:
        pass
    return DEFAULT_MODE


def make_home(sysroot: Path, home: str, uid: int, gid: int, skel: str = "/etc/skel") -> None:
    """A copy of the host's skel at ``home``, owned by the user; refuses a home that exists."""
    root = sysroot.resolve()
    base = (root / archive.home_base(sysroot).lstrip("/")).resolve()
    target = root / home.lstrip("/")
    if base not in target.parent.resolve().parents and target.parent.resolve() != base:
        raise shadow.ToolError(
            f"The home {home!r} is not under {archive.home_base(sysroot)}: WMI2 does not make it."
        )
    if target.exists() or target.is_symlink():
        raise HomeExists(f"its home {home} existed already and was left as it was, as useradd leaves it")
    source = sysroot / skel.lstrip("/")
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
    else:
        target.mkdir()
    for path in [target, *target.rglob("*")]:
        os.lchown(path, uid, gid)
    target.chmod(home_mode(sysroot / "etc"))
