"""The load tools run, briefly, and report no error and nothing lost: so that they keep working.

Their figures are printed (``pytest -s``), never asserted: timings depend on the machine.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import ROOT

HTTP_TOOLS = ("ab", "httperf", "wrk")


def _run(args: list[str], out: Path, timeout: float) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", *args, "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    print(done.stdout[-6000:], done.stderr[-3000:])
    assert out.exists(), f"{args[0]} wrote no figures (exit {done.returncode}):\n{done.stderr[-3000:]}"
    figures: dict[str, Any] = json.loads(out.read_text())
    return figures


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One quick run of the benchmark (a fresh ``wmi2 up``): HTTP tools, pipeline, locust."""
    missing = [tool for tool in HTTP_TOOLS if shutil.which(tool) is None]
    if missing:
        raise AssertionError(f"not installed: {', '.join(missing)} (make setup-test installs them)")
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    return _run(["loadtest.bench", "--quick", "--tools", "ab,httperf,wrk,pipeline,locust"], out, 600)


@pytest.mark.timeout(700)
def test_the_originals_commands_and_wrk_run_without_error(bench: dict[str, Any]) -> None:
    ab, httperf, wrk = bench["ab"], bench["httperf"], bench["wrk"]
    assert ab["complete"] > 0 and ab["failed"] == 0 and ab["non_2xx"] == 0 and ab["length_failures"] == 0
    assert httperf["errors"] == 0 and httperf["replies"].get("3xx", 0) > 0, httperf["output"]
    assert wrk["errors"] == 0 and wrk["value"] > 0, wrk["output"]


@pytest.mark.timeout(700)
def test_the_action_pipeline_loses_nothing(bench: dict[str, Any]) -> None:
    for run in (bench["pipeline"]["paced"], bench["pipeline"]["flood"]):
        assert run["sent"] > 0 and run["errors"] == 0 and run["failed"] == 0 and run["lost"] == 0, run
        assert run["created"] == run["sent"]


@pytest.mark.timeout(700)
def test_locust_runs_the_scenarios_without_failure(bench: dict[str, Any]) -> None:
    locust = bench["locust"]
    assert locust["requests"] > 0 and locust["failures"] == 0, locust["output"][-3000:]
    names = {row["Name"] for row in locust["rows"]}
    assert "/api/v1/users?system=false" in names and "/api/v1/session (log in)" in names


@pytest.mark.timeout(300)
def test_the_fanout_delivers_every_event_to_every_client(tmp_path: Path) -> None:
    args = ["loadtest.fanout", "--clients", "100", "--events", "5", "--rate", "10", "--settle", "0.5"]
    result = _run(args, tmp_path / "fanout.json", 240)
    assert result["connected"] == 100 and result["connect_failures"] == 0
    assert result["held_at_end"] == 100
    assert result["deliveries"] == 500 and result["lost"] == 0 and result["duplicates"] == 0


@pytest.mark.timeout(300)
def test_the_job_cost_breakdown_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loadtest.jobcost", "--jobs", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    print(done.stdout, done.stderr[-3000:])
    assert done.returncode == 0 and "change set: write the files" in done.stdout


@pytest.mark.timeout(300)
def test_the_tool_cost_runs_on_a_sandbox_of_each_size() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loadtest.toolcost", "--sizes", "0,20", "--calls", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    print(done.stdout, done.stderr[-3000:])
    rows = [line.split() for line in done.stdout.splitlines()[1:]]
    assert done.returncode == 0 and [(r[0], r[1]) for r in rows] == [
        ("0", "disk"), ("0", "shm"), ("20", "disk"), ("20", "shm")
    ]  # fmt: skip


@pytest.mark.timeout(180)
def test_chaos_counts_add_up_across_a_web_worker_kill(tmp_path: Path) -> None:
    """15 s of load, one web worker killed: every count that must be 0 is, and they add up."""
    args = ["loadtest.chaos", "--minutes", "0.25", "--every", "10", "--faults", "web-worker",
            "--rate", "4", "--clients", "2", "--drain", "20"]  # fmt: skip
    result = _run(args, tmp_path / "chaos.json", 150)
    jobs = result["jobs"]
    assert len(result["faults"]) == 1 and result["faults"][0]["pid"] > 0, result["faults"]
    assert jobs["accepted"] > 0
    ended = jobs["succeeded"] + jobs["failed"] + jobs["lost"] + jobs["cancelled"]
    assert jobs["accepted"] + jobs["accepted_without_202"] == jobs["jobs"] == ended, jobs
    assert result["requests"] == jobs["accepted"] + result["refused_during_faults"] + result["other_answers"]
    for reader in result["readers"]:
        assert reader["expected"] > 0 and reader["received"] == reader["expected"], reader
    assert result["must_be_zero"] == dict.fromkeys(result["must_be_zero"], 0), result["must_be_zero"]


@pytest.mark.timeout(240)
def test_scale_seeds_a_sandbox_and_measures_each_row(tmp_path: Path) -> None:
    """50 seeded accounts, every step of ``loadtest.scale`` once, briefly (the paced run left out)."""
    args = ["loadtest.scale", "--accounts", "50", "--singles", "2", "--externals", "1", "--requests", "1",
            "--batch", "10", "--flood", "10", "--rate", "0"]  # fmt: skip
    figures = _run(args, tmp_path / "scale.json", 200)["runs"][0]["50"]
    assert figures["model_ready_s"] >= 0, figures
    for run in (figures["singles"], figures["batch"], figures["flood"]):
        assert run["sent"] > 0 and run["errors"] == 0 and run["failed"] == 0 and run["lost"] == 0, run
        assert run["created"] == run["sent"]
    assert figures["batch"]["jobs_seen"] == 10 and figures["batch"]["batch_s"] > 0, figures["batch"]
    assert figures["external"]["lost"] == 0 and figures["external"]["visible"]["n"] == 1, figures["external"]
    reads = figures["reads"]
    assert {reads[k]["status"] for k in ("users_page", "users_filter", "dashboard", "api_users")} == {200}
    answer = reads["api_users"]  # a plain list, or a page of an envelope with the total
    assert (answer["total"] if answer["shape"] == "envelope" else answer["items"]) >= 50, answer
    assert figures["worker"]["processes"] >= 2 and figures["worker"]["rss_mb"] > 0, figures["worker"]
