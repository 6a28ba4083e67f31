"""What each action does to a host, and the sentence that says what was done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from services.common import accounts, actions
from services.common.actions import Action
from services.worker import archive, hostfiles, preflight, shadow


@dataclass(frozen=True)
class Host:
    name: str
    sysroot: Path
    archive_dir: Path
    manage_system_accounts: bool = False


def _system_uid(host: Host, entry: list[str]) -> str | None:
    """The uid of a passwd entry if it is a system account's (or cannot be read), else None."""
    uid = entry[2]
    defs = hostfiles.login_defs(host.sysroot / "etc")
    if uid.isdigit() and not accounts.system_uid(int(uid), defs["UID_MIN"], defs["UID_MAX"]):
        return None
    return uid


def _changeable(host: Host, login: str) -> str:
    """The login, once its account is known to be one WMI2 may change: the api refused a
    system account from its read model, this refuses it from the host's own files.

    A login without an account passes: the tool then says so, in its own words.
    """
    login = shadow.check_name(login)
    entry = None if host.manage_system_accounts else hostfiles.passwd_entry(host.sysroot / "etc", login)
    uid = _system_uid(host, entry) if entry is not None else None
    if uid is not None:
        raise shadow.ToolError(accounts.system_refusal(login, uid))
    return login


def _user_create(host: Host, p: actions.UserCreate) -> str:
    shadow.useradd(
        host.sysroot,
        p.login,
        full_name=p.full_name,
        shell=p.shell,
        create_home=p.create_home,
        groups=p.groups,
        password_hash=p.password_hash,
    )
    entry = hostfiles.passwd_entry(host.sysroot / "etc", p.login)
    home = entry[5] if entry else "?"
    return (
        f"User {p.login} created, home {home}" if p.create_home else f"User {p.login} created, without a home"
    )


def _user_modify(host: Host, p: actions.UserModify) -> str:
    _changeable(host, p.login)
    shadow.set_identity(host.sysroot, p.login, p.full_name, p.shell)
    shadow.add_to_groups(host.sysroot, p.login, p.groups_add)
    shadow.remove_from_groups(host.sysroot, p.login, p.groups_remove)
    done = [
        *(["full name"] if p.full_name is not None else []),
        *(["shell"] if p.shell is not None else []),
        *([f"added to {', '.join(p.groups_add)}"] if p.groups_add else []),
        *([f"removed from {', '.join(p.groups_remove)}"] if p.groups_remove else []),
    ]
    return f"User {p.login} updated: {'; '.join(done)}" if done else f"User {p.login}: nothing to change"


def _user_password(host: Host, p: actions.UserPassword) -> str:
    shadow.set_password(host.sysroot, _changeable(host, p.login), p.password_hash)
    return f"Password of {p.login} changed"


def _user_lock(host: Host, p: actions.UserRef) -> str:
    shadow.lock(host.sysroot, _changeable(host, p.login))
    return f"User {p.login} locked"


def _user_unlock(host: Host, p: actions.UserRef) -> str:
    shadow.unlock(host.sysroot, _changeable(host, p.login))
    return f"User {p.login} unlocked"


def _archive(host: Host, login: str, home_dir: str, home: Path) -> Path | None:
    """Archive ``home`` (the checked directory of ``home_dir``), or None when there is none."""
    if not home.is_dir():
        return None
    try:
        return archive.archive_home(home, host.archive_dir, host.name, login)
    except OSError as exc:
        # Nothing is deleted yet: the user and the home stay as they were.
        raise shadow.ToolError(f"The home {home_dir} could not be archived: {exc}") from exc


