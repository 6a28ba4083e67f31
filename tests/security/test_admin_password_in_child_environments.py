"""Finding 16: WMI_ADMIN_PASSWORD stayed in the environment of the web and worker processes.

The attack: the first admin's password, given to ``wmi2 up`` once, was copied into the
environment of redis-server, the worker and the web servers, where it stays readable
(``/proc/PID/environ``, a crash report, a debugging dump) for as long as they run, though
none of them needs it.

The fix: ``prepare`` uses it, then ``wmi2 up`` starts every child with an environment
without it. In compose, only the one-shot ``init`` service gets it (tests/e2e/test_compose.py).
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.security.conftest import ADMIN_PASSWORD, UpRun


def test_no_child_of_wmi2_up_holds_the_admin_password(up_run: UpRun) -> None:
    assert ADMIN_PASSWORD in Path(f"/proc/{up_run.pid}/environ").read_bytes().decode(), "not given"
    children = up_run.descendants()
    names = " ".join(" ".join(p.cmdline()) for p in children)
    assert "redis-server" in names and "celery" in names and "web" in names
    holding = []
    for child in children:
        try:
            environ = Path(f"/proc/{child.pid}/environ").read_bytes()
        except FileNotFoundError:  # gone meanwhile (a recycled pool process)
            continue
        if ADMIN_PASSWORD.encode() in environ:
            holding.append(" ".join(child.cmdline()))
    assert holding == []


def test_the_admin_password_was_used(up_run: UpRun) -> None:
    """Kept from the children only after ``prepare`` made the first admin with it."""
    login = {"login": "admin", "password": ADMIN_PASSWORD}
    answer = httpx.post(f"{up_run.url}/api/v1/session", json=login, verify=False, timeout=30)
    assert answer.status_code == 200, answer.text
