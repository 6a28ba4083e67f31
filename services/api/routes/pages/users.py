"""The users pages (``/users/``, ``/users/{login}/``) and their plain forms, which make the same
changes as the JSON API (routes/api/users.py) through ``core.changes``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from services.api.core import changes, readmodel
from services.api.core.readmodel import Filters, Row
from services.api.deps import DbDep, ReadModelsDep, RedisDep
from services.api.ui.context import PageDep, PageError
from services.api.ui.forms import FormJobsDep
from services.api.ui.jobnote import job_note
from services.api.ui.listing import Column, TableSpec, listing
from services.api.ui.templates import Pages, html

router = APIRouter(include_in_schema=False)

USERS = TableSpec(
    name_key="login",
    columns=[
        Column("login", "Login"),
        Column("full_name", "Full name"),
        Column("uid", "UID", numeric=True, optional=True),
        Column("groups", "Groups", optional=True),
        Column("status", "Status"),
    ],
)
# The status filter's choices, as the page's select offers them ("" keeps either).
LOCKED = {"": None, "true": True, "false": False}


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def _shown(row: Row) -> dict[str, Any]:
    user = row.record()
    user["status"] = readmodel.user_status(user)
    return user


@router.get("/users/")
def users_page(
    request: Request,
    page: PageDep,
    db: DbDep,
    models: ReadModelsDep,
    q: Annotated[str, Query(max_length=200)] = "",
    group: Annotated[str, Query(max_length=64)] = "",
    locked: Literal["", "true", "false"] = "",
    system: bool = False,
    sort: str = "login",
    dir: Literal["asc", "desc", ""] = "",
    number: Annotated[int, Query(alias="page", ge=1)] = 1,
    job: str | None = None,
) -> Response:
    """One page of the host's users, filtered and sorted by the server (see ui.listing)."""
    model = models.current(page.host)
    filters = Filters(q=q, group=group or None, locked=LOCKED[locked], system=None if system else False)
    state = {"q": q, "group": group, "locked": locked, "system": "1" if system else ""}
    table = listing(model.users, USERS, filters, sort=sort, desc=dir == "desc", page=number, shown=_shown,
                    state=state)  # fmt: skip
    body = _pages(request).render(
        "users.html", page=page, table=table, spec=USERS, shells=model.info.shells if model.info else [],
        job=job_note(db, job),
    )  # fmt: skip
    return html(body)


@router.get("/users/{login}/")
def user_page(
    request: Request, login: str, page: PageDep, client: RedisDep, db: DbDep, job: str | None = None
) -> Response:
    user = readmodel.user(client, page.host, login)
    if user is None:
        raise PageError(404, f"There is no user {login!r} on host {page.host!r}.")
    info = readmodel.info(client, page.host)
    user["status"] = readmodel.user_status(user)
    body = _pages(request).render(
        "user.html", page=page, user=user, shells=info["shells"] if info else [], job=job_note(db, job),
    )  # fmt: skip
    return html(body)


# --- the plain forms: the same changes as routes/api/users.py ------------------------------------


@router.post("/users/")
def create_user(form: FormJobsDep) -> Response:
    return form.submit(changes.USER_CREATE, "/users/")


@router.post("/users/{login}/edit")
def modify_user(login: str, form: FormJobsDep) -> Response:
    return form.submit(changes.USER_MODIFY, f"/users/{login}/", login)


@router.post("/users/{login}/password")
def set_password(login: str, form: FormJobsDep) -> Response:
    return form.submit(changes.USER_PASSWORD, f"/users/{login}/", login)


@router.post("/users/{login}/lock")
def lock_user(login: str, form: FormJobsDep) -> Response:
    return form.submit(changes.USER_LOCK, f"/users/{login}/", login)


@router.post("/users/{login}/unlock")
def unlock_user(login: str, form: FormJobsDep) -> Response:
    return form.submit(changes.USER_UNLOCK, f"/users/{login}/", login)


@router.post("/users/{login}/delete")
def delete_user(login: str, form: FormJobsDep) -> Response:
    return form.submit(changes.USER_DELETE, "/users/", login, confirm=True)
