"""Each action as an edit of the account files in memory, as the shadow tool for it would
make it: the same lines, the same checks, the tool's own words when it refuses.

An edit checks everything before it changes a line, so a refusal changes nothing; an
unexpected failure half way is undone by the change set (:meth:`AccountFiles.rollback`).
What cannot be done inside the files (a home to make or remove) is returned for after
the files are written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from services.common import accounts, actions, names
from services.common.actions import Action
from services.worker import archive
from services.worker.accountfiles import AccountFiles
from services.worker.checks import ToolError, check_full_name, check_gid, check_hash, check_name
from services.worker.defaults import Defaults
from services.worker.lookups import index, members

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class NewHome:
    path: str
    uid: int
    gid: int


@dataclass
class Done:
    """What an edit did: its sentence, the names it touched, and what is left for after."""

    result: str
    users: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    make_home: NewHome | None = None
    remove_home: Path | None = None
    remove_mail: str | None = None


@dataclass
class Context:
    """What the edits of one change set share: the host's defaults, the day, its rules."""

    defaults: Defaults
    sysroot: Path
    shells: list[str]
    manage_system_accounts: bool = False
    # Set by a delete with home="archive" before the files are locked (archiving takes time).
    archived: dict[str, Path | None] = field(default_factory=dict)

    @property
    def today(self) -> str:
        return str((datetime.now(UTC) - EPOCH).days)


def _shell(ctx: Context, shell: str) -> str:
    problem = names.shell_problem(shell, ctx.shells)
    if problem:
        raise ToolError(problem)
    return shell


def _user(files: AccountFiles, login: str, tool: str) -> list[str]:
    entry = files.passwd.get(check_name(login))
    if entry is None or len(entry) < 7:
        raise ToolError(f"{tool}: user '{login}' does not exist")
    return entry


def _group(files: AccountFiles, name: str, tool: str) -> list[str]:
    entry = files.group.get(check_name(name, "group name"))
    if entry is None or len(entry) < 4:
        raise ToolError(f"{tool}: group '{name}' does not exist")
    return entry


def _changeable(files: AccountFiles, ctx: Context, login: str, tool: str) -> list[str]:
    """The user's passwd entry, once it is one WMI2 may change (the api refused a system
    account from its read model; this refuses it from the host's own files)."""
    entry = _user(files, login, tool)
    d = ctx.defaults
    if not ctx.manage_system_accounts and (
        not entry[2].isdigit() or accounts.system_uid(int(entry[2]), d.uid_min, d.uid_max)
    ):
        raise ToolError(accounts.system_refusal(login, entry[2]))
    return entry


def _set_membership(files: AccountFiles, ctx: Context, group: str, login: str, member: bool) -> None:
    """Add ``login`` to (or take it out of) ``group`` in group and gshadow alike."""
    found = index(files, ctx.defaults)
    entry = files.group.get(group)
    if entry is not None and len(entry) >= 4:
        listed = [m for m in members(entry[3]) if m != login] + ([login] if member else [])
        if listed != members(entry[3]):
            files.group.put(group, [*entry[:3], ",".join(listed), *entry[4:]])
        _note(found.member_of, login, group, member)
    secret = files.gshadow.get(group)
    if secret is not None and len(secret) >= 4:
        listed = [m for m in members(secret[3]) if m != login] + ([login] if member else [])
        admins = members(secret[2]) if member else [a for a in members(secret[2]) if a != login]
        if listed != members(secret[3]) or admins != members(secret[2]):
            files.gshadow.put(group, [secret[0], secret[1], ",".join(admins), ",".join(listed), *secret[4:]])
        _note(found.gshadow_of, login, group, member or login in admins)


def _note(memberships: dict[str, set[str]], login: str, group: str, member: bool) -> None:
    if member:
        memberships.setdefault(login, set()).add(group)
    else:
        memberships.get(login, set()).discard(group)


def _groups_exist(files: AccountFiles, groups: list[str], tool: str) -> None:
    for name in groups:
        _group(files, name, tool)


def user_create(files: AccountFiles, ctx: Context, p: actions.UserCreate) -> Done:
    login, d = check_name(p.login), ctx.defaults
    full_name = check_full_name(p.full_name)
    shell = _shell(ctx, p.shell) if p.shell else d.shell
    if p.password_hash is not None:
        check_hash(p.password_hash)
    if files.passwd.get(login) is not None:
        raise ToolError(f"useradd: user '{login}' already exists")
    if d.user_groups and files.group.get(login) is not None:
        raise ToolError(
            f"useradd: group {login} exists - if you want to add this user to that group, use -g."
        )
    _groups_exist(files, p.groups, "useradd")
    found = index(files, d)
    uid = found.new_uid()
    gid = found.new_gid(wanted=uid) if d.user_groups else 100
    home = f"{d.home_base.rstrip('/')}/{login}"
    files.passwd.put(login, [login, "x", str(uid), str(gid), full_name, home, shell])
    files.shadow.put(login, [login, p.password_hash or "!", ctx.today, *d.shadow_aging(), ""])
    found.primary.setdefault(str(gid), set()).add(login)
    done = Done(result="", users={login}, groups=set(p.groups))
    if d.user_groups:
        files.group.put(login, [login, "x", str(gid), ""])
        files.gshadow.put(login, [login, "!", "", ""])
        found.group_added(login, gid)
        done.groups.add(login)
    for group in p.groups:
        _set_membership(files, ctx, group, login, True)
    if p.create_home:
        done.make_home = NewHome(home, uid, gid)
        done.result = f"User {login} created, home {home}"
    else:
        done.result = f"User {login} created, without a home"
    return done


