"""``wmi2 up``'s preparation of a data dir (the whole command runs in tests/e2e/test_up.py)."""

from __future__ import annotations

from pathlib import Path

from services.cli.up import prepare
from services.common.settings import Settings


def test_up_second_run_keeps_the_first_admin(tmp_path: Path) -> None:
    """The first admin is made once: a second ``prepare`` prints no new password."""
    settings = Settings(data_dir=tmp_path / "var", host_name="uphost")
    first = prepare(settings)
    assert first
    assert prepare(settings) is None
