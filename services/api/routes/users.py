"""The host's users: read from the read model, changed through jobs."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from services.api import schemas
from services.api.core import passwords, readmodel, validation
from services.api.deps import AsyncRedisDep, CurrentSession, HostDep, SubmitterDep
from services.api.responses import ACCEPTED, PROBLEMS, accepted, raw_json
from services.common.accounts import User
from services.common.actions import Action, HomeMode, UserPassword, UserRef

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[User])
async def list_users(
    _: CurrentSession, aredis: AsyncRedisDep, host: HostDep, system: bool = False
) -> Response:
    """The host's users, by login; system accounts only with ``?system=true``."""
    return raw_json(await readmodel.users_json(aredis, host, system))


@router.get("/{login}", response_model=User, responses=PROBLEMS)
async def get_user(login: str, _: CurrentSession, aredis: AsyncRedisDep, host: HostDep) -> Response:
    raw = await readmodel.user_json(aredis, host, login)
    if raw is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no user {login!r} on host {host!r}.")
    return raw_json(raw)


@router.post("", **ACCEPTED)
def create_user(body: schemas.UserCreateIn, jobs: SubmitterDep) -> Response:
    params = validation.user_create(jobs.snapshot(), body)
    if body.password is not None:
        params.password_hash = passwords.host_password_hash(body.password)
    return accepted(jobs.submit(Action.USER_CREATE, body.login, params))


@router.patch("/{login}", **ACCEPTED)
def modify_user(login: str, body: schemas.UserPatchIn, jobs: SubmitterDep) -> Response:
    params = validation.user_modify(jobs.snapshot(), login, body)
    return accepted(jobs.submit(Action.USER_MODIFY, login, params))


@router.delete("/{login}", **ACCEPTED)
def delete_user(login: str, jobs: SubmitterDep, home: HomeMode = "keep") -> Response:
    """Delete a user; its home is kept (default), removed, or archived then removed."""
    params = validation.user_delete(jobs.snapshot(), login, home)
    return accepted(jobs.submit(Action.USER_DELETE, login, params))


@router.post("/{login}/password", **ACCEPTED)
def set_password(login: str, body: schemas.PasswordIn, jobs: SubmitterDep) -> Response:
    validation.changeable_user(jobs.snapshot(), login)
    validation.password(body.password)
    params = UserPassword(login=login, password_hash=passwords.host_password_hash(body.password))
    return accepted(jobs.submit(Action.USER_PASSWORD, login, params))


@router.post("/{login}/lock", **ACCEPTED)
def lock_user(login: str, jobs: SubmitterDep) -> Response:
    validation.changeable_user(jobs.snapshot(), login)
    return accepted(jobs.submit(Action.USER_LOCK, login, UserRef(login=login)))


@router.post("/{login}/unlock", **ACCEPTED)
def unlock_user(login: str, jobs: SubmitterDep) -> Response:
    params = validation.user_unlock(jobs.snapshot(), login)
    return accepted(jobs.submit(Action.USER_UNLOCK, login, params))
