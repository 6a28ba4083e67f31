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
