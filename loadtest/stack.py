"""A fresh ``wmi2 up`` on a sandbox, in a temporary data dir, for a benchmark to run against.

Nothing of the caller's WMI2 is reused or touched: the data dir (sandbox root, certificate,
database, private Redis) is new and removed afterwards, the server listens on 127.0.0.1
only, and the sandbox is always the managed host (``WMI_SYSROOT`` is never passed on).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

# The checkout whose services run: this one, or another (WMI_BENCH_ROOT) to compare a
# version before a change with this one, under the same tools.
ROOT = Path(os.environ.get("WMI_BENCH_ROOT") or Path(__file__).resolve().parents[1])
HOST_NAME = "benchhost"
ADMIN = "admin"
ADMIN_PASSWORD = "bench-admin-password"
# Settings a benchmark may choose (which server, how many processes); every other WMI_*
# of the caller's environment is dropped so that it cannot point the run at a real host.
PASSED_ON = ("WMI_SERVER", "WMI_WEB_WORKERS", "WMI_ACCESS_LOG")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def insecure_context() -> ssl.SSLContext:
    """TLS without verification: the sandbox's certificate is self-signed."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Up:
    """``python -m services.cli up`` in a temporary data dir; a context manager."""

    def __init__(
        self,
        port: int | None = None,
        keep: bool = False,
        env: dict[str, str] | None = None,
        parent: str | None = None,
    ) -> None:
        self.port = port or int(os.environ.get("WMI_PORT") or 0) or free_port()
        self.url = f"https://localhost:{self.port}"
        self.keep = keep
        # ``parent``: where the data dir goes (the sandbox's account files, the database):
        # /dev/shm takes the disk's fsync latency out of the tools' runtime.
        self.directory = Path(tempfile.mkdtemp(prefix="wmi2-bench-", dir=parent))
        self.data_dir = self.directory / "var"
        self.log = self.directory / "up.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith("WMI_") or k in PASSED_ON}
        self.env = dict(
            base,
            WMI_DATA_DIR=str(self.data_dir),
            WMI_PORT=str(self.port),
            WMI_BIND="127.0.0.1",
            WMI_HOST_NAME=HOST_NAME,
            WMI_ADMIN_PASSWORD=ADMIN_PASSWORD,
            **(env or {}),
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Up:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 120.0) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "up"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"wmi2 up exited with {self.proc.returncode}:\n{self.output()}")
            if "WMI2 is running" in self.output() and self._answers():
                return
            time.sleep(0.3)
        self.stop()
        raise TimeoutError(f"wmi2 up did not start in {timeout:.0f}s:\n{self.output()}")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/login/", context=insecure_context(), timeout=5) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def processes(self) -> list[psutil.Process]:
        """``wmi2 up`` and everything it started."""
        if self.proc is None:
            return []
        try:
            top = psutil.Process(self.proc.pid)
            return [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def web_pids(self) -> list[int]:
        """The processes serving HTTPS (the web server and its workers)."""
        pids = []
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                cmd = " ".join(proc.cmdline())
                if "celery" not in cmd and "redis-server" not in cmd and " up" not in cmd:
                    pids.append(proc.pid)
        return pids

    def stop(self) -> None:
        if self.proc is not None:
            everything = self.processes()
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            for proc in everything:
                with contextlib.suppress(psutil.Error):
                    if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                        proc.kill()
            self.proc = None
        if not self.keep:
            shutil.rmtree(self.directory, ignore_errors=True)
