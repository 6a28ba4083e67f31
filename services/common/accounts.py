"""The read model: a host's users and groups as the worker last read them."""

from __future__ import annotations

from pydantic import BaseModel


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
