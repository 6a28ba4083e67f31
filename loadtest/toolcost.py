"""What ``useradd`` alone costs, without WMI2: the floor under every user creation.

    python -m loadtest.toolcost                       # 0, 1,000 and 3,000 users; disk and /dev/shm
    python -m loadtest.toolcost --sizes 0 --calls 100

For each size, a fresh sandbox root (``services.worker.sandbox.init_sandbox``) is seeded
with that many users (written straight into the files), then ``useradd`` runs ``--calls``
times one after the other, as WMI2's worker runs it (``--prefix ROOT -m -k ROOT/etc/skel
-c NAME -p HASH``), from this process. The table gives the median milliseconds per call, in
the system's temp dir (on its disk) and in ``/dev/shm`` (memory: no fsync latency), and
the creations per second that a host could sustain if nothing but the tool ran.

One host's tools cannot run side by side: each takes the account files' lock files and a
second one fails ("cannot lock /etc/passwd"), so a host's creations are serial and this
figure bounds them whatever WMI2 does around the tool.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from loadtest.jobcost import seed
from services.worker.sandbox import init_sandbox

HASH = "$6$toolcost$" + "x" * 86
PLACES = {"disk": None, "shm": "/dev/shm"}


def cost(size: int, calls: int, parent: str | None) -> list[float]:
    """Milliseconds of each of ``calls`` useradd runs on a root already holding ``size`` users."""
    directory = Path(tempfile.mkdtemp(prefix="wmi2-toolcost-", dir=parent))
    try:
        root = init_sandbox(directory / "sysroot")
        seed(root, size)
        useradd = shutil.which("useradd", path="/usr/sbin:/usr/bin:/sbin:/bin") or "useradd"
        times = []
        for i in range(calls):
            argv = [useradd, "--prefix", str(root), "-m", "-k", str(root / "etc" / "skel")]
            argv += ["-c", f"Tool {i}", "-p", HASH, "--", f"tool{i:05d}"]
            started = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, env={"PATH": "/usr/sbin:/usr/bin"})
            times.append((time.perf_counter() - started) * 1000)
        return times
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.toolcost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="0,1000,3000", help="users on the root before the calls")
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args(argv)
    print(f"{'users':>6}  {'place':<5}  {'ms per useradd (median)':>24}  {'creations/s at most':>20}")
    for size in (int(s) for s in args.sizes.split(",")):
        for place, parent in PLACES.items():
            median = statistics.median(cost(size, args.calls, parent))
            print(f"{size:>6}  {place:<5}  {median:>24.1f}  {1000 / median:>20.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
