"""The API's request and response bodies.

Request bodies reject unknown fields: a typo ("fullname") must fail loudly instead of
being ignored while the job reports success.

The input of each change (``UserCreateIn``, ``UserPatchIn``...) is also what its plain form
is parsed into (``ui.forms.parse``): one model per change, whichever way it comes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.accounts import Group, User
from services.common.actions import HomeMode

# Bounds on list sizes: beyond them a request is a mistake or an attack, not a bulk edit.
MAX_GROUPS = 256
MAX_LOGINS = 10_000
# Past any table's end, and within SQLite's 64-bit INTEGER (a larger OFFSET fails, as a 500).
MAX_OFFSET = 1_000_000_000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class BlankIsUnset:
    """Marks an optional input field whose empty form value means "not given", as its absence
    from a JSON body does: the host's default shell, no password, a gid of the host's choosing.

    Only ``ui.forms.parse`` reads it; the JSON body and the OpenAPI document are unchanged.
    A field without it keeps an empty value as given (an emptied full name clears it).
    """


BLANK_UNSET = BlankIsUnset()


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
    shell: Annotated[str | None, BLANK_UNSET] = None
    groups: list[str] = Field(default_factory=list, max_length=MAX_GROUPS)
    password: Annotated[str | None, BLANK_UNSET] = None
    create_home: bool = True


class UserPatchIn(Strict):
    full_name: str | None = None
    shell: Annotated[str | None, BLANK_UNSET] = None
    groups: list[str] | None = Field(
        default=None, max_length=MAX_GROUPS, description="The full new list of supplementary groups."
    )
    groups_add: list[str] = Field(default_factory=list, max_length=MAX_GROUPS)
    groups_remove: list[str] = Field(default_factory=list, max_length=MAX_GROUPS)


class PasswordIn(Strict):
    password: str


class UserDeleteIn(Strict):
    """Sent as the query string of ``DELETE /users/{login}`` (it has no body)."""

    home: HomeMode = "keep"


class TargetOnly(Strict):
    """The input of a change that takes nothing but its target, named by the path (lock, unlock,
    a group's deletion)."""


class GroupCreateIn(Strict):
    name: str
    gid: Annotated[int | None, BLANK_UNSET] = None


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
    rows: list[dict[str, Any]] | None = Field(
        None, description="A batch's changes in order, each {action, target, result, error}; null otherwise."
    )
    started_at: datetime | None = Field(None, description="When a worker last claimed it.")
    age_seconds: float = Field(description="Seconds since it was queued, at the time of this answer.")
    stuck: bool = Field(
        description="Queued, or running, for longer than expected "
        "(WMI_JOB_STUCK_QUEUED, WMI_JOB_STUCK_RUNNING seconds): its worker may be gone or hung."
    )


class HostOut(BaseModel):
    name: str
    online: bool = Field(description="Its worker's heartbeat is alive: changes are accepted.")
    last_seen: str | None = Field(description="When its worker was last heard from (ISO 8601, UTC).")
    users: int = Field(0, description="Users in its read model, system accounts included.")
    groups: int = Field(0, description="Groups in its read model, system groups included.")
    unreadable: list[str] = Field(
        default_factory=list,
        description="Lines of its passwd and group with no account WMI2 can read: 'FILE line N (NAME): why'.",
    )


# --- a host's users and groups, a page at a time ---------------------------------------------------

PAGE_DEFAULT = 100
PAGE_MAX = 500


class _Page(BaseModel):
    total: int = Field(description="How many records match the filters, on every page together.")
    limit: int = Field(description="The most records a page holds, as asked (default 100, at most 500).")
    offset: int = Field(description="How many matching records come before this page's first, as asked.")


class UserPage(_Page):
    """One page of a host's users, by login: ``items`` are the records from ``offset`` on."""

    items: list[User]


class GroupPage(_Page):
    """One page of a host's groups, by name: ``items`` are the records from ``offset`` on."""

    items: list[Group]


class Health(BaseModel):
    status: str


class Problem(BaseModel):
    """Every 4xx and 5xx answer: one sentence a person understands."""

    detail: str


class FieldProblem(BaseModel):
    field: str = Field(description="Where, dotted: 'login', 'groups.0'; empty for the body as a whole.")
    problem: str


class ValidationProblem(Problem):
    """A 422: the sentence, and, when the request did not fit its schema, one per field."""

    errors: list[FieldProblem] = Field(default_factory=list)


# --- WMI accounts and the audit trail ----------------------------------------------------------

Role = Literal["admin", "viewer"]


class AccountCreateIn(Strict):
    login: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    role: Role = "viewer"


class AccountPatchIn(Strict):
    role: Annotated[Role | None, BLANK_UNSET] = None
    disabled: bool | None = None


class AccountOut(BaseModel):
    login: str
    role: str
    disabled: bool
    created_at: datetime


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str | None
    action: str
    target: str
    host: str | None
    outcome: str
    detail: str | None
    job_id: str | None


# --- the fleet: one login across hosts ------------------------------------------------------------


class FleetAccountOut(BaseModel):
    """A login as one host has it: what is compared across hosts."""

    uid: int
    gid: int
    primary_group: str | None
    groups: list[str]


class FleetUserOut(BaseModel):
    login: str
    accounts: dict[str, FleetAccountOut] = Field(description="By host name, the hosts that have this login.")
    missing: list[str] = Field(description="The hosts compared that lack this login.")
    differs: list[str] = Field(description="The fields that differ between those hosts: uid, gid, groups.")


class FleetUsersOut(BaseModel):
    hosts: list[HostOut] = Field(description="The hosts compared: every known host with a read model.")
    users: list[FleetUserOut]
