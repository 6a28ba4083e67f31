"""WMI accounts (who may use the WMI, not the host's users): list, create, change role, disable.

Shared by the JSON API (``/api/v1/accounts``) and the accounts page's forms, so that both
refuse the same things in the same words. A change of role or a disabling ends every
session of the account at once: a session carries its role, and a disabled account must
not keep a door open. Every change is audited and published (``account.created``,
``account.updated``) so that open accounts pages follow it.
"""

from __future__ import annotations

from typing import NoReturn

import redis
from fastapi import HTTPException, status
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from services.api import schemas
from services.api.core import passwords
from services.api.core.clock import aware
from services.common import names
from services.common.db import Admin, AuditEntry
from services.common.events import Publisher
from services.common.sessions import end_all_sessions

# What `wmi2 admin create` asks of a password, too.
PASSWORD_MIN = 8
PASSWORD_MAX_BYTES = 1024


def _fail(code: int, detail: str) -> NoReturn:
    raise HTTPException(status_code=code, detail=detail)


def account_out(admin: Admin) -> schemas.AccountOut:
    return schemas.AccountOut(
        login=admin.login, role=admin.role, disabled=admin.disabled, created_at=aware(admin.created_at)
    )


def list_accounts(db: DbSession) -> list[schemas.AccountOut]:
    return [account_out(a) for a in db.scalars(select(Admin).order_by(Admin.login))]


def _announce(
    db: DbSession, publisher: Publisher, actor: str, action: str, admin: Admin, detail: str
) -> None:
    db.add(AuditEntry(actor=actor, action=action, target=admin.login, outcome="succeeded", detail=detail))
    db.commit()
    data = {"login": admin.login, "role": admin.role, "disabled": admin.disabled}
    # Past tense like the host's events: account.create is the action, account.created the news.
    publisher.publish(action + "d", None, data, actor=actor)


def create_account(
    db: DbSession, publisher: Publisher, actor: str, body: schemas.AccountCreateIn
) -> schemas.AccountOut:
    problem = names.name_problem(body.login)
    if problem:
        _fail(status.HTTP_422_UNPROCESSABLE_CONTENT, problem)
    if len(body.password) < PASSWORD_MIN:
        _fail(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"The password needs at least {PASSWORD_MIN} characters."
        )
    if len(body.password.encode()) > PASSWORD_MAX_BYTES or "\0" in body.password:
        _fail(status.HTTP_422_UNPROCESSABLE_CONTENT, "The password is too long or holds a NUL character.")
    if db.scalar(select(Admin.id).where(Admin.login == body.login)) is not None:
        _fail(status.HTTP_409_CONFLICT, f"A WMI account {body.login!r} exists already.")
    admin = Admin(
        login=body.login, password_hash=passwords.hash_admin_password(body.password), role=body.role
    )
    db.add(admin)
    db.flush()
    _announce(db, publisher, actor, "account.create", admin, f"role {admin.role}")
    return account_out(admin)


def update_account(
    db: DbSession,
    client: redis.Redis,
    publisher: Publisher,
    actor: str,
    login: str,
    body: schemas.AccountPatchIn,
) -> schemas.AccountOut:
    if body.role is None and body.disabled is None:
        _fail(status.HTTP_422_UNPROCESSABLE_CONTENT, "Nothing to change: give role or disabled.")
    admin = db.scalar(select(Admin).where(Admin.login == login))
    if admin is None:
        _fail(status.HTTP_404_NOT_FOUND, f"There is no WMI account {login!r}.")
    if login == actor:
        # The acting admin always stays an enabled admin, so the WMI never loses its last one.
        _fail(
            status.HTTP_409_CONFLICT,
            "You cannot change the role of your own account nor disable it: ask another admin.",
        )
    changes = []
    if body.role is not None and body.role != admin.role:
        changes.append(f"role {admin.role} -> {body.role}")
        admin.role = body.role
    if body.disabled is not None and body.disabled != admin.disabled:
        changes.append("disabled" if body.disabled else "enabled")
        admin.disabled = body.disabled
    if not changes:
        _fail(status.HTTP_409_CONFLICT, f"Nothing would change: {login!r} already is as requested.")
    # Committed first: a session opened between the two steps would otherwise keep the old role.
    db.commit()
    if admin.disabled or any(c.startswith("role") for c in changes):
        ended = end_all_sessions(client, login)
        changes.append(f"{ended} session(s) ended")
    _announce(db, publisher, actor, "account.update", admin, "; ".join(changes))
    return account_out(admin)
