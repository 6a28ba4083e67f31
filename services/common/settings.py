"""Settings, read from the environment (``WMI_*``) once per process."""

from __future__ import annotations

import socket
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WMI_", extra="ignore")

    data_dir: Path = Path("./var")
    port: int = 3356
    bind: str = "0.0.0.0"
    sysroot: Path | None = None
    host_name: str = socket.gethostname()
    redis_url: str | None = None
    database_url: str | None = None
    admin_password: SecretStr | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # How many web server processes `wmi2 up` and `wmi2 api` start.
    web_workers: int = 2
    # The ASGI server of `wmi2 web`, `api` and `events` (see services/cli/serve.py).
    server: Literal["granian", "uvicorn"] = "granian"
    session_ttl: int = 8 * 3600
    event_log_max: int = 10_000
    # Must exceed the longest task (archiving a large home), or Redis hands a
    # running task to a second worker.
    visibility_timeout: int = 3600
    heartbeat_interval: float = 2.0
    heartbeat_ttl: float = 6.0
    sse_heartbeat: float = 15.0
    sse_queue_size: int = 1000
    watch_debounce_ms: int = 50
    access_log: bool = False
    # The addresses whose X-Forwarded-For/-Proto the web services believe (uvicorn's
    # forwarded_allow_ips, comma-separated, or "*"): the proxy in front of them. Compose
    # sets "*", since there only the proxy can reach the api and events ports.
    forwarded_allow_ips: str = "127.0.0.1"
    # Each argon2 check takes 64 MiB: this many at once per web process bounds what a crowd
    # of anonymous logins can make it allocate; a login waits at most login_check_wait
    # seconds for a turn, then gets 503 with Retry-After instead of queueing without bound.
    login_checks: int = 4
    login_check_wait: float = 1.0
    # The largest request body read before any route sees it (bytes): above, 413.
    max_body: int = 1024 * 1024
    # How long a process trusts that a session's account still exists, is enabled and has
    # the session's role, before asking the database again: the longest a session survives
    # its account being disabled, deleted or demoted behind the api's back.
    account_check_ttl: float = 3.0
    # System accounts (uid 0, uids outside UID_MIN..UID_MAX) are the host's: changed only when told to.
    manage_system_accounts: bool = False
    # Seconds the web services wait for one Redis command: a frozen Redis gets a 503 in
    # about that time instead of a request hanging until TCP gives up.
    redis_timeout: float = 1.5
    # Seconds after which a job still queued, or still running, is flagged as stuck on the
    # jobs pages and in the API: a job normally starts within a second and ends within a few,
    # so one past these waits on a worker that is gone, busy or hung, and an admin should look.
    job_stuck_queued: float = 30.0
    job_stuck_running: float = 120.0

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.resolve()

    @property
    def resolved_sysroot(self) -> Path:
        return (self.sysroot or self.resolved_data_dir / "sysroot").resolve()

    @property
    def redis_socket(self) -> Path:
        return self.resolved_data_dir / "redis.sock"

    @property
    def resolved_redis_url(self) -> str:
        return self.redis_url or f"unix://{self.redis_socket}"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.resolved_data_dir / 'wmi2.db'}"

    @property
    def cert_file(self) -> Path:
        return self.tls_cert or self.resolved_data_dir / "tls" / "cert.pem"

    @property
    def key_file(self) -> Path:
        return self.tls_key or self.resolved_data_dir / "tls" / "key.pem"

    @property
    def archive_dir(self) -> Path:
        return self.resolved_data_dir / "archives"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
