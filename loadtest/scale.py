"""WMI2 on a host holding many accounts: issue 11's table, measured on fresh sandboxes.

    python -m loadtest.scale --accounts 1000 30000            # one run, about 5 minutes
    python -m loadtest.scale --accounts 1000 30000 --runs 3 --json scale.json
    python -m loadtest.scale --accounts 100000 --max-creations 5
    WMI_BENCH_ROOT=/path/to/old/checkout python -m loadtest.scale --accounts 1000 30000

For each size, a fresh ``wmi2 up`` (``loadtest.stack.Up``: a temporary data dir, 127.0.0.1
only) whose sandbox root is made and **seeded before any service starts**: the size's
accounts are written straight into ``etc/passwd``, ``shadow``, ``group`` and ``gshadow``
(a fixture, not a measure: 30,000 accounts take well under a second). Each seeded user
``u000000``… has a private group with gid = uid (from 1000), a SHA-512-shaped hash in
``shadow`` and its ``gshadow`` line; ``pwck -r``/``grpck -r`` accept the files, but the
seeded homes are **not** made (pwck names each missing home; WMI2 never looks at them). A
size whose uids would pass login.defs' ``UID_MAX`` (60,000) gets ``UID_MAX``/``GID_MAX``
raised in the sandbox's login.defs, so that every seeded user is a regular account.

On that stack, once the worker's read model holds every seeded account, in this order:

- **single creations**: ``--singles`` POSTs to ``/api/v1/users``, one at a time, each
  timed from the POST to its ``user.created`` on an open event stream (p50);
- **external changes**: ``useradd --prefix SANDBOX`` run by this script, timed from the
  tool's exit to the ``user.created`` with ``external: true`` on the stream (p50; also
  from the tool's start: a watcher may announce the account before ``useradd`` has
  exited, which makes the first figure negative; the tool's own time is in the JSON);
- **reads**: ``GET /users/`` and ``GET /users/?q=LOGIN`` (the users page and a filter),
  ``GET /`` (the dashboard) and ``GET /api/v1/users`` (a list, or a paginated envelope
  ``{total, limit, offset, items}``): p50 of ``--requests`` each, and the answer's size;
- **a batch**: ``--batch`` creations (1,000) POSTed as fast as ``--in-flight`` allows,
  from the first ``job.running`` to the last ``job.succeeded`` (the events' stream ids:
  Redis's clock). When the singles say it would take longer than ``--batch-budget``
  seconds, only ``--max-creations`` are made and the time is **extrapolated** to the
  batch (said so in the table);
- **the worker's memory**: the RSS of the worker's whole process tree (Celery's main
  process and its pool), summed (psutil).

At the first size only, two more fresh stacks, so that each starts at that size: the paced
run (``--rate`` creations/s for ``--seconds``: POST → ``user.created``, p50 and p99) and
the flood (``--flood`` POSTs, ``--in-flight`` at a time: creations per second), the same
runs as ``python -m loadtest.bench --tools pipeline`` (``loadtest.pipeline``).

The table gives, for each measure, the median of the runs and their range, the issue's
"today" figure and target, and whether the target is met: figures only, nothing is
asserted. ``--json FILE`` writes every figure of every run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil

from loadtest import pipeline
from loadtest.pipeline import Result, Watch, follow, percentile
from loadtest.stack import ADMIN, ADMIN_PASSWORD, HOST_NAME, ROOT, Up

# Seeded accounts: u000000, u000001, … with uid = gid = FIRST_ID + i.
FIRST_ID = 1000
SEED_HASH = "$6$scaleseed$" + "x" * 86
DEFAULT_ID_MAX = 60000
TOOLS_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# How long the worker may take to read a seeded host before the size counts as unusable.
READY_TIMEOUT = 900.0
EVENT_TIMEOUT = 600.0
STEP_TIMEOUT = 1800.0


# --- seeding -------------------------------------------------------------------------------


def seeded_login(i: int) -> str:
    return f"u{i:06d}"


def seed_lines(count: int) -> dict[str, list[str]]:
    """The four files' lines of ``count`` users, each with its private group."""
    files: dict[str, list[str]] = {"passwd": [], "shadow": [], "group": [], "gshadow": []}
    for i in range(count):
        login, number = seeded_login(i), FIRST_ID + i
        files["passwd"].append(f"{login}:x:{number}:{number}:Seed {i}:/home/{login}:/bin/bash\n")
        files["shadow"].append(f"{login}:{SEED_HASH}:20000:0:99999:7:::\n")
        files["group"].append(f"{login}:x:{number}:\n")
        files["gshadow"].append(f"{login}:!::\n")
    return files


