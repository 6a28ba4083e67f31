"""Each change defined once (services/api/core/changes.py), driven directly on the api tier's
read model, Redis and database: the job it makes, its password hashed once checked, and its
parameters read back into its input (a retry) making the same job again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import crypt_r
import orjson
import pytest
from fastapi import HTTPException
from pydantic import BaseModel, ValidationError

from services.api import schemas
from services.api.core import changes
from services.api.core.changes import Change
from services.api.core.jobs import JobQueue, Submitter
from services.common import actions, keys
from services.common.actions import Action
from services.common.events import Publisher
from tests.support.api_app import ADMIN, HOST, ApiWorld

PASSWORD = "changes-marker-Pa55"

# A change, its input, the target its path would name (None: a creation, named by its input).
GOOD: list[tuple[Change[Any], BaseModel, str | None]] = [
    (changes.USER_CREATE, schemas.UserCreateIn(login="zoe", full_name="Zoe", shell="/bin/sh",
                                               groups=["users", "devs"], create_home=False), None),
    (changes.USER_MODIFY, schemas.UserPatchIn(full_name="Al", groups_add=["devs"], groups_remove=["audio"]),
     "alice"),
    (changes.USER_MODIFY, schemas.UserPatchIn(groups=["devs"], shell="/bin/sh"), "alice"),
    (changes.USER_LOCK, schemas.TargetOnly(), "alice"),
    (changes.USER_UNLOCK, schemas.TargetOnly(), "alice"),
    (changes.USER_DELETE, schemas.UserDeleteIn(home="archive"), "alice"),
    (changes.GROUP_CREATE, schemas.GroupCreateIn(name="lab", gid=2001), None),
    (changes.GROUP_DELETE, schemas.TargetOnly(), "devs"),
    (changes.GROUP_ADD_MEMBERS, schemas.MembersIn(logins=["bob"]), "devs"),
    (changes.GROUP_REMOVE_MEMBERS, schemas.MembersIn(logins=["alice"]), "devs"),
]  # fmt: skip


@pytest.fixture
def jobs(api: ApiWorld) -> Iterator[Submitter]:
    """A submitter of the admin's changes to the hand-written host, as a route's dependency makes it."""
    queue = JobQueue(api.settings.resolved_redis_url, visibility_timeout=60)
    yield Submitter(db_sessions=api.sessions, redis=api.redis, publisher=Publisher(api.redis, 1000),
                    queue=queue, host=HOST, actor=ADMIN[0])  # fmt: skip
    queue.close()


def test_every_action_a_job_can_carry_is_one_change() -> None:
    """Every action but a batch, which is made of them (core/bulk.py)."""
    assert set(changes.CHANGES) == set(Action) - {Action.BATCH}
    assert all(change.action is action for action, change in changes.CHANGES.items())
    assert {change.action for change, _, _ in GOOD} == set(Action) - {Action.USER_PASSWORD, Action.BATCH}


@pytest.mark.parametrize(("change", "given", "target"), GOOD, ids=[f"{c.action}" for c, _, _ in GOOD])
def test_a_change_read_back_from_its_job_makes_the_same_job(
    api: ApiWorld, jobs: Submitter, change: Change[Any], given: BaseModel, target: str | None
) -> None:
    first = change.submit(jobs, given, target=target)
    assert first.action == change.action.value and first.host == HOST and first.actor == ADMIN[0]
    assert first.target == (target or getattr(given, str(change.named_by)))
    # What a retry does: the stored parameters read back as the input, checked and sent again.
    again = change.recorded(actions.parse_params(change.action, first.params))
    second = change.submit(jobs, again, target=first.target)
    assert (second.target, second.params) == (first.target, first.params) and second.id != first.id
    assert api.recorded().jobs == 2


def test_a_password_reaches_the_job_only_as_a_hash_once_its_checks_passed(
    api: ApiWorld, jobs: Submitter
) -> None:
    job = changes.USER_PASSWORD.submit(jobs, schemas.PasswordIn(password=PASSWORD), target="alice")
    assert job.params == {"login": "alice", "password_hash": actions.SECRET_SET}
    kept = orjson.loads(api.redis.get(keys.job_secret(job.id)) or b"{}")["password_hash"]
    assert kept.startswith("$6$") and crypt_r.crypt(PASSWORD, kept) == kept
    created = changes.USER_CREATE.submit(jobs, schemas.UserCreateIn(login="zoe", password=PASSWORD))
    assert created.params["password_hash"] == actions.SECRET_SET
    assert api.redis.get(keys.job_secret(created.id)) is not None
    # Its hash is not kept for a retry: a password job cannot be read back into its input.
    with pytest.raises(ValidationError):
        changes.USER_PASSWORD.recorded(actions.parse_params(Action.USER_PASSWORD, job.params))

    before = api.recorded()
    for refused in (schemas.PasswordIn(password=""), schemas.PasswordIn(password="a\0b")):
        with pytest.raises(HTTPException) as caught:
            changes.USER_PASSWORD.submit(jobs, refused, target="alice")
        assert caught.value.status_code == 422
    with pytest.raises(HTTPException) as caught:
        changes.USER_PASSWORD.submit(jobs, schemas.PasswordIn(password=PASSWORD), target="daemon")
    assert caught.value.status_code == 409
    assert api.recorded() == before


def test_a_change_on_a_path_needs_its_target(api: ApiWorld, jobs: Submitter) -> None:
    before = api.recorded()
    with pytest.raises(TypeError):
        changes.USER_LOCK.submit(jobs)
    assert api.recorded() == before
    # A creation's target is the name in its input, whatever a caller passes besides.
    job = changes.GROUP_CREATE.submit(jobs, schemas.GroupCreateIn(name="lab"), target="ignored")
    assert job.target == "lab" and job.params == {"name": "lab", "gid": None}
