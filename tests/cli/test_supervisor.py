"""``wmi2 up``'s supervisor: restarts with a growing delay, gives up on a crash loop, and leaves
no process behind. Real child processes; the restart policy is given times, never waited for."""

from __future__ import annotations

import sys

import psutil
import pytest

from services.cli.supervisor import RestartPolicy, Supervisor, _Life
from tests.support.wait import wait_for

POLICY = RestartPolicy(first_delay=0.5, max_delay=4.0, stable_after=30.0, crash_limit=5, crash_window=60.0)


def test_the_delay_doubles_up_to_its_bound_then_a_crash_loop_gives_up() -> None:
    life = _Life(["x"], None, started=0.0, delay=POLICY.first_delay)
    delays = []
    for now in (1.0, 2.0, 3.0, 4.0):
        life.started = now - 0.5  # each run lasted half a second
        delays.append(life.died(now, POLICY))
    assert delays == [0.5, 1.0, 2.0, 4.0]
    assert life.restart_at == 4.0 + 4.0
    life.started = 4.5
    assert life.died(5.0, POLICY) is None, "the fifth death within the window: give up"


def test_the_delay_stays_at_its_bound() -> None:
    life = _Life(["x"], None, started=0.0, delay=3.0)
    assert life.died(1.0, RestartPolicy(first_delay=3.0, max_delay=4.0, crash_limit=99)) == 3.0
    assert life.died(2.0, RestartPolicy(first_delay=3.0, max_delay=4.0, crash_limit=99)) == 4.0
    assert life.died(3.0, RestartPolicy(first_delay=3.0, max_delay=4.0, crash_limit=99)) == 4.0


def test_a_stable_run_starts_the_count_and_the_delay_afresh() -> None:
    life = _Life(["x"], None, started=0.0, delay=POLICY.first_delay)
    for now in (1.0, 2.0, 3.0, 4.0):
        life.started = now - 0.5
        assert life.died(now, POLICY) is not None
    life.started = 10.0
    assert life.died(10.0 + POLICY.stable_after, POLICY) == POLICY.first_delay, "it had run long enough"
    assert life.deaths == [10.0 + POLICY.stable_after]


def test_deaths_older_than_the_window_do_not_count() -> None:
    life = _Life(["x"], None, started=0.0, delay=POLICY.first_delay)
    for now in (1.0, 2.0, 3.0, 4.0, 70.0, 71.0):
        life.started = now - 0.5
        assert life.died(now, POLICY) is not None, now
    assert life.deaths == [70.0, 71.0], "70 s after the fourth death, the window holds none of the first four"


def _gone(proc: psutil.Process) -> bool:
    """Ended: reaped, or a zombie that this container's init does not reap."""
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _tend_until(supervisor: Supervisor, wanted: int, what: str) -> None:
    wait_for(lambda: supervisor.tend() == wanted, timeout=60, interval=0.02, what=what)


@pytest.mark.timeout(120)
def test_a_child_that_keeps_crashing_stops_everything_and_leaves_no_process(
    capsys: pytest.CaptureFixture[str],
) -> None:
    supervisor = Supervisor(RestartPolicy(first_delay=0.0, crash_limit=3), stop_grace=1)
    # A healthy child that started one of its own: both must be gone at the end.
    healthy = supervisor.start("healthy", ["sh", "-c", "sleep 300 & wait"])
    wait_for(lambda: psutil.Process(healthy.pid).children(), timeout=30, what="the grandchild")
    grandchild = psutil.Process(healthy.pid).children()[0]
    supervisor.start("crasher", [sys.executable, "-c", "raise SystemExit(3)"])
    try:
        _tend_until(supervisor, 1, "the supervisor to give up")
        said = capsys.readouterr().err
        # Started, restarted twice: the third death gives up.
        assert said.count("wmi2: crasher exited with status 3; restarting in 0 s") == 2, said
        assert said.count("wmi2: crasher restarted (pid ") == 2, said
        assert "crasher exited with status 3, dead 3 times within 60 s without a stable run" in said
        assert supervisor.children["healthy"] is healthy and healthy.poll() is None, "the others kept running"
    finally:
        supervisor.stop_all()
    assert healthy.poll() is not None
    # Killed with its group: gone as soon as the kernel has delivered the SIGKILL.
    wait_for(lambda: _gone(grandchild), timeout=30, what="the child's own process to go with it")


@pytest.mark.timeout(120)
def test_a_dead_child_is_started_again_while_the_others_go_on() -> None:
    supervisor = Supervisor(RestartPolicy(first_delay=0.0), stop_grace=1)
    other = supervisor.start("other", ["sleep", "300"])
    first = supervisor.start("server", ["sleep", "300"])
    try:
        first.kill()
        first.wait()

        def restarted() -> bool:
            server = supervisor.children["server"]
            return supervisor.tend() == 0 and server is not first and server.poll() is None

        wait_for(restarted, timeout=60, what="the restart")
        assert supervisor.children["other"] is other and other.poll() is None
    finally:
        supervisor.stop_all()
    assert all(proc.poll() is not None for proc in supervisor.children.values())
