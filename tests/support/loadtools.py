"""Running a load tool (``python -m loadtest.X``) as a command, for the load tools' smoke tests.

Their figures are printed (``pytest -s``), never asserted on time: timings depend on the machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.processes import ROOT


def run_tool(args: list[str], out: Path, timeout: float) -> dict[str, Any]:
    """``python -m ARGS --json OUT``: the figures it wrote."""
    done = subprocess.run(
        [sys.executable, "-m", *args, "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    print(done.stdout[-6000:], done.stderr[-3000:])
    assert out.exists(), f"{args[0]} wrote no figures (exit {done.returncode}):\n{done.stderr[-3000:]}"
    figures: dict[str, Any] = json.loads(out.read_text())
    return figures


def run_command(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """``python -m ARGS``, its output printed."""
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    print(done.stdout, done.stderr[-3000:])
    return done
