"""Finding 1 (HIGH): argument injection through the full name.

The attack: a full name such as ``--root=/tmp/x`` went to ``useradd -c``/``usermod -c``.
The shadow tools scan their WHOLE argv for ``--root``/``-R``/``--prefix``/``-P`` (and the
``=value`` forms) before parsing options, so neither ``-c VALUE`` nor ``--`` protected it:
the account was written to /tmp/x/etc/passwd.

The fix: a value that starts with '-' is refused wherever a user gives one (the api's
names.full_name_problem and shell_problem, 422) and again by the worker (ToolError).
Since change sets the worker runs no tool at all (it writes the files itself), so no value
reaches an argv; these checks stay, and so does this test of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import HTTPException

from services.api import schemas
from services.api.core import validation
from services.common import actions
from services.common.actions import Action
from services.worker.apply import Host, apply
from services.worker.checks import ToolError
from tests.security.hostsnapshot import host_snapshot
from tests.support.sandbox_files import snapshot

# Every spelling the tools look for, with and without a value, and two plain options.
SPELLINGS = ["-R", "-R{t}", "--root", "--root={t}", "-P", "-P{t}", "--prefix", "--prefix={t}", "-c", "--help"]


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """Where a successful injection would write an account: it must stay empty."""
    path = tmp_path / "target"
    (path / "etc").mkdir(parents=True)
    return path


@pytest.fixture
def host(sysroot: Path, tmp_path: Path) -> Host:
    return Host(name="testhost", sysroot=sysroot, archive_dir=tmp_path / "archives")


def _written(target: Path) -> list[Path]:
    return sorted(target.rglob("*"))


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_api_refuses_a_full_name_or_shell_read_as_an_option(spelling: str, target: Path) -> None:
    value = spelling.format(t=target)
    snap = host_snapshot()
    for check in (
        lambda: validation.user_create(snap, schemas.UserCreateIn(login="zoe", full_name=value)),
        lambda: validation.user_modify(snap, "alice", schemas.UserPatchIn(full_name=value)),
        lambda: validation.user_modify(snap, "alice", schemas.UserPatchIn(shell=value)),
    ):
        with pytest.raises(HTTPException) as refused:
            check()
        assert refused.value.status_code == 422 and "'-'" in str(refused.value.detail)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_worker_refuses_it_and_nothing_is_written_anywhere(
    spelling: str, host: Host, sysroot: Path, target: Path
) -> None:
    apply(host, Action.USER_CREATE, actions.UserCreate(login="kim", create_home=False))
    value = spelling.format(t=target)
    before = snapshot(sysroot)
    for action, params in (
        (Action.USER_CREATE, actions.UserCreate(login="zoe", full_name=value)),
        (Action.USER_CREATE, actions.UserCreate(login="zoe", shell=value)),
        (Action.USER_MODIFY, actions.UserModify(login="kim", full_name=value)),
        (Action.USER_MODIFY, actions.UserModify(login="kim", shell=value)),
    ):
        with pytest.raises(ToolError, match="'-'"):
            apply(host, action, params)
    assert snapshot(sysroot) == before
    assert _written(target) == [target / "etc"]
