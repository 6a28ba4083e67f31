"""Issue 7: a host that could not take a change held its lock ~14 s per job.

Bug: on a full disk, or with ``etc/`` read-only or an account file immutable, a shadow
tool cannot create its lock file; it retries for about 14 seconds, then fails with
"cannot lock /etc/passwd; try again later". The job held the host lock all that while,
and every job queued behind it waited its turn to do the same. Fix: before any tool of a
change runs, the worker checks what can be checked cheaply (free space and inodes of
``/etc``, and of the home base for a new home; that ``/etc`` and the account files are
writable) and refuses the change at once with a sentence that says what to fix.

Each host here is a real filesystem: a small tmpfs mounted under the test's directory,
filled or made read-only, then unmounted. Nothing is mocked; the one spy counts the takings
of the account files' lock, taking it for real.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.common import actions
from services.common.actions import Action
from services.worker import pwlock
from services.worker.apply import Host, apply
from services.worker.checks import ToolError
from services.worker.sandbox import init_sandbox
from tests.support.jobs import Jobs
from tests.support.processes import Service
from tests.support.sandbox_files import entry, snapshot

FULL_ETC = r"The host's /etc has only \d+ KB free: WMI2 changes nothing until there is at least 1 MB\."
READ_ONLY_ETC = "The host's /etc is read-only: WMI2 changes nothing until it is writable again."


@contextlib.contextmanager
def small_filesystem(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``where`` for the test's life: filling it fills nothing else."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                             capture_output=True, text=True, check=False)  # fmt: skip
    if mounted.returncode != 0:
        # Failed, never skipped: a fault test that does not run proves nothing (CI runs as root).
        pytest.fail(f"cannot mount a tmpfs for the full-disk test (root needed): {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], check=True)


def fill(where: Path, leave: int) -> Path:
    """Take all the free space of ``where``'s filesystem but ``leave`` bytes."""
    fs = os.statvfs(where)
    ballast = where / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.posix_fallocate(fd, 0, fs.f_bfree * fs.f_frsize - leave)
    finally:
        os.close(fd)
    return ballast


@pytest.fixture
def sysroot(tmp_path: Path) -> Iterator[Path]:
    """The whole sandbox on its own 2 MB filesystem (replaces conftest's, so the worker uses it)."""
    with small_filesystem(tmp_path / "sysroot", "2m") as root:
        yield init_sandbox(root)


@pytest.fixture
def tools_run(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each time this process took the account files' lock (to write them), still taken for real."""
    ran: list[str] = []
    real = pwlock.locked

    def counted(*args: Any, **kwargs: Any) -> Any:
        ran.append("locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(pwlock, "locked", counted)
    return ran


def change(sysroot: Path, action: Action, **params: object) -> str:
    host = Host(name="testhost", sysroot=sysroot, archive_dir=sysroot.parent / "archives")
    return apply(host, action, actions.parse_params(action, params))


def etc_listing(sysroot: Path) -> list[str]:
    return sorted(p.name for p in (sysroot / "etc").iterdir())


def refused(sysroot: Path, tools_run: list[str], action: Action, **params: object) -> str:
    """The refusal of a change, checked to have run no tool and changed nothing."""
    before, listing = snapshot(sysroot), etc_listing(sysroot)
    with pytest.raises(ToolError) as caught:
        change(sysroot, action, **params)
    assert tools_run == []
    assert snapshot(sysroot) == before
    assert etc_listing(sysroot) == listing  # not even a lock file
    return str(caught.value)


@pytest.mark.parametrize(
    ("action", "params"),
    [
        (Action.USER_CREATE, {"login": "ann", "create_home": False}),
        (Action.GROUP_CREATE, {"name": "team"}),
        (Action.USER_LOCK, {"login": "nobody"}),
    ],
)
def test_a_full_etc_refuses_every_change_before_any_tool(
    sysroot: Path, tools_run: list[str], action: Action, params: dict[str, object]
) -> None:
    fill(sysroot, leave=12 * 1024)
    said = refused(sysroot, tools_run, action, **params)
    assert re.fullmatch(FULL_ETC, said), said


def test_a_read_only_etc_is_said_so(sysroot: Path, tools_run: list[str]) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(sysroot)], check=True)
    assert refused(sysroot, tools_run, Action.USER_CREATE, login="ann", create_home=False) == READ_ONLY_ETC


def test_an_immutable_account_file_is_named(sysroot: Path, tools_run: list[str]) -> None:
    shadow_file = sysroot / "etc" / "shadow"
    subprocess.run(["chattr", "+i", str(shadow_file)], check=True)
    try:
        said = refused(sysroot, tools_run, Action.GROUP_CREATE, name="team")
    finally:
        subprocess.run(["chattr", "-i", str(shadow_file)], check=True)
    assert said.startswith("The host's /etc/shadow cannot be written (read-only or immutable")


def test_a_full_home_base_refuses_only_new_homes(tmp_path: Path, tools_run: list[str]) -> None:
    root = init_sandbox(tmp_path / "disk-root")
    with small_filesystem(root / "home", "8m") as home:
        change(root, Action.USER_CREATE, login="ann")  # room enough: the home is made
        assert (home / "ann").is_dir()
        tools_run.clear()
        fill(home, leave=1024 * 1024)
        said = refused(root, tools_run, Action.USER_CREATE, login="bob")
        assert said == (
            "The host's /home has only 1 MB free: WMI2 creates no home (a user without one can be "
            "created) until there is at least 4 MB."
        )
        assert change(root, Action.USER_CREATE, login="bob", create_home=False) == (
            "User bob created, without a home"
        )
        assert tools_run == ["locked"]


def test_a_worker_fails_each_job_at_once_and_the_queue_moves_on(
    worker: Service, jobs: Jobs, sysroot: Path
) -> None:
    ballast = fill(sysroot, leave=12 * 1024)
    queued = [
        jobs.run("user.create", "ann", {"login": "ann", "full_name": "Ann", "create_home": False}),
        jobs.run("group.create", "team", {"name": "team"}),
    ]
    for job_id in queued:
        job = jobs.finished(job_id)
        # The tools' own failure here is "cannot lock /etc/passwd; try again later", 14 s later.
        assert job.state == "failed" and re.fullmatch(FULL_ETC, job.error or ""), job.error
    assert entry(sysroot, "passwd", "ann") is None and entry(sysroot, "group", "team") is None
    ballast.unlink()
    done = jobs.finished(jobs.run("group.create", "team", {"name": "team"}))
    assert (done.state, done.error) == ("succeeded", None)
    assert entry(sysroot, "group", "team") is not None
