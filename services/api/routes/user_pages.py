"""The users pages (``/users/``, ``/users/{login}/``) and their plain-form counterparts of the JSON API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request, Response

from services.api import schemas
from services.api.core import passwords, readmodel, validation
from services.api.core.readmodel import Filters, Row
from services.api.deps import DbDep, ReadModelsDep, RedisDep
from services.api.ui.context import PageDep, PageError
from services.api.ui.forms import FormJobsDep, split_names
from services.api.ui.jobnote import job_note
from services.api.ui.listing import Column, TableSpec, listing
from services.api.ui.templates import Pages, html
from services.common.actions import Action, UserPassword, UserRef
from services.common.db import Job

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


# --- the plain forms: the same checks and jobs as routes/users.py -------------------------------


@router.post("/users/")
def create_user(
    form: FormJobsDep,
    login: Annotated[str, Form()] = "",
    full_name: Annotated[str, Form()] = "",
    shell: Annotated[str, Form()] = "",
    groups: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    create_home: Annotated[str | None, Form()] = None,
) -> Response:
    def submit() -> Job:
        body = schemas.UserCreateIn(
            login=login, full_name=full_name, shell=shell or None, groups=split_names(groups),
            password=password or None, create_home=create_home is not None,
        )  # fmt: skip
        params = validation.user_create(form.jobs.snapshot(), body)
        if body.password is not None:
            params.password_hash = passwords.host_password_hash(body.password)
        return form.jobs.submit(Action.USER_CREATE, body.login, params)

    return form.run(submit, "/users/")


@router.post("/users/{login}/edit")
def modify_user(
    login: str,
    form: FormJobsDep,
    full_name: Annotated[str, Form()] = "",
    shell: Annotated[str, Form()] = "",
    groups: Annotated[str, Form()] = "",
) -> Response:
    def submit() -> Job:
        body = schemas.UserPatchIn(full_name=full_name, shell=shell or None, groups=split_names(groups))
        params = validation.user_modify(form.jobs.snapshot(), login, body)
        return form.jobs.submit(Action.USER_MODIFY, login, params)

    return form.run(submit, f"/users/{login}/")


@router.post("/users/{login}/password")
def set_password(login: str, form: FormJobsDep, password: Annotated[str, Form()] = "") -> Response:
    def submit() -> Job:
        validation.changeable_user(form.jobs.snapshot(), login)
        validation.password(password)
        params = UserPassword(login=login, password_hash=passwords.host_password_hash(password))
        return form.jobs.submit(Action.USER_PASSWORD, login, params)

    return form.run(submit, f"/users/{login}/")


@router.post("/users/{login}/lock")
def lock_user(login: str, form: FormJobsDep) -> Response:
    def submit() -> Job:
        validation.changeable_user(form.jobs.snapshot(), login)
        return form.jobs.submit(Action.USER_LOCK, login, UserRef(login=login))

    return form.run(submit, f"/users/{login}/")


@router.post("/users/{login}/unlock")
def unlock_user(login: str, form: FormJobsDep) -> Response:
    def submit() -> Job:
        return form.jobs.submit(
            Action.USER_UNLOCK, login, validation.user_unlock(form.jobs.snapshot(), login)
        )

    return form.run(submit, f"/users/{login}/")


@router.post("/users/{login}/delete")
def delete_user(
    login: str,
    form: FormJobsDep,
    home: Annotated[str, Form()] = "keep",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    def submit() -> Job:
        if confirm != "yes":
            validation.invalid(f"Tick the box that confirms the deletion of {login!r}.")
        if home not in ("keep", "remove", "archive"):
            validation.invalid("The home directory is to be kept, removed or archived.")
        params = validation.user_delete(form.jobs.snapshot(), login, home)  # type: ignore[arg-type]
        return form.jobs.submit(Action.USER_DELETE, login, params)

    return form.run(submit, "/users/")
