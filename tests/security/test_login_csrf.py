"""Finding 15: login CSRF from browsers that send no Sec-Fetch-Site.

Attack: another site's page posts our login form with the attacker's credentials; the
victim's browser then works, unknowingly, in the attacker's WMI session (what it types
is the attacker's to read). The form refused only ``Sec-Fetch-Site: cross-site``, which
older browsers do not send.

Fix: the form (``POST /login/``) needs the browser to say the request comes from our own
page: ``Sec-Fetch-Site`` same-origin, or, without it, an ``Origin`` (else a ``Referer``) of
this host; nothing at all is refused too. The JSON login (``POST /api/v1/session``)
needs ``Content-Type: application/json``, which another site cannot send without a CORS
preflight that the api never grants, and refuses a browser that says it is elsewhere; a
script (curl: JSON, no Origin, no Referer) logs in as before.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.common.sessions import COOKIE
from tests.support.api_app import ADMIN, ApiWorld

pytest_plugins = ["tests.support.api_fixtures"]

CREDENTIALS = {"login": ADMIN[0], "password": ADMIN[1]}


def _opened_session(response: httpx.Response) -> bool:
    return any(h.startswith(f"{COOKIE}=") for h in response.headers.get_list("set-cookie"))


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/login/"},
        {},  # says nothing: cannot be told from another site's page
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_the_login_form_from_elsewhere_is_refused(api: ApiWorld, headers: dict[str, str]) -> None:
    response = api.anonymous().post("/login/", data=CREDENTIALS, headers=headers)
    assert response.status_code == 403 and not _opened_session(response)


@pytest.mark.parametrize("header", ["Origin", "Referer"])
def test_the_login_form_from_our_page_works(api: ApiWorld, header: str) -> None:
    source = api.url if header == "Origin" else f"{api.url}/login/"
    response = api.anonymous().post("/login/", data=CREDENTIALS, headers={header: source})
    assert response.status_code == 303 and _opened_session(response)
    modern = api.anonymous().post("/login/", data=CREDENTIALS, headers={"Sec-Fetch-Site": "same-origin"})
    assert modern.status_code == 303 and _opened_session(modern)


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        # What a cross-site form or a no-preflight fetch can send: not JSON.
        ({"data": CREDENTIALS}, 415),
        ({"content": b'{"login": "root-admin", "password": "admin-password-1"}',
          "headers": {"Content-Type": "text/plain"}}, 415),
        ({"content": b'{"login": "root-admin", "password": "admin-password-1"}'}, 415),
        ({"json": CREDENTIALS, "headers": {"Origin": "https://evil.example"}}, 403),
    ],
)  # fmt: skip
def test_the_json_login_from_elsewhere_is_refused(api: ApiWorld, kwargs: dict[str, Any], status: int) -> None:
    response = api.anonymous().post("/api/v1/session", **kwargs)
    assert response.status_code == status and not _opened_session(response)


def test_a_script_logs_in_with_json(api: ApiWorld) -> None:
    script = api.anonymous().post("/api/v1/session", json=CREDENTIALS)
    assert script.status_code == 200 and _opened_session(script)
    ours = api.anonymous().post("/api/v1/session", json=CREDENTIALS, headers={"Origin": api.url})
    assert ours.status_code == 200
