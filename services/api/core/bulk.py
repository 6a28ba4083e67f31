"""A bulk action on a selection of users: one job (a batch), one row per user.

Each row is the change its single route makes (``core.changes``), checked the same way
against the host's model; only the job is one. A row whose user is not there, or that the
single change refuses as invalid, refuses the whole request (422, every such row named:
nothing is changed). A row that would change nothing, or that conflicts with the host's
state (a user already in the group, a system account), is left out and named in the
answer; if every row is, the request is refused (409). Generated passwords are hashed
here, and their clear text is in the answer alone (``credentials``): never stored, sent to
the worker, logged or published.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import HTTPException, status
from pydantic import BaseModel, Field

from services.api import schemas
from services.api.core import changes
from services.api.core.changes import Change
from services.api.core.jobs import Submitter
from services.common import actions
from services.common.actions import Action, HomeMode
from services.common.db import Job

BulkAction = Literal["lock", "unlock", "add_groups", "remove_groups", "delete", "generate_passwords"]

# Generated passwords: letters and digits without the look-alikes (0/O, 1/l/I), so that a
# pupil can type one from a printed sheet; 14 of 55 symbols are 80 bits.
ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
GENERATED_LENGTH = 14


class BulkIn(schemas.Strict):
    logins: list[str] = Field(min_length=1, max_length=actions.BATCH_MAX)
    action: BulkAction
    groups: list[str] = Field(
        default_factory=list, max_length=schemas.MAX_GROUPS, description="For add_groups and remove_groups."
    )
    home: HomeMode = Field(
        "keep", description="For delete: the homes kept, removed, or archived then removed."
    )


class Skipped(BaseModel):
    login: str
    reason: str


class Credential(BaseModel):
    login: str
    full_name: str
    password: str


class BulkAccepted(schemas.JobAccepted):
    rows: int = Field(description="The changes the job makes, one per user not skipped.")
    skipped: list[Skipped] = Field(description="Users left out: the change would do nothing, or conflicts.")
    credentials: list[Credential] = Field(
        description="generate_passwords only: each new password, shown here once and kept nowhere."
    )


class Refused(Exception):
    """Rows that cannot be made as asked: the request changes nothing (422, each named)."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__(f"{len(problems)} of the users selected cannot be changed so: nothing was changed.")
        self.problems = problems


@dataclass
class Plan:
    """The rows a bulk request makes, and what it leaves out or refuses."""

    rows: list[actions.BatchRow] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    credentials: list[Credential] = field(default_factory=list)


def generated_password() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(GENERATED_LENGTH))


def _change_for(body: BulkIn) -> tuple[Change[Any], Callable[[], BaseModel]]:
    """The single change each row makes, and how each row's input is made (a generated
    password: one per row)."""
    grouping = body.action in ("add_groups", "remove_groups")
    if grouping and not body.groups:
        verb = body.action.split("_")[0]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"Name the groups to {verb}.")
    if body.groups and not grouping:
        # Not ignored: a field the action does not read is a mistake the admin should see.
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"'groups' is for add_groups and remove_groups, not {body.action}.",
        )
    chosen: dict[str, tuple[Change[Any], Callable[[], BaseModel]]] = {
        "lock": (changes.USER_LOCK, schemas.TargetOnly),
        "unlock": (changes.USER_UNLOCK, schemas.TargetOnly),
        "add_groups": (changes.USER_MODIFY, lambda: schemas.UserPatchIn(groups_add=body.groups)),
        "remove_groups": (changes.USER_MODIFY, lambda: schemas.UserPatchIn(groups_remove=body.groups)),
        "delete": (changes.USER_DELETE, lambda: schemas.UserDeleteIn(home=body.home)),
        "generate_passwords": (
            changes.USER_PASSWORD,
            lambda: schemas.PasswordIn(password=generated_password()),
        ),
    }
    return chosen[body.action]


def plan(jobs: Submitter, body: BulkIn) -> Plan:
    """Each user's row, checked against the host's model as its single change is."""
    change, make_input = _change_for(body)
    snap = jobs.snapshot()
    made = Plan()
    seen: set[str] = set()
    for number, login in enumerate(body.logins):
        if login in seen:
            continue
        seen.add(login)
        given = make_input()
        try:
            params = change.params(snap, login, given)
        except HTTPException as exc:
            if exc.status_code == status.HTTP_409_CONFLICT:
                made.skipped.append(Skipped(login=login, reason=str(exc.detail)))
            else:
                made.refused.append({"field": f"logins.{number}", "problem": f"{login}: {exc.detail}"})
            continue
        made.rows.append(actions.BatchRow(action=change.action, target=login, params=params.model_dump()))
        if isinstance(given, schemas.PasswordIn):
            user = snap.users.get(login)
            full_name = user.full_name if user else ""
            made.credentials.append(Credential(login=login, full_name=full_name, password=given.password))
    return made


def submit(jobs: Submitter, made: Plan) -> Job:
    """The plan's rows as one job; refused when a row is invalid, or when it has none."""
    if made.refused:
        raise Refused(made.refused)
    if not made.rows:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "Nothing to do: the change would make no difference to any user selected.",
        )
    target = f"{len(made.rows)} user{'s' if len(made.rows) != 1 else ''}"
    return jobs.submit(Action.BATCH, target, actions.Batch(rows=made.rows))


def answer(job: Job, made: Plan) -> BulkAccepted:
    return BulkAccepted(
        id=job.id,
        state=job.state,
        url=f"/api/v1/jobs/{job.id}",
        rows=len(made.rows),
        skipped=made.skipped,
        credentials=made.credentials,
    )
