"""How a page or form refusal reaches a browser: the login page, or a page that says why."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

from services.api.ui.context import LoginRequired, PageError
from services.api.ui.forms import safe_back
from services.api.ui.templates import Pages, html, redirect


async def login_required(_request: Request, _exc: Exception) -> Response:
    return redirect("/login/")


async def page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    pages: Pages = request.app.state.pages
    back = safe_back(request, "/")
    return html(
        pages.render("error.html", status=exc.status_code, message=exc.message, back=back), exc.status_code
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(PageError, page_error)
