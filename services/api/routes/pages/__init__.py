"""The pages and their plain forms (no script needed), one router per resource. A form is parsed
into the JSON API's own input model (``ui.forms.parse``) and makes the same change
(``core.changes``, ``core.accounts``) as the route of the same name in ``routes/api/``."""

from services.api.routes.pages import (
    accounts,
    audit,
    dashboard,
    docs,
    fleet,
    groups,
    imports,
    jobs,
    session,
    users,
)

__all__ = ["accounts", "audit", "dashboard", "docs", "fleet", "groups", "imports", "jobs", "session", "users"]
