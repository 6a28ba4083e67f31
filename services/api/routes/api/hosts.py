"""The managed hosts and whether their workers are alive.

Each host's users and groups are under ``/hosts/{host}/users`` and ``/hosts/{host}/groups``
(the routers of routes/users.py and routes/groups.py, mounted again there by main.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.api import schemas
from services.api.core import hosts
from services.api.deps import AsyncRedisDep, CurrentSession, SettingsDep, host_in_path
from services.api.responses import PROBLEMS

router = APIRouter(prefix="/hosts", tags=["hosts"])


@router.get("", response_model=list[schemas.HostOut])
async def list_hosts(
    _: CurrentSession, aredis: AsyncRedisDep, settings: SettingsDep
) -> list[schemas.HostOut]:
    """Every known host: online (its worker's heartbeat is alive), last seen, its counts."""
    return [schemas.HostOut(**h) for h in await hosts.listing(aredis, settings.host_name)]


@router.get("/{host}", response_model=schemas.HostOut, responses=PROBLEMS)
async def get_one_host(
    host: Annotated[str, Depends(host_in_path)], aredis: AsyncRedisDep, settings: SettingsDep
) -> schemas.HostOut:
    return schemas.HostOut(**(await hosts.listing(aredis, settings.host_name, only=host))[0])
