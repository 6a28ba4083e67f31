"""A school's intake as one job: a roster of N people previewed, applied, and followed on the
event stream, on a host that already holds some accounts.

    python -m loadtest.cohort --accounts 1000 30000 --rows 1000 --runs 3

For each size, a fresh sandbox seeded with ``--accounts`` users (``loadtest.scale``'s
seeding) under a fresh ``wmi2 up``; then, with an event stream open: the roster POSTed
(``first_name;last_name;groups``, no passwords: each is generated), its preview's time; the
apply's answer (the generated passwords hashed in the api); the job's ``job.running`` and
``job.succeeded``; the last ``user.created`` to reach the stream. Then the same N people
locked by one bulk action, and its ``job.succeeded``. Times are medians of ``--runs``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from loadtest.pipeline import follow, log_in
from loadtest.scale import log, seeded_stack
from loadtest.stack import ADMIN, ADMIN_PASSWORD


class Stream:
    """The events of one job, and the user.created of the logins it makes."""

    def __init__(self, logins: set[str]) -> None:
        self.logins = logins
        self.created: dict[str, float] = {}
        self.job_events: dict[str, dict[str, float]] = {}
        self.connected = asyncio.Event()
        self.changed = asyncio.Event()

    def on_event(self, kind: str, data: bytes, now: float, _event_id: str = "") -> None:
        event: dict[str, Any] = orjson.loads(data)
        if kind == "user.created" and event["data"].get("login") in self.logins:
            self.created.setdefault(event["data"]["login"], now)
        elif kind.startswith("job.") and event.get("job"):
            self.job_events.setdefault(event["job"], {}).setdefault(kind, now)
        self.changed.set()

    async def wait(self, test: Any, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while not test():
            self.changed.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError("the stream did not show what was awaited")
            await asyncio.wait_for(self.changed.wait(), left)


def roster(rows: int) -> bytes:
    lines = ["first_name;last_name;groups"] + [f"Élève{i % 100};Cohorte{i // 100};users" for i in range(rows)]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


async def one_intake(url: str, rows: int) -> dict[str, Any]:
    api = httpx.AsyncClient(base_url=url, verify=False, timeout=120.0)
    sse = httpx.AsyncClient(base_url=url, verify=False, timeout=httpx.Timeout(120.0, read=None))
    try:
        csrf = await log_in(api, ADMIN, ADMIN_PASSWORD)
        sse.cookies = api.cookies
        headers = {"X-CSRF-Token": csrf}
        started = time.perf_counter()
        preview = await api.post(
            "/api/v1/imports", content=roster(rows), headers={**headers, "Content-Type": "text/csv"}
        )
        preview.raise_for_status()
        preview_s = time.perf_counter() - started
        logins = {r["login"] for r in preview.json()["rows"] if r["action"] == "create"}
        stream = Stream(logins)
        watcher = asyncio.create_task(follow(sse, stream))  # type: ignore[arg-type]
        await asyncio.wait_for(stream.connected.wait(), 30)
        clicked = time.perf_counter()
        applied = await api.post(f"/api/v1/imports/{preview.json()['id']}/apply", headers=headers)
        applied.raise_for_status()
        answered = time.perf_counter()
        job = applied.json()["id"]
        await stream.wait(lambda: "job.succeeded" in stream.job_events.get(job, {}) or
                          "job.failed" in stream.job_events.get(job, {}), 300)  # fmt: skip
        await stream.wait(lambda: len(stream.created) >= len(logins), 60)
        events = stream.job_events[job]
        lock_started = time.perf_counter()
        locked = await api.post(
            "/api/v1/users/bulk", json={"logins": sorted(logins), "action": "lock"}, headers=headers
        )
        locked.raise_for_status()
        lock_job = locked.json()["id"]
        await stream.wait(lambda: "job.succeeded" in stream.job_events.get(lock_job, {}), 300)
        lock_done = stream.job_events[lock_job]["job.succeeded"]
        watcher.cancel()
        outcome = (await api.get(f"/api/v1/jobs/{job}")).json()
        return {
            "rows": rows,
            "created": len(stream.created),
            "state": outcome["state"],
            "result": outcome["result"],
            "credentials": len(applied.json()["credentials"]),
            "preview_s": round(preview_s, 3),
            "apply_answer_s": round(answered - clicked, 3),
            "running_to_succeeded_s": round(events["job.succeeded"] - events["job.running"], 3),
            "click_to_last_created_s": round(max(stream.created.values()) - clicked, 3),
            "bulk_lock_click_to_succeeded_s": round(lock_done - lock_started, 3),
        }
    finally:
        await api.aclose()
        await sse.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.cohort", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[1000, 30000])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    figures: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.runs):
        for accounts in args.accounts:
            with seeded_stack(accounts, None, keep=False) as stack:
                figures.setdefault(str(accounts), []).append(asyncio.run(one_intake(stack.up.url, args.rows)))
                log(f"  {figures[str(accounts)][-1]}")
    print(f"{'accounts':>9} {'measure':40} median (range) of {args.runs}")
    for accounts, runs in figures.items():
        for key in ("preview_s", "apply_answer_s", "running_to_succeeded_s", "click_to_last_created_s",
                    "bulk_lock_click_to_succeeded_s"):  # fmt: skip
            values = [run[key] for run in runs]
            middle, low, high = statistics.median(values), min(values), max(values)
            print(f"{int(accounts):>9,} {key:40} {middle:.3f} s ({low:.3f}-{high:.3f})")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