def user_modify(files: AccountFiles, ctx: Context, p: actions.UserModify) -> Done:
    entry = _changeable(files, ctx, p.login, "usermod")
    _groups_exist(files, [*p.groups_add, *p.groups_remove], "usermod")
    fields = list(entry)
    if p.full_name is not None:
        fields[4] = check_full_name(p.full_name)
    if p.shell is not None:
        fields[6] = _shell(ctx, p.shell)
    if fields != entry:
        files.passwd.put(p.login, fields)
    for group in p.groups_add:
        _set_membership(files, ctx, group, p.login, True)
    for group in p.groups_remove:
        _set_membership(files, ctx, group, p.login, False)
    done = [
        *(["full name"] if p.full_name is not None else []),
        *(["shell"] if p.shell is not None else []),
        *([f"added to {', '.join(p.groups_add)}"] if p.groups_add else []),
        *([f"removed from {', '.join(p.groups_remove)}"] if p.groups_remove else []),
    ]
    result = f"User {p.login} updated: {'; '.join(done)}" if done else f"User {p.login}: nothing to change"
    return Done(result, users={p.login}, groups={*p.groups_add, *p.groups_remove})


def _shadow_entry(files: AccountFiles, login: str, tool: str) -> list[str]:
    entry = files.shadow.get(login)
    if entry is None or len(entry) < 3:
        raise ToolError(f"{tool}: user '{login}' does not exist in /etc/shadow")
    return entry


def user_password(files: AccountFiles, ctx: Context, p: actions.UserPassword) -> Done:
    password_hash = check_hash(p.password_hash)
    _changeable(files, ctx, p.login, "chpasswd")
    entry = _shadow_entry(files, p.login, "chpasswd")
    files.shadow.put(p.login, [entry[0], password_hash, ctx.today, *entry[3:]])
    return Done(f"Password of {p.login} changed", users={p.login})


def user_lock(files: AccountFiles, ctx: Context, p: actions.UserRef) -> Done:
    _changeable(files, ctx, p.login, "usermod")
    entry = _shadow_entry(files, p.login, "usermod")
    if not entry[1].startswith("!"):
        files.shadow.put(p.login, [entry[0], "!" + entry[1], *entry[2:]])
    return Done(f"User {p.login} locked", users={p.login})


def user_unlock(files: AccountFiles, ctx: Context, p: actions.UserRef) -> Done:
    _changeable(files, ctx, p.login, "usermod")
    entry = _shadow_entry(files, p.login, "usermod")
    if entry[1].startswith("!"):
        if entry[1] == "!":
            raise ToolError(
                "usermod: unlocking the user's password would result in a passwordless account.\n"
                "You should set a password with usermod -p to unlock this user's password."
            )
        files.shadow.put(p.login, [entry[0], entry[1][1:], *entry[2:]])
    return Done(f"User {p.login} unlocked", users={p.login})


def _primary_of(files: AccountFiles, ctx: Context, gid: str, besides: str | None = None) -> str | None:
    """A user whose primary group is ``gid`` (other than ``besides``), or None."""
    users = index(files, ctx.defaults).primary.get(gid, set())
    return next(iter(sorted(users - {besides} if besides else users)), None)


def _private_group(files: AccountFiles, ctx: Context, login: str, gid: str) -> str | None:
    """The user's own group, which userdel removes with it: same name, its primary group,
    nobody else's primary group, no other member."""
    entry = files.group.get(login)
    if not ctx.defaults.user_groups or entry is None or len(entry) < 4 or entry[2] != gid:
        return None
    if [m for m in members(entry[3]) if m != login] or _primary_of(files, ctx, gid, besides=login):
        return None
    return login


def _member_of(files: AccountFiles, ctx: Context, login: str) -> list[str]:
    """The groups that list ``login`` as a member (or, in gshadow, as an administrator)."""
    return sorted(index(files, ctx.defaults).groups_of(login))


