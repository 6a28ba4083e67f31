"""The smaller load tools run, briefly, and report no error and nothing lost: the SSE fan-out,
the job cost breakdown, the tool cost on sandboxes of each size.

Figures are printed (``pytest -s``), never asserted on time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.loadtools import run_command, run_tool


@pytest.mark.timeout(300)
def test_the_fanout_delivers_every_event_to_every_client(tmp_path: Path) -> None:
    args = ["loadtest.fanout", "--clients", "100", "--events", "5", "--rate", "10", "--settle", "0.5"]
    result = run_tool(args, tmp_path / "fanout.json", 240)
    assert result["connected"] == 100 and result["connect_failures"] == 0
    assert result["held_at_end"] == 100
    assert result["deliveries"] == 500 and result["lost"] == 0 and result["duplicates"] == 0


@pytest.mark.timeout(300)
def test_the_job_cost_breakdown_runs() -> None:
    done = run_command(["loadtest.jobcost", "--jobs", "5"], 240)
    assert done.returncode == 0 and "change set: write the files" in done.stdout


@pytest.mark.timeout(300)
def test_the_tool_cost_runs_on_a_sandbox_of_each_size() -> None:
    done = run_command(["loadtest.toolcost", "--sizes", "0,20", "--calls", "3"], 240)
    rows = [line.split() for line in done.stdout.splitlines()[1:]]
    assert done.returncode == 0 and [(r[0], r[1]) for r in rows] == [
        ("0", "disk"), ("0", "shm"), ("20", "disk"), ("20", "shm")
    ]  # fmt: skip


@pytest.mark.timeout(300)
def test_the_worker_memory_steps_run() -> None:
    done = run_command(["loadtest.workermem", "--accounts", "50", "--set", "20", "--trace"], 240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "after a set of 20 creations (0 refused)" in done.stdout and "after 5 more" in done.stdout
