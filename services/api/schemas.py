"""The API's request and response bodies.

Request bodies reject unknown fields: a typo ("fullname") must fail loudly instead of
being ignored while the job reports success.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Bounds on list sizes: beyond them a request is a mistake or an attack, not a bulk edit.
MAX_GROUPS = 256
MAX_LOGINS = 10_000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Strict):
    login: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class SessionOut(BaseModel):
    login: str
    role: str
    csrf_token: str


class UserCreateIn(Strict):
    login: str
    full_name: str = ""
    shell: str | None = None
    groups: list[str] = Field(default_factory=list, max_length=MAX_GROUPS)
    password: str | None = None
    create_home: bool = True


class UserPatchIn(Strict):
    full_name: str | None = None
    shell: str | None = None
    groups: list[str] | None = Field(
        default=None, max_length=MAX_GROUPS, description="The full new list of supplementary groups."
    )
    groups_add: list[str] = Field(default_factory=list, max_length=MAX_GROUPS)
    groups_remove: list[str] = Field(default_factory=list, max_length=MAX_GROUPS)


class PasswordIn(Strict):
    password: str


class GroupCreateIn(Strict):
    name: str
    gid: int | None = None


class MembersIn(Strict):
    logins: list[str] = Field(max_length=MAX_LOGINS)


class JobAccepted(BaseModel):
    id: str
    state: str
    url: str


class JobOut(BaseModel):
    id: str
    state: str
    action: str
    target: str
    actor: str | None
    host: str
    created_at: datetime
    finished_at: datetime | None
    result: str | None
    error: str | None
    params: dict[str, Any]


class HostOut(BaseModel):
    name: str
    online: bool
    last_seen: str | None


class Health(BaseModel):
    status: str


class Problem(BaseModel):
    """Every 4xx and 5xx answer: one sentence a person understands."""

    detail: str
