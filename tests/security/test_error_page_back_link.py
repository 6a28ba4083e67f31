"""Finding 12: the error page's "Back" link followed a Referer whose path began with ``//``.

Attack: a link to a page of ours that fails, from ``https://wmi/ /evil.example/x``
(a same-origin URL whose path is ``//evil.example/x``), made the error page's Back link
``href="//evil.example/x"``: a protocol-relative URL, to another host.

Fix (``services.api.ui.forms.safe_back``): only a path with exactly one leading '/', and
not '/\\' (which browsers read as '//'), is taken; anything else goes back home.
"""

from __future__ import annotations

import pytest

from tests.support.api_app import ApiWorld

pytest_plugins = ["tests.support.api_fixtures"]


def _back_link(api: ApiWorld, referer: str) -> str:
    # An unknown host is a refusal shown as the error page, with its Back link.
    page = api.viewer().get("/?host=no-such-host", headers={"Referer": referer})
    assert page.status_code == 404
    return page.text.split('class="btn" href="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize("path", ["//evil.example/x", "/\\evil.example/x", "///evil.example"])
def test_a_referer_path_naming_another_host_is_not_followed(api: ApiWorld, path: str) -> None:
    assert _back_link(api, api.url + path) == "/"


def test_a_page_of_ours_is_the_way_back(api: ApiWorld) -> None:
    assert _back_link(api, f"{api.url}/users/?system=1") == "/users/?system=1"
    assert _back_link(api, "https://evil.example/users") == "/"
