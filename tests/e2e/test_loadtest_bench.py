"""``loadtest.bench`` runs, briefly (``--quick``), and its tools report no error and nothing lost.

One run of the benchmark for the module (a fresh ``wmi2 up``): the original's HTTP commands
(ab, httperf) and wrk, the action pipeline, locust. Figures are printed, never asserted.
"""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from tests.support.loadtools import run_tool

HTTP_TOOLS = ("ab", "httperf", "wrk")


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One quick run of the benchmark (a fresh ``wmi2 up``): HTTP tools, pipeline, locust."""
    missing = [tool for tool in HTTP_TOOLS if shutil.which(tool) is None]
    if missing:
        raise AssertionError(f"not installed: {', '.join(missing)} (make setup-test installs them)")
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    return run_tool(["loadtest.bench", "--quick", "--tools", "ab,httperf,wrk,pipeline,locust"], out, 600)


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