def make_sandbox(sysroot: Path) -> None:
    """An empty sandbox root, made by the checkout under test (``WMI_BENCH_ROOT``)."""
    code = "import sys, pathlib; from services.worker.sandbox import init_sandbox; "
    code += "init_sandbox(pathlib.Path(sys.argv[1]))"
    subprocess.run([sys.executable, "-c", code, str(sysroot)], cwd=ROOT, check=True)


def widen_id_ranges(etc: Path, last_id: int) -> None:
    """Raise login.defs' UID_MAX and GID_MAX when the seeded ids would pass them."""
    if last_id < DEFAULT_ID_MAX:
        return
    ceiling = (last_id // 100_000 + 2) * 100_000
    defs = etc / "login.defs"
    text = re.sub(r"(?m)^(UID_MAX|GID_MAX)\s+\d+$", rf"\g<1> {ceiling}", defs.read_text())
    defs.write_text(text)


def seed(sysroot: Path, count: int) -> float:
    """Make the sandbox and append ``count`` accounts to its files; the seconds it took."""
    started = time.perf_counter()
    make_sandbox(sysroot)
    etc = sysroot / "etc"
    for name, lines in seed_lines(count).items():
        with (etc / name).open("a") as f:
            f.writelines(lines)
    widen_id_ranges(etc, FIRST_ID + count)
    return time.perf_counter() - started


# --- a seeded stack ------------------------------------------------------------------------


@dataclass
class Stack:
    up: Up
    sysroot: Path
    accounts: int
    seed_s: float
    start_s: float = 0.0


@contextlib.contextmanager
def seeded_stack(accounts: int, parent: str | None, keep: bool) -> Iterator[Stack]:
    """A fresh ``wmi2 up`` whose sandbox held ``accounts`` users before the worker started."""
    up = Up(keep=keep, parent=parent)
    sysroot = up.data_dir / "sysroot"
    sysroot.parent.mkdir(parents=True, exist_ok=True)
    stack = Stack(up, sysroot, accounts, seed(sysroot, accounts))
    started = time.perf_counter()
    try:
        up.start(timeout=300)
        stack.start_s = time.perf_counter() - started
        log(
            f"  wmi2 up on {accounts:,} accounts: seeded in {stack.seed_s:.2f} s, up in {stack.start_s:.1f} s"
        )
        yield stack
    finally:
        started = time.perf_counter()
        up.stop()
        log(f"  stopped in {time.perf_counter() - started:.1f} s")


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def worker_processes(up: Up) -> list[psutil.Process]:
    """Celery's main process and everything under it (its pool, any running tool)."""
    found: dict[int, psutil.Process] = {}
    for proc in up.processes():
        with contextlib.suppress(psutil.Error):
            if "services.worker.app" in " ".join(proc.cmdline()):
                found[proc.pid] = proc
                found.update((child.pid, child) for child in proc.children(recursive=True))
    return list(found.values())


def worker_memory(up: Up) -> dict[str, Any]:
    """Summed over the tree: RSS (counting twice the pages the pool shares with the main
    process it was forked from), PSS (each shared page split among its sharers: what the
    tree really holds) and USS (only the pages one process holds alone)."""
    rss, pss, uss = 0, 0, 0
    processes = worker_processes(up)
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            info = proc.memory_full_info()
            rss, pss, uss = rss + info.rss, pss + info.pss, uss + info.uss
    return {
        "processes": len(processes),
        "rss_mb": round(rss / 2**20, 1),
        "pss_mb": round(pss / 2**20, 1),
        "uss_mb": round(uss / 2**20, 1),
    }


# --- measures through the API and the event stream ---------------------------------------


def summary_ms(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50), 1),
        "min_ms": round(min(values), 1) if values else None,
        "max_ms": round(max(values), 1) if values else None,
    }


class ExternalWatch(Watch):
    """Which of the expected logins the stream announced as made outside WMI2, and when."""

    def on_event(self, kind: str, data: bytes, now: float, event_id: str = "") -> None:
        self.events += 1
        if kind != "user.created":
            return
        event: dict[str, Any] = orjson.loads(data)
        body = event.get("data") or {}
        if body.get("login") in self.sent and body.get("external") is True:
            self.created.setdefault(body["login"], now)
            self.changed.set()


