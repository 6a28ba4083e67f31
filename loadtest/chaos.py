"""Faults under load: a steady stream of changes while each component of ``wmi2 up`` is killed in turn.

    python -m loadtest.chaos                          # 10 minutes, a fault every 20 s
    python -m loadtest.chaos --minutes 2 --every 20 --keep   # shorter; keep the data dir and logs
    python -m loadtest.chaos --dry                    # print the plan, start nothing

It starts a fresh ``wmi2 up`` on a sandbox (``loadtest.stack``: a temporary data dir,
127.0.0.1 only; ``WMI_SYSROOT`` is never passed on, so no real account file is touched), and:

- **load**: an admin logged in through the JSON API (TLS to 127.0.0.1, cookie +
  X-CSRF-Token) creates users with fresh logins, changes the full name of users it made
  and deletes them, ``--rate`` changes a second in all (open loop, at most ``IN_FLIGHT``
  requests at once), one change at a time per login;
- **readers**: ``--clients`` SSE clients on ``/events``, each reconnecting with
  ``Last-Event-ID`` whenever its stream drops (and of its own accord every 20-60 s);
- **the event log**: ``wmi:events`` read all along through ``wmi2 up``'s Redis unix
  socket (the log is bounded: what a client should have received is checked against
  this copy);
- **faults**, one every ``--every`` seconds for ``--minutes``, in turn: the Celery pool
  process (SIGKILL while a tool runs, when one does within 3 s), Celery's main process
  (the same), the web server's main process, one of its workers, Redis (SIGKILL), and
  Redis frozen (SIGSTOP for ``--stop-seconds``, then SIGCONT). After each, a probe
  creates a user until one succeeds end to end (POST → job succeeded, polled): the
  **recovery time**, from the end of the fault (the kill; the SIGCONT). The next fault
  waits for that recovery (at most ``PROBE_LIMIT`` s).

Then the load stops, every accepted job is given ``--drain`` seconds to end, and it checks:

- **jobs** (the database, read-only): accepted (202) = succeeded + failed + lost, where
  *lost* is a job still queued or running; a *false failure* is a failed job whose change
  is on the host anyway, or whose error is "failed unexpectedly" / "already exists" /
  "does not exist" for a login only this run used; honest failures are the rest.
  Requests answered 503, 409 "offline" or not at all are *refused during faults* (not
  accepted); any other answer is counted apart, and must not happen;
- **user events**: every ``user.created``/``updated``/``deleted`` of the run's logins in
  the log carries the job that made it, once; a succeeded job has its event;
- **final events**: each accepted job has exactly one ``job.succeeded``/``job.failed``;
- **readers**: each client received every logged event after the id it started from,
  once, in order (no ``stream.gap``);
- **the host**: each login is as its succeeded jobs left it; ``pwck -r`` and ``grpck -r``
  are clean on the sandbox; ``wmi2 up`` still runs and a last change succeeds.

It prints the counts and the recovery times (min / median / max by fault), writes them
all with ``--json FILE``, and exits 1 if a count that must be 0 is not. Recovery times
are printed, never judged: they depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import re
import secrets
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import redis.asyncio as aioredis

from loadtest.stack import ADMIN, ADMIN_PASSWORD, Up
from services.common import keys

FAULTS = ("pool", "celery", "web", "web-worker", "redis-kill", "redis-stop")
DESCRIBED = {
    "pool": "Celery pool process, SIGKILL (mid-job when a tool runs within 3 s)",
    "celery": "Celery main process, SIGKILL (mid-job when a tool runs within 3 s)",
    "web": "web server's main process (granian), SIGKILL",
    "web-worker": "one web worker process, SIGKILL",
    "redis-kill": "redis-server, SIGKILL",
    "redis-stop": "redis-server, SIGSTOP then SIGCONT",
}
# Requests in flight at most; a change due while this many are out is not sent (counted).
IN_FLIGHT = 32
# Seconds a probe keeps trying for a change to succeed after a fault.
PROBE_LIMIT = 60.0
# Seconds one HTTP request may take.
REQUEST_TIMEOUT = 10.0
# What the load does, by weight: creations, full-name changes, deletions.
MIX = (("create", 0.45), ("edit", 0.35), ("delete", 0.20))
PASSWORD = "chaos-password-1"  # the sandbox users' password
USER_EVENTS = {"user.created": "user.create", "user.updated": "user.modify", "user.deleted": "user.delete"}
FALSE_ERRORS = re.compile(r"unexpectedly|already exists|does not exist", re.IGNORECASE)


def now() -> float:
    return time.monotonic()


# -- the admin's session ----------------------------------------------------------------


class Admin:
    """One admin session shared by the load and the readers; logs in again when it is lost."""

    def __init__(self, url: str) -> None:
        self.url = url
        limits = httpx.Limits(max_connections=IN_FLIGHT + 8, max_keepalive_connections=IN_FLIGHT + 8)
        self.client = httpx.AsyncClient(base_url=url, verify=False, limits=limits, timeout=REQUEST_TIMEOUT)
        self.csrf = ""
        self.cookie = ""
        self.logins = 0
        self._lock = asyncio.Lock()

    async def log_in(self, stale: str | None = None, limit: float = PROBE_LIMIT) -> None:
        """Log in (again, unless someone already did since ``stale`` was the cookie)."""
        async with self._lock:
            if stale is not None and self.cookie != stale:
                return
            deadline = now() + limit
            while True:
                try:
                    answer = await self.client.post(
                        "/api/v1/session", json={"login": ADMIN, "password": ADMIN_PASSWORD}
                    )
                    if answer.status_code == 200:
                        self.csrf = answer.json()["csrf_token"]
                        self.cookie = self.client.cookies.get("wmi_session") or ""
                        self.logins += 1
                        return
                except httpx.HTTPError:
                    pass
                if now() > deadline:
                    raise RuntimeError("could not log in")
                await asyncio.sleep(0.5)

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        """One request; a 401 (the session lost) logs in again and tries once more."""
        for attempt in range(2):
            cookie = self.cookie
            answer = await self.client.request(method, path, json=body, headers={"X-CSRF-Token": self.csrf})
            if answer.status_code != 401 or attempt:
                return answer
            await self.log_in(stale=cookie)
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        await self.client.aclose()


# -- the event log, as Redis keeps it ----------------------------------------------------


@dataclass
class LogCopy:
    """Every entry of ``wmi:events`` since the start, read as it grows (the log is bounded)."""

    ids: list[str] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    read_errors: int = 0

    async def follow(self, socket_path: Path, stop: asyncio.Event) -> None:
        client = aioredis.Redis(unix_socket_path=str(socket_path), socket_timeout=2.0)
        try:
            while not stop.is_set():
                try:
                    await self.catch_up(client)
                except (aioredis.RedisError, OSError):
                    self.read_errors += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)
        finally:
            await client.aclose()

    async def catch_up(self, client: aioredis.Redis) -> None:
        while True:
            start = f"({self.ids[-1]}" if self.ids else "-"
            entries = await client.xrange(keys.EVENT_STREAM, min=start, max="+", count=2000)
            for raw_id, fields in entries:
                event_id = raw_id.decode()
                self.ids.append(event_id)
                self.events[event_id] = orjson.loads(fields[b"d"])
            if len(entries) < 2000:
                return

    @property
    def last(self) -> str:
        return self.ids[-1] if self.ids else "0-0"


def id_key(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


# -- the readers -------------------------------------------------------------------------


@dataclass
class Reader:
    """One browser's event stream: reconnects with Last-Event-ID whenever it drops."""

    name: str
    start: str = ""  # the log id it started after
    received: list[str] = field(default_factory=list)
    last_id: str = ""
    connections: int = 0
    refused: int = 0  # a connection or answer that was not a stream (the fault at work)
    relogins: int = 0
    gaps: int = 0
    own_drops: int = 0

    async def run(self, admin: Admin, on_event: Any, stop: asyncio.Event, rng: random.Random) -> None:
        timeout = httpx.Timeout(REQUEST_TIMEOUT, read=30.0)
        async with httpx.AsyncClient(base_url=admin.url, verify=False, timeout=timeout) as client:
            while not stop.is_set():
                client.cookies.set("wmi_session", admin.cookie)
                lifetime = rng.uniform(20.0, 60.0)
                try:
                    await asyncio.wait_for(self._follow(client, admin, on_event), lifetime)
                except TimeoutError:
                    self.own_drops += 1
                    continue
                except (httpx.HTTPError, OSError):
                    self.refused += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.2 + rng.random() * 0.3)

    async def _follow(self, client: httpx.AsyncClient, admin: Admin, on_event: Any) -> None:
        headers = {"Accept": "text/event-stream", "Last-Event-ID": self.last_id or self.start}
        async with client.stream("GET", "/events", headers=headers) as stream:
            if stream.status_code == 401:
                self.relogins += 1
                await admin.log_in(stale=client.cookies.get("wmi_session"))
                return
            if stream.status_code != 200:
                self.refused += 1
                return
            self.connections += 1
            kind, data, event_id = "", "", ""
            async for line in stream.aiter_lines():
                if line:
                    field_name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field_name == "event":
                        kind = value
                    elif field_name == "data":
                        data = value
                    elif field_name == "id":
                        event_id = value
                    continue
                if kind == "stream.gap":
                    self.gaps += 1
                elif data and event_id:
                    self.received.append(event_id)
                    self.last_id = event_id
                    on_event(kind, data)
                kind, data, event_id = "", "", ""


