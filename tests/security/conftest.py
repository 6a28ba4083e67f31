"""Shared fixtures of the security checks: one ``wmi2 up`` (a start costs seconds), the events service."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

# The events service as tests/events/test_app.py starts it, with its WMI accounts.
from tests.support.events_server import accounts_db, start_events  # noqa: F401
from tests.support.ports import free_port
from tests.support.processes import ROOT
from tests.support.wait import wait_for

# A first admin's password no one would choose: the checks look for where it ends up.
ADMIN_PASSWORD = "sentinel-admin-pass-5c1d"


@dataclass
class UpRun:
    data_dir: Path
    pid: int
    log: Path
    url: str

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.pid).children(recursive=True)


def _leftovers(data_dir: Path) -> None:
    """A data dir as an earlier WMI2 left it: world-readable, its database among it."""
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    (data_dir / "wmi2.db").touch()  # SQLite makes its schema in an empty file
    (data_dir / "wmi2.db").chmod(0o644)
    archives = data_dir / "archives"
    archives.mkdir()
    archives.chmod(0o755)
    (archives / "olduser.tar.gz").write_bytes(b"a home's copy")
    (archives / "olduser.tar.gz").chmod(0o644)


@pytest.fixture(scope="session")
def up_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpRun]:
    """``wmi2 up`` on a free port, over leftovers, given WMI_ADMIN_PASSWORD; runs until the session ends."""
    top = tmp_path_factory.mktemp("up")
    data_dir = top / "var"
    _leftovers(data_dir)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WMI_")}
    env.update(WMI_DATA_DIR=str(data_dir), WMI_PORT=str(port), WMI_HOST_NAME="securehost",
               WMI_WEB_WORKERS="1", WMI_ADMIN_PASSWORD=ADMIN_PASSWORD)  # fmt: skip
    log = top / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "services.cli", "up"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:

        def serving() -> bool:
            if proc.poll() is not None:
                pytest.fail("wmi2 up exited:\n" + log.read_text(), pytrace=False)
            return httpx.get(f"https://127.0.0.1:{port}/login/", verify=False, timeout=2).status_code == 200

        wait_for(serving, timeout=90, what="wmi2 up serving /login/")
        # Celery's pool process is forked once the worker is ready: wait for the whole tree.
        wait_for(lambda: " ready." in log.read_text(), timeout=60, what="the worker ready")
        yield UpRun(data_dir, proc.pid, log, f"https://127.0.0.1:{port}")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
