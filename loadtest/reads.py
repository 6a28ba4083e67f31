"""What a read costs on a large host: the pages and the list API at N accounts.

    python -m loadtest.reads                      # 30,000 accounts, 30 requests per path
    python -m loadtest.reads --users 2000 --requests 10
    WMI_BENCH_ROOT=/path/to/older/checkout python -m loadtest.reads   # the same, on another version

It writes N users (each with its own group; one in ten also in one of 50 shared groups)
straight into a fresh sandbox's account files, starts ``wmi2 up`` on it (loadtest.stack),
waits for the worker's first read, logs in, then asks each path one request at a time
(after two untimed ones) and prints the median and p90 of the wall time of each
request, and the size of its answer; last, the users page asked once right after each of
ten changes (the first read after the model moved). One request at a time: this measures
what one request costs, not what the machine sustains.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

from loadtest.stack import ADMIN, ADMIN_PASSWORD, HOST_NAME, Up
from services.cli.private import SANDBOX_UMASK, umask
from services.worker.sandbox import init_sandbox

SHARED_GROUPS = 50
FIRST_UID = 2000
# A login that exists at every size (the 7th seeded user), and a substring of a few logins.
SOME_LOGIN = "u000007"
PATHS = [
    "/",
    "/users/",
    "/users/?q=u0001",
    "/users/?q=u0001&page=2",
    "/groups/",
    "/groups/?q=team",
    "/api/v1/users",
    "/api/v1/users?q=u0001",
    "/api/v1/users?group=team07&limit=500",
    "/api/v1/users?locked=true&offset=100",
    "/api/v1/groups",
    "/api/v1/groups?q=team",
    f"/api/v1/users/{SOME_LOGIN}",
]


def seed(sysroot: Path, count: int) -> None:
    """Append ``count`` users, their own groups and the shared groups to a sandbox's files."""
    passwd, shadow, group, gshadow = [], [], [], []
    shared: dict[int, list[str]] = {k: [] for k in range(SHARED_GROUPS)}
    for n in range(count):
        login, uid = f"u{n:06d}", FIRST_UID + n
        passwd.append(f"{login}:x:{uid}:{uid}:User {n} Number{n % 97}:/home/{login}:/bin/bash\n")
        locked = "!" if n % 17 == 5 else ""
        shadow.append(f"{login}:{locked}$6$seed$0123456789abcdefghijklmnopqrstuvwxyz:20000:0:99999:7:::\n")
        group.append(f"{login}:x:{uid}:\n")
        gshadow.append(f"{login}:!::\n")
        if n % 10 == 0:
            shared[n // 10 % SHARED_GROUPS].append(login)
    for k, members in shared.items():
        listed = ",".join(members)
        group.append(f"team{k:02d}:x:{FIRST_UID + count + k}:{listed}\n")
        gshadow.append(f"team{k:02d}:!::{listed}\n")
    etc = sysroot / "etc"
    for name, lines in (("passwd", passwd), ("shadow", shadow), ("group", group), ("gshadow", gshadow)):
        with (etc / name).open("a") as out:
            out.writelines(lines)


def _wait_for_model(client: httpx.Client, count: int, timeout: float = 600) -> float:
    """Seconds until the worker's first read holds every seeded user."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        hosts = client.get("/api/v1/hosts").json()
        if any(h["name"] == HOST_NAME and h["users"] >= count for h in hosts):
            return time.monotonic() - started
        time.sleep(0.5)
    raise TimeoutError(f"the worker did not read {count} users in {timeout:.0f} s")


def measure(client: httpx.Client, path: str, requests: int) -> dict[str, float | int | str]:
    for _ in range(2):
        client.get(path)
    times, size, status = [], 0, 0
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        size, status = len(answer.content), answer.status_code
    times.sort()
    return {
        "path": path,
        "status": status,
        "bytes": size,
        "p50_ms": round(statistics.median(times), 1),
        "p90_ms": round(times[int(len(times) * 0.9) - 1], 1),
    }


def after_changes(client: httpx.Client, changes: int) -> dict[str, float | int | str]:
    """The users page asked once right after each of ``changes`` changes: the first read
    after the model moved (the api reloads its copy of the model then)."""
    times, size, status = [], 0, 0
    for n in range(changes):
        accepted = client.patch(f"/api/v1/users/{SOME_LOGIN}", json={"full_name": f"Changed {n}"})
        accepted.raise_for_status()
        while client.get(accepted.headers["Location"]).json()["state"] not in ("succeeded", "failed"):
            time.sleep(0.05)
        started = time.perf_counter()
        answer = client.get("/users/")
        times.append((time.perf_counter() - started) * 1000)
        size, status = len(answer.content), answer.status_code
    times.sort()
    return {
        "path": "/users/ (first after a change)",
        "status": status,
        "bytes": size,
        "p50_ms": round(statistics.median(times), 1),
        "p90_ms": round(times[int(len(times) * 0.9) - 1], 1),
    }


def run(users: int, requests: int) -> list[dict[str, float | int | str]]:
    up = Up(parent="/dev/shm" if Path("/dev/shm").is_dir() else None)
    with umask(SANDBOX_UMASK):
        sysroot = init_sandbox(up.data_dir / "sysroot")
    seed(sysroot, users)
    with up, httpx.Client(base_url=up.url, verify=False, timeout=120) as client:
        session = client.post("/api/v1/session", json={"login": ADMIN, "password": ADMIN_PASSWORD})
        session.raise_for_status()
        client.headers["X-CSRF-Token"] = session.json()["csrf_token"]
        took = _wait_for_model(client, users)
        print(
            f"worker's first read of {users:,} users: {took:.1f} s after the origin answered", file=sys.stderr
        )
        return [
            *(measure(client, path, requests) for path in PATHS),
            after_changes(client, min(requests, 10)),
        ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=30_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures = run(args.users, args.requests)
    print(f"{'path':<42} {'status':>6} {'bytes':>10} {'p50 ms':>8} {'p90 ms':>8}")
    for f in figures:
        print(f"{f['path']:<42} {f['status']:>6} {f['bytes']:>10,} {f['p50_ms']:>8} {f['p90_ms']:>8}")
    if args.json:
        args.json.write_text(json.dumps({"users": args.users, "figures": figures}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
