"""Who holds a lock: a process named so that another process can tell whether it still lives.

A lock's token names its holder: the machine's boot, the pid namespace, the pid and the
process's start time. A waiter on the same machine and in the same pid namespace can then
check that the holder is alive instead of waiting for the lock's TTL (a Redis restarted
from its append-only file brings back the lock of a holder that died meanwhile); the start
time tells a recycled pid from the holder. A token from elsewhere (another boot, another
container, another machine: every machine's first pid namespace has the same inode) is
never judged: its holder may be alive where we cannot see it, and the TTL frees its lock.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import psutil

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
# The start time of a process we may not look at: it lives, as far as a waiter can tell.
UNSEEN = -1.0
PID_NAMESPACE = Path("/proc/self/ns/pid")


@dataclass(frozen=True)
class Holder:
    boot: str
    namespace: int
    pid: int
    started: float

    def token(self) -> str:
        # The random part keeps two locks of one process apart (the watcher and a task).
        return f"{self.boot}:{self.namespace}:{self.pid}:{self.started!r}:{secrets.token_hex(8)}"


@lru_cache(maxsize=1)
def _machine() -> tuple[str, int]:
    return BOOT_ID.read_text().strip(), PID_NAMESPACE.stat().st_ino


def _start_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.AccessDenied:
        return UNSEEN


def me() -> Holder:
    """This process, as a lock holder (the start time is read once per pid: forks differ)."""
    return _me(os.getpid())


@lru_cache(maxsize=4)
def _me(pid: int) -> Holder:
    boot, namespace = _machine()
    started = _start_time(pid)
    assert started is not None and started != UNSEEN
    return Holder(boot=boot, namespace=namespace, pid=pid, started=started)


def parse(token: str) -> Holder | None:
    parts = token.split(":")
    if len(parts) != 5 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    try:
        return Holder(boot=parts[0], namespace=int(parts[1]), pid=int(parts[2]), started=float(parts[3]))
    except ValueError:
        return None


def is_dead(token: str) -> bool:
    """True only when the token's holder is known to be gone: same boot, same pid namespace,
    and no process with its pid and start time."""
    holder = parse(token)
    if holder is None or (holder.boot, holder.namespace) != _machine():
        return False
    started = _start_time(holder.pid)
    return started != UNSEEN and started != holder.started
