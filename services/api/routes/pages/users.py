"""The users pages (``/users/``, ``/users/{login}/``) and their plain forms, which make the same
changes as the JSON API (routes/api/users.py) through ``core.changes``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from starlette.datastructures import FormData

from services.api.core import bulk, changes, readmodel
from services.api.core.readmodel import Filters, ReadModels, Row
from services.api.deps import DbDep, ReadModelsDep, RedisDep
from services.api.ui.context import PageDep, PageError
from services.api.ui.credentials import credentials_csv
from services.api.ui.forms import FormJobsDep, refusals_as_pages
from services.api.ui.jobnote import job_note
from services.api.ui.listing import Column, TableSpec, listing
from services.api.ui.templates import Pages, html, redirect
from services.common import actions

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


def _selected(fields: FormData, models: ReadModels, host: str) -> list[str]:
    """The users ticked, or all those the page's filter matches (its hidden fields)."""
    if fields.get("all_matching") != "yes":
        return [v for v in fields.getlist("logins") if isinstance(v, str)]

    def given(name: str) -> str:
        return str(fields.get(f"filter_{name}") or "")

    filters = Filters(q=given("q"), group=given("group") or None, locked=LOCKED.get(given("locked")),
                      system=None if given("system") else False)  # fmt: skip
    found = models.current(host).users.select(filters, limit=actions.BATCH_MAX)
    if given("total") != str(found.total):
        # Users came or went since the page was shown: "all" is no longer what the admin saw.
        raise PageError(
            409, f"The search now matches {found.total} users, not the {given('total')} shown: look again."
        )
    if found.total > actions.BATCH_MAX:
        raise PageError(422, f"{found.total} users match: narrow the search to {actions.BATCH_MAX} at most.")
    return [row.name for row in found.rows]


@router.post("/users/bulk")
def bulk_page(request: Request, page: PageDep, form: FormJobsDep, models: ReadModelsDep) -> Response:
    """The action bar of the users page: one job for the users ticked, or for all those the
    page's filter matches; new passwords, if any, on a sheet shown once."""
    fields = form.fields
    logins = _selected(fields, models, form.jobs.host)
    if not logins:
        raise PageError(422, "Tick the users to act on, or all those matching the filter.")
    if fields.get("action") == "delete" and fields.get("confirm") != "yes":
        raise PageError(422, f"Tick the box that confirms the deletion of {len(logins)} users.")
    groups = str(fields.get("groups") or "").replace(",", " ").split()
    with refusals_as_pages():
        body = bulk.BulkIn.model_validate(
            {"logins": logins, "action": fields.get("action"), "home": fields.get("home") or "keep",
             "groups": groups if fields.get("action") in ("add_groups", "remove_groups") else []}
        )  # fmt: skip
        made = bulk.plan(form.jobs, body)
        try:
            job = bulk.submit(form.jobs, made)
        except bulk.Refused as exc:
            raise PageError(422, f"{exc} " + " ".join(p["problem"] for p in exc.problems[:5])) from None
    if made.credentials:
        sheet = _pages(request).render("credentials.html", page=page, job=job, credentials=made.credentials,
                                       csv_link=credentials_csv(made.credentials))  # fmt: skip
        response = html(sheet)
        response.headers["Cache-Control"] = "no-store"  # the only copy of the passwords
        return response
    back = form.link("/users/")
    return redirect(f"{back}{'&' if '?' in back else '?'}job={job.id}")
