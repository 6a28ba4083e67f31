"""The four account files held in memory for a change set, and written back all or nothing.

Read under :func:`services.worker.pwlock.locked`, edited line by line, written back under the
same lock: each changed file is written whole to a new file, synced and renamed over the
old one, after its previous contents are kept as ``FILE-`` (as the tools keep them).

Four renames are not one: a process killed between two of them would leave, say, a user in
passwd and not yet in shadow. So the new files are all written and synced first, then a
journal naming them, then the renames; whoever takes the lock next finishes the renames of
a journal it finds (:func:`recover`), unless the file a rename would replace is no longer
the one the journal saw (a tool changed it meanwhile: the journal's file is then dropped,
and the tools' own ``pwck`` says what is left).

Bytes that are not UTF-8 round-trip unchanged (``surrogateescape``): WMI2 rewrites a line
it changes, never one it does not.

Between two change sets the files are kept in memory, keyed by each file's identity
(device, inode, size, mtime): a set that finds them as it left them reads nothing, which is
what keeps a change's cost flat however many accounts the host holds.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger(__name__)

FILES = ("passwd", "shadow", "group", "gshadow")
JOURNAL = ".wmi2-journal"
NEW_SUFFIX = ".wmi2-new"
ENCODING = "utf-8"
ERRORS = "surrogateescape"

Identity = tuple[int, int, int, int]


def _identity(path: Path) -> Identity | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def holds_account(line: str) -> bool:
    # Blank lines, comments and NIS entries ('+'/'-') hold no account of this host.
    return bool(line.strip()) and not line.startswith(("#", "+", "-"))


@dataclass
class Table:
    """One account file as lines, with the position of each name's first line.

    Every edit is undoable (:meth:`savepoint`, :meth:`rollback`): a change that fails half
    way through leaves the table as it found it, whatever it had already edited.
    """

    name: str
    lines: list[str | None]
    index: dict[str, int]
    raw: bytes
    changed: bool = False
    # How many of ``lines`` ``raw`` holds, and whether one of those was since replaced or
    # removed: a set that only adds lines (creations) writes ``raw`` and the new lines,
    # without joining 30,000 lines again.
    written: int = 0
    edited: bool = False
    removed: bool = False
    _undo: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @classmethod
    def parse(cls, name: str, raw: bytes) -> Table:
        text = raw.decode(ENCODING, ERRORS)
        lines: list[str | None] = list(text.split("\n"))
        if lines and lines[-1] == "":
            lines.pop()
        index: dict[str, int] = {}
        for position, line in enumerate(lines):
            if line is not None and holds_account(line):
                index.setdefault(line.split(":", 1)[0], position)
        return cls(name=name, lines=lines, index=index, raw=raw, written=len(lines))

    def get(self, key: str) -> list[str] | None:
        position = self.index.get(key)
        line = self.lines[position] if position is not None else None
        return line.split(":") if line is not None else None

    def put(self, key: str, fields: list[str]) -> None:
        """Replace ``key``'s line, or add it at the end."""
        line = ":".join(fields)
        position = self.index.get(key)
        if position is None:
            self.lines.append(line)
            self.index[key] = len(self.lines) - 1
            self._undo.append(lambda: self._unappend(key))
        else:
            old = self.lines[position]
            self.lines[position] = line
            self._undo.append(lambda: self._restore(position, old))
            self.edited = self.edited or position < self.written
        self.changed = True

    def remove(self, key: str) -> None:
        position = self.index.pop(key, None)
        if position is None:
            return
        old = self.lines[position]
        self.lines[position] = None
        self._undo.append(lambda: self._unremove(key, position, old))
        self.changed = self.removed = True
        self.edited = self.edited or position < self.written

    def keys(self) -> Iterator[str]:
        return iter(self.index)

    def rows(self) -> Iterator[list[str]]:
        for position in self.index.values():
            line = self.lines[position]
            if line is not None:
                yield line.split(":")

    def savepoint(self) -> int:
        return len(self._undo)

    def rollback(self, savepoint: int) -> None:
        while len(self._undo) > savepoint:
            self._undo.pop()()

    def settle(self) -> None:
        """Forget the undo log: what is in memory now is what was written."""
        self._undo.clear()

    def text(self) -> bytes:
        added = self.lines[self.written :]
        if not self.edited and None not in added:
            base = self.raw if not self.raw or self.raw.endswith(b"\n") else self.raw + b"\n"
            return base + "".join(f"{line}\n" for line in added if line is not None).encode(ENCODING, ERRORS)
        kept = [line for line in self.lines if line is not None]
        return ("\n".join(kept) + "\n").encode(ENCODING, ERRORS) if kept else b""

    def _unappend(self, key: str) -> None:
        self.lines.pop()
        del self.index[key]

    def _restore(self, position: int, old: str | None) -> None:
        self.lines[position] = old

    def _unremove(self, key: str, position: int, old: str | None) -> None:
        self.lines[position] = old
        self.index[key] = position


