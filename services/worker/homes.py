"""Homes made as ``useradd -m`` makes them: a copy of the host's skel, owned by the user,
the home's mode from login.defs (HOME_MODE, else 0777 masked by UMASK).

A change set may make a thousand homes: the skel is read once (:class:`Skel`), and each
home is made with a handful of calls relative to the new directory's descriptor, never
following a link (a link in skel is copied as a link, as useradd copies it).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from services.worker import checks, defaults


class HomeExists(checks.ToolError):
    """The home to make is there already (a user deleted keeping it, or made by hand)."""


@dataclass(frozen=True)
class Entry:
    """One thing in skel: its path inside it, its kind ("dir", "file", "link"), its mode, and
    its contents (a file's bytes, a link's target)."""

    path: str
    kind: str
    mode: int
    data: bytes


@dataclass(frozen=True)
class Skel:
    entries: tuple[Entry, ...]

    @classmethod
    def read(cls, folder: Path) -> Skel:
        """Everything under ``folder``, parents before children; nothing when it is missing."""
        if not folder.is_dir():
            return cls(())
        entries = []
        for top, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(dirs) + sorted(files):
                path = Path(top) / name
                relative = str(path.relative_to(folder))
                st = path.lstat()
                if stat.S_ISLNK(st.st_mode):
                    entries.append(Entry(relative, "link", 0, os.readlink(path).encode()))
                elif stat.S_ISDIR(st.st_mode):
                    entries.append(Entry(relative, "dir", stat.S_IMODE(st.st_mode), b""))
                elif stat.S_ISREG(st.st_mode):
                    entries.append(Entry(relative, "file", stat.S_IMODE(st.st_mode), path.read_bytes()))
        return cls(tuple(entries))


class Homes:
    """Makes the homes of one host's new users."""

    def __init__(self, sysroot: Path, d: defaults.Defaults) -> None:
        self.root = sysroot.resolve()
        self.base = (self.root / d.home_base.lstrip("/")).resolve()
        self.shown_base = d.home_base
        self.mode = d.home_mode
        self.skel = Skel.read(self.root / d.skel.lstrip("/"))

    def make(self, home: str, uid: int, gid: int) -> None:
        target = self.root / home.lstrip("/")
        if target.parent.resolve() != self.base and self.base not in target.parent.resolve().parents:
            raise checks.ToolError(f"The home {home!r} is not under {self.shown_base}: WMI2 does not make it")
        # useradd makes a missing base (HOME=/srv on a host without /srv) root's and 0755.
        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        try:
            os.mkdir(target, 0o700)
        except FileExistsError:
            raise HomeExists(
                f"its home {home} existed already and was left as it was, as useradd leaves it"
            ) from None
        fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            for entry in self.skel.entries:
                _copy(fd, entry, uid, gid)
            os.fchown(fd, uid, gid)
            os.fchmod(fd, self.mode)
        finally:
            os.close(fd)


def _copy(home: int, entry: Entry, uid: int, gid: int) -> None:
    """One entry of skel into the home (``home`` is its open directory)."""
    if entry.kind == "dir":
        os.mkdir(entry.path, 0o700, dir_fd=home)
        os.chown(entry.path, uid, gid, dir_fd=home, follow_symlinks=False)
        os.chmod(entry.path, entry.mode, dir_fd=home, follow_symlinks=False)
    elif entry.kind == "link":
        os.symlink(entry.data.decode(), entry.path, dir_fd=home)
        os.chown(entry.path, uid, gid, dir_fd=home, follow_symlinks=False)
    else:
        fd = os.open(entry.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=home)
        try:
            view = memoryview(entry.data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchown(fd, uid, gid)
            os.fchmod(fd, entry.mode)
        finally:
            os.close(fd)


def make_home(sysroot: Path, home: str, uid: int, gid: int) -> None:
    """One home, for a creation cut off before its home was made (a redelivered job)."""
    Homes(sysroot, defaults.read(sysroot / "etc")).make(home, uid, gid)
