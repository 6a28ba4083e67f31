"""Checks of a requested change against the host's read model, before anything is recorded.

Each check raises an HTTPException whose detail is a sentence a person understands, or
returns the action's parameters as the worker will receive them (without any password:
``core.changes`` adds the hash once the checks have passed). The worker checks again; these
checks exist so that a mistake is answered at once instead of becoming a failed job.
"""

from __future__ import annotations

from typing import NoReturn

from fastapi import HTTPException, status

from services.api import schemas
from services.api.core.readmodel import HostSnapshot
from services.common import accounts, actions, names
from services.common.accounts import Group, HostInfo, User

PASSWORD_MAX_BYTES = 1024
# 65534 is nogroup; 65535 and 2**32-1 are (gid_t)-1 for 16- and 32-bit tools.
GID_RESERVED = frozenset({65534, 65535})
GID_LIMIT = 2**32 - 2


def fail(code: int, detail: str) -> NoReturn:
    raise HTTPException(status_code=code, detail=detail)


def invalid(detail: str | None) -> None:
    if detail is not None:
        fail(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)


def host_info(snap: HostSnapshot) -> HostInfo:
    if snap.info is None:
        fail(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"The accounts of host {snap.host!r} have not been read yet: is its worker running?",
        )
    return snap.info


def existing_user(snap: HostSnapshot, login: str) -> User:
    user = snap.users.get(login)
    if user is None:
        fail(status.HTTP_404_NOT_FOUND, f"There is no user {login!r} on host {snap.host!r}.")
    return user


def changeable_user(snap: HostSnapshot, login: str) -> User:
    """The user, once it is known to be one WMI2 may change: a system account is the host's
    own (its packages', or root), changed only where WMI_MANAGE_SYSTEM_ACCOUNTS says so."""
    user = existing_user(snap, login)
    if (user.system or user.uid == 0) and not snap.manage_system_accounts:
        fail(status.HTTP_409_CONFLICT, accounts.system_refusal(login, user.uid))
    return user


def existing_group(snap: HostSnapshot, name: str) -> Group:
    group = snap.groups.get(name)
    if group is None:
        fail(status.HTTP_404_NOT_FOUND, f"There is no group {name!r} on host {snap.host!r}.")
    return group


def password(clear: str) -> None:
    if not clear:
        invalid("The password is empty.")
    if len(clear.encode()) > PASSWORD_MAX_BYTES:
        invalid(f"The password is too long: at most {PASSWORD_MAX_BYTES} bytes are allowed.")
    if "\0" in clear:
        invalid("The password cannot contain a NUL character.")


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _listed_groups(snap: HostSnapshot, groups: list[str]) -> list[str]:
    """Groups named in a body: well-formed and existing (422 otherwise: the URL's target is fine)."""
    for name in groups:
        invalid(names.name_problem(name, "group name"))
        if name not in snap.groups:
            invalid(f"There is no group {name!r} on host {snap.host!r}.")
    return _unique(groups)


def _listed_users(snap: HostSnapshot, logins: list[str]) -> list[str]:
    if not logins:
        invalid("The list of logins is empty.")
    for login in logins:
        invalid(names.name_problem(login))
        if login not in snap.users:
            invalid(f"There is no user {login!r} on host {snap.host!r}.")
        changeable_user(snap, login)
    return _unique(logins)


def _shell(snap: HostSnapshot, shell: str | None) -> None:
    if shell is not None:
        invalid(names.shell_problem(shell, host_info(snap).shells))


def user_create(snap: HostSnapshot, body: schemas.UserCreateIn) -> actions.UserCreate:
    host_info(snap)
    invalid(names.name_problem(body.login))
    invalid(names.full_name_problem(body.full_name))
    _shell(snap, body.shell)
    groups = _listed_groups(snap, body.groups)
    if body.password is not None:
        password(body.password)
    if body.login in snap.users:
        fail(status.HTTP_409_CONFLICT, f"The user {body.login!r} already exists on host {snap.host!r}.")
    if body.login in snap.groups:
        # useradd makes a group of the user's name (USERGROUPS_ENAB) and refuses if one exists.
        fail(status.HTTP_409_CONFLICT, f"A group named {body.login!r} already exists on host {snap.host!r}.")
    return actions.UserCreate(
        login=body.login,
        full_name=body.full_name,
        shell=body.shell,
        create_home=body.create_home,
        groups=groups,
    )