# -- the load ----------------------------------------------------------------------------


@dataclass
class Change:
    """One request of the load: what it asked, how it was answered, how its job ended."""

    kind: str  # create | edit | delete
    login: str
    full_name: str
    probe: bool = False
    status: int | None = None  # the HTTP status, None when no answer came
    answer: str = ""  # accepted | refused | other | unanswered
    job: str | None = None
    sent_at: float = 0.0
    state: str = ""  # the job's end as seen during the run: succeeded | failed | ""
    ended_at: float = 0.0


@dataclass
class Login:
    state: str = "absent"  # absent | busy | present | deleted | retired
    full_name: str = ""
    edits: int = 0


class Load:
    def __init__(self, admin: Admin, rng: random.Random) -> None:
        self.admin = admin
        self.rng = rng
        self.run_id = secrets.token_hex(2)
        self.count = 0
        self.changes: list[Change] = []
        self.logins: dict[str, Login] = {}
        self.by_job: dict[str, Change] = {}
        self.ends: dict[str, tuple[str, float]] = {}  # job id -> (state, when seen)
        self.waiting: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.in_flight = 0
        self.not_sent = 0
        self.samples: dict[str, list[str]] = defaultdict(list)
        self.tasks: set[asyncio.Task[None]] = set()

    def fresh_login(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.run_id}{self.count:05d}"

    def on_event(self, kind: str, data: str) -> None:
        """An event from any reader: the end of a job."""
        if kind not in ("job.succeeded", "job.failed"):
            return
        job = orjson.loads(data).get("job")
        if job and job not in self.ends:
            self.ends[job] = (kind.removeprefix("job."), now())
            self.waiting[job].set()

    async def wait_end(self, job: str, deadline: float, poll_every: float, poll_after: float) -> None:
        """Until the job's end is seen on a stream or polled from the API, or ``deadline``."""
        event = self.waiting[job]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(0.0, min(poll_after, deadline - now())))
        while job not in self.ends and now() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                answer = await self.admin.request("GET", f"/api/v1/jobs/{job}")
                state = answer.json().get("state") if answer.status_code == 200 else None
                if state in ("succeeded", "failed", "cancelled") and job not in self.ends:
                    self.ends[job] = (str(state), now())
                    event.set()
                    break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), poll_every)

    async def send(self, change: Change) -> None:
        """Make the request; record how it was answered."""
        self.changes.append(change)
        path = "/api/v1/users"
        method, body = "POST", {"login": change.login, "full_name": change.full_name, "password": PASSWORD}
        if change.kind == "edit":
            method, path, body = "PATCH", f"{path}/{change.login}", {"full_name": change.full_name}
        elif change.kind == "delete":
            method, path, body = "DELETE", f"{path}/{change.login}?home=remove", {}
        change.sent_at = now()
        self.in_flight += 1
        try:
            answer = await self.admin.request(method, path, body or None)
        except httpx.HTTPError as exc:
            change.answer = "unanswered"
            self._sample("unanswered", f"{change.kind}: {type(exc).__name__}")
            return
        finally:
            self.in_flight -= 1
        change.status = answer.status_code
        if answer.status_code == 202:
            change.answer, change.job = "accepted", str(answer.json()["id"])
            self.by_job[change.job] = change
        elif answer.status_code == 503 or (answer.status_code == 409 and "offline" in answer.text):
            change.answer = "refused"
            self._sample(f"refused {answer.status_code}", answer.text[:160])
        else:
            change.answer = "other"
            self._sample("other", f"{change.kind} {change.login}: {answer.status_code} {answer.text[:200]}")

    def _sample(self, kind: str, text: str) -> None:
        if len(self.samples[kind]) < 8:
            self.samples[kind].append(text)

    async def one(self, change: Change, previous: str, deadline: float) -> None:
        """A change of the load: sent, followed to its end, its login's state kept up to date."""
        login = self.logins[change.login]
        await self.send(change)
        if change.answer == "refused":
            login.state = previous  # nothing happened: the login may be used again
            return
        if change.answer != "accepted" or change.job is None:
            login.state = "retired"  # unknown (or unexpected) outcome: this login is left alone
            return
        await self.wait_end(change.job, deadline, poll_every=1.0, poll_after=5.0)
        state, ended_at = self.ends.get(change.job, ("", 0.0))
        change.state, change.ended_at = state, ended_at
        if state != "succeeded":
            login.state = "retired"
        elif change.kind == "delete":
            login.state = "deleted"
        else:
            login.state, login.full_name = "present", change.full_name

    def pick(self) -> tuple[Change, str]:
        """The next change, its login marked busy at once (one change at a time per login),
        and the login's state before."""
        kind = self.rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
        if kind != "create":
            present = [name for name, login in self.logins.items() if login.state == "present"]
            if present:
                name = self.rng.choice(present)
                login = self.logins[name]
                login.state, login.edits = "busy", login.edits + (kind == "edit")
                full_name = f"Chaos {name} v{login.edits}" if kind == "edit" else ""
                return Change(kind, name, full_name), "present"
        name = self.fresh_login("c")
        self.logins[name] = Login(state="busy")
        return Change("create", name, f"Chaos {name}"), "absent"

    def spawn(self, deadline: float) -> asyncio.Task[None]:
        change, previous = self.pick()
        task = asyncio.create_task(self.one(change, previous, deadline))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def run(self, rate: float, until: float, deadline: float) -> None:
        """Changes at ``rate`` per second until ``until``; their jobs followed until ``deadline``."""
        started = now()
        for i in range(int((until - started) * rate) + 1):
            delay = started + i / rate - now()
            if delay > 0:
                await asyncio.sleep(delay)
            if now() >= until:
                return
            if self.in_flight >= IN_FLIGHT:
                self.not_sent += 1
                continue
            self.spawn(deadline)

    async def probe(self, since: float, limit: float = PROBE_LIMIT) -> float | None:
        """Create users until one succeeds end to end; seconds from ``since`` to its success."""
        deadline = now() + limit
        while now() < deadline:
            change = Change("create", self.fresh_login("p"), "Chaos probe", probe=True)
            self.logins[change.login] = Login(state="busy")
            await self.send(change)
            if change.answer == "accepted" and change.job:
                await self.wait_end(change.job, deadline, poll_every=0.1, poll_after=0.0)
                change.state, change.ended_at = self.ends.get(change.job, ("", 0.0))
                if change.state == "succeeded":
                    self.logins[change.login] = Login("present", change.full_name)
                    return change.ended_at - since
            self.logins[change.login].state = "retired" if change.answer != "refused" else "absent"
            await asyncio.sleep(0.2)
        return None