async def wait_until(watch: Watch, done: Callable[[], bool], timeout: float = EVENT_TIMEOUT) -> bool:
    deadline = time.perf_counter() + timeout
    while not done() and time.perf_counter() < deadline:
        watch.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(watch.changed.wait(), 1.0)
    return done()


class ScalePipeline(pipeline.Pipeline):
    """``loadtest.pipeline``'s session, with one-at-a-time creations, a batch and outside changes."""

    async def one_at_a_time(self, count: int) -> Result:
        """``count`` creations, each POSTed once the previous one's ``user.created`` arrived."""

        async def posts(watch: Watch, result: Result) -> None:
            for _ in range(count):
                before = set(watch.sent)
                await self._create(watch, result)
                new = set(watch.sent) - before
                await wait_until(watch, functools.partial(_arrived, watch, new))

        return await self._measure(posts)

    async def batch(self, count: int, in_flight: int, settle: float) -> dict[str, Any]:
        """``count`` creations POSTed at once: first ``job.running`` → last ``job.succeeded``."""
        seen: dict[str, Watch] = {}

        async def posts(watch: Watch, result: Result) -> None:
            seen["watch"] = watch
            remaining = count

            async def poster() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    await self._create(watch, result)

            await asyncio.gather(*(poster() for _ in range(in_flight)))
            await wait_until(watch, lambda: _finished(watch) >= len(watch.sent), settle)

        result = await self._measure(posts)
        return {**_window(seen["watch"]), **_counts(result)}

    async def external(self, sysroot: Path, count: int) -> dict[str, Any]:
        """``useradd --prefix SANDBOX`` ``count`` times: the tool's exit → its external event."""
        watch = ExternalWatch()
        reader = asyncio.create_task(follow(self.sse, watch))
        tool, seen, since_start = [], [], []
        try:
            await asyncio.wait_for(watch.connected.wait(), 30)
            for i in range(count):
                login = f"x{self.run_id}{i:04d}"
                watch.sent[login] = time.perf_counter()
                started, ended = await asyncio.to_thread(run_useradd, sysroot, login)
                tool.append((ended - started) * 1000)
                if await wait_until(watch, functools.partial(_arrived, watch, {login})):
                    seen.append((watch.created[login] - ended) * 1000)
                    since_start.append((watch.created[login] - started) * 1000)
                await asyncio.sleep(0.3)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await reader
        return {"useradd": summary_ms(tool), "visible": summary_ms(seen),
                "visible_from_start": summary_ms(since_start), "lost": count - len(seen)}  # fmt: skip


def _arrived(watch: Watch, logins: set[str]) -> bool:
    """Every one of ``logins`` created (or its job failed) on the stream."""
    return all(login in watch.created or login in watch.failed for login in logins)


def _finished(watch: Watch) -> int:
    return sum(1 for m in watch.moments.values() if "job.succeeded" in m or "job.failed" in m)


def _window(watch: Watch) -> dict[str, Any]:
    running = [m["job.running"] for m in watch.moments.values() if "job.running" in m]
    ended = [m.get("job.succeeded", m.get("job.failed", 0.0)) for m in watch.moments.values()]
    ended = [t for t in ended if t]
    seconds = (max(ended) - min(running)) / 1000 if running and ended else float("nan")
    return {"running_to_succeeded_s": round(seconds, 3), "jobs_seen": len(ended)}


def _counts(result: Result) -> dict[str, Any]:
    keys = ("sent", "errors", "created", "failed", "lost", "error_samples")
    return {k: v for k, v in result.summary().items() if k in keys}


def run_useradd(sysroot: Path, login: str) -> tuple[float, float]:
    useradd = shutil.which("useradd", path=TOOLS_PATH) or "useradd"
    argv = [useradd, "--prefix", str(sysroot), "-c", "Made outside", "--", login]
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env={"PATH": TOOLS_PATH})
    return started, time.perf_counter()


