"""The WMI accounts page (admins only) and its plain forms: create, change role, disable or enable."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from services.api import schemas
from services.api.core import accounts
from services.api.deps import DbDep, RedisDep
from services.api.ui.context import AdminPageDep
from services.api.ui.forms import FormAdmin, refusals_as_pages
from services.api.ui.templates import Pages, html, redirect

router = APIRouter(include_in_schema=False)


@router.get("/accounts/")
def accounts_page(request: Request, page: AdminPageDep, db: DbDep, done: str = "") -> Response:
    pages: Pages = request.app.state.pages
    listed = [a.model_dump() for a in accounts.list_accounts(db)]
    # Only a login of the list is echoed: a crafted link cannot put words in the page.
    saved = done if any(a["login"] == done for a in listed) else None
    return html(pages.render("accounts.html", page=page, accounts=listed, saved=saved))


@router.post("/accounts/")
def create_account(
    request: Request,
    session: FormAdmin,
    db: DbDep,
    login: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "viewer",
) -> Response:
    with refusals_as_pages():
        body = schemas.AccountCreateIn(login=login, password=password, role=role)
        created = accounts.create_account(db, request.app.state.publisher, session.login, body)
    return redirect(f"/accounts/?done={created.login}")


@router.post("/accounts/{login}/")
def update_account(
    request: Request,
    login: str,
    session: FormAdmin,
    db: DbDep,
    client: RedisDep,
    role: Annotated[str | None, Form()] = None,
    disabled: Annotated[str | None, Form()] = None,
) -> Response:
    with refusals_as_pages():
        body = schemas.AccountPatchIn(
            role=role or None,
            disabled=None if disabled is None else disabled == "true",
        )
        accounts.update_account(db, client, request.app.state.publisher, session.login, login, body)
    return redirect(f"/accounts/?done={login}")
