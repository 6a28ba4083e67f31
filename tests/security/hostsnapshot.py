"""The api's checks called in-process, on the read model the api's own tests use (no server)."""

from __future__ import annotations

from pydantic import BaseModel

from services.api.core.readmodel import HostSnapshot, Records
from services.common.accounts import Group, User
from tests.support.api_app import HOST, read_model


def _raw(records: dict[str, BaseModel]) -> dict[bytes, bytes]:
    return {name.encode(): record.model_dump_json().encode() for name, record in records.items()}


def host_snapshot(*, manage_system_accounts: bool = False) -> HostSnapshot:
    """alice (uid 1000) and bob (1001) on top of Debian's base accounts, as the worker stores them."""
    users, groups, info = read_model()
    return HostSnapshot(
        host=HOST,
        users=Records(User, _raw({u.login: u for u in users})),
        groups=Records(Group, _raw({g.name: g for g in groups})),
        info=info,
        manage_system_accounts=manage_system_accounts,
    )
