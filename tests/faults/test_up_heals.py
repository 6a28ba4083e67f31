"""Faults, item 4: ``wmi2 up`` healed nothing, and its stop killed the running tool.

Bugs: the death of any one child (Redis, the Celery worker, the web server) stopped the
whole system, and granian stopped all its workers when one died. On SIGTERM the supervisor
signalled each child's whole process group, so Celery's pool process and the tool it ran
were terminated mid-write instead of finishing the job. Fixes: the supervisor restarts a
dead child with a doubling delay (0.5 s to 10 s, afresh after 30 s of good health), after
killing what it left in its group, and logs both; it stops everything, with status 1, only
when one child dies 5 times within 60 s without a stable run. Granian respawns a dead
worker itself. A stop sends SIGTERM to each child's main process only (Celery's warm
shutdown lets the job finish), and kills each group only after the grace.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import redis

from services.cli.supervisor import RestartPolicy, Supervisor, _Life
from services.common import keys
from services.worker.hostlock import host_lock
from tests.support.api import logged_in_client, wait_job
from tests.support.ports import free_port
from tests.support.processes import ROOT
from tests.support.wait import wait_for

HOST = "healhost"
# The sandbox's admin, set through WMI_ADMIN_PASSWORD.
PASSWORD = "heal-admin-pass"
FAST = RestartPolicy(first_delay=0.01, max_delay=0.04, stable_after=30.0, crash_limit=5, crash_window=60.0)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# The restart policy, on a clock of its own.


def test_the_delay_doubles_up_to_its_bound_and_the_fifth_fast_death_gives_up() -> None:
    policy = RestartPolicy()
    life = _Life(["x"], None, started=100.0, delay=policy.first_delay)
    delays = []
    for now in (101.0, 102.0, 103.0, 104.0):
        delays.append(life.died(now, policy))
        life.started = now + 0.5
    assert delays == [0.5, 1.0, 2.0, 4.0]
    assert life.died(105.0, policy) is None


def test_a_stable_run_starts_the_count_and_the_delay_afresh() -> None:
    policy = RestartPolicy()
    life = _Life(["x"], None, started=0.0, delay=policy.first_delay)
    for now in (1.0, 2.0, 3.0, 4.0):
        life.died(now, policy)
        life.started = now
    assert life.died(4.0 + policy.stable_after, policy) == policy.first_delay
    assert life.deaths == [4.0 + policy.stable_after]


def test_deaths_older_than_the_window_are_forgotten() -> None:
    policy = RestartPolicy(max_delay=0.5)
    life = _Life(["x"], None, started=0.0, delay=policy.first_delay)
    # A death every 20 s with runs of 10 s: never stable, but never 5 within 60 s either.
    for n in range(1, 20):
        assert life.died(20.0 * n, policy) is not None
        life.started = 20.0 * n + 10.0


# The supervisor with small fake children.


@pytest.fixture
def supervisor() -> Iterator[Supervisor]:
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    sup = Supervisor(FAST, stop_grace=5.0)
    try:
        yield sup
    finally:
        sup.stop_all()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_a_dead_child_is_restarted_and_the_others_keep_running(
    supervisor: Supervisor, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    steady = supervisor.start("steady", ["sleep", "60"])
    starts = tmp_path / "starts"
    supervisor.start("flaky", ["sh", "-c", f"echo $$ >> {starts}; exit 3"])

    def started_three_times() -> bool:
        assert supervisor.tend() == 0
        return len(_lines(starts)) >= 3

    wait_for(started_three_times, timeout=30, what="three starts of the flaky child")
    assert supervisor.children["steady"] is steady and steady.poll() is None
    err = capfd.readouterr().err
    assert "wmi2: flaky exited with status 3; restarting in 0.01 s" in err
    assert "wmi2: flaky exited with status 3; restarting in 0.02 s" in err
    assert "wmi2: flaky restarted (pid " in err


def test_what_a_dead_child_left_in_its_group_is_killed(supervisor: Supervisor, tmp_path: Path) -> None:
    orphan = tmp_path / "orphan"
    supervisor.start("parent", ["sh", "-c", f"sleep 60 & echo $! > {orphan}; exit 1"])
    pid = int(wait_for(lambda: _lines(orphan), what="the orphan's pid")[0])
    wait_for(lambda: supervisor.tend() == 0 and _gone(pid), timeout=30, what="the orphan killed")


def test_a_child_crashing_fast_again_and_again_stops_everything(
    supervisor: Supervisor, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    steady = supervisor.start("steady", ["sleep", "60"])
    starts = tmp_path / "starts"
    supervisor.start("crasher", ["sh", "-c", f"echo $$ >> {starts}; exit 1"])
    assert supervisor.wait() == 1
    assert len(_lines(starts)) == FAST.crash_limit
    assert steady.poll() is not None
    assert (
        "crasher exited with status 1, dead 5 times within 60 s without a stable run; stopping everything"
        in (capfd.readouterr().err)
    )


def test_a_child_that_cannot_be_started_again_counts_as_dead(
    supervisor: Supervisor, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    vanishing = tmp_path / "vanishing"
    vanishing.write_text('#!/bin/sh\nrm "$0"\nexit 1\n')
    vanishing.chmod(0o700)
    supervisor.start("vanishing", [str(vanishing)])
    assert supervisor.wait() == 1
    err = capfd.readouterr().err
    assert err.count("wmi2: vanishing could not be started again") == FAST.crash_limit - 1


# A job in the pool process: on SIGTERM the main process waits for it, as Celery's does.
JOB = """
import sys, time
with open(sys.argv[1], "a", buffering=1) as journal:
    journal.write("started\\n")
    time.sleep(1)
    journal.write("done\\n")
