"""The managed hosts and whether their workers are alive."""

from __future__ import annotations

from fastapi import APIRouter

from services.api import schemas
from services.api.core import readmodel
from services.api.deps import AsyncRedisDep, CurrentSession, SettingsDep

router = APIRouter(prefix="/hosts", tags=["hosts"])


@router.get("", response_model=list[schemas.HostOut])
async def list_hosts(
    _: CurrentSession, aredis: AsyncRedisDep, settings: SettingsDep
) -> list[schemas.HostOut]:
    return [schemas.HostOut(**h) for h in await readmodel.hosts(aredis, settings.host_name)]
