"""Finding 7: the API's reference was anonymous, and its page loaded Swagger UI from a CDN.

Attack: ``/docs`` and ``/api/v1/openapi.json`` told anyone every route, parameter and
error of the api; and the docs page ran whatever script a third-party CDN served.

Fix (``services/api/routes/api/docs.py``, ``routes/pages/docs.py``): both need a session
(anonymous: 401 for the document, a redirect to the login page for ``/docs``); Swagger UI is served from
``web/static/vendor/swagger-ui`` (swagger-ui-dist, pinned, see its SOURCE.md), started by
a script file of ours, under a CSP that loads nothing from elsewhere and runs no inline
script. ``/api/v1/health`` stays anonymous and says only ``{"status": "ok"}``.
"""

from __future__ import annotations

import re

from tests.support.api_app import ApiWorld

pytest_plugins = ["tests.support.api_fixtures"]


def test_anonymous_gets_no_schema(api: ApiWorld) -> None:
    anonymous = api.anonymous()
    document = anonymous.get("/api/v1/openapi.json")
    assert document.status_code == 401 and "paths" not in document.text
    docs = anonymous.get("/docs")
    assert docs.status_code == 303 and docs.headers["location"] == "/login/"
    # A forged cookie is no session either.
    forged = api.client({"Cookie": "wmi_session=forged"})
    assert forged.get("/api/v1/openapi.json").status_code == 401
    assert forged.get("/docs").status_code == 303


def test_health_says_only_that_it_is_up(api: ApiWorld) -> None:
    health = api.anonymous().get("/api/v1/health")
    assert health.status_code == 200 and health.json() == {"status": "ok"}


def test_the_docs_page_loads_only_from_this_site(api: ApiWorld) -> None:
    viewer = api.viewer()
    docs = viewer.get("/docs")
    assert docs.status_code == 200
    page = docs.text
    # Every script, stylesheet and image is a path of this site.
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    assert "http://" not in page and "https://" not in page and "<script>" not in page
    policy = docs.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in directives["script-src"] and "unsafe-eval" not in policy
    for asset in sources:
        assert viewer.get(asset).status_code == 200, asset
    assert viewer.get("/api/v1/openapi.json").json()["openapi"].startswith("3.")
