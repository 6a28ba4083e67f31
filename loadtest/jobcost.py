"""Where a job's time goes in the worker: the tool, the re-read, the lock, SQL, Redis.

    python -m loadtest.jobcost --jobs 200 --existing 1000

Runs the worker's own task function (``services.worker.tasks.run_action``) in this process,
without Celery, on a fresh sandbox (optionally holding ``--existing`` users already) with a
private redis-server and SQLite database, the file watcher running as in a real worker. Each
phase is timed by wrapping the function that does it; the table gives the mean
milliseconds per job. Celery's own share is what a real worker takes per job beyond this
(compare with ``python -m loadtest.bench --tools pipeline``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

TIMES: dict[str, float] = defaultdict(float)
COUNTS: dict[str, int] = defaultdict(int)


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Time the calls made by the job (the main thread), not the watcher's."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return function(*args, **kwargs)
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            TIMES[name] += time.perf_counter() - started
            COUNTS[name] += 1

    return wrapper


def timed_context(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """For a context manager: the time to enter it (waiting for a lock) and to leave it."""

    @contextmanager
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        started = time.perf_counter()
        manager = function(*args, **kwargs)
        value = manager.__enter__()
        TIMES[name] += time.perf_counter() - started
        COUNTS[name] += 1
        try:
            yield value
        except BaseException as exc:
            started = time.perf_counter()
            if not manager.__exit__(type(exc), exc, exc.__traceback__):
                raise
        else:
            started = time.perf_counter()
            manager.__exit__(None, None, None)
        finally:
            TIMES[name] += time.perf_counter() - started

    return wrapper


def seed(sysroot: Path, count: int) -> None:
    """``count`` regular users with their own groups, written straight into the files."""
    etc = sysroot / "etc"
    passwd, shadow, group, gshadow = [], [], [], []
    for i in range(count):
        login, uid = f"seed{i:05d}", 10000 + i
        passwd.append(f"{login}:x:{uid}:{uid}:Seed {i}:/home/{login}:/bin/bash\n")
        shadow.append(f"{login}:!:19000:0:99999:7:::\n")
        group.append(f"{login}:x:{uid}:\n")
        gshadow.append(f"{login}:!::\n")
    for name, lines in (("passwd", passwd), ("shadow", shadow), ("group", group), ("gshadow", gshadow)):
        with (etc / name).open("a") as f:
            f.writelines(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtest.jobcost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--existing", type=int, default=0, help="users the host holds before the run")
    parser.add_argument("--no-watch", action="store_true", help="without the file watcher")
    return parser.parse_args(argv)


def use_sandbox(directory: Path) -> Path:
    """Point WMI2's settings at a sandbox, Redis socket and database inside ``directory``."""
    data_dir, sysroot = directory / "var", directory / "sysroot"
    data_dir.mkdir()
    os.environ.update(
        WMI_DATA_DIR=str(data_dir),
        WMI_SYSROOT=str(sysroot),
        WMI_HOST_NAME="costhost",
        WMI_REDIS_URL=f"unix://{data_dir / 'redis.sock'}",
        WMI_DATABASE_URL=f"sqlite:///{data_dir / 'wmi2.db'}",
    )
    return data_dir


def instrument() -> Callable[..., Any]:
    """Wrap each phase of a job in a timer; returns the task's function, itself timed."""
    from services.common.events import Publisher
    from services.worker import accountfiles, changeset, jobs, jobset, readmodel, tasks

    jobs.claim = timed("sql: claim the job", jobs.claim)
    jobs.claim_queued = timed("sql: claim the jobs queued behind it", jobs.claim_queued)
    jobs.finish_all = timed("sql: finish the jobs + audit", jobs.finish_all)
    jobset.host_lock = timed_context("host lock: wait + release", jobset.host_lock)
    changeset.apply = timed("change set: total", changeset.apply)
    accountfiles.write = timed("change set: write the files", accountfiles.write)
    readmodel.store_own = timed("publish the set's own changes", readmodel.store_own)
    readmodel.refresh = timed("refresh: total (a re-read)", readmodel.refresh)
    Publisher.publish_many = timed("redis: publish job events", Publisher.publish_many)  # type: ignore[method-assign]
    return timed("run_action: total", tasks.run_action.run)


def run_jobs(run: Callable[..., Any], count: int) -> float:
    """``count`` user creations, each recorded as the api records it, then run; their seconds."""
    from services.common.actions import Action, UserCreate
    from services.common.db import Job, sessionmaker_for
    from services.common.settings import get_settings

    settings = get_settings()
    maker = sessionmaker_for(settings.resolved_database_url)
    started = time.perf_counter()
    for i in range(count):
        login, job_id = f"cost{i:05d}", uuid4().hex
        params = UserCreate(login=login, full_name=f"Cost {i}", password_hash="$6$salt$" + "x" * 86)
        with maker.begin() as db:
            db.add(Job(id=job_id, host=settings.host_name, action=Action.USER_CREATE.value, target=login,
                       actor="admin", state="queued", params={"login": login}))  # fmt: skip
        run(job_id, Action.USER_CREATE.value, params.model_dump())
    return time.perf_counter() - started


def print_table(args: argparse.Namespace, elapsed: float) -> None:
    per_job = {name: TIMES[name] / args.jobs * 1000 for name in TIMES}
    total = per_job.get("run_action: total", 0.0)
    print(
        f"{args.jobs} user creations on a host holding {args.existing} users, watcher "
        f"{'off' if args.no_watch else 'on'}: {args.jobs / elapsed:.1f} jobs/s in-process\n"
    )
    print(f"{'phase':45} {'ms/job':>8} {'share':>6}")
    for name, ms in sorted(per_job.items(), key=lambda kv: -kv[1]):
        print(f"{name:45} {ms:8.2f} {ms / total * 100 if total else 0:5.0f}%")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    directory = Path(tempfile.mkdtemp(prefix="wmi2-jobcost-"))
    data_dir = use_sandbox(directory)
    # Imported once the environment names this run's sandbox, Redis and database.
    from services.cli.redis_server import redis_command, wait_for_redis
    from services.common.db import init_db
    from services.common.events import Publisher
    from services.common.settings import get_settings
    from services.worker import readmodel
    from services.worker.context import context
    from services.worker.hostlock import host_lock
    from services.worker.sandbox import init_sandbox
    from services.worker.watcher import Watcher

    settings = get_settings()
    redis_proc = subprocess.Popen(redis_command(data_dir, settings.redis_socket), stdout=subprocess.DEVNULL)
    watcher = None
    try:
        wait_for_redis(settings.resolved_redis_url, redis_proc)
        init_sandbox(settings.resolved_sysroot)
        seed(settings.resolved_sysroot, args.existing)
        init_db(settings.resolved_database_url)
        ctx = context()
        with host_lock(ctx.client, settings.host_name):
            readmodel.refresh(ctx.client, ctx.publisher, settings.host_name, settings.resolved_sysroot)
        if not args.no_watch:
            publisher = Publisher(ctx.client, settings.event_log_max)
            watcher = Watcher(
                ctx.client,
                publisher,
                settings.host_name,
                settings.resolved_sysroot,
                settings.watch_debounce_ms,
            )
            watcher.start()
            watcher.ready.wait(10)
        elapsed = run_jobs(instrument(), args.jobs)
    finally:
        if watcher is not None:
            watcher.stop()
        redis_proc.terminate()
        redis_proc.wait(10)
        shutil.rmtree(directory, ignore_errors=True)
    print_table(args, elapsed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
