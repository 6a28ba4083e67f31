"""Reading a host's account files (under its SYSROOT) into the read model's records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from services.common.accounts import Group, HostInfo, User

# What Debian's login.defs says when a key is missing.
DEFAULT_DEFS = {"UID_MIN": 1000, "UID_MAX": 60000, "GID_MIN": 1000, "GID_MAX": 60000}
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class HostAccounts:
    users: dict[str, User]
    groups: dict[str, Group]
    info: HostInfo


def _records(path: Path, fields: int) -> list[list[str]]:
    """The colon-separated records of an account file; blank, comment and short lines skipped."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip() or line.startswith(("#", "+", "-")):
            continue
        parts = line.split(":")
        if len(parts) >= fields:
            rows.append(parts)
    return rows


def login_defs(etc: Path) -> dict[str, int]:
    """The uid and gid ranges of login.defs (integers only)."""
    values = dict(DEFAULT_DEFS)
    path = etc / "login.defs"
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines() if path.exists() else []
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] in values and parts[1].isdigit():
            values[parts[0]] = int(parts[1])
    return values


def shells(etc: Path) -> list[str]:
    path = etc / "shells"
    if not path.exists():
        return []
    lines = (line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


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


def read_groups(etc: Path, defs: dict[str, int]) -> dict[str, Group]:
    groups: dict[str, Group] = {}
    for name, _, gid, members, *_ in _records(etc / "group", 4):
        if name in groups or not gid.isdigit():
            continue
        number = int(gid)
        groups[name] = Group(
            name=name,
            gid=number,
            members=[m for m in members.split(",") if m],
            system=number < defs["GID_MIN"] or number > defs["GID_MAX"],
        )
    return groups


def read_users(etc: Path, defs: dict[str, int], groups: dict[str, Group]) -> dict[str, User]:
    shadow = {row[0]: row for row in _records(etc / "shadow", 3)}
    group_of_gid: dict[int, str] = {}
    for group in groups.values():
        group_of_gid.setdefault(group.gid, group.name)
    users: dict[str, User] = {}
    for login, _, uid, gid, gecos, home, shell, *_ in _records(etc / "passwd", 7):
        if login in users or not uid.isdigit() or not gid.isdigit():
            continue
        hash_, changed = (shadow[login][1], shadow[login][2]) if login in shadow else ("", "")
        users[login] = User(
            login=login,
            uid=int(uid),
            gid=int(gid),
            primary_group=group_of_gid.get(int(gid)),
            full_name=gecos.split(",")[0],
            home=home,
            shell=shell,
            groups=sorted(g.name for g in groups.values() if login in g.members),
            locked=hash_.startswith("!"),
            has_password=has_password(hash_),
            last_change=last_change(changed),
            system=int(uid) < defs["UID_MIN"] or int(uid) > defs["UID_MAX"],
        )
    return users


def read_host(sysroot: Path, host: str) -> HostAccounts:
    """Everything the read model holds about one host, read from its files now."""
    etc = sysroot / "etc"
    defs = login_defs(etc)
    groups = read_groups(etc, defs)
    info = HostInfo(
        name=host,
        shells=shells(etc),
        uid_min=defs["UID_MIN"],
        uid_max=defs["UID_MAX"],
        gid_min=defs["GID_MIN"],
        read_at=datetime.now(UTC).isoformat(),
    )
    return HostAccounts(users=read_users(etc, defs, groups), groups=groups, info=info)
