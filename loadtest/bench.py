"""The original WMI2's benchmark, and ours, against a fresh ``wmi2 up`` on a sandbox.

    python -m loadtest.bench                  # everything, each HTTP tool 3 times (medians)
    python -m loadtest.bench --quick          # a few seconds of each (the smoke test's run)
    python -m loadtest.bench --tools locust --locust-users 20 --locust-time 60s

It starts ``wmi2 up`` in a temporary data dir on a free port (or ``WMI_PORT``), on
127.0.0.1 only, then runs:

- the original's two commands verbatim: ``ab -n 1000 -c 50 -r https://localhost:PORT/login/``
  and ``httperf --max-connections 50 --max-piped-calls 10 --num-conns 1000 --ssl --server
  localhost --port PORT`` (httperf asks for ``/``, which sends a visitor to the login page);
- ``wrk -c 50 -d 10s`` on ``/login/``: keep-alive throughput;
- the action pipeline (``loadtest.pipeline``): POST ``/api/v1/users`` to its ``user.created``
  event at 20 actions/s, and the creations per second one host sustains;
- optionally locust (``loadtest/locustfile.py``) headless against the same server;

and prints a table with the original's figures beside. ``--json FILE`` writes every figure.
``WMI_SERVER`` and ``WMI_WEB_WORKERS`` are passed on to ``wmi2 up``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from loadtest import pipeline
from loadtest.stack import ADMIN, ADMIN_PASSWORD, Up

ORIGINAL = {
    "ab": "28.44 req/s, 1000 of 1000 failed (length)",
    "httperf": "16.0 conn/s, all replies 3xx",
    "wrk": "-",
    "paced": "-",
    "flood": "-",
}
TARGETS = {
    "ab": ">= 1,300 req/s, 0 failed",
    "httperf": ">= 700 conn/s, 0 errors",
    "wrk": ">= 10,000 req/s, 0 errors",
    "paced": "p50 <= 25 ms, p99 <= 100 ms",
    "flood": ">= 100 creations/s",
}
TOOL_TIMEOUT = 300


def _number(pattern: str, text: str, default: float = 0.0) -> float:
    found = re.search(pattern, text)
    return float(found.group(1)) if found else default


def run_tool(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)
    return done.stdout + done.stderr


def ab(port: int, requests: int) -> dict[str, Any]:
    command = ["ab", "-n", str(requests), "-c", "50", "-r", f"https://localhost:{port}/login/"]
    out = run_tool(command)
    lengths = re.search(r"\(Connect: (\d+), Receive: (\d+), Length: (\d+), Exceptions: (\d+)\)", out)
    return {
        "command": " ".join(command),
        "value": _number(r"Requests per second:\s+([\d.]+)", out),
        "unit": "req/s",
        "complete": int(_number(r"Complete requests:\s+(\d+)", out)),
        "failed": int(_number(r"Failed requests:\s+(\d+)", out, -1)),
        "length_failures": int(lengths.group(3)) if lengths else 0,
        "non_2xx": int(_number(r"Non-2xx responses:\s+(\d+)", out)),
        "errors": int(_number(r"Failed requests:\s+(\d+)", out, -1))
        + int(_number(r"Non-2xx responses:\s+(\d+)", out)),
        "document_length": int(_number(r"Document Length:\s+(\d+)", out)),
        "output": out,
    }


def httperf(port: int, connections: int) -> dict[str, Any]:
    command = [
        "httperf",
        "--max-connections",
        "50",
        "--max-piped-calls",
        "10",
        "--num-conns",
        str(connections),
        "--ssl",
        "--server",
        "localhost",
        "--port",
        str(port),
    ]
    out = run_tool(command)
    status = re.search(r"Reply status: 1xx=(\d+) 2xx=(\d+) 3xx=(\d+) 4xx=(\d+) 5xx=(\d+)", out)
    replies = (
        dict(zip(("1xx", "2xx", "3xx", "4xx", "5xx"), map(int, status.groups()), strict=True))
        if status
        else {}
    )
    return {
        "command": " ".join(command),
        "value": _number(r"Connection rate:\s+([\d.]+)", out),
        "unit": "conn/s",
        "errors": int(_number(r"Errors: total (\d+)", out, -1)),
        "replies": replies,
        "output": out,
    }


def wrk(port: int, seconds: int) -> dict[str, Any]:
    command = ["wrk", "-c", "50", "-d", f"{seconds}s", f"https://localhost:{port}/login/"]
    out = run_tool(command)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(map(int, socket_errors.groups())) if socket_errors else 0
    errors += int(_number(r"Non-2xx or 3xx responses:\s+(\d+)", out))
    return {
        "command": " ".join(command),
        "value": _number(r"Requests/sec:\s+([\d.]+)", out),
        "unit": "req/s",
        "errors": errors,
        "output": out,
    }


def repeated(measure: Callable[[], dict[str, Any]], times: int) -> dict[str, Any]:
    """Run ``measure`` ``times`` times; the median's run, with every value and the worst errors."""
    runs = [measure() for _ in range(times)]
    values = [r["value"] for r in runs]
    median = statistics.median(values)
    best = min(runs, key=lambda r: abs(r["value"] - median))
    return {**best, "value": median, "runs": values, "errors": max(r["errors"] for r in runs)}


