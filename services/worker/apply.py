"""What each action does to a host, and the sentence that says what was done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from services.common import actions
from services.common.actions import Action
from services.worker import archive, hostfiles, shadow


@dataclass(frozen=True)
class Host:
    name: str
    sysroot: Path
    archive_dir: Path


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
    shadow.set_password(host.sysroot, p.login, p.password_hash)
    return f"Password of {p.login} changed"


def _user_lock(host: Host, p: actions.UserRef) -> str:
    shadow.lock(host.sysroot, p.login)
    return f"User {p.login} locked"


def _user_unlock(host: Host, p: actions.UserRef) -> str:
    shadow.unlock(host.sysroot, p.login)
    return f"User {p.login} unlocked"


def _archive(host: Host, login: str, home_dir: str) -> Path | None:
    home = archive.home_under(host.sysroot, home_dir)
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
    home = entry[5]
    if p.home == "keep":
        shadow.userdel(host.sysroot, login, remove_home=False)
        return f"User {login} deleted, home {home} kept"
    if p.home == "remove":
        archive.home_under(host.sysroot, home)  # refuses a home that is the whole root
        shadow.userdel(host.sysroot, login, remove_home=True)
        return f"User {login} deleted with home {home}"
    saved = _archive(host, login, home)
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
    return _each_member(p, lambda login: shadow.add_to_groups(host.sysroot, login, [p.name]), "added", "to")


def _group_remove_members(host: Host, p: actions.GroupMembers) -> str:
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
    return HANDLERS[action](host, params)