# -- the faults --------------------------------------------------------------------------


@dataclass
class Fault:
    name: str
    at: float  # seconds since the load started
    pid: int = 0
    mid_job: bool | None = None
    held: float = 0.0  # seconds between the fault and its end (SIGSTOP .. SIGCONT)
    recovery: float | None = None  # seconds from the fault's end to a change that succeeded
    error: str = ""


def _children_pids(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


class Faults:
    def __init__(self, up: Up, stop_seconds: float) -> None:
        self.up = up
        self.stop_seconds = stop_seconds

    def tree(self) -> dict[str, list[int]]:
        """The pids of ``wmi2 up``'s children, by role."""
        found: dict[str, list[int]] = defaultdict(list)
        if self.up.proc is None:
            return found
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.up.proc.pid).children():
                with contextlib.suppress(psutil.Error):
                    cmd = " ".join(child.cmdline())
                    if "redis-server" in cmd:
                        found["redis"].append(child.pid)
                    elif "celery" in cmd:
                        found["celery"].append(child.pid)
                        found["pool"] += [
                            p.pid for p in child.children() if "celery" in " ".join(p.cmdline())
                        ]
                    elif "services.cli web" in cmd:
                        found["web"].append(child.pid)
                        found["web-worker"] += [p.pid for p in child.children()]
        return found

    @staticmethod
    def _wait_for_tool(pool: int, seconds: float) -> bool:
        """Whether the pool process started a tool (a child) within ``seconds``."""
        deadline = now() + seconds
        while now() < deadline:
            if _children_pids(pool):
                return True
            time.sleep(0.001)
        return False

    async def inject(self, name: str, fault: Fault) -> None:
        """Do the fault; return at its end (for a SIGSTOP: after the SIGCONT)."""
        tree = self.tree()
        role = {"redis-kill": "redis", "redis-stop": "redis"}.get(name, name)
        pids = tree.get(role) or []
        if not pids:
            fault.error = f"no {role} process found"
            return
        pid = random.choice(pids) if role == "web-worker" else pids[0]
        fault.pid = pid
        if name in ("pool", "celery"):
            pools = tree.get("pool") or []
            if pools:
                fault.mid_job = await asyncio.to_thread(self._wait_for_tool, pools[0], 3.0)
        try:
            if name == "redis-stop":
                os.kill(pid, signal.SIGSTOP)
                stopped = now()
                await asyncio.sleep(self.stop_seconds)
                os.kill(pid, signal.SIGCONT)
                fault.held = now() - stopped
            else:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            fault.error = f"pid {pid} was gone"


