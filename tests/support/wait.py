"""Waiting without timed assertions: poll a condition until it holds or a generous deadline passes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float = 30.0, interval: float = 0.05, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception as exc:  # the condition may fail until the thing is up
            last_error = exc
        else:
            if value:
                return value
        time.sleep(interval)
    raise AssertionError(f"gave up waiting for {what or condition}: last error {last_error!r}")
