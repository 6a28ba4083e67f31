"""``loadtest.chaos`` runs, briefly, and its counts add up: so that it keeps working.

Figures are printed (``pytest -s``), never asserted on time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.loadtools import run_tool


@pytest.mark.timeout(180)
def test_chaos_counts_add_up_across_a_web_worker_kill(tmp_path: Path) -> None:
    """6 s of load, one web worker killed 3 s in: every count that must be 0 is, and they add up."""
    args = ["loadtest.chaos", "--minutes", "0.1", "--every", "6", "--faults", "web-worker",
            "--rate", "6", "--clients", "2", "--drain", "20"]  # fmt: skip
    result = run_tool(args, tmp_path / "chaos.json", 150)
    jobs = result["jobs"]
    assert len(result["faults"]) == 1 and result["faults"][0]["pid"] > 0, result["faults"]
    assert jobs["accepted"] > 0
    ended = jobs["succeeded"] + jobs["failed"] + jobs["lost"] + jobs["cancelled"]
    assert jobs["accepted"] + jobs["accepted_without_202"] == jobs["jobs"] == ended, jobs
    assert result["requests"] == jobs["accepted"] + result["refused_during_faults"] + result["other_answers"]
    for reader in result["readers"]:
        assert reader["expected"] > 0 and reader["received"] == reader["expected"], reader
    assert result["must_be_zero"] == dict.fromkeys(result["must_be_zero"], 0), result["must_be_zero"]
