"""The fleet page (``/fleet/``): every login across the hosts, its differences marked.

The same data as ``GET /api/v1/fleet/users``, as a table: a row per login, a column per
host. Rendered once per visit (the comparison needs every host's read model, so it is not
patched live by events); reload it to compare again.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, Response

from services.api.core import fleet
from services.api.deps import AsyncRedisDep, SettingsDep
from services.api.ui.context import PageDep
from services.api.ui.templates import Pages, html

router = APIRouter(include_in_schema=False)


def user_page(default_host: str, host: str, login: str) -> str:
    """The user's page on one host (``?host=`` only when it is not the default one)."""
    path = f"/users/{quote(login, safe='')}/"
    return path if host == default_host else f"{path}?{urlencode({'host': host})}"


@router.get("/fleet/")
async def fleet_page(
    request: Request,
    page: PageDep,
    aredis: AsyncRedisDep,
    settings: SettingsDep,
    differing: bool = False,
    system: bool = False,
) -> Response:
    found = await fleet.fleet_users(aredis, settings.host_name, system=system, differing=differing)
    pages: Pages = request.app.state.pages
    body = pages.render(
        "fleet.html", page=page, hosts=found["hosts"], users=found["users"], differing=differing,
        system=system, user_page=lambda host, login: user_page(settings.host_name, host, login),
    )  # fmt: skip
    return html(body)
