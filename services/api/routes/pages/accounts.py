"""The WMI accounts page (admins only) and its plain forms: create, change role, disable or enable;
parsed into the JSON API's models and made by the same code (``core.accounts``) as routes/api/accounts.py."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.api import schemas
from services.api.core import accounts
from services.api.deps import DbDep, RedisDep
from services.api.ui.context import AdminPageDep
from services.api.ui.forms import FormAdmin, FormFields, parse, refusals_as_pages
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
def create_account(request: Request, session: FormAdmin, db: DbDep, fields: FormFields) -> Response:
    with refusals_as_pages():
        body = parse(schemas.AccountCreateIn, fields)
        created = accounts.create_account(db, request.app.state.publisher, session.login, body)
    return redirect(f"/accounts/?done={created.login}")


@router.post("/accounts/{login}/")
def update_account(
    request: Request, login: str, session: FormAdmin, db: DbDep, client: RedisDep, fields: FormFields
) -> Response:
    with refusals_as_pages():
        body = parse(schemas.AccountPatchIn, fields)
        accounts.update_account(db, client, request.app.state.publisher, session.login, login, body)
    return redirect(f"/accounts/?done={login}")
