"""Runs child processes in the foreground, restarts the ones that die, and stops them all on exit.

Each child leads its own process group, so that what it started (Celery's pool process and
the tool it runs, granian's workers) can be found and killed with it: ``wmi2 up`` leaves
nothing behind. A child that dies is restarted with a growing delay while the others keep
serving; only one that keeps crashing soon after each start stops the whole system.

Stopping signals each child's main process only, not its group: Celery's main process then
lets its pool process finish the running job (a warm shutdown) and granian stops its
workers itself. A signal to the group would have reached the tool in the middle of its write.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from types import FrameType

import psutil

# Seconds the services get to stop by themselves. Celery cannot bound its warm shutdown
# (it waits for the running job, and a job may wait an hour for the host lock), so this is
# the bound: what is left after it is killed, and its job handed back at the next start.
STOP_GRACE = 15.0
# Seconds between two looks at the children.
POLL = 0.1


@dataclass(frozen=True)
class RestartPolicy:
    # Seconds before the first restart of a child; doubled after each death, up to max_delay.
    first_delay: float = 0.5
    max_delay: float = 10.0
    # A child that ran this long was healthy: its delay and crash count start afresh.
    stable_after: float = 30.0
    # This many deaths within crash_window seconds, none after a stable run: give up.
    crash_limit: int = 5
    crash_window: float = 60.0


@dataclass
class _Life:
    """How to start one child, and the story of its deaths."""

    argv: list[str]
    env: dict[str, str] | None
    started: float = 0.0
    delay: float = 0.0
    deaths: list[float] = field(default_factory=list)
    # When a dead child is due to start again; None while it runs.
    restart_at: float | None = None

    def died(self, now: float, policy: RestartPolicy) -> float | None:
        """Record a death at ``now``; return the delay before the restart, or None to give up."""
        if now - self.started >= policy.stable_after:
            self.deaths.clear()
            self.delay = policy.first_delay
        self.deaths = [t for t in self.deaths if now - t < policy.crash_window] + [now]
        if len(self.deaths) >= policy.crash_limit:
            return None
        delay = self.delay
        self.delay = min(delay * 2, policy.max_delay)
        self.restart_at = now + delay
        return delay


class Supervisor:
    def __init__(self, policy: RestartPolicy | None = None, stop_grace: float = STOP_GRACE) -> None:
        # The current process of each child (a restart replaces it).
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        # Children the others need until they have stopped: stopped last.
        self.foundation: list[str] = []
        self.policy = policy or RestartPolicy()
        self.stop_grace = stop_grace
        self._lives: dict[str, _Life] = {}
        self._stopping = False

    def start(
        self, name: str, argv: list[str], env: dict[str, str] | None = None, *, foundation: bool = False
    ) -> subprocess.Popen[bytes]:
        self._lives[name] = _Life(argv, env, delay=self.policy.first_delay)
        if foundation:
            self.foundation.append(name)
        return self._spawn(name)

    def _spawn(self, name: str) -> subprocess.Popen[bytes]:
        life = self._lives[name]
        proc = subprocess.Popen(life.argv, env=life.env, start_new_session=True)
        life.started, life.restart_at = time.monotonic(), None
        self.children[name] = proc
        return proc

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping = True

    def wait(self) -> int:
        """Tend the children until a signal arrives or one crashes too often; stop all; return a status."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        status = 0
        while not self._stopping and status == 0:
            status = self.tend()
            time.sleep(POLL)
        self.stop_all()
        return status

    def tend(self) -> int:
        """Notice the children that died and restart those that are due; 1 to give up, else 0."""
        now = time.monotonic()
        for name, life in self._lives.items():
            proc = self.children[name]
            if life.restart_at is None and proc.poll() is not None:
                # An orphan would hold on to what the new one needs: the listening port,
                # the job that will be handed back at its start.
                _signal_group(proc.pid, signal.SIGKILL)
                if not self._schedule(name, f"exited with status {proc.returncode}", now):
                    return 1
            elif life.restart_at is not None and now >= life.restart_at:
                failure = self._restart(name)
                if failure and not self._schedule(name, failure, now):
                    return 1
        return 0

    def _schedule(self, name: str, death: str, now: float) -> bool:
        """Log a death and schedule the restart; False to give up."""
        delay = self._lives[name].died(now, self.policy)
        if delay is None:
            policy = self.policy
            _say(
                f"{name} {death}, dead {policy.crash_limit} times within {policy.crash_window:g} s "
                "without a stable run; stopping everything"
            )
            return False
        _say(f"{name} {death}; restarting in {delay:g} s")
        return True

    def _restart(self, name: str) -> str | None:
        """Start a dead child again; say why it could not, if so."""
        try:
            proc = self._spawn(name)
        except OSError as exc:
            return f"could not be started again ({exc})"
        _say(f"{name} restarted (pid {proc.pid})")
        return None

    def stop_all(self) -> None:
        """Stop the services first, then what they stand on (Redis), so that the worker can
        still announce its host offline and finish its job on the way out."""
        foundation = [self.children[name] for name in self.foundation if name in self.children]
        services = [proc for proc in self.children.values() if proc not in foundation]
        _stop(services, self.stop_grace)
        _stop(foundation, self.stop_grace)


def _stop(children: list[subprocess.Popen[bytes]], grace: float) -> None:
    """SIGTERM each child's main process, wait for it and its own, then SIGKILL each group."""
    procs = [psutil.Process(p.pid) for p in children if p.poll() is None]
    everything = set(procs)
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            everything.update(proc.children(recursive=True))
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _gone, alive = psutil.wait_procs(list(everything), timeout=grace)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    for child in children:
        _signal_group(child.pid, signal.SIGKILL)
        child.wait()


def _say(message: str) -> None:
    print(f"wmi2: {message}", file=sys.stderr, flush=True)


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
