"""The Jinja2 templates of ``web/templates``, loaded once, and the HTML responses made from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import Response, status
from fastapi.responses import RedirectResponse

from services.api.ui import views

HTML = "text/html; charset=utf-8"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Pages:
    """The template environment, and the anonymous login page rendered once at start-up."""

    def __init__(self, templates: Path) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates),
            autoescape=True,
            auto_reload=False,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        self.env.filters.update(views.FILTERS)
        self.env.globals.update(views.GLOBALS)
        self.login = self.env.get_template("login.html")
        self.login_anonymous = self.login.render(error=None, login=None).encode()

    def render(self, name: str, **context: Any) -> bytes:
        return self.env.get_template(name).render(**context).encode()

    def login_failed(self, error: str, login: str) -> bytes:
        return self.login.render(error=error, login=login).encode()


def html(body: bytes, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(content=body, status_code=status_code, media_type=HTML, headers=HEADERS)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)
