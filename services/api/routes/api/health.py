"""Liveness, for the proxy and the orchestrator: no authentication, no I/O."""

from __future__ import annotations

from fastapi import APIRouter

from services.api import schemas

router = APIRouter(tags=["health"])


@router.get("/health", response_model=schemas.Health)
async def health() -> schemas.Health:
    return schemas.Health(status="ok")
