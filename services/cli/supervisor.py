"""Runs child processes in the foreground and stops every one of them, and theirs, on exit.

Each child leads its own process group, so a signal to the group also reaches what
it started (Celery's pool processes, uvicorn's workers): ``wmi2 up`` leaves nothing
behind after Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from types import FrameType

import psutil

STOP_GRACE = 15.0


class Supervisor:
    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        # Children the others need until they have stopped: stopped last.
        self.foundation: list[str] = []
        self._stopping = False

    def start(
        self, name: str, argv: list[str], env: dict[str, str] | None = None, *, foundation: bool = False
    ) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(argv, env=env, start_new_session=True)
        self.children[name] = proc
        if foundation:
            self.foundation.append(name)
        return proc

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping = True

    def wait(self) -> int:
        """Block until a signal arrives or a child exits; then stop all and return an exit status."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        status = 0
        while not self._stopping:
            for name, proc in self.children.items():
                if proc.poll() is not None:
                    print(f"wmi2: {name} exited with status {proc.returncode}; stopping", file=sys.stderr)
                    self._stopping, status = True, 1
                    break
            time.sleep(0.2)
        self.stop_all()
        return status

    def stop_all(self) -> None:
        """Stop the services first, then what they stand on (Redis), so that the worker can
        still announce its host offline and finish its job on the way out."""
        foundation = [self.children[name] for name in self.foundation if name in self.children]
        services = [proc for proc in self.children.values() if proc not in foundation]
        _stop(services)
        _stop(foundation)


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each child's group, wait for all of them and theirs, then SIGKILL what is left."""
    procs = [psutil.Process(p.pid) for p in children if p.poll() is None]
    everything = set(procs)
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            everything.update(proc.children(recursive=True))
    for child in children:
        _signal_group(child.pid, signal.SIGTERM)
    _gone, alive = psutil.wait_procs(list(everything), timeout=STOP_GRACE)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    for child in children:
        _signal_group(child.pid, signal.SIGKILL)
        child.wait()


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
