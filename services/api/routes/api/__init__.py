"""The JSON API (``/api/v1``): one router per resource, mounted by ``main.api_router``."""

from services.api.routes.api import (
    accounts,
    audit,
    docs,
    fleet,
    groups,
    health,
    hosts,
    imports,
    jobs,
    session,
    users,
)

__all__ = [
    "accounts",
    "audit",
    "docs",
    "fleet",
    "groups",
    "health",
    "hosts",
    "imports",
    "jobs",
    "session",
    "users",
]
