"""What changed between two reads of a host's account files, by lines: the records of the
users and groups whose lines differ, made from the newer read.

A change made on the host itself (``useradd`` typed in a terminal) touches a few lines of
files that may hold 30,000 accounts. Parsing every line again, and comparing every record
with what Redis holds, cost half a second at that size. Here each file's changed region
is found by comparing the two texts (in C, a block at a time), the names on its lines
are the touched ones, and each touched record is made from the lines found for it with
``str.find``: no Python loop over the host's lines. A member added to a group changes its
user's record, and a group that changes its gid or name changes the records of the users
whose primary group it is: both are followed. What this cannot follow (login.defs or the
shells changed, a line that cannot be read, a change touching too many names) answers
None, and the caller reads everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from services.worker import hostfiles
from services.worker.hostfiles import HostFiles, Record

# Past this many touched names a full read is as cheap, and simpler.
MOST_NAMES = 200
BLOCK = 1 << 16

Touched = tuple[dict[str, Record | None], dict[str, Record | None]]


def _first_difference(old: str, new: str) -> int:
    """The index of the first character where ``old`` and ``new`` differ."""
    size = min(len(old), len(new))
    start = 0
    while start < size and old[start : start + BLOCK] == new[start : start + BLOCK]:
        start += BLOCK
    low, high = start, min(start + BLOCK, size)
    while low < high:  # the first difference lies in [low, high]
        middle = (low + high) // 2
        if old[low : middle + 1] == new[low : middle + 1]:
            low = middle + 1
        else:
            high = middle
    return low


def changed_lines(old: str, new: str) -> set[str]:
    """The lines in one text and not the other, looked for only where the texts differ."""
    if old == new:
        return set()
    head = _first_difference(old, new)
    tail = _first_difference(old[head:][::-1], new[head:][::-1])
    start = old.rfind("\n", 0, head) + 1
    old_end, new_end = len(old) - tail, len(new) - tail
    old_region = old[start : _line_end(old, old_end)]
    new_region = new[start : _line_end(new, new_end)]
    return set(old_region.split("\n")) ^ set(new_region.split("\n"))


def _line_end(text: str, at: int) -> int:
    end = text.find("\n", max(at - 1, 0))
    return len(text) if end < 0 else end


def _lines_with(text: str, needle: str, keep: Callable[[list[str]], bool]) -> Iterator[str]:
    """The lines of ``text`` holding ``needle`` whose fields pass ``keep``, in file order."""
    at = text.find(needle)
    while at >= 0:
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        end = len(text) if end < 0 else end
        line = text[start:end]
        if hostfiles.holds_account(line) and keep(line.split(":")):
            yield line
        at = text.find(needle, end)


def _line_of(text: str, name: str) -> str | None:
    """The first line of ``name``."""
    return next(_lines_with(text, f"{name}:", lambda f: f[0] == name), None)


def _name(line: str) -> str:
    return line.split(":", 1)[0]


def _listed(line: str, file: str) -> set[str]:
    """The names a line of group (its members) or gshadow (its administrators and members) lists."""
    parts = line.split(":")
    if len(parts) < 4:
        return set()
    fields = parts[3:4] if file == "group" else parts[2:4]
    return {m for field in fields for m in field.split(",") if m}


def _touched(old: HostFiles, new: HostFiles) -> tuple[set[str], set[str], set[str]]:
    """The users and groups on lines that differ, and the gids of the group lines that do."""
    users: set[str] = set()
    groups: set[str] = set()
    gids: set[str] = set()
    for name in ("passwd", "shadow"):
        users |= {_name(line) for line in changed_lines(old.texts[name], new.texts[name]) if line}
    for name in ("group", "gshadow"):
        for line in changed_lines(old.texts[name], new.texts[name]):
            if not line:
                continue
            groups.add(_name(line))
            users |= _listed(line, name)
            parts = line.split(":")
            if name == "group" and len(parts) >= 3:
                gids.add(parts[2])
    return users, groups, gids


def records(old: HostFiles, new: HostFiles) -> Touched | None:
    """The records, in ``new``, of every user and group whose record may differ from ``old``'s
    (None: gone); None when the whole host must be read again."""
    if any(old.texts[name] != new.texts[name] for name in ("login.defs", "shells")):
        return None
    users, groups, gids = _touched(old, new)
    passwd = new.texts["passwd"]
    for gid in gids:  # a group's gid or name changed: so may its users' primary group
        users |= {_name(line) for line in _lines_with(passwd, f":{gid}:", _has_primary_gid(gid))}
    if len(users) + len(groups) > MOST_NAMES:
        return None
    defs = hostfiles.defs_of(new.texts["login.defs"])
    new_groups: dict[str, Record | None] = {}
    for name in groups:
        line = _line_of(new.texts["group"], name)
        record = hostfiles.group_record(line, defs["GID_MIN"], defs["GID_MAX"]) if line is not None else None
        if line is not None and record is None:
            return None  # a line that cannot be read: the full read lists it as such
        new_groups[name] = record
    new_users: dict[str, Record | None] = {}
    for login in users:
        user = _user(new, login, defs)
        if user is False:
            return None
        new_users[login] = user if isinstance(user, dict) else None
    return new_users, new_groups


def _has_primary_gid(gid: str) -> Callable[[list[str]], bool]:
    return lambda fields: fields[3:4] == [gid]


def _user(files: HostFiles, login: str, defs: dict[str, int]) -> Record | bool | None:
    """The user's record, None when it has no line, False when its line cannot be read."""
    line = _line_of(files.texts["passwd"], login)
    if line is None:
        return None
    if hostfiles.unreadable("passwd", 0, line) is not None:
        return False
    fields = line.split(":")
    group_text = files.texts["group"]
    shadow = list(_shadow_lines(files.texts["shadow"], login))
    hashed = (shadow[-1][1], shadow[-1][2]) if shadow else ("", "")  # the last wins, as in a full read
    gid = str(int(fields[3]))
    primary = next((_name(g) for g in _lines_with(group_text, f":{gid}:", lambda f: f[2:3] == [gid])), None)
    member_of = {
        _name(g)
        for g in _lines_with(group_text, login, lambda f: login in f[3].split(",") if len(f) > 3 else False)
    }
    bounds = (defs["UID_MIN"], defs["UID_MAX"])
    return hostfiles.user_record(fields, hashed, primary, tuple(sorted(member_of)), bounds)


def _shadow_lines(text: str, login: str) -> Iterator[list[str]]:
    for line in _lines_with(text, f"{login}:", lambda f: f[0] == login and len(f) >= 3):
        yield line.split(":")