def _group_changes(user: User, snap: HostSnapshot, body: schemas.UserPatchIn) -> tuple[list[str], list[str]]:
    """The groups to join and to leave, whichever way the request said it."""
    if body.groups is not None:
        if body.groups_add or body.groups_remove:
            invalid("Give either 'groups' (the full new list) or 'groups_add'/'groups_remove', not both.")
        wanted = _listed_groups(snap, body.groups)
        return [g for g in wanted if g not in user.groups], [g for g in user.groups if g not in wanted]
    add, remove = _listed_groups(snap, body.groups_add), _listed_groups(snap, body.groups_remove)
    both = sorted(set(add) & set(remove))
    if both:
        invalid(f"The group {both[0]!r} is in both 'groups_add' and 'groups_remove'.")
    return [g for g in add if g not in user.groups], [g for g in remove if g in user.groups]


def user_modify(snap: HostSnapshot, login: str, body: schemas.UserPatchIn) -> actions.UserModify:
    if not body.model_fields_set:
        invalid("Nothing to change: give full_name, shell, groups, groups_add or groups_remove.")
    user = changeable_user(snap, login)
    if body.full_name is not None:
        invalid(names.full_name_problem(body.full_name))
    _shell(snap, body.shell)
    add, remove = _group_changes(user, snap, body)
    params = actions.UserModify(
        login=login,
        full_name=body.full_name if body.full_name not in (None, user.full_name) else None,
        shell=body.shell if body.shell not in (None, user.shell) else None,
        groups_add=add,
        groups_remove=remove,
    )
    if params.full_name is None and params.shell is None and not add and not remove:
        fail(status.HTTP_409_CONFLICT, f"Nothing would change: {login!r} already is as requested.")
    return params


def user_password(snap: HostSnapshot, login: str, body: schemas.PasswordIn) -> None:
    """A new password for ``login``: the parameters are its hash, which ``core.changes`` makes."""
    changeable_user(snap, login)
    password(body.password)


def user_lock(snap: HostSnapshot, login: str) -> actions.UserRef:
    changeable_user(snap, login)
    return actions.UserRef(login=login)


def user_delete(snap: HostSnapshot, login: str, home: actions.HomeMode) -> actions.UserDelete:
    user = existing_user(snap, login)
    if user.system or user.uid == 0:
        fail(status.HTTP_409_CONFLICT, accounts.system_deletion_refusal(login))
    return actions.UserDelete(login=login, home=home)


def user_unlock(snap: HostSnapshot, login: str) -> actions.UserRef:
    if not changeable_user(snap, login).has_password:
        fail(status.HTTP_409_CONFLICT, f"{login!r} has no password: set a password first, then unlock.")
    return actions.UserRef(login=login)


def _gid(snap: HostSnapshot, gid: int) -> None:
    info = host_info(snap)
    if gid < info.gid_min or gid > GID_LIMIT or gid in GID_RESERVED:
        invalid(f"The gid {gid} is out of range: choose one from {info.gid_min} up, except 65534 and 65535.")
    owner = snap.gid_owner(gid)
    if owner is not None:
        fail(status.HTTP_409_CONFLICT, f"The gid {gid} is already used by the group {owner!r}.")


def group_create(snap: HostSnapshot, body: schemas.GroupCreateIn) -> actions.GroupCreate:
    host_info(snap)
    invalid(names.name_problem(body.name, "group name"))
    if body.name in snap.groups:
        fail(status.HTTP_409_CONFLICT, f"The group {body.name!r} already exists on host {snap.host!r}.")
    if body.gid is not None:
        _gid(snap, body.gid)
    return actions.GroupCreate(name=body.name, gid=body.gid)


def group_delete(snap: HostSnapshot, name: str) -> actions.GroupRef:
    group = existing_group(snap, name)
    if group.system:
        fail(status.HTTP_409_CONFLICT, f"{name!r} is a system group: WMI does not delete system groups.")
    # A user's primary group is left to groupdel to refuse, in its own words, in the job.
    return actions.GroupRef(name=name)


def group_add_members(snap: HostSnapshot, name: str, body: schemas.MembersIn) -> actions.GroupMembers:
    group = existing_group(snap, name)
    new = [login for login in _listed_users(snap, body.logins) if login not in group.members]
    if not new:
        fail(status.HTTP_409_CONFLICT, f"Every user listed already is a member of {name!r}.")
    return actions.GroupMembers(name=name, logins=new)


def group_remove_members(snap: HostSnapshot, name: str, body: schemas.MembersIn) -> actions.GroupMembers:
    group = existing_group(snap, name)
    leaving = [login for login in _listed_users(snap, body.logins) if login in group.members]
    if not leaving:
        fail(status.HTTP_409_CONFLICT, f"None of the users listed is a member of {name!r}.")
    return actions.GroupMembers(name=name, logins=leaving)