# -- after the run: what the database, the log and the host say --------------------------


def read_jobs(database: Path) -> dict[str, dict[str, Any]]:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT id, action, target, state, error, attempts, announced, created_at"
            " FROM jobs ORDER BY created_at, id"
        ).fetchall()
    return {row["id"]: dict(row) for row in rows}


def read_passwd(sysroot: Path) -> dict[str, str]:
    """login -> full name (GECOS), from the sandbox's passwd."""
    users = {}
    for line in (sysroot / "etc" / "passwd").read_text().splitlines():
        fields = line.split(":")
        if len(fields) == 7:
            users[fields[0]] = fields[4]
    return users


def complete_for_pwck(sysroot: Path) -> None:
    """Create, inside the sandbox only, the homes and shells passwd names but a sandbox lacks
    (as tests/security/test_fuzz_api.py does): pwck would count each as a bad entry."""
    root = sysroot.resolve()
    for line in (sysroot / "etc" / "passwd").read_text().splitlines():
        fields = line.split(":")
        if len(fields) != 7:
            continue
        home, shell = (root / fields[5].lstrip("/")).resolve(), (root / fields[6].lstrip("/")).resolve()
        if home.is_relative_to(root) and not home.exists():
            home.mkdir(parents=True)
        if fields[6] and shell.is_relative_to(root) and not shell.exists():
            shell.parent.mkdir(parents=True, exist_ok=True)
            shell.touch(mode=0o755)


