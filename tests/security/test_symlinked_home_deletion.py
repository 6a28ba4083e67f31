"""Finding 14 (INFO): deleting a user whose home is a symbolic link.

The attack: a home /home/erin -> /srv/data (a link the user, or anyone who could, made).
Deleting erin with her home archived what the link points to, then userdel -r refused
to remove the home but deleted the account anyway, and the job said "failed" with half
of it done.

The fix: before anything changes, the worker refuses (ToolError) to remove or archive a
home that is a symbolic link or lies outside the home base (HOME in
SYSROOT/etc/default/useradd, /home by default): the account still exists and nothing is
archived. Keeping the home still works.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common import actions
from services.common.actions import Action
from services.worker.apply import Host, apply
from services.worker.checks import ToolError
from tests.support.sandbox_files import entry, snapshot


@pytest.fixture
def host(sysroot: Path, tmp_path: Path) -> Host:
    return Host(name="testhost", sysroot=sysroot, archive_dir=tmp_path / "archives")


@pytest.fixture
def data(sysroot: Path) -> Path:
    """What a link points to: files that are nobody's home."""
    path = sysroot / "srv" / "data"
    path.mkdir(parents=True)
    (path / "precious.txt").write_text("not erin's")
    return path


def _delete(host: Host, login: str, home: actions.HomeMode) -> str:
    return apply(host, Action.USER_DELETE, actions.UserDelete(login=login, home=home))


@pytest.mark.parametrize("mode", ["remove", "archive"])
def test_a_home_that_is_a_link_is_refused_before_anything_changes(
    host: Host, sysroot: Path, data: Path, mode: actions.HomeMode
) -> None:
    apply(host, Action.USER_CREATE, actions.UserCreate(login="erin"))
    home = sysroot / "home" / "erin"
    for child in home.iterdir():
        child.unlink()
    home.rmdir()
    home.symlink_to(data)
    before = snapshot(sysroot)
    with pytest.raises(ToolError, match="symbolic link"):
        _delete(host, "erin", mode)
    assert snapshot(sysroot) == before and entry(sysroot, "passwd", "erin") is not None
    assert (data / "precious.txt").read_text() == "not erin's" and home.is_symlink()
    assert not host.archive_dir.exists() or list(host.archive_dir.rglob("*")) == []
    assert _delete(host, "erin", "keep") == "User erin deleted, home /home/erin kept"
    assert (data / "precious.txt").exists()


@pytest.mark.parametrize("mode", ["remove", "archive"])
def test_a_home_outside_the_home_base_is_refused(
    host: Host, sysroot: Path, data: Path, mode: actions.HomeMode
) -> None:
    for file, line in (
        ("passwd", "fred:x:1600:100:Fred:/srv/data:/bin/sh"),
        ("shadow", "fred:!:20000::::::"),
    ):
        with (sysroot / "etc" / file).open("a") as out:
            out.write(line + "\n")
    before = snapshot(sysroot)
    with pytest.raises(ToolError, match="not under /home"):
        _delete(host, "fred", mode)
    assert snapshot(sysroot) == before and (data / "precious.txt").exists()
    assert not host.archive_dir.exists() or list(host.archive_dir.rglob("*")) == []


def test_the_home_base_is_the_hosts_own(host: Host, sysroot: Path) -> None:
    (sysroot / "etc" / "default" / "useradd").write_text("HOME=/srv\nSKEL=/etc/skel\n")
    apply(host, Action.USER_CREATE, actions.UserCreate(login="gil"))
    assert (sysroot / "srv" / "gil").is_dir()
    assert _delete(host, "gil", "remove") == "User gil deleted with home /srv/gil"
    assert not (sysroot / "srv" / "gil").exists()
