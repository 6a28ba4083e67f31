"""Finding 13 (INFO): system accounts were only protected from deletion.

The attack: an admin of WMI2 (or a stolen session) could lock root, set the password or
the shell of daemon, add www-data to sudo, change nobody's full name: accounts that the
host's packages own and that WMI2 is not there to manage.

The fix: every change to uid 0 and to a uid outside UID_MIN..UID_MAX (``User.system``)
is refused with 409 by the api (validation.changeable_user, used by every user change
and by group membership changes) and again by the worker, from the host's own passwd
and login.defs (apply._changeable). The setting WMI_MANAGE_SYSTEM_ACCOUNTS=true allows
those changes; deleting a system account stays refused either way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import HTTPException

from services.api import schemas
from services.api.core import validation
from services.common import actions
from services.common.actions import Action
from services.worker.apply import Host, apply
from services.worker.checks import ToolError
from tests.security.hostsnapshot import host_snapshot
from tests.support.api_app import ApiWorld
from tests.support.sandbox_files import members, snapshot

pytest_plugins = ["tests.support.api_fixtures"]

HASH = "$6$saltsalt$" + "x" * 86
SYSTEM = ["root", "daemon", "nobody"]  # uid 0, below UID_MIN, above UID_MAX

Check = Callable[[Any, str], object]
API_CHECKS: dict[str, Check] = {
    "full name": lambda snap, login: validation.user_modify(snap, login, schemas.UserPatchIn(full_name="X")),
    "shell": lambda snap, login: validation.user_modify(snap, login, schemas.UserPatchIn(shell="/bin/sh")),
    "groups": lambda snap, login: validation.user_modify(
        snap, login, schemas.UserPatchIn(groups_add=["sudo"])
    ),
    "lock or password": lambda snap, login: validation.changeable_user(snap, login),
    "unlock": lambda snap, login: validation.user_unlock(snap, login),
    "join a group": lambda snap, login: validation.group_add_members(
        snap, "devs", schemas.MembersIn(logins=["bob", login])
    ),
}


@pytest.mark.parametrize("login", SYSTEM)
@pytest.mark.parametrize("change", API_CHECKS)
def test_the_api_refuses_every_change_to_a_system_account(login: str, change: str) -> None:
    with pytest.raises(HTTPException) as refused:
        API_CHECKS[change](host_snapshot(), login)
    assert refused.value.status_code == 409 and "system account" in str(refused.value.detail)


@pytest.mark.parametrize("change", [c for c in API_CHECKS if c != "unlock"])
def test_the_setting_allows_them(change: str) -> None:
    API_CHECKS[change](host_snapshot(manage_system_accounts=True), "daemon")


def test_deleting_a_system_account_stays_refused_with_the_setting() -> None:
    for login in SYSTEM:
        with pytest.raises(HTTPException) as refused:
            validation.user_delete(host_snapshot(manage_system_accounts=True), login, "keep")
        assert refused.value.status_code == 409


def test_the_routes_of_lock_and_password_refuse_root(api: ApiWorld) -> None:
    admin = api.admin()
    before = api.recorded()
    for path, body in (("lock", None), ("password", {"password": "long-enough-1"})):
        response = admin.post(f"/api/v1/users/root/{path}", json=body)
        assert response.status_code == 409 and "system account" in response.json()["detail"], response.text
    assert api.recorded() == before


@pytest.fixture
def host(sysroot: Path, tmp_path: Path) -> Host:
    host = Host(name="testhost", sysroot=sysroot, archive_dir=tmp_path / "archives")
    apply(host, Action.USER_CREATE, actions.UserCreate(login="kim", create_home=False))
    return host


WORKER_CHANGES: list[tuple[Action, dict[str, Any]]] = [
    (Action.USER_MODIFY, {"full_name": "X"}),
    (Action.USER_MODIFY, {"shell": "/bin/sh"}),
    (Action.USER_MODIFY, {"groups_add": ["sudo"]}),
    (Action.USER_PASSWORD, {"password_hash": HASH}),
    (Action.USER_LOCK, {}),
    (Action.USER_UNLOCK, {}),
    (Action.USER_DELETE, {"home": "keep"}),
]


@pytest.mark.parametrize("login", SYSTEM)
@pytest.mark.parametrize(("action", "params"), WORKER_CHANGES, ids=lambda v: str(v)[:24])
def test_the_worker_refuses_them_from_the_host_files(
    host: Host, sysroot: Path, login: str, action: Action, params: dict[str, Any]
) -> None:
    before = snapshot(sysroot)
    with pytest.raises(ToolError, match="system account"):
        apply(host, action, actions.parse_params(action, {"login": login, **params}))
    assert snapshot(sysroot) == before


def test_the_worker_checks_every_member_before_changing_any(host: Host, sysroot: Path) -> None:
    with pytest.raises(ToolError, match="'daemon' is a system account"):
        apply(host, Action.GROUP_ADD_MEMBERS, actions.GroupMembers(name="users", logins=["kim", "daemon"]))
    assert "kim" not in members(sysroot, "users")


def test_the_worker_follows_the_setting(host: Host, sysroot: Path) -> None:
    allowed = Host(host.name, host.sysroot, host.archive_dir, manage_system_accounts=True)
    assert apply(allowed, Action.USER_LOCK, actions.UserRef(login="daemon")) == "User daemon locked"
    apply(allowed, Action.GROUP_ADD_MEMBERS, actions.GroupMembers(name="users", logins=["daemon"]))
    assert "daemon" in members(sysroot, "users")
    with pytest.raises(ToolError, match="does not delete system accounts"):
        apply(allowed, Action.USER_DELETE, actions.UserDelete(login="daemon"))