async def wait_for_model(client: httpx.AsyncClient, accounts: int, timeout: float) -> float:
    """Seconds until the host is online with every seeded account in its read model."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            answer = await client.get(f"/api/v1/hosts/{HOST_NAME}")
            host = answer.json() if answer.status_code == 200 else {}
            if host.get("online") and host.get("users", 0) >= accounts:
                return time.perf_counter() - started
        await asyncio.sleep(0.25)
    raise TimeoutError(f"the read model did not hold {accounts} accounts within {timeout:.0f} s")


async def timed_get(client: httpx.AsyncClient, path: str, times: int) -> dict[str, Any]:
    """``times`` GETs of ``path``, one after another: p50 and the answer's size."""
    spent, size, status, body = [], 0, 0, b""
    for _ in range(times):
        started = time.perf_counter()
        answer = await client.get(path, timeout=120)
        spent.append((time.perf_counter() - started) * 1000)
        size, status, body = len(answer.content), answer.status_code, answer.content
    return {"path": path, "status": status, "kb": round(size / 1024, 1), **summary_ms(spent), "body": body}


def users_answer(body: bytes) -> dict[str, Any]:
    """What ``GET /api/v1/users`` gave: a plain list, or an envelope with a total."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {"shape": "unreadable", "items": 0, "total": None}
    if isinstance(parsed, dict):
        return {"shape": "envelope", "items": len(parsed.get("items") or []), "total": parsed.get("total")}
    return {"shape": "list", "items": len(parsed), "total": None}


async def reads(client: httpx.AsyncClient, accounts: int, times: int) -> dict[str, Any]:
    found = {
        "users_page": await timed_get(client, "/users/", times),
        "users_filter": await timed_get(client, f"/users/?q={seeded_login(accounts // 2)}", times),
        "dashboard": await timed_get(client, "/", times),
        "api_users": await timed_get(client, "/api/v1/users", max(1, min(times, 5))),
    }
    found["api_users"].update(users_answer(found["api_users"]["body"]))
    for figures in found.values():
        del figures["body"]
    return found


# --- one stack, step by step ---------------------------------------------------------------


async def step(figures: dict[str, Any], name: str, work: Awaitable[Any]) -> None:
    """Run one measure; a failure or a timeout is recorded instead of ending the run."""
    started = time.perf_counter()
    try:
        figures[name] = await asyncio.wait_for(work, STEP_TIMEOUT)
    except Exception as exc:  # a size where WMI2 breaks down is a finding
        figures[name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    log(f"  {name}: {time.perf_counter() - started:.1f} s")


def batch_size(args: argparse.Namespace, singles: dict[str, Any]) -> int:
    """The whole batch, unless one-at-a-time creations say it would pass the budget."""
    p50 = float((singles.get("latency") or {}).get("p50_ms") or 0.0)
    whole: int = args.batch
    if p50 != p50 or p50 * whole / 1000 > args.batch_budget:  # NaN: nothing was seen
        return min(whole, int(args.max_creations))
    return whole


async def measure_scale(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    """Every per-size measure on one seeded stack (see the module's docstring)."""
    figures: dict[str, Any] = {"accounts": stack.accounts, "seed_s": round(stack.seed_s, 2)}
    figures["start_s"] = round(stack.start_s, 1)
    load = round(os.getloadavg()[0], 1)
    session = ScalePipeline(stack.up.url, ADMIN, ADMIN_PASSWORD, args.in_flight + 4)
    async with session:
        ready = wait_for_model(session.api, stack.accounts, READY_TIMEOUT)
        await step(figures, "model_ready_s", ready)
        if isinstance(figures["model_ready_s"], dict):
            return figures
        figures["worker_after_start"] = worker_memory(stack.up)
        await step(figures, "warm_up", warm_up(session))
        await step(figures, "singles", _singles(session, args.singles))
        await step(figures, "external", session.external(stack.sysroot, args.externals))
        await step(figures, "reads", reads(session.api, stack.accounts, args.requests))
        count = batch_size(args, figures["singles"])
        await step(figures, "batch", _batch(session, count, args))
        figures["worker"] = worker_memory(stack.up)
    figures["load"] = [load, round(os.getloadavg()[0], 1)]
    return figures


async def warm_up(session: ScalePipeline) -> dict[str, Any]:
    """One creation and one GET of each page, unmeasured: no figure pays for a cold start."""
    result = await session.one_at_a_time(1)
    for path in ("/users/", "/", "/api/v1/users?limit=1"):
        await session.api.get(path, timeout=120)
    return _counts(result)


async def _singles(session: ScalePipeline, count: int) -> dict[str, Any]:
    result = await session.one_at_a_time(count)
    return {"latency": summary_ms(result.created_ms), "spans_p50_ms": result.summary()["spans_p50_ms"],
            **_counts(result)}  # fmt: skip


async def _batch(session: ScalePipeline, count: int, args: argparse.Namespace) -> dict[str, Any]:
    figures = await session.batch(count, args.in_flight, max(pipeline.SETTLE, 2 * args.batch_budget))
    figures.update(measured=count, of=args.batch)
    figures["batch_s"] = batch_seconds(figures)
    figures["extrapolated"] = figures["jobs_seen"] < args.batch
    return figures


def batch_seconds(figures: dict[str, Any]) -> float | None:
    """The batch's time: measured, or the jobs seen (back to back) times the batch's size."""
    window, jobs = figures.get("running_to_succeeded_s"), figures.get("jobs_seen") or 0
    if not isinstance(window, int | float) or window != window or not jobs:
        return None
    return round(window if jobs >= figures["of"] else window / jobs * figures["of"], 3)


async def measure_throughput(stack: Stack, args: argparse.Namespace, kind: str) -> dict[str, Any]:
    """The paced run or the flood (``loadtest.pipeline``) on a fresh seeded stack."""
    figures: dict[str, Any] = {"accounts": stack.accounts}
    load = round(os.getloadavg()[0], 1)
    session = ScalePipeline(stack.up.url, ADMIN, ADMIN_PASSWORD, max(args.in_flight, 32))
    async with session:
        await step(figures, "model_ready_s", wait_for_model(session.api, stack.accounts, READY_TIMEOUT))
        await step(figures, "warm_up", warm_up(session))
        if kind == "paced":
            result = await session.at_rate(args.rate, args.seconds)
        else:
            result = await session.flood(args.flood, args.in_flight)
    summary = {**figures, **result.summary(), "in_flight": args.in_flight}
    return {**summary, "load": [load, round(os.getloadavg()[0], 1)]}


def one_size(accounts: int, args: argparse.Namespace, first: bool) -> dict[str, Any]:
    log(f"scale: {accounts:,} accounts")
    with seeded_stack(accounts, args.data_parent, args.keep) as stack:
        figures = asyncio.run(measure_scale(stack, args))
    if first:
        for kind in ("paced", "flood"):
            if (kind == "paced" and args.rate > 0) or (kind == "flood" and args.flood > 0):
                with seeded_stack(accounts, args.data_parent, args.keep) as stack:
                    figures[kind] = asyncio.run(measure_throughput(stack, args, kind))
    return figures


# --- the table -----------------------------------------------------------------------------


def _get(run: dict[str, Any], *path: str) -> Any:
    value: Any = run
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


Value = Callable[[dict[str, Any], int, int], Any]  # (run, size, first size) -> the figure
Check = Callable[[float, int], bool]  # (median, size) -> target met


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    today: str
    target: str
    unit: str
    value: Value
    met: Check | None = None  # None: a figure for understanding, without a target
    at: str = "each"  # "each" size, or the "first" size only (the throughput stacks)


def _at(*path: str) -> Value:
    return lambda run, size, _first: _get(run, str(size), *path)


def _batch_row(run: dict[str, Any], size: int, _first: int) -> float | None:
    figures = _get(run, str(size), "batch")
    return batch_seconds(figures) if isinstance(figures, dict) and "of" in figures else None


def _ratio(run: dict[str, Any], size: int, first: int) -> float | None:
    here = _get(run, str(size), "singles", "latency", "p50_ms")
    base = _get(run, str(first), "singles", "latency", "p50_ms")
    return here / base if here and base else None


def _startup(run: dict[str, Any], size: int, _first: int) -> float | None:
    up, ready = _get(run, str(size), "start_s"), _get(run, str(size), "model_ready_s")
    return up + ready if isinstance(up, float) and isinstance(ready, float) else None


def _at_most(limit: float) -> Check:
    return lambda value, _size: value <= limit


ROWS = [
    Row("flood", "creations/s sustained (flood)", "31/s", ">= 150/s", "/s",
        _at("flood", "created_per_s"), lambda v, _s: v >= 150, "first"),
    Row("paced50", "POST -> user.created at 20/s, p50", "28.4 ms", "<= 20 ms", "ms",
        _at("paced", "created_p50_ms"), _at_most(20), "first"),
    Row("paced99", "POST -> user.created at 20/s, p99", "-", "<= 60 ms", "ms",
        _at("paced", "created_p99_ms"), _at_most(60), "first"),
    Row("batch", "1,000 creations: first running -> last succeeded", "32 s @1k, 45 min @30k",
        "<= 1 s @1k, <= 3 s @30k", "s", _batch_row, lambda v, s: v <= (1 if s <= 1000 else 3)),
    Row("single", "one creation, POST -> user.created, p50", "2,700 ms @30k", "<= 100 ms", "ms",
        _at("singles", "latency", "p50_ms"), _at_most(100)),
    Row("ratio", "cost of one creation / at the first size", "~90 @30k", "<= 4", "x", _ratio, _at_most(4)),
    Row("external", "external useradd's exit -> user.created, p50", "569 ms @30k", "<= 250 ms", "ms",
        _at("external", "visible", "p50_ms"), _at_most(250)),
    Row("external0", "(the same from the useradd's start)", "-", "-", "ms",
        _at("external", "visible_from_start", "p50_ms")),
    Row("page", "users page GET /users/, p50", "146 ms @30k", "<= 60 ms", "ms",
        _at("reads", "users_page", "p50_ms"), _at_most(60)),
    Row("filter", "users filter GET /users/?q=, p50", "146 ms @30k", "<= 60 ms", "ms",
        _at("reads", "users_filter", "p50_ms"), _at_most(60)),
    Row("dashboard", "dashboard HTML", "604 KB @30k", "<= 40 KB", "KB",
        _at("reads", "dashboard", "kb"), _at_most(40)),
    Row("api", "GET /api/v1/users default answer", "6.7 MB @30k", "<= 200 KB + total", "KB",
        _at("reads", "api_users", "kb"), _at_most(200)),
    Row("rss", "worker RSS, whole tree, after the run", "-", "<= 250 MB", "MB",
        _at("worker", "rss_mb"), _at_most(250)),
    Row("pss", "(the same, PSS: each shared page counted once)", "-", "-", "MB",
        _at("worker", "pss_mb")),
    Row("uss", "(the same, USS: without the pages its processes share)", "-", "-", "MB",
        _at("worker", "uss_mb")),
    Row("ready", "(startup: wmi2 up serving, the model read)", "-", "-", "s", _startup),
]  # fmt: skip


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and value == value else None


def _cell(values: list[float], unit: str) -> str:
    median = statistics.median(values)
    digits = 0 if median >= 100 else 1 if median >= 1 else 3
    text = f"{median:,.{digits}f} {unit}"
    if len(values) > 1:
        text += f" ({min(values):,.{digits}f}-{max(values):,.{digits}f})"
    return text


def _met(row: Row, median: float, runs: list[dict[str, Any]], size: int) -> str:
    if row.met is None:
        return "-"
    ok = row.met(median, size)
    if row.key == "api":  # a total must come with the answer
        ok = ok and all(_get(r, str(size), "reads", "api_users", "total") is not None for r in runs)
    return "yes" if ok else "no"


def _note(row: Row, runs: list[dict[str, Any]], size: int) -> str:
    if row.key == "batch":
        batches = [
            b for b in (_get(r, str(size), "batch") for r in runs) if isinstance(b, dict) and "of" in b
        ]
        made = [b.get("jobs_seen", 0) for b in batches]
        refused = sum(b.get("errors", 0) for b in batches)
        text = f"made {', '.join(map(str, made))} of {batches[0]['of']}" if batches else ""
        text += f", {refused} POSTs refused" if refused else ""
        return (
            f"  [{text}]" if any(m < b["of"] for m, b in zip(made, batches, strict=True)) or refused else ""
        )
    if row.key == "flood":
        flood = _get(runs[0], str(size), "flood") or {}
        return f"  [{flood.get('sent')} POSTs, {flood.get('in_flight')} in flight]"
    if row.key == "api":
        answer = _get(runs[0], str(size), "reads", "api_users") or {}
        return f"  [{answer.get('shape')}, total {answer.get('total')}]"
    return ""


def _errors(runs: list[dict[str, Any]], size: int) -> str:
    steps = ("model_ready_s", "singles", "external", "reads", "batch")
    found = {str(_get(r, str(size), k, "error")) for r in runs for k in steps} - {"None"}
    return "; ".join(sorted(found))[:60] or "-"


def _shown(row: Row, size: int, sizes: list[int]) -> bool:
    if row.at == "first":
        return size == sizes[0]
    return not (row.key == "ratio" and size == sizes[0])


def table_rows(runs: list[dict[str, Any]], sizes: list[int]) -> list[list[str]]:
    rows = []
    for size in sizes:
        for row in (r for r in ROWS if _shown(r, size, sizes)):
            values = [v for v in (_number(row.value(r, size, sizes[0])) for r in runs) if v is not None]
            if not values:
                rows.append([f"{size:,}", row.label, "-", row.today, row.target, _errors(runs, size)])
                continue
            measured = _cell(values, row.unit) + _note(row, runs, size)
            met = _met(row, statistics.median(values), runs, size)
            rows.append([f"{size:,}", row.label, measured, row.today, row.target, met])
    return rows


def table(runs: list[dict[str, Any]], sizes: list[int]) -> str:
    header = ["accounts", "measure", f"measured (median of {len(runs)}, range)", "today", "target", "met"]
    rows = [header, *table_rows(runs, sizes)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def spans(runs: list[dict[str, Any]], sizes: list[int]) -> str:
    """Where a single creation's time goes (``loadtest.pipeline.SPANS``), and the machine's load."""
    lines = ["one creation, p50 per span (ms; run by run): " + ", ".join(n for n, _, _ in pipeline.SPANS)]
    for size in sizes:
        for run in runs:
            found = _get(run, str(size), "singles", "spans_p50_ms") or {}
            load = _get(run, str(size), "load")
            text = "  ".join(f"{k} {v:g}" for k, v in found.items())
            lines.append(f"  {size:>7,}  {text}  (load average {load})")
    return "\n".join(lines)


# --- the command ---------------------------------------------------------------------------


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtest.scale", description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--accounts", type=int, nargs="+", default=[1000, 30000], help="the sizes, smallest first")
    add("--runs", type=int, default=1, help="runs of every size, alternated (medians)")
    add("--singles", type=int, default=10, help="one-at-a-time creations per size")
    add("--externals", type=int, default=5, help="useradd runs behind WMI2's back per size")
    add("--requests", type=int, default=10, help="GETs of each page per size")
    add("--batch", type=int, default=1000, help="creations POSTed at once")
    add("--max-creations", type=int, default=20, help="creations made when the batch would pass the budget")
    add("--batch-budget", type=float, default=600.0, help="seconds the whole batch may take (estimated)")
    add("--in-flight", type=int, default=16, help="POSTs in flight in the batch and the flood")
    add("--flood", type=int, default=600, help="creations of the flood at the first size (0: none)")
    add("--rate", type=float, default=20.0, help="creations/s of the paced run at the first size (0: none)")
    add("--seconds", type=float, default=15.0, help="length of the paced run")
    add("--data-parent", default=None, help="where the data dirs go (default: the temp dir, on disk)")
    add("--keep", action="store_true", help="keep the temporary data dirs")
    add("--json", type=Path, default=None, help="write every figure to this file")
    add("--from-json", type=Path, nargs="+", default=None, help="only print the table of these --json files")
    args = parser.parse_args(argv)
    args.accounts = sorted(args.accounts)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.from_json:
        return reprint(args.from_json)
    # A stop (timeout, Ctrl-C) still stops the WMI2 started here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    runs: list[dict[str, Any]] = []
    for number in range(args.runs):
        log(f"scale: run {number + 1} of {args.runs} ({ROOT})")
        first = args.accounts[0]
        runs.append({str(size): one_size(size, args, size == first) for size in args.accounts})
        if args.json:
            args.json.write_text(orjson.dumps({"root": str(ROOT), "argv": sys.argv, "runs": runs}).decode())
    show(str(ROOT), runs, args.accounts)
    return 0


def show(root: str, runs: list[dict[str, Any]], sizes: list[int]) -> None:
    print(f"WMI2 at {root}, {len(runs)} run(s)\n" + table(runs, sizes), flush=True)
    print("\n" + spans(runs, sizes), flush=True)


def reprint(files: list[Path]) -> int:
    """The table of runs written earlier by ``--json`` (several files: their runs together)."""
    saved = [orjson.loads(path.read_bytes()) for path in files]
    runs = [run for one in saved for run in one["runs"]]
    sizes = sorted({int(size) for run in runs for size in run})
    show(", ".join(sorted({one["root"] for one in saved})), runs, sizes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
