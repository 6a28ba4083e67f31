"""A whole WMI2 on this machine, for the browser tests and the screenshots.

A sandbox host, its worker, and api + events on one HTTPS origin (``wmi2 web``), all
started through the ``wmi2`` command as in production, on a Redis given by the caller.
The origin keeps its port across :meth:`Stack.stop_web` / :meth:`Stack.start_web`, so an
open page can reconnect to it.
"""

from __future__ import annotations

import os
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

HOST = "testhost"
ADMIN = ("admin", "admin-password-1")
VIEWER = ("viewer", "viewer-password-1")


class Stack:
    def __init__(self, directory: Path, redis_url: str, host: str = HOST) -> None:
        self.directory = directory
        self.sysroot = directory / "sysroot"
        data_dir = directory / "var"
        self.settings = Settings(
            data_dir=data_dir, sysroot=self.sysroot, redis_url=redis_url, host_name=host,
            database_url=f"sqlite:///{data_dir / 'wmi2.db'}", web_workers=1,
            heartbeat_interval=0.5, heartbeat_ttl=3.0,
        )  # fmt: skip
        self.env = dict(
            {k: v for k, v in os.environ.items() if not k.startswith("WMI_")},
            WMI_DATA_DIR=str(data_dir), WMI_SYSROOT=str(self.sysroot), WMI_REDIS_URL=redis_url,
            WMI_DATABASE_URL=str(self.settings.database_url), WMI_HOST_NAME=host, WMI_WEB_WORKERS="1",
            WMI_HEARTBEAT_INTERVAL="0.5", WMI_HEARTBEAT_TTL="3.0", WMI_BIND="127.0.0.1",
        )  # fmt: skip
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.worker = Service(["worker"], self.env, data_dir / "worker.log")
        self.web = Service(["web", "--port", str(self.port)], self.env, data_dir / "web.log")

    def prepare(self) -> Path:
        """The sandbox, certificate and WMI accounts; returns the sandbox root (to seed before start)."""
        (self.directory / "var").mkdir(parents=True, exist_ok=True)
        init_sandbox(self.sysroot)
        ensure_certificate(self.settings.cert_file, self.settings.key_file)
        create_admin(self.settings.resolved_database_url, *ADMIN, "admin")
        create_admin(self.settings.resolved_database_url, *VIEWER, "viewer")
        return self.sysroot

    def start(self) -> None:
        client = redis.Redis.from_url(str(self.settings.redis_url))
        try:
            self.worker.start()
            wait_for(lambda: self.worker.alive() and client.exists(keys.host_info(self.settings.host_name)),
                     timeout=90, what="the worker's first read of the host")  # fmt: skip
        finally:
            client.close()
        self.start_web()

    def start_web(self) -> None:
        self.web.start()
        wait_for(self._healthy, timeout=60, what="the web origin")

    def _healthy(self) -> bool:
        if not self.web.alive():
            raise AssertionError("wmi2 web exited:\n" + self.web.output())
        return httpx.get(f"{self.url}/api/v1/health", verify=False, timeout=2).status_code == 200

    def stop_web(self) -> None:
        self.web.stop()

    def stop(self) -> None:
        self.web.stop()
        self.worker.stop()
