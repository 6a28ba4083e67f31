"""Whether a job's change is already on the host, exactly as asked: for a job delivered again.

A worker can die after a tool changed the files and before the job's *applied* mark was
written (the mark is set once the tools return). Run again, the change would fail ("user
already exists") although it was made. So a redelivered job first looks at the host: if
every part of its change is there, it was applied, and the job succeeds without running a
tool. Anything short of that runs the action again, which then succeeds or fails honestly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from services.common import actions
from services.common.accounts import Group, User
from services.common.actions import Action
from services.worker import hostfiles

Check = Callable[[hostfiles.HostAccounts, Path, BaseModel], bool]


def _user(host: hostfiles.HostAccounts, login: str) -> User | None:
    return host.users.get(login)


def _group(host: hostfiles.HostAccounts, name: str) -> Group | None:
    return host.groups.get(name)


def _hash_is(sysroot: Path, login: str, wanted: str | None) -> bool:
    return wanted is None or hostfiles.shadow_hash(sysroot / "etc", login) == wanted


def _home_is_there(sysroot: Path, user: User, wanted: bool) -> bool:
    return not wanted or (sysroot / user.home.lstrip("/")).is_dir()


def _account_as_asked(user: User | None, p: actions.UserCreate) -> bool:
    """The lines useradd writes, as asked: everything but the password and the home."""
    return (
        user is not None
        and user.full_name == p.full_name
        and p.shell in (None, user.shell)
        and set(p.groups) <= set(user.groups)
    )


def _made_as_asked(user: User | None, sysroot: Path, p: actions.UserCreate) -> bool:
    """The account useradd makes, as asked: everything but its password."""
    return user is not None and _account_as_asked(user, p) and _home_is_there(sysroot, user, p.create_home)


def _created(host: hostfiles.HostAccounts, sysroot: Path, p: BaseModel) -> bool:
    assert isinstance(p, actions.UserCreate)
    return _made_as_asked(_user(host, p.login), sysroot, p) and _hash_is(sysroot, p.login, p.password_hash)


def _modified(host: hostfiles.HostAccounts, _sysroot: Path, p: BaseModel) -> bool:
    assert isinstance(p, actions.UserModify)
    user = _user(host, p.login)
    return (
        user is not None
        and p.full_name in (None, user.full_name)
        and p.shell in (None, user.shell)
        and set(p.groups_add) <= set(user.groups)
        and not set(p.groups_remove) & set(user.groups)
    )


def _password_set(host: hostfiles.HostAccounts, sysroot: Path, p: BaseModel) -> bool:
    assert isinstance(p, actions.UserPassword)
    return _user(host, p.login) is not None and _hash_is(sysroot, p.login, p.password_hash)


def _locked(host: hostfiles.HostAccounts, _sysroot: Path, p: BaseModel) -> bool:
    assert isinstance(p, actions.UserRef)
    user = _user(host, p.login)
    return user is not None and user.locked


def _unlocked(host: hostfiles.HostAccounts, _sysroot: Path, p: BaseModel) -> bool:
    assert isinstance(p, actions.UserRef)
    user = _user(host, p.login)
    return user is not None and not user.locked


def _user_gone(host: hostfiles.HostAccounts, _sysroot: Path, p: BaseModel) -> bool:
    assert isinstance(p, actions.UserDelete)
    return _user(host, p.login) is None


def _group_made(host: hostfiles.HostAccounts, _sysroot: Path, p: BaseModel) -> bool:
    assert isinstance(p, actions.GroupCreate)
    group = _group(host, p.name)
    return group is not None and p.gid in (None, group.gid)


def _group_gone(host: hostfiles.HostAccounts, _sysroot: Path, p: BaseModel) -> bool:
    assert isinstance(p, actions.GroupRef)
    return _group(host, p.name) is None


def _members_in(host: hostfiles.HostAccounts, _sysroot: Path, p: BaseModel) -> bool:
    assert isinstance(p, actions.GroupMembers)
    group = _group(host, p.name)
    return group is not None and set(p.logins) <= set(group.members)


def _members_out(host: hostfiles.HostAccounts, _sysroot: Path, p: BaseModel) -> bool:
    assert isinstance(p, actions.GroupMembers)
    group = _group(host, p.name)
    return group is not None and not set(p.logins) & set(group.members)


CHECKS: dict[Action, Check] = {
    Action.USER_CREATE: _created,
    Action.USER_MODIFY: _modified,
    Action.USER_PASSWORD: _password_set,
    Action.USER_LOCK: _locked,
    Action.USER_UNLOCK: _unlocked,
    Action.USER_DELETE: _user_gone,
    Action.GROUP_CREATE: _group_made,
    Action.GROUP_DELETE: _group_gone,
    Action.GROUP_ADD_MEMBERS: _members_in,
    Action.GROUP_REMOVE_MEMBERS: _members_out,
}


def already_there(sysroot: Path, host: str, action: Action, params: BaseModel) -> bool:
    """True when the host already is exactly as the action asks."""
    return CHECKS[action](hostfiles.read_host(sysroot, host), sysroot, params)


@dataclass(frozen=True)
class Unfinished:
    """A creation cut off after ``useradd`` wrote the account's lines: what is left to do."""

    user: User
    home: bool
    password: bool

    def what(self) -> str:
        return " and ".join(part for part, left in (("home", self.home), ("password", self.password)) if left)


def unfinished_creation(sysroot: Path, host: str, params: actions.UserCreate) -> Unfinished | None:
    """The account is there as asked, but without the home (``useradd`` killed between its
    files and the home) or the password (killed before ``chpasswd``) it was to get."""
    user = _user(hostfiles.read_host(sysroot, host), params.login)
    if user is None or not _account_as_asked(user, params):
        return None
    home = not _home_is_there(sysroot, user, params.create_home)
    password = params.password_hash is not None and not _hash_is(sysroot, params.login, params.password_hash)
    if password and user.has_password:
        return None  # another password than the one asked: not this job's doing
    return Unfinished(user, home, password) if home or password else None