def locust(url: str, users: int, spawn_rate: float, duration: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wmi2-locust-") as tmp:
        prefix = str(Path(tmp) / "stats")
        command = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(Path(__file__).resolve().parent / "locustfile.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(spawn_rate),
            "-t",
            duration,
            "-H",
            url,
            "--admin-login",
            ADMIN,
            "--admin-password",
            ADMIN_PASSWORD,
            "--csv",
            prefix,
            "--stop-timeout",
            "10",
            "--loglevel",
            "WARNING",
        ]
        here = Path(__file__).resolve().parents[1]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False, cwd=here
        )
        rows = []
        stats = Path(prefix + "_stats.csv")
        if stats.exists():
            with stats.open() as f:
                rows = list(csv.DictReader(f))
    total = next((r for r in rows if r["Name"] == "Aggregated"), {})
    return {
        "command": " ".join(["locust", *command[3:]]),
        "exit": done.returncode,
        "requests": int(total.get("Request Count", 0) or 0),
        "failures": int(total.get("Failure Count", 0) or 0),
        "rps": float(total.get("Requests/s", 0) or 0),
        "rows": rows,
        "output": done.stdout + done.stderr,
    }


def _row(name: str, measured: str, errors: str, command: str) -> list[str]:
    return [name, measured, errors, ORIGINAL.get(name, "-"), TARGETS.get(name, "-"), command]


