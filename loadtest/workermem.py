"""Where one worker process's memory goes on a host of N accounts, step by step.

    python -m loadtest.workermem --accounts 30000 [--trace]

In this process, without Celery: a sandbox seeded with ``--accounts`` users
(``loadtest.scale``'s seeding), a private redis-server, then the worker's own code: its
first read of the host, five single creations each followed by its re-read, one change set
of ``--set`` creations and its re-read, five more. After each step, the process's RSS and
USS (psutil, after a garbage collection). With ``--trace``, tracemalloc follows the
allocations from the first read on and the largest places still holding memory are listed
at the end (tracemalloc costs memory of its own: RSS is then higher).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import subprocess
import tempfile
import tracemalloc
from pathlib import Path

import psutil

from loadtest.scale import seed

HASH = "$6$saltsalt$" + "x" * 86
HOST = "memhost"


def show(what: str) -> None:
    gc.collect()
    info = psutil.Process().memory_full_info()
    print(f"{what:45} RSS {info.rss / 2**20:7.1f} MB   USS {info.uss / 2**20:7.1f} MB", flush=True)


def use_sandbox(directory: Path) -> tuple[Path, Path]:
    data, sysroot = directory / "var", directory / "sysroot"
    data.mkdir()
    os.environ.update(WMI_DATA_DIR=str(data), WMI_SYSROOT=str(sysroot), WMI_HOST_NAME=HOST,
                      WMI_REDIS_URL=f"unix://{data / 'redis.sock'}",
                      WMI_DATABASE_URL=f"sqlite:///{data / 'wmi2.db'}")  # fmt: skip
    return data, sysroot


def steps(data: Path, sysroot: Path, set_size: int, trace: bool) -> None:
    """The worker's own steps, each followed by its memory."""
    # Imported once the environment names this run's sandbox, Redis and database.
    from services.common.actions import Action, UserCreate
    from services.worker import changeset, readmodel
    from services.worker.context import context
    from services.worker.hostlock import host_lock

    show("the worker's modules imported")
    ctx = context()
    if trace:
        tracemalloc.start()
    with host_lock(ctx.client, HOST):
        readmodel.refresh(ctx.client, ctx.publisher, HOST, sysroot)
    show("after the first read")
    host = changeset.Host(HOST, sysroot, data / "archives")

    def create(job: str, login: str) -> changeset.Item:
        return changeset.Item(job, Action.USER_CREATE, UserCreate(login=login, password_hash=HASH))

    for i in range(5):
        changeset.apply(host, [create(f"one{i}", f"one{i}")])
        readmodel.refresh(ctx.client, ctx.publisher, HOST, sysroot)
    show("after 5 single creations, each re-read")
    applied = changeset.apply(host, [create(f"set{i}", f"set{i:05d}") for i in range(set_size)])
    refused = sum(1 for o in applied.outcomes if o.error)
    show(f"after a set of {set_size} creations ({refused} refused)")
    readmodel.refresh(ctx.client, ctx.publisher, HOST, sysroot)
    show("after its re-read")
    for i in range(5):
        changeset.apply(host, [create(f"two{i}", f"two{i}")])
        readmodel.refresh(ctx.client, ctx.publisher, HOST, sysroot)
    show("after 5 more")
    if trace:
        for stat in tracemalloc.take_snapshot().statistics("lineno")[:15]:
            print(stat)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.workermem", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--accounts", type=int, default=30_000)
    parser.add_argument("--set", type=int, default=1000, dest="set_size", help="creations of the one big set")
    parser.add_argument("--trace", action="store_true", help="tracemalloc: where the memory is held")
    args = parser.parse_args(argv)
    directory = Path(tempfile.mkdtemp(prefix="wmi2-workermem-"))
    data, sysroot = use_sandbox(directory)
    from services.cli.redis_server import redis_command, wait_for_redis
    from services.common.db import init_db
    from services.common.settings import get_settings

    settings = get_settings()
    seed(sysroot, args.accounts)
    show(f"seeded with {args.accounts:,} accounts")
    redis_proc = subprocess.Popen(redis_command(data, settings.redis_socket), stdout=subprocess.DEVNULL)
    try:
        wait_for_redis(settings.resolved_redis_url, redis_proc)
        init_db(settings.resolved_database_url)
        steps(data, sysroot, args.set_size, args.trace)
    finally:
        redis_proc.terminate()
        redis_proc.wait(10)
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