def check_tool(tool: str, sysroot: Path) -> str:
    """'' if ``tool -r -R sysroot`` is clean, else what it said."""
    done = subprocess.run(
        [tool, "-r", "-R", str(sysroot)], capture_output=True, text=True, timeout=60, check=False
    )
    output = (done.stdout + done.stderr).replace(f"{tool}: no changes\n", "").strip()
    return "" if done.returncode == 0 and not output else f"exit {done.returncode}: {output[:500]}"


def job_accounting(load: Load, jobs: dict[str, dict[str, Any]], users: dict[str, str]) -> dict[str, Any]:
    """The jobs' counts, and the host's state checked against the jobs that succeeded."""
    ours = {login for login in load.logins}
    accepted = [c for c in load.changes if c.answer == "accepted" and c.job]
    accepted_ids = {c.job for c in accepted}
    unanswered_jobs = [j for j, row in jobs.items() if row["target"] in ours and j not in accepted_ids]
    tracked = [j for j in jobs if jobs[j]["target"] in ours]
    false_failures: list[str] = []
    mismatches: list[str] = []
    by_login: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for job_id in tracked:
        by_login[jobs[job_id]["target"]].append(jobs[job_id])
    for login, rows in by_login.items():
        # What the succeeded jobs left, in the order they were accepted (one at a time per
        # login). The full name is known for the jobs this run got a 202 for.
        present, name = False, ""
        for row in rows:
            change = load.by_job.get(row["id"])
            if row["state"] != "succeeded":
                continue
            if row["action"] in ("user.create", "user.modify"):
                present = present or row["action"] == "user.create"
                name = change.full_name if change else "?"
            elif row["action"] == "user.delete":
                present, name = False, ""
        on_host, actual_name = login in users, users.get(login, "")
        failed = [row for row in rows if row["state"] == "failed"]
        for row in failed:
            change = load.by_job.get(row["id"])
            applied = (
                (row["action"] == "user.create" and on_host and not present)
                or (row["action"] == "user.delete" and present and not on_host)
                or (row["action"] == "user.modify" and change is not None and actual_name == change.full_name)
            )
            if applied or FALSE_ERRORS.search(row["error"] or ""):
                false_failures.append(f"{row['id']} {row['action']} {login}: {row['error']}")
        right = on_host == present and (not present or name == "?" or actual_name == name)
        if not right and not failed:
            mismatches.append(f"{login}: on the host {on_host} {actual_name!r}, expected {present} {name!r}")
    states = Counter(jobs[j]["state"] for j in tracked)
    failures = [
        f"{jobs[j]['action']} {jobs[j]['target']}: {jobs[j]['error']}"
        for j in tracked
        if jobs[j]["state"] == "failed"
    ]
    lost = [
        f"{j} {jobs[j]['action']} {jobs[j]['target']} {jobs[j]['state']}"
        for j in tracked
        if jobs[j]["state"] in ("queued", "running")
    ]
    unannounced = [
        j for j in tracked if jobs[j]["state"] in ("succeeded", "failed") and not jobs[j]["announced"]
    ]
    return {
        "accepted": len(accepted),
        "accepted_without_202": len(unanswered_jobs),
        "jobs": len(tracked),
        "succeeded": states["succeeded"],
        "failed": states["failed"],
        "false_failures": len(false_failures),
        "honest_failures": states["failed"] - len(false_failures),
        "lost": len(lost),
        "cancelled": states["cancelled"],
        "unannounced": len(unannounced),
        "host_mismatches": len(mismatches),
        "max_attempts": max((jobs[j]["attempts"] or 0 for j in tracked), default=0),
        "samples": {
            "false_failures": false_failures[:10],
            "failures": Counter(failures).most_common(10),
            "lost": lost[:10],
            "host_mismatches": mismatches[:10],
            "accepted_without_202": unanswered_jobs[:10],
        },
    }