@dataclass
class AccountFiles:
    """passwd, shadow, group and gshadow of one root, as read under the lock."""

    etc: Path
    tables: dict[str, Table]
    identities: dict[str, Identity | None]
    # The edits' lookups by id and by membership (services.worker.edits.Index), built on
    # first use and kept with the files; dropped by a rollback, which they do not follow.
    index: Any = None

    @property
    def passwd(self) -> Table:
        return self.tables["passwd"]

    @property
    def shadow(self) -> Table:
        return self.tables["shadow"]

    @property
    def group(self) -> Table:
        return self.tables["group"]

    @property
    def gshadow(self) -> Table:
        return self.tables["gshadow"]

    def savepoint(self) -> dict[str, int]:
        return {name: table.savepoint() for name, table in self.tables.items()}

    def rollback(self, savepoint: dict[str, int]) -> None:
        for name, table in self.tables.items():
            table.rollback(savepoint[name])
        self.index = None


# The files of each root as this process last read or wrote them.
_kept: dict[Path, AccountFiles] = {}


def read(etc: Path) -> AccountFiles:
    """The files of ``etc``; call holding their lock. Unchanged since this process last wrote
    or read them, they come from memory."""
    identities = {name: _identity(etc / name) for name in FILES}
    kept = _kept.get(etc)
    if (
        kept is not None
        and kept.identities == identities
        and not any(t.changed for t in kept.tables.values())
    ):
        return kept
    tables = {}
    for name in FILES:
        try:
            raw = (etc / name).read_bytes()
        except FileNotFoundError:
            raw = b""
        tables[name] = Table.parse(name, raw)
    files = AccountFiles(etc=etc, tables=tables, identities=identities)
    _kept[etc] = files
    return files


def as_left(etc: Path) -> bool:
    """The files are as this process last wrote or read them (a stat of each, no read)."""
    kept = _kept.get(etc)
    return kept is not None and kept.identities == {name: _identity(etc / name) for name in FILES}


def forget(etc: Path) -> None:
    """Drop what is kept of ``etc``: the next read reads the files."""
    _kept.pop(etc, None)


