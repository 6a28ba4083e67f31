"""The read model's records of the names a change set touched, made from the files it wrote.

After its own change a job knows which users and groups it touched: their records are
made from the files still in memory, as :mod:`hostfiles` makes them from the files on
disk (the same functions), instead of parsing every line of a host that may hold 30,000
accounts. A name whose record is None is gone.
"""

from __future__ import annotations

from services.worker import hostfiles
from services.worker.accountfiles import AccountFiles
from services.worker.defaults import Defaults
from services.worker.hostfiles import Record
from services.worker.lookups import Index


def _readable(line: str) -> str:
    """A line as :mod:`hostfiles` reads it: bytes that are not UTF-8 shown as U+FFFD."""
    return line if line.isascii() else line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def user_record(files: AccountFiles, found: Index, login: str, d: Defaults) -> Record | None:
    position = files.passwd.index.get(login)
    line = files.passwd.lines[position] if position is not None else None
    if line is None or hostfiles.unreadable("passwd", 0, line) is not None:
        return None
    fields = _readable(line).split(":")
    secret = files.shadow.get(login)
    hashed = (secret[1], secret[2]) if secret is not None and len(secret) >= 3 else ("", "")
    primary = found.group_of_gid.get(fields[3])
    groups = tuple(sorted(found.member_of.get(login, ())))
    return hostfiles.user_record(fields, hashed, primary, groups, (d.uid_min, d.uid_max))


def group_record(files: AccountFiles, name: str, d: Defaults) -> Record | None:
    position = files.group.index.get(name)
    line = files.group.lines[position] if position is not None else None
    return hostfiles.group_record(_readable(line), d.gid_min, d.gid_max) if line is not None else None


def records(
    files: AccountFiles, found: Index, d: Defaults, users: set[str], groups: set[str]
) -> tuple[dict[str, Record | None], dict[str, Record | None]]:
    """The records of ``users`` and ``groups`` as the files now hold them (None: gone)."""
    return (
        {login: user_record(files, found, login, d) for login in users},
        {name: group_record(files, name, d) for name in groups},
    )
