"""Celery task names, the one contract between the api (which sends) and the worker (which runs)."""

from __future__ import annotations

RUN_ACTION = "wmi2.run_action"
