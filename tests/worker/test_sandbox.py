from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from services.worker.sandbox import SYSTEM_USERS, init_sandbox


def test_sandbox_holds_a_fresh_debian_host(tmp_path: Path) -> None:
    root = init_sandbox(tmp_path / "root")
    passwd = (root / "etc" / "passwd").read_text().splitlines()
    assert [line.split(":")[0] for line in passwd] == [u[0] for u in SYSTEM_USERS]
    for name in ("group", "shadow", "gshadow", "login.defs", "shells"):
        assert (root / "etc" / name).is_file()
    assert (root / "etc" / "skel" / ".bashrc").is_file()
    assert (root / "home").is_dir()


def test_sandbox_is_usable_by_the_real_shadow_tools(tmp_path: Path) -> None:
    root = init_sandbox(tmp_path / "root")
    subprocess.run(["useradd", "--prefix", str(root), "-m", "-k", str(root / "etc" / "skel"), "--", "zed"],
                   check=True)  # fmt: skip
    assert "zed:x:1000:1000:" in (root / "etc" / "passwd").read_text()
    assert (root / "home" / "zed" / ".profile").is_file()


def test_sandbox_refuses_to_overwrite_one(tmp_path: Path) -> None:
    root = init_sandbox(tmp_path / "root")
    with pytest.raises(FileExistsError):
        init_sandbox(root)
