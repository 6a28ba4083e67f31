"""A roster import: a preview that changes nothing, then its apply as one job (a batch).

The preview reads the file (``core.roster``), checks every row against the host's model as
a creation through the JSON API would be checked (``core.validation``), and keeps what it
found in Redis for an hour, for the admin who made it alone. Its apply makes the rows one
batch job, but only while the host is as the preview saw it: its model's digest, kept with
the preview, must not have moved (409 otherwise: preview again).

Modes: ``create`` makes the people not on the host and leaves those who are (``unchanged``).
``sync`` takes the file as the whole of a cohort, a group: everyone in the file is put in the
group, the people of the group who are not in the file are ``leave`` rows (locked, archived,
or kept: ``leavers``), the people in it whose full name or shell differ, or who lack a group
the file gives them, are ``update`` rows (groups are added, never taken away).

Passwords: one given in the file is checked, hashed at once, and only its hash is kept
with the preview (as a job's is kept aside, ``keys.job_secret``); a row without one gets a
password generated at apply, whose clear text is in the apply's answer alone.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
import redis
from fastapi import HTTPException, status
from pydantic import BaseModel

from services.api import schemas
from services.api.core import bulk, passwords, roster, validation
from services.api.core.jobs import Submitter
from services.api.core.readmodel import HostSnapshot
from services.common import actions, keys
from services.common.actions import Action
from services.common.db import Job

Mode = Literal["create", "sync"]
Leavers = Literal["lock", "archive", "keep"]
PREVIEW_TTL = 3600
MAX_FILE = 5 * 1024 * 1024


class PreviewRow(BaseModel):
    line: int
    login: str
    action: Literal["create", "update", "unchanged", "leave", "error"]
    changes: list[str]
    problems: list[str]


class Counts(BaseModel):
    create: int = 0
    update: int = 0
    unchanged: int = 0
    leave: int = 0
    error: int = 0


class PreviewOut(BaseModel):
    id: str
    host: str
    mode: Mode
    counts: Counts
    columns: list[str]
    unknown_columns: list[str]
    encoding: str
    rows: list[PreviewRow]


class ImportAccepted(schemas.JobAccepted):
    credentials: list[bulk.Credential]


@dataclass
class Kept:
    """What an apply needs of its preview (kept in Redis, never shown as such)."""

    actor: str
    host: str
    digest: str
    rows: list[dict[str, Any]] = field(default_factory=list)  # each {"action", "target", "params"}
    full_names: dict[str, str] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)  # login -> the file's password, hashed


def preview_key(preview_id: str) -> str:
    return f"{keys.PREFIX}:import:{preview_id}"


def host_digest(client: redis.Redis, host: str) -> str:
    raw = client.get(keys.host_digest(host))
    return raw.hex() if isinstance(raw, bytes) else ""


def preview(
    jobs: Submitter, raw: bytes, mode: Mode, group: str | None, leavers: Leavers
) -> tuple[PreviewOut, Kept]:
    """Every row of the file as the host would take it; nothing is changed."""
    digest = host_digest(jobs.redis, jobs.host)
    snap = jobs.snapshot()
    if mode == "sync":
        _cohort_group(snap, group)
    try:
        found = roster.read(raw, lambda login: login in snap.users or login in snap.groups)
    except roster.RosterError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    kept = Kept(actor=jobs.actor, host=jobs.host, digest=digest)
    if mode == "sync" and group is not None:
        for row in found.rows:  # everyone in the file belongs to the cohort
            row.groups = [*row.groups, group] if group not in row.groups else row.groups
    rows = [_preview_row(snap, row, mode, kept) for row in found.rows]
    if mode == "sync" and group is not None:
        rows += _leavers(snap, group, {row.login for row in found.rows}, leavers, kept)
    counts = Counts(**{a: sum(1 for r in rows if r.action == a) for a in Counts.model_fields})
    rows.sort(key=lambda r: (r.action != "error", r.line))  # the rows with problems first
    out = PreviewOut(
        id=secrets.token_hex(16), host=jobs.host, mode=mode, counts=counts, columns=found.columns,
        unknown_columns=found.unknown_columns, encoding=found.encoding, rows=rows,
    )  # fmt: skip
    return out, kept


def _cohort_group(snap: HostSnapshot, group: str | None) -> None:
    if group is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "A sync needs the cohort's group: give 'group'."
        )
    validation.existing_group(snap, group)


def _refusal(exc: HTTPException) -> str:
    return str(exc.detail)


def _preview_row(snap: HostSnapshot, row: roster.RosterRow, mode: Mode, kept: Kept) -> PreviewRow:
    def shown(action: Any, changes: list[str] | None = None, problems: list[str] | None = None) -> PreviewRow:
        return PreviewRow(line=row.line, login=row.login, action=action, changes=changes or [],
                          problems=problems or [])  # fmt: skip

    if row.problems:
        return shown("error", problems=row.problems)
    existing = snap.users.get(row.login)
    if existing is not None:
        return _existing(snap, row, mode, kept, shown) if mode == "sync" else shown("unchanged")
    body = schemas.UserCreateIn(login=row.login, full_name=row.full_name, shell=row.shell, groups=row.groups,
                                password=row.password)  # fmt: skip
    try:
        params = validation.user_create(snap, body)
    except HTTPException as exc:
        return shown("error", problems=[_refusal(exc)])
    if row.password is not None:
        kept.hashes[row.login] = passwords.host_password_hash(row.password)
    kept.rows.append({"action": Action.USER_CREATE.value, "target": row.login, "params": params.model_dump()})
    kept.full_names[row.login] = row.full_name
    return shown("create", changes=["login", *(["groups"] if row.groups else [])])


def _existing(
    snap: HostSnapshot, row: roster.RosterRow, _mode: Mode, kept: Kept, shown: Callable[..., PreviewRow]
) -> PreviewRow:
    """A sync's row for a person on the host: what differs, as a modification would change it."""
    patch: dict[str, Any] = {"groups_add": row.groups}
    if row.full_name:
        patch["full_name"] = row.full_name
    if row.shell:
        patch["shell"] = row.shell
    try:
        params = validation.user_modify(snap, row.login, schemas.UserPatchIn(**patch))
    except HTTPException as exc:
        if exc.status_code == status.HTTP_409_CONFLICT and "already is as requested" in str(exc.detail):
            return shown("unchanged")
        return shown("error", problems=[_refusal(exc)])
    changes = [name for name, value in (("full_name", params.full_name), ("shell", params.shell),
                                        ("groups", params.groups_add)) if value]  # fmt: skip
    kept.rows.append({"action": Action.USER_MODIFY.value, "target": row.login, "params": params.model_dump()})
    return shown("update", changes=changes)