def user_delete(files: AccountFiles, ctx: Context, p: actions.UserDelete) -> Done:
    login = check_name(p.login)
    entry = _user(files, login, "userdel")
    d = ctx.defaults
    # Never, whatever the setting: deleting a package's account breaks the package.
    if not entry[2].isdigit() or accounts.system_uid(int(entry[2]), d.uid_min, d.uid_max):
        raise ToolError(accounts.system_deletion_refusal(login))
    home = entry[5]
    # Checked before anything changes: a home that is a link, or outside the home base, is refused.
    where = archive.removable_home(ctx.sysroot, home) if p.home != "keep" else None
    private = _private_group(files, ctx, login, entry[3])
    groups = _member_of(files, ctx, login)
    for group in groups:
        _set_membership(files, ctx, group, login, False)
    files.passwd.remove(login)
    files.shadow.remove(login)
    found = index(files, d)
    found.uids.discard(int(entry[2]) if entry[2].isdigit() else -1)
    found.primary.get(entry[3], set()).discard(login)
    found.member_of.pop(login, None)
    found.gshadow_of.pop(login, None)
    if private is not None:
        files.group.remove(private)
        files.gshadow.remove(private)
        found.group_removed(files, private, entry[3])
    done = Done("", users={login}, groups={*groups, *([private] if private else [])})
    if p.home == "keep":
        done.result = f"User {login} deleted, home {home} kept"
        return done
    done.remove_home, done.remove_mail = where, login
    if p.home == "remove":
        done.result = f"User {login} deleted with home {home}"
        return done
    saved = ctx.archived.get(login)
    done.result = (
        f"User {login} deleted, home archived to {saved}"
        if saved
        else f"User {login} deleted, no home to archive"
    )
    return done


def group_create(files: AccountFiles, ctx: Context, p: actions.GroupCreate) -> Done:
    name, d = check_name(p.name, "group name"), ctx.defaults
    if files.group.get(name) is not None:
        raise ToolError(f"groupadd: group '{name}' already exists")
    found = index(files, d)
    if p.gid is not None:
        check_gid(p.gid)
        if p.gid in found.gids:
            raise ToolError(f"groupadd: GID '{p.gid}' already exists")
    gid = p.gid if p.gid is not None else found.new_gid()
    files.group.put(name, [name, "x", str(gid), ""])
    files.gshadow.put(name, [name, "!", "", ""])
    found.group_added(name, gid)
    # Users whose primary gid had no group until now get its name.
    return Done(f"Group {name} created, gid {gid}", users=set(found.primary.get(str(gid), ())), groups={name})


def group_delete(files: AccountFiles, ctx: Context, p: actions.GroupRef) -> Done:
    entry = _group(files, p.name, "groupdel")
    user = _primary_of(files, ctx, entry[2])
    if user is not None:
        raise ToolError(f"groupdel: cannot remove the primary group of user '{user}'")
    secret = files.gshadow.get(p.name) or []
    listed = {*members(entry[3]), *(m for f in secret[2:4] for m in members(f))}
    files.group.remove(p.name)
    files.gshadow.remove(p.name)
    found = index(files, ctx.defaults)
    found.group_removed(files, p.name, entry[2])
    for login in listed:
        found.member_of.get(login, set()).discard(p.name)
        found.gshadow_of.get(login, set()).discard(p.name)
    return Done(f"Group {p.name} deleted", users=listed, groups={p.name})


def _members_change(files: AccountFiles, ctx: Context, p: actions.GroupMembers, member: bool) -> Done:
    _group(files, p.name, "gpasswd")
    for login in p.logins:  # every member checked before the first changes
        _changeable(files, ctx, login, "usermod")
    for login in p.logins:
        _set_membership(files, ctx, p.name, login, member)
    verb, preposition = ("added", "to") if member else ("removed", "from")
    return Done(
        f"{', '.join(p.logins) or 'Nobody'} {verb} {preposition} group {p.name}",
        users=set(p.logins),
        groups={p.name},
    )


def group_add_members(files: AccountFiles, ctx: Context, p: actions.GroupMembers) -> Done:
    return _members_change(files, ctx, p, True)


def group_remove_members(files: AccountFiles, ctx: Context, p: actions.GroupMembers) -> Done:
    return _members_change(files, ctx, p, False)


M = TypeVar("M", bound=BaseModel)
Edit = Callable[[AccountFiles, Context, BaseModel], Done]


def _edit(model: type[M], edit: Callable[[AccountFiles, Context, M], Done]) -> Edit:
    def checked(files: AccountFiles, ctx: Context, params: BaseModel) -> Done:
        if not isinstance(params, model):
            raise TypeError(f"expected {model.__name__}, got {type(params).__name__}")
        return edit(files, ctx, params)

    return checked


EDITS: dict[Action, Edit] = {
    Action.USER_CREATE: _edit(actions.UserCreate, user_create),
    Action.USER_MODIFY: _edit(actions.UserModify, user_modify),
    Action.USER_PASSWORD: _edit(actions.UserPassword, user_password),
    Action.USER_LOCK: _edit(actions.UserRef, user_lock),
    Action.USER_UNLOCK: _edit(actions.UserRef, user_unlock),
    Action.USER_DELETE: _edit(actions.UserDelete, user_delete),
    Action.GROUP_CREATE: _edit(actions.GroupCreate, group_create),
    Action.GROUP_DELETE: _edit(actions.GroupRef, group_delete),
    Action.GROUP_ADD_MEMBERS: _edit(actions.GroupMembers, group_add_members),
    Action.GROUP_REMOVE_MEMBERS: _edit(actions.GroupMembers, group_remove_members),
}
