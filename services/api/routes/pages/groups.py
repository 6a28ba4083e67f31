"""The groups pages (``/groups/``, ``/groups/{name}/``) and their plain forms, which make the same
changes as the JSON API (routes/api/groups.py) through ``core.changes``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from services.api.core import changes
from services.api.core.readmodel import Filters
from services.api.deps import DbDep, ReadModelsDep
from services.api.ui.context import PageDep, PageError
from services.api.ui.forms import FormJobsDep
from services.api.ui.jobnote import job_note
from services.api.ui.listing import Column, TableSpec, listing
from services.api.ui.templates import Pages, html

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


# --- the plain forms: the same changes as routes/api/groups.py -----------------------------------


@router.post("/groups/")
def create_group(form: FormJobsDep) -> Response:
    return form.submit(changes.GROUP_CREATE, "/groups/")


@router.post("/groups/{name}/members")
def add_members(name: str, form: FormJobsDep) -> Response:
    return form.submit(changes.GROUP_ADD_MEMBERS, f"/groups/{name}/", name)


@router.post("/groups/{name}/members/remove")
def remove_members(name: str, form: FormJobsDep) -> Response:
    return form.submit(changes.GROUP_REMOVE_MEMBERS, f"/groups/{name}/", name)


@router.post("/groups/{name}/delete")
def delete_group(name: str, form: FormJobsDep) -> Response:
    return form.submit(changes.GROUP_DELETE, "/groups/", name, confirm=True)
