"""The read model: a host's users and groups as the worker last read them."""

from __future__ import annotations

from pydantic import BaseModel, Field


class User(BaseModel):
    login: str
    uid: int
    gid: int
    primary_group: str | None
    full_name: str
    home: str
    shell: str
    groups: list[str]
    locked: bool
    has_password: bool
    last_change: str | None
    system: bool


class Group(BaseModel):
    name: str
    gid: int
    members: list[str]
    system: bool


class HostInfo(BaseModel):
    name: str
    shells: list[str]
    uid_min: int
    uid_max: int
    gid_min: int
    read_at: str
    # Shown, never hidden: a line WMI2 cannot read may be an account someone wants unseen.
    unreadable: list[str] = Field(
        default_factory=list,
        description="The lines of passwd and group that hold no account WMI2 can read, "
        "each as 'FILE line N: why' (the line itself is not repeated).",
    )


def system_uid(uid: int, uid_min: int, uid_max: int) -> bool:
    """uid 0, and the uids login.defs leaves to the host's packages (outside UID_MIN..UID_MAX)."""
    return uid == 0 or uid < uid_min or uid > uid_max


def system_refusal(login: str, uid: int | str) -> str:
    return (
        f"{login!r} is a system account (uid {uid}): WMI2 does not change system accounts "
        "unless its setting WMI_MANAGE_SYSTEM_ACCOUNTS is true."
    )


def system_deletion_refusal(login: str) -> str:
    return f"{login!r} is a system account: WMI does not delete system accounts."
