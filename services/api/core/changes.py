"""Each change a person can ask of a host, defined once: its input, its checks, its password
hashed, its job.

A change is asked three ways, and each calls the same :class:`Change`:

- its JSON route (``routes/api/users.py``, ``groups.py``), with the body (or query) that
  FastAPI validated against the change's input model;
- its plain form (``routes/pages/users.py``, ``groups.py``), whose fields are parsed into that
  same model (``ui.forms.parse``);
- a job's retry (``core.jobcontrol``), whose stored parameters are read back into it.

Then the same steps whichever way it came: the host's snapshot (refused at once if its worker
is offline), the checks of ``core.validation`` against it, a password hashed once they pass
(the clear text goes no further), the job recorded and sent (``core.jobs.Submitter``). So a
field added to a change touches its input model (``schemas``), its check, the worker and the
templates, and neither this module nor a route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from services.api import schemas
from services.api.core import passwords, validation
from services.api.core.jobs import Submitter
from services.api.core.readmodel import HostSnapshot
from services.common import actions
from services.common.actions import Action
from services.common.db import Job

In = TypeVar("In", bound=BaseModel)


@dataclass(frozen=True)
class Change(Generic[In]):
    """One action: what it takes (``input``), and how that becomes the worker's parameters."""

    action: Action
    input: type[In]
    # The checks against the host's read model, given the target and the input: the worker's
    # parameters (a password hashed), or an HTTPException that says what is wrong.
    params: Callable[[HostSnapshot, str, In], BaseModel]
    # A creation names its target in its input (this field); any other change in its path.
    named_by: str | None = None

    def submit(self, jobs: Submitter, given: In | None = None, *, target: str | None = None) -> Job:
        """Check ``given`` (none: a change that takes only its target) and make it a job."""
        given = self.input() if given is None else given
        name = str(getattr(given, self.named_by)) if self.named_by else target
        if name is None:
            raise TypeError(f"{self.action} acts on the target its path names: none was given")
        return jobs.submit(self.action, name, self.params(jobs.snapshot(), name, given))

    def recorded(self, params: BaseModel) -> In:
        """The input that made the parameters ``params`` (a ValidationError if they cannot have)."""
        return self.input.model_validate(params.model_dump(include=set(self.input.model_fields)))


def _user_create(snap: HostSnapshot, _login: str, body: schemas.UserCreateIn) -> actions.UserCreate:
    params = validation.user_create(snap, body)
    if body.password is not None:
        params.password_hash = passwords.host_password_hash(body.password)
    return params


def _user_password(snap: HostSnapshot, login: str, body: schemas.PasswordIn) -> actions.UserPassword:
    validation.user_password(snap, login, body)
    return actions.UserPassword(login=login, password_hash=passwords.host_password_hash(body.password))


def _user_lock(snap: HostSnapshot, login: str, _: schemas.TargetOnly) -> actions.UserRef:
    return validation.user_lock(snap, login)


def _user_unlock(snap: HostSnapshot, login: str, _: schemas.TargetOnly) -> actions.UserRef:
    return validation.user_unlock(snap, login)


def _user_delete(snap: HostSnapshot, login: str, given: schemas.UserDeleteIn) -> actions.UserDelete:
    return validation.user_delete(snap, login, given.home)


def _group_create(snap: HostSnapshot, _name: str, body: schemas.GroupCreateIn) -> actions.GroupCreate:
    return validation.group_create(snap, body)


def _group_delete(snap: HostSnapshot, name: str, _: schemas.TargetOnly) -> actions.GroupRef:
    return validation.group_delete(snap, name)


USER_CREATE = Change(Action.USER_CREATE, schemas.UserCreateIn, _user_create, named_by="login")
USER_MODIFY = Change(Action.USER_MODIFY, schemas.UserPatchIn, validation.user_modify)
USER_PASSWORD = Change(Action.USER_PASSWORD, schemas.PasswordIn, _user_password)
USER_LOCK = Change(Action.USER_LOCK, schemas.TargetOnly, _user_lock)
USER_UNLOCK = Change(Action.USER_UNLOCK, schemas.TargetOnly, _user_unlock)
USER_DELETE = Change(Action.USER_DELETE, schemas.UserDeleteIn, _user_delete)
GROUP_CREATE = Change(Action.GROUP_CREATE, schemas.GroupCreateIn, _group_create, named_by="name")
GROUP_DELETE = Change(Action.GROUP_DELETE, schemas.TargetOnly, _group_delete)
GROUP_ADD_MEMBERS = Change(Action.GROUP_ADD_MEMBERS, schemas.MembersIn, validation.group_add_members)
GROUP_REMOVE_MEMBERS = Change(Action.GROUP_REMOVE_MEMBERS, schemas.MembersIn, validation.group_remove_members)

# Every action a job can carry, by name: what a retry goes through again.
CHANGES: dict[Action, Change[Any]] = {
    change.action: change
    for change in (
        USER_CREATE, USER_MODIFY, USER_PASSWORD, USER_LOCK, USER_UNLOCK, USER_DELETE,
        GROUP_CREATE, GROUP_DELETE, GROUP_ADD_MEMBERS, GROUP_REMOVE_MEMBERS,
    )
}  # fmt: skip
