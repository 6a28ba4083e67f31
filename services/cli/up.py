"""``wmi2 up``: the whole system on one machine, in the foreground."""

from __future__ import annotations

import os
import ssl
import sys
import time
import urllib.request

from services.cli.accounts import ensure_first_admin
from services.cli.private import SANDBOX_UMASK, tighten, umask
from services.cli.redis_server import redis_command, wait_for_redis
from services.cli.supervisor import Supervisor
from services.cli.tls import ensure_certificate
from services.common.settings import Settings
from services.worker.sandbox import init_sandbox

# The first admin's password is for `prepare` alone: no service started after it needs it,
# and a child's environment is readable in /proc by its user for as long as it runs.
ADMIN_PASSWORD_VARIABLE = "WMI_ADMIN_PASSWORD"  # noqa: S105 - its name, not a value


def prepare(settings: Settings) -> str | None:
    """Create what a first run needs; return the first admin's password if one was made."""
    settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
    if settings.sysroot is None and not (settings.resolved_sysroot / "etc" / "passwd").exists():
        with umask(SANDBOX_UMASK):
            init_sandbox(settings.resolved_sysroot)
    ensure_certificate(settings.cert_file, settings.key_file)
    given = settings.admin_password.get_secret_value() if settings.admin_password else None
    password = ensure_first_admin(settings.resolved_database_url, given)
    # Last, so that what this run created is tightened too (when not made under wmi2's umask).
    tighten(settings.resolved_data_dir, settings.resolved_sysroot)
    return password


def child_environment(settings: Settings) -> dict[str, str]:
    """This process's environment for the services, without the first admin's password."""
    # Settings names are case-insensitive: wmi_admin_password would be read just the same.
    env = {k: v for k, v in os.environ.items() if k.upper() != ADMIN_PASSWORD_VARIABLE}
    env["WMI_DATA_DIR"] = str(settings.resolved_data_dir)
    return env


def _wait_for_origin(url: str, supervisor: Supervisor, timeout: float = 60.0) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in supervisor.children.values()):
            return
        try:
            with urllib.request.urlopen(url, context=context, timeout=2):  # noqa: S310 (our own https URL)
                return
        except OSError:
            time.sleep(0.2)


def _banner(settings: Settings, password: str | None) -> str:
    lines = [
        "",
        f"  WMI2 is running: https://localhost:{settings.port}/",
        f"  managing {settings.resolved_sysroot} as host {settings.host_name!r}",
        "  login:    admin",
        f"  password: {password}" if password else "  password: (set on the first run; unchanged)",
        "  Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


def up(settings: Settings) -> int:
    password = prepare(settings)
    env = child_environment(settings)
    supervisor = Supervisor()
    try:
        if settings.redis_url is None:
            command = redis_command(settings.resolved_data_dir, settings.redis_socket)
            proc = supervisor.start("redis", command, env, foundation=True)
            wait_for_redis(settings.resolved_redis_url, proc)
        env["WMI_REDIS_URL"] = settings.resolved_redis_url
        supervisor.start("worker", [sys.executable, "-m", "services.cli", "worker"], env)
        supervisor.start("web", [sys.executable, "-m", "services.cli", "web"], env)
        _wait_for_origin(f"https://127.0.0.1:{settings.port}/login/", supervisor)
    except BaseException:
        supervisor.stop_all()
        raise
    print(_banner(settings, password), flush=True)
    return supervisor.wait()
