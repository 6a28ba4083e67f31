"""Finding 9: only the HTML pages carried nosniff and a CSP; nothing carried HSTS.

Attack: JSON answers, static files, errors and the fast path's answers could be framed
(clickjacking) or sniffed as another type, and a browser that reached the WMI once over
HTTPS would still try plain HTTP next time (SSL stripping).

Fix (``services/common/headers.py``, applied in ``services.api.fastpath.Api`` around
everything the api answers): ``X-Content-Type-Options: nosniff`` and a CSP with
``frame-ancestors 'none'`` on every answer (a page keeps its own, fuller policy), and
``Strict-Transport-Security`` on every HTTPS answer: TLS, or the trusted proxy's
``X-Forwarded-Proto: https``.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from services.common.headers import Receive, Scope, SecurityHeaders, Send, with_headers
from tests.support.api_app import ApiWorld

pytest_plugins = ["tests.support.api_fixtures"]

ANSWERS = [
    ("GET", "/login/"),  # fast path
    ("GET", "/"),  # fast path: the redirect to the login page
    ("GET", "/api/v1/health"),
    ("GET", "/api/v1/users"),  # 401
    ("POST", "/api/v1/session"),  # 415 / 422
    ("GET", "/static/wmi.css"),
    ("GET", "/static/no-such-file"),
    ("GET", "/no-such-page"),
    ("GET", "/docs"),  # redirect
]


def _assert_secured(response: httpx.Response, https: bool) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert ("strict-transport-security" in response.headers) is https
    if https:
        assert "max-age=" in response.headers["strict-transport-security"]


@pytest.mark.parametrize(("method", "path"), ANSWERS)
def test_every_answer_carries_the_headers(api: ApiWorld, method: str, path: str) -> None:
    anonymous = api.anonymous()
    _assert_secured(anonymous.request(method, path), https=False)
    # Behind the proxy (the fixture's server trusts 127.0.0.1's X-Forwarded-Proto).
    _assert_secured(anonymous.request(method, path, headers={"X-Forwarded-Proto": "https"}), https=True)


def test_logged_in_pages_and_json_carry_them(api: ApiWorld) -> None:
    viewer = api.viewer()
    for path in ("/", "/users/", "/api/v1/users", "/api/v1/session"):
        _assert_secured(viewer.get(path, headers={"X-Forwarded-Proto": "https"}), https=True)
    # A page's own policy is kept, not doubled.
    page = viewer.get("/users/")
    assert "form-action 'self'" in page.headers["content-security-policy"]
    assert len(page.headers.get_list("content-security-policy")) == 1


def test_the_middleware_on_any_asgi_app() -> None:
    """What the events service may wrap itself in: TLS seen in the scope's scheme."""

    async def bare(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})

    async def get(url: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=SecurityHeaders(bare))
        async with httpx.AsyncClient(transport=transport, base_url=url) as client:
            return await client.get("/")

    _assert_secured(asyncio.run(get("https://wmi.test")), https=True)
    _assert_secured(asyncio.run(get("http://wmi.test")), https=False)
    own = [(b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'")]
    assert with_headers(own, ((b"content-security-policy", b"x"),)) == own
