"""The host's users: read from the read model, changed through jobs (``core.changes``, as their
forms of routes/pages/users.py are)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse

from services.api import schemas
from services.api.core import bulk, changes, readmodel
from services.api.core.readmodel import Filters
from services.api.deps import (
    AsyncRedisDep,
    CurrentSession,
    GroupFilter,
    HostDep,
    Limit,
    LockedFilter,
    Offset,
    ReadModelsDep,
    Search,
    SubmitterDep,
    SystemFilter,
)
from services.api.responses import ACCEPTED, PROBLEMS, accepted, page_json, raw_json
from services.api.schemas import PAGE_DEFAULT
from services.common.accounts import User

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=schemas.UserPage)
async def list_users(
    _: CurrentSession,
    aredis: AsyncRedisDep,
    models: ReadModelsDep,
    host: HostDep,
    q: Search = "",
    group: GroupFilter = None,
    locked: LockedFilter = None,
    system: SystemFilter = None,
    limit: Limit = PAGE_DEFAULT,
    offset: Offset = 0,
) -> Response:
    """A page of the host's users, by login, and how many match in all.

    ``q`` searches the login and the full name. Filters combine (each keeps fewer).
    """
    model = await models.current_async(aredis, host)
    filters = Filters(q=q, group=group, locked=locked, system=system)
    return page_json(model.users.select(filters, offset=offset, limit=limit), limit)


@router.get("/{login}", response_model=User, responses=PROBLEMS)
async def get_user(login: str, _: CurrentSession, aredis: AsyncRedisDep, host: HostDep) -> Response:
    raw = await readmodel.user_json(aredis, host, login)
    if raw is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no user {login!r} on host {host!r}.")
    return raw_json(raw)


@router.post("", **ACCEPTED)
def create_user(body: schemas.UserCreateIn, jobs: SubmitterDep) -> Response:
    return accepted(changes.USER_CREATE.submit(jobs, body))


@router.post(
    "/bulk",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=bulk.BulkAccepted,
    responses={**PROBLEMS, 422: {"model": schemas.ValidationProblem}},
)
def bulk_action(body: bulk.BulkIn, jobs: SubmitterDep) -> Response:
    """One action on many users, as one job with a row per user (``GET /api/v1/jobs/{id}``
    gives each row's outcome). Users the change would not change, or whose state conflicts
    with it, are left out and listed (``skipped``); a user that is not there, or a change
    that is invalid for one of them, refuses the request, and nothing changes."""
    made = bulk.plan(jobs, body)
    try:
        job = bulk.submit(jobs, made)
    except bulk.Refused as exc:
        return JSONResponse(
            {"detail": str(exc), "errors": exc.problems}, status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    url = f"/api/v1/jobs/{job.id}"
    # no-store: the answer may hold the only copy of generated passwords.
    headers = {"Location": url, "Cache-Control": "no-store"}
    return JSONResponse(bulk.answer(job, made).model_dump(), status.HTTP_202_ACCEPTED, headers=headers)


@router.patch("/{login}", **ACCEPTED)
def modify_user(login: str, body: schemas.UserPatchIn, jobs: SubmitterDep) -> Response:
    return accepted(changes.USER_MODIFY.submit(jobs, body, target=login))


@router.delete("/{login}", **ACCEPTED)
def delete_user(login: str, jobs: SubmitterDep, query: Annotated[schemas.UserDeleteIn, Query()]) -> Response:
    """Delete a user; its home is kept (default), removed, or archived then removed."""
    return accepted(changes.USER_DELETE.submit(jobs, query, target=login))


@router.post("/{login}/password", **ACCEPTED)
def set_password(login: str, body: schemas.PasswordIn, jobs: SubmitterDep) -> Response:
    return accepted(changes.USER_PASSWORD.submit(jobs, body, target=login))


@router.post("/{login}/lock", **ACCEPTED)
def lock_user(login: str, jobs: SubmitterDep) -> Response:
    return accepted(changes.USER_LOCK.submit(jobs, target=login))


@router.post("/{login}/unlock", **ACCEPTED)
def unlock_user(login: str, jobs: SubmitterDep) -> Response:
    return accepted(changes.USER_UNLOCK.submit(jobs, target=login))
