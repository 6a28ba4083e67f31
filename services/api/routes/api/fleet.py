"""The fleet's drift view: which login exists on which host, and where uid or groups differ."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Response

from services.api import schemas
from services.api.core import fleet
from services.api.deps import AsyncRedisDep, CurrentSession, SettingsDep
from services.api.responses import raw_json

router = APIRouter(prefix="/fleet", tags=["fleet"])


@router.get("/users", response_model=schemas.FleetUsersOut)
async def fleet_users(
    _: CurrentSession,
    aredis: AsyncRedisDep,
    settings: SettingsDep,
    system: bool = False,
    differing: bool = False,
) -> Response:
    """Every login across the hosts, by login. ``differs`` names the fields (uid, gid,
    groups) whose values differ between the hosts that have it, ``missing`` the hosts that
    lack it; ``?differing=true`` keeps only those logins, ``?system=true`` adds the logins
    that are system accounts everywhere."""
    body = await fleet.fleet_users(aredis, settings.host_name, system=system, differing=differing)
    return raw_json(orjson.dumps(body))
