"""The private ``redis-server`` of ``wmi2 up``: a unix socket in the data dir, no TCP port, AOF on."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis


def redis_command(data_dir: Path, socket_path: Path) -> list[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (make setup installs it)")
    state = data_dir / "redis"
    state.mkdir(parents=True, exist_ok=True)
    return [
        binary,
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--dir", str(state),
        "--appendonly", "yes",
        "--save", "",
        "--daemonize", "no",
        "--logfile", str(state / "redis.log"),
    ]  # fmt: skip


def wait_for_redis(url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with status {proc.returncode}")
        try:
            if client.ping():
                return
        except (redis.ConnectionError, FileNotFoundError):
            time.sleep(0.05)
    raise TimeoutError("redis-server did not answer in time")
