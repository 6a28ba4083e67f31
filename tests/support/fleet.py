"""A fleet on this machine: one sandbox root and one worker per host, one web origin for them all.

Every part is started through the ``wmi2`` command, as in production; the hosts share
one Redis and one database, and differ by ``WMI_HOST_NAME`` and ``WMI_SYSROOT`` only.
The web origin's own host name is the default host, which the one-host paths act on.
"""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import httpx
import redis

from services.cli.accounts import create_admin
from services.cli.tls import ensure_certificate
from services.common import keys
from services.common.settings import Settings
from services.worker.sandbox import init_sandbox
from tests.support.ports import free_port
from tests.support.processes import Service
from tests.support.wait import wait_for

ADMIN = ("admin", "admin-password-1")


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file of a root, byte for byte, and every directory (as None), by relative path."""
    found: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        relative = str(path.relative_to(root))
        found[relative] = None if path.is_dir() else path.read_bytes()
    return found


class Fleet:
    def __init__(self, directory: Path, redis_url: str, names: tuple[str, ...], default: str) -> None:
        self.names = names
        self.redis_url = redis_url
        self.data_dir = directory / "var"
        self.roots = {name: directory / f"sysroot-{name}" for name in names}
        self.settings = Settings(
            data_dir=self.data_dir, sysroot=self.roots[default], redis_url=redis_url, host_name=default,
            database_url=f"sqlite:///{self.data_dir / 'wmi2.db'}", web_workers=1,
            heartbeat_interval=0.5, heartbeat_ttl=3.0,
        )  # fmt: skip
        base = {k: v for k, v in os.environ.items() if not k.startswith("WMI_")}
        base |= {
            "WMI_DATA_DIR": str(self.data_dir),
            "WMI_REDIS_URL": redis_url,
            "WMI_DATABASE_URL": str(self.settings.database_url),
            "WMI_WEB_WORKERS": "1",
            "WMI_BIND": "127.0.0.1",
            "WMI_HEARTBEAT_INTERVAL": "0.5",
            "WMI_HEARTBEAT_TTL": "3.0",
        }
        self.env = {n: dict(base, WMI_HOST_NAME=n, WMI_SYSROOT=str(self.roots[n])) for n in names}
        self.workers = {n: Service(["worker"], self.env[n], self.data_dir / f"worker-{n}.log") for n in names}
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.web = Service(["web", "--port", str(self.port)], self.env[default], self.data_dir / "web.log")

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for root in self.roots.values():
            init_sandbox(root)
        ensure_certificate(self.settings.cert_file, self.settings.key_file)
        create_admin(self.settings.resolved_database_url, *ADMIN, "admin")

    def start_web(self) -> None:
        self.web.start()

        def healthy() -> bool:
            assert self.web.alive(), "wmi2 web exited:\n" + self.web.output()
            return httpx.get(f"{self.url}/api/v1/health", verify=False, timeout=2).status_code == 200

        wait_for(healthy, timeout=60, what="the web origin")

    def start_workers(self, *names: str) -> None:
        """Start these workers together; ready once each has read its host and beats."""
        for name in names:
            self.workers[name].start()
        client = redis.Redis.from_url(self.redis_url)
        try:
            for name in names:
                worker = self.workers[name]

                def ready(name: str = name, worker: Service = worker) -> bool:
                    assert worker.alive(), f"the worker of {name} exited:\n" + worker.output()
                    # The heartbeat starts once the host has been read (services.worker.lifecycle).
                    return bool(client.exists(keys.host_heartbeat(name)))

                wait_for(ready, timeout=90, what=f"the worker of {name}")
        finally:
            client.close()

    def kill_worker(self, name: str) -> datetime:
        """Kill a worker and its pool at once, as a crash would (no clean stop); return when."""
        worker = self.workers[name]
        killed_at = datetime.now(UTC)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.stop()  # reaps it
        return killed_at

    def stop(self) -> None:
        self.web.stop()
        for worker in self.workers.values():
            worker.stop()