def table(results: dict[str, Any]) -> str:
    rows = [["measure", "WMI2", "errors", "original (2012)", "target", "command"]]
    if "ab" in results:
        r = results["ab"]
        lengths = (
            "identical lengths" if r["length_failures"] == 0 else f"{r['length_failures']} varying lengths"
        )
        rows.append(_row("ab", f"{r['value']:,.0f} req/s", f"{r['failed']} failed, {lengths}", r["command"]))
    if "httperf" in results:
        r = results["httperf"]
        replies = ", ".join(f"{k}={v}" for k, v in r["replies"].items() if v)
        rows.append(
            _row("httperf", f"{r['value']:,.1f} conn/s", f"{r['errors']} errors ({replies})", r["command"])
        )
    if "wrk" in results:
        r = results["wrk"]
        rows.append(_row("wrk", f"{r['value']:,.0f} req/s", f"{r['errors']} errors", r["command"]))
    if "pipeline" in results:
        p, f = results["pipeline"]["paced"], results["pipeline"]["flood"]
        rows.append(
            _row(
                "paced",
                f"user.created p50 {p['created_p50_ms']} ms, p99 {p['created_p99_ms']} ms "
                f"(job.succeeded p50 {p['succeeded_p50_ms']} ms) at {p['rate']:g}/s",
                f"{p['errors']} errors, {p['lost']} lost, {p['failed']} failed",
                f"{p['sent']} POST /api/v1/users at {p['rate']:g}/s",
            )
        )
        if f["sent"]:
            rows.append(
                _row(
                    "flood",
                    f"{f['created_per_s']} creations/s ({f['created']} in {f['seconds']} s)",
                    f"{f['errors']} errors, {f['lost']} lost, {f['failed']} failed",
                    f"{f['sent']} POST /api/v1/users, {f['in_flight']} in flight",
                )
            )
    if "locust" in results:
        r = results["locust"]
        rows.append(
            [
                "locust",
                f"{r['requests']} requests, {r['rps']:.0f} req/s",
                f"{r['failures']} failures",
                "-",
                "-",
                r["command"],
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  -------")
    return "\n".join(lines)


def stages(runs: dict[str, Any]) -> str:
    """Where a creation's time went: the median of each span (see ``loadtest.pipeline.SPANS``)."""
    lines = ["pipeline p50 per span (ms): " + ", ".join(name for name, _, _ in pipeline.SPANS)]
    for run in ("paced", "flood"):
        spans = runs[run].get("spans_p50_ms") or {}
        if spans:
            lines.append(f"  {run:<6} " + "  ".join(f"{k} {v}" for k, v in spans.items()))
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtest.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a few seconds per tool")
    parser.add_argument(
        "--tools",
        default="ab,httperf,wrk,pipeline",
        help="comma-separated: ab, httperf, wrk, pipeline, locust",
    )
    parser.add_argument("--repeat", type=int, default=None, help="runs of each HTTP tool (median); default 3")
    parser.add_argument("--rate", type=float, default=20.0, help="actions/s of the paced pipeline run")
    parser.add_argument("--seconds", type=float, default=None, help="length of the paced run (default 15)")
    parser.add_argument(
        "--flood", type=int, default=None, help="creations of the throughput run (default 600)"
    )
    parser.add_argument("--in-flight", type=int, default=16, help="POSTs in flight in the throughput run")
    parser.add_argument("--locust-users", type=int, default=20)
    parser.add_argument("--locust-time", default="60s")
    parser.add_argument(
        "--url",
        default=None,
        help="benchmark a running WMI2 on localhost instead (admin password in --password)",
    )
    parser.add_argument("--password", default=ADMIN_PASSWORD)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    parser.add_argument(
        "--data-parent",
        default=None,
        help="where the temporary data dir goes (default: the system's temp dir; /dev/shm: "
        "no disk under the sandbox)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write every figure to this file")
    args = parser.parse_args(argv)
    if args.url and urlparse(args.url).hostname not in ("localhost", "127.0.0.1", "::1"):
        parser.error("--url must be on localhost")
    return args


@dataclass(frozen=True)
class Plan:
    """What one run measures, and how much of it (``--quick``: a few seconds per tool)."""

    tools: tuple[str, ...]
    repeat: int
    requests: int
    wrk_seconds: int
    rate: float
    seconds: float
    flood: int
    in_flight: int
    locust_users: int
    locust_time: str

    @classmethod
    def of(cls, args: argparse.Namespace) -> Plan:
        quick = args.quick
        return cls(
            tools=tuple(t.strip() for t in args.tools.split(",") if t.strip()),
            repeat=args.repeat or (1 if quick else 3),
            requests=200 if quick else 1000,
            wrk_seconds=2 if quick else 10,
            rate=args.rate,
            seconds=args.seconds or (2.0 if quick else 15.0),
            flood=args.flood if args.flood is not None else (30 if quick else 600),
            in_flight=args.in_flight,
            locust_users=min(args.locust_users, 4) if quick else args.locust_users,
            locust_time="5s" if quick else args.locust_time,
        )


def measure(url: str, password: str, plan: Plan) -> dict[str, Any]:
    """Every tool of the plan against the WMI2 at ``url``, one after the other."""
    port = urlparse(url).port or 443
    results: dict[str, Any] = {"url": url, "repeat": plan.repeat}
    if "ab" in plan.tools:
        results["ab"] = repeated(lambda: ab(port, plan.requests), plan.repeat)
    if "httperf" in plan.tools:
        results["httperf"] = repeated(lambda: httperf(port, plan.requests), plan.repeat)
    if "wrk" in plan.tools:
        results["wrk"] = repeated(lambda: wrk(port, plan.wrk_seconds), plan.repeat)
    if "pipeline" in plan.tools:
        results["pipeline"] = asyncio.run(
            pipeline.run(
                url, ADMIN, password,
                rate=plan.rate, seconds=plan.seconds, flood=plan.flood, in_flight=plan.in_flight,
            )
        )  # fmt: skip
    if "locust" in plan.tools:
        users = plan.locust_users
        results["locust"] = locust(url, users, max(1.0, users / 2), plan.locust_time)
    return results


def report(results: dict[str, Any], json_path: Path | None) -> None:
    print(table(results), flush=True)
    if "pipeline" in results:
        print("\n" + stages(results["pipeline"]))
    if "locust" in results:
        print("\n" + results["locust"]["output"][-4000:])
    if json_path:
        json_path.write_text(json.dumps(results, indent=2, default=str))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan.of(args)
    missing = [tool for tool in ("ab", "httperf", "wrk") if tool in plan.tools and shutil.which(tool) is None]
    if missing:
        print(
            f"bench: not installed: {', '.join(missing)} (apt-get install wrk apache2-utils httperf)",
            file=sys.stderr,
        )
        return 2
    # A stop (timeout, Ctrl-C) still stops the WMI2 started here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    if args.url:
        results = measure(args.url.rstrip("/"), args.password, plan)
    else:
        with Up(keep=args.keep, parent=args.data_parent) as up:
            results = measure(up.url, ADMIN_PASSWORD, plan)
    results["seconds"] = round(time.monotonic() - started, 1)
    report(results, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
