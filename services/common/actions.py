"""The actions a job can carry, and their parameters as the worker receives them.

The API validates a request against the host's read model, then sends one of these.
``password_hash`` is a crypt(3) hash, never a clear-text password. It is left out of what
is stored in a job and of the Celery message alike (:func:`public_params`, which marks it
as set): the api keeps it in a short-lived key of its own (``keys.job_secret``) that the
worker reads and deletes, so a dump of the broker or of the job table holds no hash, and a
job can be sent again from its row alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field


class Action(StrEnum):
    USER_CREATE = "user.create"
    USER_MODIFY = "user.modify"
    USER_PASSWORD = "user.password"  # noqa: S105 (an action name, not a password)
    USER_LOCK = "user.lock"
    USER_UNLOCK = "user.unlock"
    USER_DELETE = "user.delete"
    GROUP_CREATE = "group.create"
    GROUP_DELETE = "group.delete"
    GROUP_ADD_MEMBERS = "group.add_members"
    GROUP_REMOVE_MEMBERS = "group.remove_members"
    # Many of the above as one job (a bulk action on a selection): one row per change.
    BATCH = "batch"


HomeMode = Literal["keep", "remove", "archive"]

SECRET_FIELDS = frozenset({"password_hash"})
# What a secret field holds in a job's stored and sent parameters when it was given.
SECRET_SET = "(set)"  # noqa: S105 (a mark that a secret was given, not a secret)


class UserCreate(BaseModel):
    login: str
    full_name: str = ""
    shell: str | None = None
    create_home: bool = True
    groups: list[str] = Field(default_factory=list)
    password_hash: str | None = None


class UserModify(BaseModel):
    login: str
    full_name: str | None = None
    shell: str | None = None
    groups_add: list[str] = Field(default_factory=list)
    groups_remove: list[str] = Field(default_factory=list)


class UserPassword(BaseModel):
    login: str
    password_hash: str


class UserRef(BaseModel):
    login: str


class UserDelete(BaseModel):
    login: str
    home: HomeMode = "keep"


class GroupCreate(BaseModel):
    name: str
    gid: int | None = None


class GroupRef(BaseModel):
    name: str


class GroupMembers(BaseModel):
    name: str
    logins: list[str]


class BatchRow(BaseModel):
    """One change of a batch: its action (any but a batch), its target and its parameters."""

    action: Action
    target: str
    params: dict[str, Any]


class Batch(BaseModel):
    """Changes applied as one job, in this order, each with its own outcome."""

    rows: list[BatchRow]


# The most rows a batch holds: a whole school's intake, and one change set.
BATCH_MAX = 5000


PARAMS: dict[Action, type[BaseModel]] = {
    Action.USER_CREATE: UserCreate,
    Action.USER_MODIFY: UserModify,
    Action.USER_PASSWORD: UserPassword,
    Action.USER_LOCK: UserRef,
    Action.USER_UNLOCK: UserRef,
    Action.USER_DELETE: UserDelete,
    Action.GROUP_CREATE: GroupCreate,
    Action.GROUP_DELETE: GroupRef,
    Action.GROUP_ADD_MEMBERS: GroupMembers,
    Action.GROUP_REMOVE_MEMBERS: GroupMembers,
    Action.BATCH: Batch,
}


def parse_params(action: Action, raw: dict[str, Any]) -> BaseModel:
    return PARAMS[action].model_validate(raw)


def _secret_fields(params: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str, str]]:
    """Each secret field of dumped parameters: the dict that holds it, its name, and its
    path (``password_hash``; in a batch, ``rows.3.password_hash``)."""
    for name in sorted(SECRET_FIELDS & params.keys()):
        yield params, name, name
    rows = params.get("rows")
    if isinstance(rows, list):
        for number, row in enumerate(rows):
            inner = row.get("params") if isinstance(row, dict) else None
            if isinstance(inner, dict):
                for name in sorted(SECRET_FIELDS & inner.keys()):
                    yield inner, name, f"rows.{number}.{name}"


def public_params(params: BaseModel) -> dict[str, Any]:
    """The parameters fit to store, show and send: every secret field replaced by a mark."""
    shown = params.model_dump()
    for holder, name, _path in _secret_fields(shown):
        if holder[name] is not None:
            holder[name] = SECRET_SET
    return shown


def secrets_of(params: BaseModel) -> dict[str, str]:
    """The secret fields that were given, by path, with their values: what the api keeps aside."""
    return {
        path: holder[name]
        for holder, name, path in _secret_fields(params.model_dump())
        if holder[name] is not None
    }


def wanted_secrets(public: dict[str, Any]) -> list[str]:
    """The paths of the secret fields that public parameters mark as set: what the worker
    must read back."""
    return sorted(path for holder, name, path in _secret_fields(public) if holder[name] == SECRET_SET)


def with_secrets_put_back(public: dict[str, Any], kept: dict[str, str]) -> dict[str, Any]:
    """A copy of public parameters with each secret marked as set taken from ``kept`` (by path)."""
    copy: dict[str, Any] = orjson.loads(orjson.dumps(public))
    for holder, name, path in _secret_fields(copy):
        if holder[name] == SECRET_SET:
            holder[name] = kept[path]
    return copy
