"""The host's groups and their members: read from the read model, changed through jobs
(``core.changes``, as their forms of routes/pages/groups.py are)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from services.api import schemas
from services.api.core import changes, readmodel
from services.api.core.readmodel import Filters
from services.api.deps import (
    AsyncRedisDep,
    CurrentSession,
    HostDep,
    Limit,
    Offset,
    ReadModelsDep,
    Search,
    SubmitterDep,
    SystemFilter,
)
from services.api.responses import ACCEPTED, PROBLEMS, accepted, page_json, raw_json
from services.api.schemas import PAGE_DEFAULT
from services.common.accounts import Group

router = APIRouter(prefix="/groups", tags=["groups"])


@router.get("", response_model=schemas.GroupPage)
async def list_groups(
    _: CurrentSession,
    aredis: AsyncRedisDep,
    models: ReadModelsDep,
    host: HostDep,
    q: Search = "",
    system: SystemFilter = None,
    limit: Limit = PAGE_DEFAULT,
    offset: Offset = 0,
) -> Response:
    """A page of the host's groups, by name, and how many match in all; ``q`` searches the name."""
    model = await models.current_async(aredis, host)
    return page_json(model.groups.select(Filters(q=q, system=system), offset=offset, limit=limit), limit)


@router.get("/{name}", response_model=Group, responses=PROBLEMS)
async def get_group(name: str, _: CurrentSession, aredis: AsyncRedisDep, host: HostDep) -> Response:
    raw = await readmodel.group_json(aredis, host, name)
    if raw is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no group {name!r} on host {host!r}.")
    return raw_json(raw)


@router.post("", **ACCEPTED)
def create_group(body: schemas.GroupCreateIn, jobs: SubmitterDep) -> Response:
    return accepted(changes.GROUP_CREATE.submit(jobs, body))


@router.delete("/{name}", **ACCEPTED)
def delete_group(name: str, jobs: SubmitterDep) -> Response:
    return accepted(changes.GROUP_DELETE.submit(jobs, target=name))


@router.post("/{name}/members", **ACCEPTED)
def add_members(name: str, body: schemas.MembersIn, jobs: SubmitterDep) -> Response:
    """Add many users to a group at once; those already in it are left out of the job."""
    return accepted(changes.GROUP_ADD_MEMBERS.submit(jobs, body, target=name))


@router.delete("/{name}/members", **ACCEPTED)
def remove_members(name: str, body: schemas.MembersIn, jobs: SubmitterDep) -> Response:
    return accepted(changes.GROUP_REMOVE_MEMBERS.submit(jobs, body, target=name))
