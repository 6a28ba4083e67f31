"""What a job asks for, as the worker runs it: its action, its parameters, and the secrets
the api kept aside for it (``keys.job_secret``) put back in place.

Params may hold a password hash once the secrets are back: they are never logged, and a
validation error is reported by the names of its fields only.
"""

from __future__ import annotations

from typing import Any

import orjson
import redis
from pydantic import BaseModel, ValidationError

from services.common import actions, keys
from services.common.actions import Action


class BadJob(Exception):
    """The job cannot be run as sent; the message says why, without any parameter's value."""


def fetch_secrets(client: redis.Redis, job_ids: list[str]) -> dict[str, Any]:
    """The secrets the api kept aside for these jobs (one round trip)."""
    if not job_ids:
        return {}
    return dict(zip(job_ids, client.mget([keys.job_secret(job_id) for job_id in job_ids]), strict=True))


def with_secrets(client: redis.Redis, job_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters with the secrets the api kept aside for this job put back in place."""
    if not actions.wanted_secrets(params):
        return params
    return with_kept(client.get(keys.job_secret(job_id)), params)


def with_kept(raw: Any, params: dict[str, Any]) -> dict[str, Any]:
    wanted = actions.wanted_secrets(params)
    if not wanted:
        return params
    kept = orjson.loads(raw) if raw else {}
    if not all(isinstance(kept.get(name), str) for name in wanted):
        raise BadJob(
            "The password given with this job is no longer held (it waits a day at most): "
            "nothing was changed; set the password again."
        )
    return actions.with_secrets_put_back(params, kept)


def parse(action: str, params: dict[str, Any]) -> tuple[Action, BaseModel]:
    try:
        known = Action(action)
    except ValueError:
        raise BadJob(f"Unknown action {action!r}.") from None
    try:
        return known, actions.parse_params(known, params)
    except ValidationError as exc:
        # Only the names of the fields: a validation error repeats the values, hashes included.
        fields = sorted({".".join(map(str, e["loc"])) for e in exc.errors()})
        raise BadJob(f"The parameters of {action} are invalid: {', '.join(fields)}.") from None
