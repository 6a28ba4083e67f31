"""``loadtest.scale`` runs, briefly, on a small seeded sandbox: every step measured once.

Figures are printed (``pytest -s``), never asserted on time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.loadtools import run_tool


@pytest.mark.timeout(240)
def test_scale_seeds_a_sandbox_and_measures_each_row(tmp_path: Path) -> None:
    """50 seeded accounts, every step of ``loadtest.scale`` once, briefly (the paced run left out)."""
    args = ["loadtest.scale", "--accounts", "50", "--singles", "2", "--externals", "1", "--requests", "1",
            "--batch", "10", "--flood", "10", "--rate", "0"]  # fmt: skip
    figures = run_tool(args, tmp_path / "scale.json", 200)["runs"][0]["50"]
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
