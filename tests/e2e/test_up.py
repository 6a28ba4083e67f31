"""``wmi2 up``: the whole system in the foreground, started and stopped as an admin would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from tests.support.ports import free_port
from tests.support.processes import ROOT
from tests.support.wait import wait_for


def _env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WMI_")}
    return dict(env, WMI_DATA_DIR=str(data_dir), WMI_PORT=str(port), WMI_HOST_NAME="uphost",
                WMI_WEB_WORKERS="1")  # fmt: skip


def test_up_serves_login_over_https_and_leaves_no_process_after_sigterm(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "var"
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "services.cli", "up"], cwd=ROOT,
                                env=_env(data_dir, port), stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        page = wait_for(
            lambda: httpx.get(f"https://127.0.0.1:{port}/login/", verify=False, timeout=2),
            timeout=90,
            what="wmi2 up serving /login/",
        )
        assert page.status_code == 200
        assert "password" in page.text.lower()
        wait_for(lambda: "password:" in log.read_text(), timeout=30, what="the banner")
        started = psutil.Process(proc.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in started)
        assert "redis-server" in names and "celery" in names
    finally:
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(timeout=60)
    assert status == 0, log.read_text()
    assert not [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    output = log.read_text()
    # Redis is stopped after the services, so the worker could still say goodbye.
    assert "not announced offline" not in output
    password = output.split("password:", 1)[1].split()[0]
    assert (data_dir / "sysroot" / "etc" / "passwd").exists()
    assert (data_dir / "tls" / "cert.pem").exists()
    assert password not in (data_dir / "wmi2.db").read_bytes().decode("latin-1")
