"""The groups pages (``/groups/``, ``/groups/{name}/``) and their plain-form counterparts of the JSON API."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request, Response

from services.api import schemas
from services.api.core import validation
from services.api.core.readmodel import Filters
from services.api.deps import DbDep, ReadModelsDep
from services.api.ui.context import PageDep, PageError
from services.api.ui.forms import FormJobsDep, split_names
from services.api.ui.jobnote import job_note
from services.api.ui.listing import Column, TableSpec, listing
from services.api.ui.templates import Pages, html
from services.common.actions import Action
from services.common.db import Job

router = APIRouter(include_in_schema=False)

GROUPS = TableSpec(
    name_key="name",
    columns=[
        Column("name", "Name"),
        Column("gid", "GID", numeric=True),
        Column("members", "Members", numeric=True, optional=True, right=False),
    ],
)
# A group's page names at most this many of the users whose primary group it is, and lists
# at most this many of its members (all of them: the users page, filtered by the group).
PRIMARY_SHOWN = 20
MEMBERS_SHOWN = 200


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


@router.get("/groups/")
def groups_page(
    request: Request,
    page: PageDep,
    db: DbDep,
    models: ReadModelsDep,
    q: Annotated[str, Query(max_length=200)] = "",
    system: bool = False,
    sort: str = "name",
    dir: Literal["asc", "desc", ""] = "",
    number: Annotated[int, Query(alias="page", ge=1)] = 1,
    job: str | None = None,
) -> Response:
    """One page of the host's groups, filtered and sorted by the server (see ui.listing)."""
    model = models.current(page.host)
    filters = Filters(q=q, system=None if system else False)
    state = {"q": q, "system": "1" if system else ""}
    table = listing(model.groups, GROUPS, filters, sort=sort, desc=dir == "desc", page=number, state=state)
    body = _pages(request).render("groups.html", page=page, table=table, spec=GROUPS, job=job_note(db, job))
    return html(body)


@router.get("/groups/{name}/")
def group_page(
    request: Request, name: str, page: PageDep, db: DbDep, models: ReadModelsDep, job: str | None = None
) -> Response:
    model = models.current(page.host)
    row = model.groups.get(name)
    if row is None:
        raise PageError(404, f"There is no group {name!r} on host {page.host!r}.")
    # Users whose primary group this is: why groupdel would refuse, and who "belongs" without being listed.
    primary = [r.name for r in model.users.ordered() if r.primary == name]
    group = row.record()
    body = _pages(request).render(
        "group.html", page=page, group=group, members=group["members"][:MEMBERS_SHOWN],
        primary=primary[:PRIMARY_SHOWN], primary_total=len(primary), job=job_note(db, job),
    )  # fmt: skip
    return html(body)


# --- the plain forms: the same checks and jobs as routes/groups.py ------------------------------


@router.post("/groups/")
def create_group(
    form: FormJobsDep, name: Annotated[str, Form()] = "", gid: Annotated[str, Form()] = ""
) -> Response:
    def submit() -> Job:
        if gid and not gid.strip().isdigit():
            validation.invalid("The gid is a whole number, or left empty to let the host choose.")
        body = schemas.GroupCreateIn(name=name, gid=int(gid) if gid.strip() else None)
        params = validation.group_create(form.jobs.snapshot(), body)
        return form.jobs.submit(Action.GROUP_CREATE, body.name, params)

    return form.run(submit, "/groups/")


@router.post("/groups/{name}/members")
def add_members(name: str, form: FormJobsDep, logins: Annotated[str, Form()] = "") -> Response:
    def submit() -> Job:
        body = schemas.MembersIn(logins=split_names(logins))
        params = validation.group_add_members(form.jobs.snapshot(), name, body)
        return form.jobs.submit(Action.GROUP_ADD_MEMBERS, name, params)

    return form.run(submit, f"/groups/{name}/")


@router.post("/groups/{name}/members/remove")
def remove_members(
    name: str, form: FormJobsDep, logins: Annotated[list[str] | None, Form()] = None
) -> Response:
    def submit() -> Job:
        body = schemas.MembersIn(logins=logins or [])
        params = validation.group_remove_members(form.jobs.snapshot(), name, body)
        return form.jobs.submit(Action.GROUP_REMOVE_MEMBERS, name, params)

    return form.run(submit, f"/groups/{name}/")


@router.post("/groups/{name}/delete")
def delete_group(name: str, form: FormJobsDep, confirm: Annotated[str, Form()] = "") -> Response:
    def submit() -> Job:
        if confirm != "yes":
            validation.invalid(f"Tick the box that confirms the deletion of {name!r}.")
        params = validation.group_delete(form.jobs.snapshot(), name)
        return form.jobs.submit(Action.GROUP_DELETE, name, params)

    return form.run(submit, "/groups/")