def event_accounting(log: LogCopy, load: Load, jobs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """user.* events against the jobs that made them; each job's final event, once."""
    ours = set(load.logins)
    tracked = {j for j, row in jobs.items() if row["target"] in ours}
    user_events: Counter[str] = Counter()
    finals: Counter[str] = Counter()
    misattributed: list[str] = []
    for event_id in log.ids:
        event = log.events[event_id]
        kind, job = event.get("type"), event.get("job")
        if kind in ("job.succeeded", "job.failed") and job in tracked:
            finals[job] += 1
        if kind not in USER_EVENTS or (event.get("data") or {}).get("login") not in ours:
            continue
        login = event["data"]["login"]
        row = jobs.get(job) if job else None
        if row is None or row["target"] != login or row["action"] != USER_EVENTS[kind]:
            misattributed.append(
                f"{event_id} {kind} {login} job={job} ({row and row['action']} {row and row['target']})"
            )
        else:
            user_events[job] += 1
    duplicated = [j for j, n in user_events.items() if n > 1]
    missing = [
        j
        for j in tracked
        if jobs[j]["state"] == "succeeded"
        and jobs[j]["action"] in USER_EVENTS.values()
        and not user_events[j]
    ]
    on_failed = [j for j in user_events if jobs[j]["state"] == "failed"]
    return {
        "user_events": sum(user_events.values()),
        "user_events_duplicated": len(duplicated),
        "user_events_misattributed": len(misattributed),
        "user_events_missing": len(missing),
        "user_events_of_failed_jobs": len(on_failed),
        "final_events_missing": sum(
            1 for j in tracked if jobs[j]["state"] in ("succeeded", "failed") and not finals[j]
        ),
        "final_events_duplicated": sum(1 for j in tracked if finals[j] > 1),
        "samples": {
            "misattributed": misattributed[:10],
            "duplicated": [f"{j} x{user_events[j]}" for j in duplicated[:10]],
            "missing": [f"{j} {jobs[j]['action']} {jobs[j]['target']}" for j in missing[:10]],
        },
    }


def reader_accounting(reader: Reader, log: LogCopy, end: str) -> dict[str, Any]:
    """What one reader received against the log: after its start, up to ``end``."""
    start, stop = id_key(reader.start), id_key(end)
    expected = [i for i in log.ids if start < id_key(i) <= stop]
    got = [i for i in reader.received if id_key(i) <= stop]
    seen: Counter[str] = Counter(got)
    out_of_order = sum(1 for a, b in itertools.pairwise(got) if id_key(b) <= id_key(a) and a != b)
    return {
        "name": reader.name,
        "connections": reader.connections,
        "own_drops": reader.own_drops,
        "refused": reader.refused,
        "relogins": reader.relogins,
        "expected": len(expected),
        "received": len(got),
        "missed": sum(1 for i in expected if i not in seen),
        "duplicated": sum(n - 1 for n in seen.values() if n > 1),
        "out_of_order": out_of_order,
        "unknown": sum(1 for i in seen if i not in log.events),
        "gaps": reader.gaps,
    }


# -- the run -----------------------------------------------------------------------------


def recovery_table(faults: list[Fault]) -> dict[str, dict[str, Any]]:
    table = {}
    for name in FAULTS:
        done = [f for f in faults if f.name == name]
        if not done:
            continue
        times = [f.recovery for f in done if f.recovery is not None]
        table[name] = {
            "faults": len(done),
            "not_recovered": len(done) - len(times),
            "mid_job": sum(1 for f in done if f.mid_job),
            "min_s": round(min(times), 2) if times else None,
            "median_s": round(statistics.median(times), 2) if times else None,
            "max_s": round(max(times), 2) if times else None,
        }
    return table


async def chaos(args: argparse.Namespace, up: Up) -> dict[str, Any]:
    rng = random.Random(args.seed)
    load_start = [round(x, 2) for x in os.getloadavg()]
    admin = Admin(up.url)
    await admin.log_in()
    load = Load(admin, rng)
    log = LogCopy()
    stop_log, stop_readers = asyncio.Event(), asyncio.Event()
    socket_path = up.data_dir / "redis.sock"
    log_task = asyncio.create_task(log.follow(socket_path, stop_log))
    client = aioredis.Redis(unix_socket_path=str(socket_path), socket_timeout=5.0)
    await log.catch_up(client)
    await client.aclose()
    readers = [Reader(f"sse{i + 1}", start=log.last) for i in range(args.clients)]
    reader_tasks = [asyncio.create_task(r.run(admin, load.on_event, stop_readers, rng)) for r in readers]
    faults: list[Fault] = []
    injector = Faults(up, args.stop_seconds)

    started = now()
    until = started + args.minutes * 60
    deadline = until + args.drain
    load_task = asyncio.create_task(load.run(args.rate, until, deadline))
    order = [f for f in args.faults.split(",") if f]
    # The first fault half a period in: a run of N periods has N faults.
    next_at = started + args.every / 2
    while next_at < until - 1:
        await asyncio.sleep(max(0.0, next_at - now()))
        fault = Fault(order[len(faults) % len(order)], round(now() - started, 1))
        faults.append(fault)
        await injector.inject(fault.name, fault)
        ended = now()
        fault.recovery = await load.probe(ended)
        shown = f"{fault.recovery:.2f} s" if fault.recovery is not None else f"none in {PROBE_LIMIT:g} s"
        mid = {True: ", mid-job", False: ", between jobs", None: ""}[fault.mid_job]
        problem = f", {fault.error}" if fault.error else ""
        print(
            f"[{fault.at:7.1f} s] {fault.name} (pid {fault.pid}{mid}{problem}): recovered in {shown}",
            flush=True,
        )
        next_at = max(next_at + args.every, now() + 1.0)
    await load_task
    print(f"[{now() - started:7.1f} s] load stopped; draining (at most {args.drain:g} s)", flush=True)
    drain_deadline = now() + args.drain
    while load.tasks and now() < drain_deadline:
        await asyncio.sleep(0.5)
    for task in list(load.tasks):
        task.cancel()
    drained = round(now() - until, 1)

    still_up = up.proc is not None and up.proc.poll() is None
    last_change = await load.probe(now(), limit=30.0) if still_up else None
    tree = injector.tree()

    # Every reader up to the same point of the log, then compared with it.
    client = aioredis.Redis(unix_socket_path=str(socket_path), socket_timeout=5.0)
    await log.catch_up(client)
    await client.aclose()
    end = log.last
    settle = now() + 20.0
    while now() < settle and any(id_key(r.last_id or r.start) < id_key(end) for r in readers):
        await asyncio.sleep(0.2)
    stop_readers.set()
    stop_log.set()
    for task in [*reader_tasks, log_task]:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    await admin.aclose()

    jobs = read_jobs(up.data_dir / "wmi2.db")
    sysroot = up.data_dir / "sysroot"
    users = read_passwd(sysroot)
    complete_for_pwck(sysroot)
    answers = Counter(c.answer for c in load.changes)
    result: dict[str, Any] = {
        "minutes": args.minutes,
        "faults_planned": len(plan(args)),
        "load_average_start": load_start,
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "every": args.every,
        "rate": args.rate,
        "clients": args.clients,
        "data_dir": str(up.directory),
        "requests": len(load.changes),
        "by_kind": dict(Counter(c.kind for c in load.changes)),
        "refused_during_faults": answers["refused"] + answers["unanswered"],
        "refused_503_409": answers["refused"],
        "unanswered": answers["unanswered"],
        "other_answers": answers["other"],
        "not_sent_in_flight_full": load.not_sent,
        "drained_after_s": drained,
        "jobs": job_accounting(load, jobs, users),
        "events": event_accounting(log, load, jobs),
        "readers": [reader_accounting(r, log, end) for r in readers],
        "log_entries": len(log.ids),
        "log_read_errors": log.read_errors,
        "pwck": check_tool("pwck", sysroot),
        "grpck": check_tool("grpck", sysroot),
        "still_serving": bool(
            still_up
            and last_change is not None
            and tree.get("redis")
            and tree.get("celery")
            and tree.get("web")
        ),
        "last_change_s": round(last_change, 2) if last_change is not None else None,
        "admin_logins": admin.logins,
        "faults": [asdict(f) for f in faults],
        "recovery": recovery_table(faults),
        "samples": dict(load.samples),
    }
    return result


def must_be_zero(result: dict[str, Any]) -> dict[str, int]:
    jobs, events = result["jobs"], result["events"]
    readers = result["readers"]
    return {
        "lost jobs": jobs["lost"],
        "false failures": jobs["false_failures"],
        "host state not as the succeeded jobs left it": jobs["host_mismatches"],
        "answers other than 202/503/409-offline": result["other_answers"],
        "user events duplicated": events["user_events_duplicated"],
        "user events misattributed": events["user_events_misattributed"],
        "user events missing": events["user_events_missing"],
        "final job events missing": events["final_events_missing"],
        "final job events duplicated": events["final_events_duplicated"],
        "jobs ended, final event never published": jobs["unannounced"],
        "SSE events missed": sum(r["missed"] for r in readers),
        "SSE events duplicated": sum(r["duplicated"] for r in readers),
        "SSE events out of order or unknown": sum(r["out_of_order"] + r["unknown"] for r in readers),
        "SSE gaps": sum(r["gaps"] for r in readers),
        "pwck/grpck complaints": int(bool(result["pwck"])) + int(bool(result["grpck"])),
        "wmi2 up not serving afterwards": int(not result["still_serving"]),
    }


def report(result: dict[str, Any]) -> str:
    jobs = result["jobs"]
    lines = [
        "",
        f"chaos: {result['minutes']:g} min, a fault every {result['every']:g} s, "
        f"{result['rate']:g} changes/s, "
        f"{result['clients']} SSE clients ({result['data_dir']})",
        "",
        f"  requests sent                      {result['requests']}  {result['by_kind']}",
        f"  accepted (202)                     {jobs['accepted']}",
        f"  accepted without a 202 (answer lost) {jobs['accepted_without_202']}",
        f"  jobs of those, by end               {jobs['jobs']}",
        f"    succeeded                        {jobs['succeeded']}",
        f"    failed, honestly                 {jobs['honest_failures']}",
        f"    failed falsely                   {jobs['false_failures']}",
        f"    lost (queued/running at the end) {jobs['lost']}",
        f"  refused during faults              {result['refused_during_faults']}"
        f"  (503/409 offline {result['refused_503_409']}, no answer {result['unanswered']})",
        f"  not sent ({IN_FLIGHT} requests in flight) {result['not_sent_in_flight_full']}",
        f"  user events checked                {result['events']['user_events']}",
        f"  event log entries read             {result['log_entries']}",
        f"  highest attempts of one job        {jobs['max_attempts']}",
        f"  drained                            {result['drained_after_s']} s after the load stopped",
        "",
        "  SSE client   conns  own drops  refused  expected  received  missed  dup  disorder  gaps",
    ]
    for r in result["readers"]:
        lines.append(
            f"  {r['name']:<11} {r['connections']:>6} {r['own_drops']:>10} {r['refused']:>8}"
            f" {r['expected']:>9}"
            f" {r['received']:>9} {r['missed']:>7} {r['duplicated']:>4} {r['out_of_order'] + r['unknown']:>9}"
            f" {r['gaps']:>5}"
        )
    lines.append(
        f"  machine load average (1, 5, 15 min): {result['load_average_start']} at the start,"
        f" {result['load_average_end']} at the end"
    )
    lines += ["", f"  faults: {len(result['faults'])} of {result['faults_planned']} planned"
              " (each waits for the previous one's recovery)"]  # fmt: skip
    lines += ["", "  fault        count  mid-job  recovery min / median / max (s)  not recovered"]
    for name, row in result["recovery"].items():
        lines.append(
            f"  {name:<12} {row['faults']:>5} {row['mid_job']:>8}"
            f"   {row['min_s']} / {row['median_s']} / {row['max_s']}"
            f"{'':>14}{row['not_recovered']}"
        )
    lines += ["", "  must be 0:"]
    for name, value in must_be_zero(result).items():
        lines.append(f"    {name:<48} {value}{'' if value == 0 else '   <-- NOT 0'}")
    for label, items in [
        *result["jobs"]["samples"].items(),
        *result["events"]["samples"].items(),
        *result["samples"].items(),
    ]:
        if items:
            lines.append(f"  {label}: {items[:5]}")
    for tool in ("pwck", "grpck"):
        if result[tool]:
            lines.append(f"  {tool}: {result[tool]}")
    return "\n".join(lines)


def plan(args: argparse.Namespace) -> list[tuple[float, str]]:
    order = [f for f in args.faults.split(",") if f]
    times, at, end = [], args.every / 2, args.minutes * 60
    while at < end - 1:
        times.append(at)
        at += args.every
    return [(t, order[i % len(order)]) for i, t in enumerate(times)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the load and the faults go on")
    parser.add_argument("--every", type=float, default=20.0, help="seconds between two faults")
    parser.add_argument("--rate", type=float, default=5.0, help="changes per second, all kinds")
    parser.add_argument("--clients", type=int, default=4, help="SSE clients")
    parser.add_argument("--drain", type=float, default=60.0, help="seconds the accepted jobs get to end")
    parser.add_argument("--stop-seconds", type=float, default=4.0, help="how long Redis stays stopped")
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"in turn, from: {', '.join(FAULTS)}")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the data dir and up.log")
    parser.add_argument("--data-parent", default=None, help="where the data dir goes (e.g. /dev/shm)")
    parser.add_argument("--json", default=None, help="write every figure to this file")
    parser.add_argument("--dry", action="store_true", help="print the plan and exit")
    args = parser.parse_args(argv)
    unknown = [f for f in args.faults.split(",") if f and f not in FAULTS]
    if unknown or args.every <= 0 or args.minutes <= 0 or args.rate <= 0:
        parser.error(f"unknown faults {unknown}" if unknown else "--every, --minutes and --rate must be > 0")
    schedule = plan(args)
    print(
        f"chaos: {len(schedule)} faults over {args.minutes:g} min at {args.rate:g} changes/s,"
        f" {args.clients} SSE clients"
    )
    for at, name in schedule:
        print(f"  at {at:6.0f} s  {name}: {DESCRIBED[name]}")
    if args.dry:
        if args.json:
            Path(args.json).write_text(json.dumps({"plan": schedule}, indent=2))
        return 0
    with Up(keep=args.keep, parent=args.data_parent) as up:
        print(f"wmi2 up: {up.url}, data dir {up.directory}", flush=True)
        result = asyncio.run(chaos(args, up))
        if args.keep:
            print(f"kept: {up.directory} (up.log: the services' log)")
    result["must_be_zero"] = must_be_zero(result)
    print(report(result), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    return 1 if any(result["must_be_zero"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
