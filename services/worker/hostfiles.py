"""Reading a host's account files (under its SYSROOT) into the read model's records.

A refresh reads the whole host after every change, so this is on every job's path: each
file is read once, as bytes (which also give a digest of what was read), and parsed in one
pass into plain records, the JSON shapes of :class:`User` and :class:`Group`; a user's
supplementary groups come from one index of memberships, not from a scan of every group
per user (which made a host of 1,000 users cost half a second per read).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from services.common.accounts import Group, HostInfo, User, system_uid

# What Debian's login.defs says when a key is missing.
DEFAULT_DEFS = {"UID_MIN": 1000, "UID_MAX": 60000, "GID_MIN": 1000, "GID_MAX": 60000}
EPOCH = date(1970, 1, 1)
# The files a read depends on: what the read model holds is a function of these alone.
FILES = ("passwd", "shadow", "group", "gshadow", "login.defs", "shells")

Record = dict[str, Any]


@dataclass(frozen=True)
class HostAccounts:
    users: dict[str, User]
    groups: dict[str, Group]
    info: HostInfo


@dataclass(frozen=True)
class HostFiles:
    """The account files' contents as read at one moment, and a digest of them."""

    texts: dict[str, str]
    digest: bytes


@dataclass(frozen=True)
class HostRecords:
    """The read model's records (the JSON shapes of User and Group) and the host's facts."""

    users: dict[str, Record]
    groups: dict[str, Record]
    info: HostInfo
    digest: bytes


def read_raw(etc: Path, name: str) -> bytes:
    try:
        return (etc / name).read_bytes()
    except FileNotFoundError:
        return b""


def digest_of(raws: dict[str, bytes]) -> bytes:
    """The digest of the files' contents (every name of FILES), as the model is stored with."""
    digest = hashlib.blake2b(digest_size=16)
    for name in FILES:
        raw = raws[name]
        digest.update(b"%s\0%d\0" % (name.encode(), len(raw)))
        digest.update(raw)
    return digest.digest()


def read_files(sysroot: Path) -> HostFiles:
    """Each account file read once (a missing one reads as empty), and their digest."""
    etc = sysroot / "etc"
    raws = {name: read_raw(etc, name) for name in FILES}
    texts = {name: raw.decode("utf-8", errors="replace") for name, raw in raws.items()}
    return HostFiles(texts=texts, digest=digest_of(raws))


def lines(text: str) -> list[str]:
    """An account file's lines. Only '\n' ends one: str.splitlines() also splits on U+2028,
    U+0085 and others that a GECOS field may hold, which hid the account of that line."""
    return text.split("\n")


def holds_account(line: str) -> bool:
    # Blank lines, comments and NIS entries ('+'/'-') hold no account of this host.
    return bool(line.strip()) and not line.startswith(("#", "+", "-"))


def _rows(text: str, fields: int) -> list[list[str]]:
    """The colon-separated records of an account file; blank, comment and short lines skipped."""
    rows = []
    for line in lines(text):
        if not holds_account(line):
            continue
        parts = line.split(":")
        if len(parts) >= fields:
            rows.append(parts)
    return rows


def _records(path: Path, fields: int) -> list[list[str]]:
    if not path.exists():
        return []
    return _rows(path.read_text(encoding="utf-8", errors="replace"), fields)


def defs_of(text: str) -> dict[str, int]:
    values = dict(DEFAULT_DEFS)
    for line in lines(text):
        parts = line.split()
        if len(parts) >= 2 and parts[0] in values and parts[1].isdigit():
            values[parts[0]] = int(parts[1])
    return values


def _shells(text: str) -> list[str]:
    stripped = (line.strip() for line in lines(text))
    return [line for line in stripped if line and not line.startswith("#")]


def shells(etc: Path) -> list[str]:
    path = etc / "shells"
    return _shells(path.read_text(encoding="utf-8", errors="replace")) if path.exists() else []


@lru_cache(maxsize=4096)
def last_change(days: str) -> str | None:
    """Shadow's third field (days since 1970-01-01) as an ISO date; empty means unknown."""
    if not days.isdigit():
        return None
    return (EPOCH + timedelta(days=int(days))).isoformat()


def has_password(hash_: str) -> bool:
    """A crypt hash is set, locked or not ("", "*" and a bare "!" mean no password)."""
    bare = hash_.lstrip("!")
    return bool(bare) and bare[0] not in "*!"


def shadow_hash(etc: Path, login: str) -> str:
    """The login's password field in shadow ("" when it has no entry)."""
    return next((row[1] for row in _records(etc / "shadow", 2) if row[0] == login), "")


def passwd_entry(etc: Path, login: str) -> list[str] | None:
    """The login's line of passwd, split into its fields, or None."""
    return next((row for row in _records(etc / "passwd", 7) if row[0] == login), None)


def group_entry(etc: Path, name: str) -> list[str] | None:
    """The group's line of group, split into its fields, or None."""
    return next((row for row in _records(etc / "group", 4) if row[0] == name), None)


