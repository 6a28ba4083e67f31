"""What the edits and the read model look up by something other than a name: the ids in use,
the users of each primary group, the groups of each member, the group of each gid.

Built once for a set of files (one pass over passwd, group and gshadow), kept with them
(:attr:`AccountFiles.index`) and kept up to date by the edits, so that a change costs the
same on a host of 30 accounts as on one of 30,000.
"""

from __future__ import annotations

from services.worker.accountfiles import AccountFiles
from services.worker.checks import ToolError
from services.worker.defaults import Defaults


def members(field: str) -> list[str]:
    return [m for m in field.split(",") if m]


def _free_id(used: set[int], top: int, low: int, high: int, wanted: int | None = None) -> int:
    """As useradd picks: ``wanted`` if free, else one above the highest id in the range
    (``top``), else the lowest free one."""
    if wanted is not None and low <= wanted <= high and wanted not in used:
        return wanted
    if top + 1 <= high:
        return max(top + 1, low)
    free = next((i for i in range(low, high + 1) if i not in used), None)
    if free is None:
        raise ToolError(f"No free id is left between {low} and {high} (login.defs).")
    return free


class Index:
    def __init__(self, files: AccountFiles, d: Defaults) -> None:
        self.d = d
        self.uids: set[int] = set()
        self.gids: set[int] = set()
        self.primary: dict[str, set[str]] = {}
        # Memberships as group lists them (the read model's), and as gshadow does (members
        # and administrators, which a deletion clears too).
        self.member_of: dict[str, set[str]] = {}
        self.gshadow_of: dict[str, set[str]] = {}
        self.group_of_gid: dict[str, str] = {}
        for row in files.passwd.rows():
            if len(row) > 3 and row[2].isdigit():
                self.uids.add(int(row[2]))
                self.primary.setdefault(row[3], set()).add(row[0])
        for row in files.group.rows():
            if len(row) > 3 and row[2].isdigit():
                self.gids.add(int(row[2]))
                self.group_of_gid.setdefault(row[2], row[0])
            for member in members(row[3]) if len(row) > 3 else ():
                self.member_of.setdefault(member, set()).add(row[0])
        for row in files.gshadow.rows():
            for member in [*members(row[2]), *members(row[3])] if len(row) > 3 else ():
                self.gshadow_of.setdefault(member, set()).add(row[0])
        self.top_uid = max((i for i in self.uids if d.uid_min <= i <= d.uid_max), default=d.uid_min - 1)
        self.top_gid = max((i for i in self.gids if d.gid_min <= i <= d.gid_max), default=d.gid_min - 1)

    def new_uid(self) -> int:
        uid = _free_id(self.uids, self.top_uid, self.d.uid_min, self.d.uid_max)
        self.uids.add(uid)
        self.top_uid = max(self.top_uid, uid)
        return uid

    def new_gid(self, wanted: int | None = None) -> int:
        gid = _free_id(self.gids, self.top_gid, self.d.gid_min, self.d.gid_max, wanted)
        self.use_gid(gid)
        return gid

    def use_gid(self, gid: int) -> None:
        self.gids.add(gid)
        if self.d.gid_min <= gid <= self.d.gid_max:
            self.top_gid = max(self.top_gid, gid)

    def group_added(self, name: str, gid: int) -> None:
        self.use_gid(gid)
        self.group_of_gid.setdefault(str(gid), name)

    def group_removed(self, files: AccountFiles, name: str, gid: str) -> None:
        if gid.isdigit():
            self.gids.discard(int(gid))
        if self.group_of_gid.get(gid) == name:
            del self.group_of_gid[gid]
            # Another group with the same gid (rare) names it now: the first in the file.
            other = next((row[0] for row in files.group.rows() if len(row) > 2 and row[2] == gid), None)
            if other is not None:
                self.group_of_gid[gid] = other
                self.gids.add(int(gid))

    def groups_of(self, login: str) -> set[str]:
        """Every group that lists ``login``, in group or in gshadow."""
        return self.member_of.get(login, set()) | self.gshadow_of.get(login, set())


def index(files: AccountFiles, d: Defaults) -> Index:
    if not isinstance(files.index, Index) or files.index.d != d:
        files.index = Index(files, d)
    return files.index