def _write_new(path: Path, data: bytes, like: os.stat_result | None) -> None:
    """``data`` in a new file at ``path``, with the mode and owner of ``like`` (not synced:
    :func:`_sync_files` syncs a set's files at once)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        if like is not None:
            os.fchown(fd, like.st_uid, like.st_gid)
            os.fchmod(fd, like.st_mode & 0o7777)
        else:
            os.fchmod(fd, 0o644)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


# Syncs run side by side: the filesystem's journal commits concurrent fsyncs together, so
# the new files and the journal cost about one commit, not one each. (syncfs(2) would
# also flush whatever else is being written on the filesystem, which on a busy host is
# unbounded.)
_syncers: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    # One pool per process: a pool process forked from the worker has none of its threads.
    pool = _syncers.get(os.getpid())
    if pool is None:
        pool = _syncers[os.getpid()] = ThreadPoolExecutor(len(FILES) + 1, "account-files")
    return pool


def _sync_files(paths: list[Path]) -> None:
    """Each of ``paths`` on disk, synced at the same time."""
    for done in [_pool().submit(_sync, path) for path in paths]:
        done.result()


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def write(files: AccountFiles) -> list[str]:
    """Write the changed files back, all or nothing (see the module's docstring); their names."""
    etc = files.etc
    changed = [name for name in FILES if files.tables[name].changed]
    if not changed:
        return []
    planned, texts = [], {}
    for name in changed:
        table, path = files.tables[name], etc / name
        like, texts[name] = _stat(path), table.text()
        _keep_backup(path)
        _write_new(etc / f"{name}{NEW_SUFFIX}", texts[name], like)
        planned.append({"file": name, "replaces": list(files.identities[name] or ())})
    _write_new(etc / JOURNAL, orjson.dumps(planned), None)
    # Once on disk, the new files and the journal survive a power cut: whatever renames
    # were lost with it are done again by the next writer's recover().
    _sync_files([etc / JOURNAL, *(etc / f"{name}{NEW_SUFFIX}" for name in changed)])
    for name in changed:
        _put_in_place(etc, name)
    (etc / JOURNAL).unlink()
    _settle(files, texts)
    return changed


def _keep_backup(path: Path) -> None:
    """The file as it is now, kept as ``FILE-`` once its new version is in place.

    A second link to the file, not a copy: the renames replace the name ``FILE``, never
    the file, so the link keeps the old contents (and mode and owner) for nothing.
    """
    backup = path.with_name(f"{path.name}-")
    _retire(backup)
    with contextlib.suppress(FileNotFoundError):
        os.link(path, backup)


_retired = itertools.count()
RETIRED = ".wmi2-retired"


def _retire(path: Path) -> None:
    """Take ``path`` out of the way now and delete it later, off the set's path: freeing the
    blocks of a file of 30,000 accounts cost some 20 ms here, a rename nothing."""
    out_of_the_way = path.with_name(f"{RETIRED}.{os.getpid()}.{next(_retired)}")
    try:
        os.rename(path, out_of_the_way)
    except FileNotFoundError:
        return
    _pool().submit(out_of_the_way.unlink, missing_ok=True)


def _put_in_place(etc: Path, name: str) -> None:
    os.replace(etc / f"{name}{NEW_SUFFIX}", etc / name)


def _settle(files: AccountFiles, texts: dict[str, bytes]) -> None:
    """What is in memory is now what the files hold: note it, and the files' identities."""
    for name, text in texts.items():
        table = files.tables[name]
        if table.removed:  # positions move: index again
            files.tables[name] = Table.parse(name, text)
        else:
            table.raw, table.written, table.changed, table.edited = text, len(table.lines), False, False
            table.settle()
    files.identities = {name: _identity(files.etc / name) for name in FILES}
    _kept[files.etc] = files


def recover(etc: Path) -> list[str]:
    """Under the lock: finish the renames of a change set cut off half way; what was finished.

    A file the journal planned to replace but that changed since (a tool wrote it after
    the lock was freed by the death of its holder) is not replaced: the newer file wins.
    """
    journal = etc / JOURNAL
    try:
        planned = orjson.loads(journal.read_bytes())
    except FileNotFoundError:
        return []
    except orjson.JSONDecodeError:
        planned = []  # cut off while written: no rename had begun
    finished = []
    for entry in planned:
        name = entry.get("file")
        if name not in FILES or not (etc / f"{name}{NEW_SUFFIX}").exists():
            continue  # renamed already
        if list(_identity(etc / name) or ()) != entry.get("replaces"):
            log.warning("%s changed after a change set was cut off: its new version is dropped", etc / name)
            continue
        _put_in_place(etc, name)
        finished.append(name)
    for name in FILES:
        (etc / f"{name}{NEW_SUFFIX}").unlink(missing_ok=True)
    for leftover in etc.glob(f"{RETIRED}.*"):  # old backups a dead writer had not deleted yet
        leftover.unlink(missing_ok=True)
    _sync_files([etc])
    journal.unlink()
    forget(etc)
    return finished
