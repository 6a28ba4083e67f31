"""WMI accounts (the admins of WMI2 itself, not of the host): creation from the command line."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from sqlalchemy import func, select

from services.common.db import Admin, init_db, sessionmaker_for

ROLES = ("admin", "viewer")


class AccountExists(Exception):
    pass


def create_admin(database_url: str, login: str, password: str, role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    init_db(database_url)
    with sessionmaker_for(database_url)() as db:
        if db.scalar(select(Admin).where(Admin.login == login)):
            raise AccountExists(f"a WMI account {login!r} exists already")
        db.add(Admin(login=login, password_hash=PasswordHasher().hash(password), role=role))
        db.commit()


def ensure_first_admin(database_url: str, password: str | None) -> str | None:
    """Create ``admin`` when no WMI account exists; return its password if one was made up."""
    init_db(database_url)
    with sessionmaker_for(database_url)() as db:
        if db.scalar(select(func.count()).select_from(Admin)):
            return None
    chosen = password or secrets.token_urlsafe(12)
    create_admin(database_url, "admin", chosen, "admin")
    return chosen