def _leavers(
    snap: HostSnapshot, group: str, in_file: set[str], leavers: Leavers, kept: Kept
) -> list[PreviewRow]:
    members = validation.existing_group(snap, group).members
    rows = []
    for login in sorted(set(members) - in_file):
        if leavers == "lock":
            kept.rows.append({"action": Action.USER_LOCK.value, "target": login, "params": {"login": login}})
        elif leavers == "archive":
            params = {"login": login, "home": "archive"}
            kept.rows.append({"action": Action.USER_DELETE.value, "target": login, "params": params})
        rows.append(PreviewRow(line=0, login=login, action="leave", changes=[leavers], problems=[]))
    return rows


def keep(client: redis.Redis, out: PreviewOut, kept: Kept) -> None:
    data = {"actor": kept.actor, "host": kept.host, "digest": kept.digest, "rows": kept.rows,
            "full_names": kept.full_names, "hashes": kept.hashes}  # fmt: skip
    client.set(preview_key(out.id), orjson.dumps(data), ex=PREVIEW_TTL)


def take(client: redis.Redis, preview_id: str, actor: str) -> Kept:
    """The preview, once: an apply consumes it (one job per preview; of two at once, one)."""
    key = preview_key(preview_id)
    raw = client.get(key) if len(preview_id) == 32 else None
    data = orjson.loads(raw) if isinstance(raw, bytes) else None
    # Another admin's preview is theirs to apply: to this one it does not exist.
    if data is None or data.get("actor") != actor or not client.delete(key):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "There is no such preview: it expired, was applied, or is not yours."
        )
    return Kept(**data)


def apply(jobs: Submitter, kept: Kept) -> tuple[Job, list[bulk.Credential]]:
    """The preview's rows as one batch job, while the host is as the preview saw it."""
    if kept.host != jobs.host:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"This preview is of host {kept.host!r}, not {jobs.host!r}."
        )
    jobs.snapshot()  # the host online, or 409 at once
    if host_digest(jobs.redis, jobs.host) != kept.digest:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "The host changed since this preview: preview the file again."
        )
    if not kept.rows:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "Nothing to do: the preview has no row to create, update or leave."
        )
    rows, credentials = [], []
    for row in kept.rows:
        params = dict(row["params"])
        if row["action"] == Action.USER_CREATE.value:
            login = row["target"]
            password = None if login in kept.hashes else bulk.generated_password()
            params["password_hash"] = kept.hashes.get(login) or passwords.host_password_hash(password or "")
            if password is not None:
                full_name = kept.full_names.get(login, "")
                credentials.append(bulk.Credential(login=login, full_name=full_name, password=password))
        rows.append(actions.BatchRow(action=Action(row["action"]), target=row["target"], params=params))
    target = f"import of {len(rows)} row{'s' if len(rows) != 1 else ''}"
    return jobs.submit(Action.BATCH, target, actions.Batch(rows=rows)), credentials
