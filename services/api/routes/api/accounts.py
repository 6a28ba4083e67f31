"""The WMI's own accounts (admins and viewers), for admins only."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

from services.api import schemas
from services.api.core import accounts
from services.api.deps import AdminSession, CurrentSession, DbDep, RedisDep
from services.api.responses import PROBLEMS

router = APIRouter(prefix="/accounts", tags=["accounts"])


@router.get("", response_model=list[schemas.AccountOut], responses=PROBLEMS)
def list_accounts(session: CurrentSession, db: DbDep) -> list[schemas.AccountOut]:
    if session.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only an admin can see the WMI accounts.")
    return accounts.list_accounts(db)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=schemas.AccountOut, responses=PROBLEMS)
def create_account(
    body: schemas.AccountCreateIn, request: Request, session: AdminSession, db: DbDep
) -> schemas.AccountOut:
    return accounts.create_account(db, request.app.state.publisher, session.login, body)


@router.patch("/{login}", response_model=schemas.AccountOut, responses=PROBLEMS)
def update_account(
    login: str,
    body: schemas.AccountPatchIn,
    request: Request,
    session: AdminSession,
    db: DbDep,
    client: RedisDep,
) -> schemas.AccountOut:
    """Change an account's role or (dis)able it; either ends its open sessions at once."""
    return accounts.update_account(db, client, request.app.state.publisher, session.login, login, body)