"""
MAIN = f"""
import signal, subprocess, sys, time
job = subprocess.Popen([sys.executable, "-c", {JOB!r}, sys.argv[1]])
signal.signal(signal.SIGTERM, lambda *_: sys.exit(job.wait()))
time.sleep(60)
"""


def test_a_stop_signals_the_main_process_alone_and_lets_its_job_finish(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    child = supervisor.start("worker", [sys.executable, "-c", MAIN, str(journal)])
    wait_for(lambda: _lines(journal), what="the job to start")
    supervisor.stop_all()
    # Terminated by its group's SIGTERM, the job would have died before writing "done".
    assert _lines(journal) == ["started", "done"]
    assert child.returncode == 0


def test_a_stop_kills_what_outlives_the_grace(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    stubborn = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN)"
    stubborn += "; open(sys.argv[1], 'w'); time.sleep(60)"
    sup = Supervisor(FAST, stop_grace=0.5)
    child = sup.start("stubborn", [sys.executable, "-c", stubborn, str(ready)])
    wait_for(ready.exists, what="SIGTERM ignored")
    sup.stop_all()
    assert child.returncode == -signal.SIGKILL


# A real ``wmi2 up``, one for the whole module: each start costs seconds.


class Up:
    def __init__(self, data_dir: Path, port: int, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WMI_")}
        env.update(WMI_DATA_DIR=str(data_dir), WMI_PORT=str(port), WMI_HOST_NAME=HOST, WMI_WEB_WORKERS="1",
                   WMI_ADMIN_PASSWORD=PASSWORD)  # fmt: skip
        self.data_dir, self.url, self.log = data_dir, f"https://127.0.0.1:{port}", log
        with log.open("wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "services.cli", "up"], cwd=ROOT, env=env,
                                         stdout=out, stderr=subprocess.STDOUT)  # fmt: skip

    def child(self, name: str) -> psutil.Process | None:
        """The current process of one of the supervisor's children."""
        matches: dict[str, Callable[[list[str]], bool]] = {
            "redis": lambda argv: "redis-server" in argv[0],
            "worker": lambda argv: "celery" in argv,
            "web": lambda argv: argv[-1:] == ["web"],
        }
        for proc in psutil.Process(self.proc.pid).children():
            try:
                if matches[name](proc.cmdline()) and proc.status() != psutil.STATUS_ZOMBIE:
                    return proc
            except psutil.NoSuchProcess:
                continue
        return None

    def replaced(self, name: str, old: psutil.Process) -> psutil.Process:
        def new() -> psutil.Process | None:
            proc = self.child(name)
            return proc if proc is not None and proc.pid != old.pid else None

        proc = wait_for(new, timeout=60, what=f"a new {name}")
        assert proc is not None
        return proc

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(f"unix://{self.data_dir / 'redis.sock'}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    tmp = tmp_path_factory.mktemp("up-heals")
    stack = Up(tmp / "var", free_port(), tmp / "up.log")
    try:
        wait_for(lambda: "password:" in stack.log.read_text(), timeout=120, what="wmi2 up's banner")
        yield stack
    finally:
        stack.stop()


def _admin(up: Up) -> httpx.Client:
    return wait_for(lambda: logged_in_client(up.url, "admin", PASSWORD), timeout=60, what="an admin's login")


def _accepted(client: httpx.Client, login: str) -> httpx.Response:
    """A user creation the api accepted; retried while the api answers 503 (Redis or the worker away)."""

    def post() -> httpx.Response | None:
        response = client.post(f"/api/v1/hosts/{HOST}/users", json={"login": login, "create_home": False})
        assert response.status_code in (202, 503), response.text
        return response if response.status_code == 202 else None

    response = wait_for(post, timeout=90, what=f"the creation of {login} accepted")
    assert response is not None
    return response


def _created(up: Up, login: str) -> dict[str, Any]:
    client = _admin(up)
    try:
        job = wait_job(client, _accepted(client, login), timeout=90)
    finally:
        client.close()
    assert job["state"] == "succeeded", job
    assert f"\n{login}:" in (up.data_dir / "sysroot" / "etc" / "passwd").read_text()
    return job


def _kill(up: Up, name: str) -> psutil.Process:
    old = up.child(name)
    assert old is not None, f"no {name} running"
    old.kill()
    return up.replaced(name, old)


def test_a_killed_worker_is_restarted_and_changes_go_on(up: Up) -> None:
    _kill(up, "worker")
    _created(up, "afterworker")
    assert "wmi2: worker exited with status -9; restarting in 0.5 s" in up.log.read_text()


def test_a_killed_redis_is_restarted_and_the_others_carry_on(up: Up) -> None:
    worker, web = up.child("worker"), up.child("web")
    _kill(up, "redis")
    _created(up, "afterredis")
    # They reconnected by themselves: neither was restarted.
    assert (up.child("worker"), up.child("web")) == (worker, web)
    assert "wmi2: redis exited with status -9; restarting in 0.5 s" in up.log.read_text()


def _login_page(up: Up) -> httpx.Response | None:
    page = httpx.get(f"{up.url}/login/", verify=False, timeout=5)
    return page if page.status_code == 200 else None


def test_a_dead_web_worker_is_respawned_by_granian(up: Up) -> None:
    web = up.child("web")
    assert web is not None
    [old] = web.children()
    old.kill()
    wait_for(lambda: [p for p in web.children() if p.pid != old.pid], timeout=60, what="granian's new worker")
    wait_for(lambda: _login_page(up), timeout=60, what="/login/ served again")
    assert up.child("web") == web, "granian replaced its worker itself"


def test_a_killed_web_server_is_restarted(up: Up) -> None:
    _kill(up, "web")
    wait_for(lambda: _login_page(up), timeout=60, what="/login/ served again")
    _created(up, "afterweb")


def test_sigterm_lets_the_running_job_finish(up: Up) -> None:
    """Last in this module: it stops the shared ``wmi2 up``."""
    worker = up.child("worker")
    assert worker is not None
    client = _admin(up)
    with host_lock(up.redis(), HOST):
        # The job claims its row, then waits for the lock this test holds: it is running.
        url = _accepted(client, "heldback").headers["Location"]
        wait_for(lambda: client.get(url).json()["state"] == "running", timeout=60, what="the job running")
        up.proc.send_signal(signal.SIGTERM)
        # The worker drops its heartbeat as its warm shutdown begins.
        wait_for(
            lambda: not up.redis().exists(keys.host_heartbeat(HOST)), timeout=30, what="the worker stopping"
        )
        assert worker.is_running(), "the worker should be waiting for its job"
    assert up.stop() == 0, up.log.read_text()
    with sqlite3.connect(up.data_dir / "wmi2.db") as db:
        state, attempts = db.execute(
            "SELECT state, attempts FROM jobs WHERE id = ?", (url.rsplit("/", 1)[1],)
        ).fetchone()
    assert (state, attempts) == ("succeeded", 1)
    assert "\nheldback:" in (up.data_dir / "sysroot" / "etc" / "passwd").read_text()