# The fields of a line of each file that makes records, and those of them that are numbers.
LAYOUTS = {"passwd": (7, ("uid", "gid")), "group": (4, ("gid",))}


def unreadable(name: str, number: int, line: str) -> str | None:
    """Why a line of passwd or group that holds an account cannot be read, or None.

    Said as 'FILE line N ('NAME'): why'. The line itself is not repeated, only its first
    field, which is a name, never a secret.
    """
    fields, numeric = LAYOUTS[name]
    parts = line.split(":")
    bad = [what for what, value in zip(numeric, parts[2:], strict=False) if not value.isdigit()]
    if len(parts) < fields:
        why = f"it has {len(parts)} fields instead of {fields}"
    elif bad:
        why = f"its {bad[0]} is not a number"
    else:
        return None
    return f"{name} line {number} ({parts[0][:32]!r}): {why}"


def group_record(line: str, gid_min: int, gid_max: int) -> Record | None:
    """The record of one line of group, or None for a line that holds no group."""
    if not holds_account(line):
        return None
    parts = line.split(":")
    if len(parts) < 4 or not parts[2].isdigit():
        return None
    number = int(parts[2])
    return {
        "name": parts[0],
        "gid": number,
        "members": [m for m in parts[3].split(",") if m],
        "system": number < gid_min or number > gid_max,
    }


def _group_records(text: str, defs: dict[str, int], problems: list[str] | None = None) -> dict[str, Record]:
    groups: dict[str, Record] = {}
    gid_min, gid_max = defs["GID_MIN"], defs["GID_MAX"]
    for number, line in enumerate(lines(text), 1):
        record = group_record(line, gid_min, gid_max)
        if record is None and problems is not None and holds_account(line):
            problems.append(unreadable("group", number, line) or f"group line {number}: unreadable")
        if record is None or record["name"] in groups:
            continue
        groups[record["name"]] = record
    return groups


def user_record(
    fields: list[str],
    secret: tuple[str, str],
    primary: str | None,
    groups: tuple[str, ...],
    bounds: tuple[int, int],
) -> Record:
    login, _, uid, gid, gecos, home, shell, *_ = fields
    hash_, changed = secret
    number = int(uid)
    return {
        "login": login,
        "uid": number,
        "gid": int(gid),
        "primary_group": primary,
        "full_name": gecos.split(",")[0],
        "home": home,
        "shell": shell,
        "groups": list(groups),
        "locked": hash_.startswith("!"),
        "has_password": has_password(hash_),
        "last_change": last_change(changed),
        "system": system_uid(number, *bounds),
    }


def _user_records(
    passwd: str, shadow: str, defs: dict[str, int], groups: dict[str, Record], problems: list[str]
) -> dict[str, Record]:
    hashes = {row[0]: (row[1], row[2]) for row in _rows(shadow, 3)}
    group_of_gid: dict[int, str] = {}
    member_of: dict[str, set[str]] = {}
    for group in groups.values():
        group_of_gid.setdefault(group["gid"], group["name"])
        for member in group["members"]:
            member_of.setdefault(member, set()).add(group["name"])
    bounds = (defs["UID_MIN"], defs["UID_MAX"])
    users: dict[str, Record] = {}
    for number, line in enumerate(lines(passwd), 1):
        if not holds_account(line):
            continue
        problem = unreadable("passwd", number, line)
        if problem:
            problems.append(problem)
            continue
        fields = line.split(":")
        login, gid = fields[0], fields[3]
        if login in users:
            continue
        secret = hashes.get(login, ("", ""))
        primary = group_of_gid.get(int(gid))
        member = tuple(sorted(member_of.get(login, ())))
        users[login] = user_record(fields, secret, primary, member, bounds)
    return users


def parse(files: HostFiles, host: str) -> HostRecords:
    """The read model's records of what ``files`` hold."""
    texts = files.texts
    defs = defs_of(texts["login.defs"])
    problems: list[str] = []
    groups = _group_records(texts["group"], defs, problems)
    users = _user_records(texts["passwd"], texts["shadow"], defs, groups, problems)
    info = HostInfo(
        name=host,
        shells=_shells(texts["shells"]),
        uid_min=defs["UID_MIN"],
        uid_max=defs["UID_MAX"],
        gid_min=defs["GID_MIN"],
        read_at=datetime.now(UTC).isoformat(),
        unreadable=problems,
    )
    return HostRecords(users=users, groups=groups, info=info, digest=files.digest)


def read_records(sysroot: Path, host: str) -> HostRecords:
    """Everything the read model holds about one host, read from its files now."""
    return parse(read_files(sysroot), host)


def read_host(sysroot: Path, host: str) -> HostAccounts:
    """The same as :func:`read_records`, as models."""
    records = read_records(sysroot, host)
    return HostAccounts(
        users={k: User(**v) for k, v in records.users.items()},
        groups={k: Group(**v) for k, v in records.groups.items()},
        info=records.info,
    )