def _user_delete(host: Host, p: actions.UserDelete) -> str:
    login = shadow.check_name(p.login)
    entry = hostfiles.passwd_entry(host.sysroot / "etc", login)
    if entry is None:
        raise shadow.ToolError(f"userdel: user '{login}' does not exist")
    if _system_uid(host, entry) is not None:
        raise shadow.ToolError(accounts.system_deletion_refusal(login))
    home = entry[5]
    if p.home == "keep":
        shadow.userdel(host.sysroot, login, remove_home=False)
        return f"User {login} deleted, home {home} kept"
    # Checked before anything changes: userdel -r deletes the account even when it then
    # refuses the home, and an archive of a link is an archive of what it points to.
    where = archive.removable_home(host.sysroot, home)
    if p.home == "remove":
        shadow.userdel(host.sysroot, login, remove_home=True)
        return f"User {login} deleted with home {home}"
    saved = _archive(host, login, home, where)
    shadow.userdel(host.sysroot, login, remove_home=True)
    return (
        f"User {login} deleted, home archived to {saved}"
        if saved
        else f"User {login} deleted, no home to archive"
    )


def _group_create(host: Host, p: actions.GroupCreate) -> str:
    shadow.groupadd(host.sysroot, p.name, p.gid)
    entry = hostfiles.group_entry(host.sysroot / "etc", p.name)
    return f"Group {p.name} created, gid {entry[2] if entry else '?'}"


def _group_delete(host: Host, p: actions.GroupRef) -> str:
    shadow.groupdel(host.sysroot, p.name)
    return f"Group {p.name} deleted"


def _each_member(p: actions.GroupMembers, step: Callable[[str], None], verb: str, preposition: str) -> str:
    done: list[str] = []
    for login in p.logins:
        try:
            step(login)
        except shadow.ToolError as exc:
            # Say what already changed: the members before the failing one stay changed.
            so_far = f" ({', '.join(done)} already {verb})" if done else ""
            raise shadow.ToolError(f"{exc}{so_far}") from exc
        done.append(login)
    return f"{', '.join(done) or 'Nobody'} {verb} {preposition} group {p.name}"


def _group_add_members(host: Host, p: actions.GroupMembers) -> str:
    for login in p.logins:  # every member checked before the first changes
        _changeable(host, login)
    return _each_member(p, lambda login: shadow.add_to_groups(host.sysroot, login, [p.name]), "added", "to")


def _group_remove_members(host: Host, p: actions.GroupMembers) -> str:
    for login in p.logins:
        _changeable(host, login)
    return _each_member(
        p, lambda login: shadow.remove_from_groups(host.sysroot, login, [p.name]), "removed", "from"
    )


M = TypeVar("M", bound=BaseModel)


def _handler(model: type[M], handle: Callable[[Host, M], str]) -> Callable[[Host, BaseModel], str]:
    def checked(host: Host, params: BaseModel) -> str:
        if not isinstance(params, model):
            raise TypeError(f"expected {model.__name__}, got {type(params).__name__}")
        return handle(host, params)

    return checked


HANDLERS: dict[Action, Callable[[Host, BaseModel], str]] = {
    Action.USER_CREATE: _handler(actions.UserCreate, _user_create),
    Action.USER_MODIFY: _handler(actions.UserModify, _user_modify),
    Action.USER_PASSWORD: _handler(actions.UserPassword, _user_password),
    Action.USER_LOCK: _handler(actions.UserRef, _user_lock),
    Action.USER_UNLOCK: _handler(actions.UserRef, _user_unlock),
    Action.USER_DELETE: _handler(actions.UserDelete, _user_delete),
    Action.GROUP_CREATE: _handler(actions.GroupCreate, _group_create),
    Action.GROUP_DELETE: _handler(actions.GroupRef, _group_delete),
    Action.GROUP_ADD_MEMBERS: _handler(actions.GroupMembers, _group_add_members),
    Action.GROUP_REMOVE_MEMBERS: _handler(actions.GroupMembers, _group_remove_members),
}


def apply(host: Host, action: Action, params: BaseModel) -> str:
    """Make the change on the host; return what was done as a sentence, or raise ToolError."""
    # Before any tool: one that cannot write its lock file retries it for 14 s under the host lock.
    creates_home = isinstance(params, actions.UserCreate) and params.create_home
    preflight.check(host.sysroot, creates_home=creates_home)
    return HANDLERS[action](host, params)
