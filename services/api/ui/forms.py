"""Forms posted the plain way (no script): the same changes as the JSON API, answered with pages.

A form's fields are parsed into the JSON API's own input model (:func:`parse`), and the change
is made by the same code (``core.changes``): the same checks, the same sentences.

A page's forms carry the session's CSRF token in a hidden ``csrf_token`` field (the
script sends the same token in the ``X-CSRF-Token`` header to the JSON API instead).
A form without it, with a wrong one, from another site, or from a viewer, gets 403 and
changes nothing. A change that is accepted redirects back to its page with ``?job=``,
where the job's state is shown; a refusal is a page saying why, with the API's sentence.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from starlette.datastructures import FormData

from services.api.core.changes import Change
from services.api.core.jobs import Submitter
from services.api.deps import RedisDep, SettingsDep, bound_session_async, submitter_for
from services.api.errors import sentence
from services.api.schemas import BlankIsUnset
from services.api.ui.context import HOST_NAME, LoginRequired, PageError
from services.api.ui.templates import redirect
from services.common.db import Job
from services.common.sessions import COOKIE, Session

CSRF_REFUSED = (
    "This form came without its security token, or with a stale one: reload the page, then try again."
)
CROSS_SITE = "This form was sent from another site: use the WMI's own pages."
# Fields of every form that are no part of a change: read by the dependencies below.
FORM_ONLY = frozenset({"csrf_token", "host"})
# The box a deletion's form asks to tick (the JSON API's DELETE asks nothing of the kind).
CONFIRM = "confirm"

Model = TypeVar("Model", bound=BaseModel)


async def form_fields(request: Request) -> FormData:
    """The posted form (parsed once per request: the dependencies below read it too)."""
    return await request.form()


FormFields = Annotated[FormData, Depends(form_fields)]


async def form_admin(request: Request) -> Session:
    """The session of an admin who posted a form of ours; any other poster gets 403."""
    session = await bound_session_async(request, request.cookies.get(COOKIE))
    if session is None:
        raise LoginRequired
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise PageError(403, CROSS_SITE)
    token = (await request.form()).get("csrf_token")
    if not isinstance(token, str) or not secrets.compare_digest(token.encode(), session.csrf_token.encode()):
        raise PageError(403, CSRF_REFUSED)
    if session.role != "admin":
        raise PageError(
            403,
            f"Your WMI account has the role {session.role!r}: "
            "it can read, but only an admin can change things.",
        )
    return session


FormAdmin = Annotated[Session, Depends(form_admin)]


@dataclass(frozen=True)
class FormJobs:
    """What a form handler needs: its fields, a job submitter for the form's host, and links
    back to its pages."""

    jobs: Submitter
    default_host: str
    fields: FormData

    def link(self, path: str) -> str:
        """A page of the form's host (``?host=`` only when it is not the default one)."""
        return (
            path if self.jobs.host == self.default_host else f"{path}?{urlencode({'host': self.jobs.host})}"
        )

    def run(self, make_job: Callable[[], Job], back: str) -> RedirectResponse:
        """Validate and submit; redirect to the page ``back`` with the job's id, to show its state."""
        with refusals_as_pages():
            job = make_job()
        target = self.link(back)
        return redirect(f"{target}{'&' if '?' in target else '?'}job={job.id}")

    def submit(
        self, change: Change[Any], back: str, target: str | None = None, *, confirm: bool = False
    ) -> RedirectResponse:
        """Make ``change`` from the form's fields, as its JSON route does from a body (``target``:
        the one the path names); with ``confirm``, only once the form's confirmation box is ticked."""

        def make_job() -> Job:
            if confirm and self.fields.get(CONFIRM) != "yes":
                raise PageError(422, f"Tick the box that confirms the deletion of {target!r}.")
            given = parse(change.input, self.fields, also=(CONFIRM,) if confirm else ())
            return change.submit(self.jobs, given, target=target)

        return self.run(make_job, back)


async def form_jobs(
    request: Request, session: FormAdmin, client: RedisDep, settings: SettingsDep
) -> FormJobs:
    """For the host the form names (its hidden ``host`` field), or the default one."""
    fields = await request.form()
    host = fields.get("host")
    named = host if isinstance(host, str) and HOST_NAME.fullmatch(host) else settings.host_name
    jobs = submitter_for(request, session, client, named)
    return FormJobs(jobs=jobs, default_host=settings.host_name, fields=fields)


FormJobsDep = Annotated[FormJobs, Depends(form_jobs)]


@contextmanager
def refusals_as_pages() -> Iterator[None]:
    """The API's refusals (HTTPException, a body that does not validate) as a page of their own."""
    try:
        yield
    except HTTPException as exc:
        raise PageError(exc.status_code, str(exc.detail)) from None
    except ValidationError as exc:
        problems = dict.fromkeys(sentence(dict(e)) for e in exc.errors())
        raise PageError(422, " ".join(problems) or "The form is invalid.") from None


def safe_back(request: Request, fallback: str) -> str:
    """Where a refusal page's "back" link goes: the page the form was on, if it is one of ours."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and is_local_path(referer.path):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return fallback


def is_local_path(path: str) -> bool:
    """A path of this site: one leading '/'. ``//evil.example/x`` and ``/\\evil.example/x`` are
    read by browsers as another host (the second after turning '\\' into '/')."""
    return path.startswith("/") and not path.startswith(("//", "/\\"))


def split_names(text: str) -> list[str]:
    """A list typed in one field: names separated by spaces, commas or new lines."""
    return [part for part in text.replace(",", " ").split() if part]


def parse(model: type[Model], fields: FormData, *, also: Collection[str] = ()) -> Model:
    """A form's fields as ``model``: the input of the same change through the JSON API.

    Read from the model's own fields, so that a field added to the model is read from its form
    without a word here:

    - a list (``groups``, ``logins``): every value sent under its name (checkboxes sharing
      it), each split on spaces, commas and new lines (names typed in one field); none sent
      (no box ticked): an empty list if the model requires the field, else its default;
    - a ``bool`` (not optional): a checkbox, false when unticked (it then sends nothing);
    - a field marked ``schemas.BLANK_UNSET``: left out when empty, as a JSON body leaves it out;
    - anything else as sent ("" stays ""), for the model to check as it checks JSON.

    A name the model does not know is refused by it as in JSON ("not accepted here"), but for
    those of every form (``FORM_ONLY``) and the handler's own (``also``).
    """
    sent: dict[str, list[Any]] = {}
    for name, value in fields.multi_items():
        if name not in FORM_ONLY and name not in also:
            sent.setdefault(name, []).append(value)
    given: dict[str, Any] = {}
    for name, values in sent.items():
        field = model.model_fields.get(name)
        if field is not None and _is_list(field):
            given[name] = [n for v in values for n in (split_names(v) if isinstance(v, str) else [v])]
        elif len(values) > 1:
            given[name] = values  # one value expected: the model says so
        elif not (values[0] == "" and field is not None and _blank_is_unset(field)):
            given[name] = values[0]
    for name, field in model.model_fields.items():
        if name in sent:
            continue
        if _is_list(field) and field.is_required():
            given[name] = []
        elif field.annotation is bool:
            given[name] = False
    return model.model_validate(given)


def _is_list(field: FieldInfo) -> bool:
    kinds = get_args(field.annotation) if get_origin(field.annotation) in (Union, UnionType) else ()
    return any(get_origin(kind) is list for kind in (field.annotation, *kinds))


def _blank_is_unset(field: FieldInfo) -> bool:
    return any(isinstance(mark, BlankIsUnset) for mark in field.metadata)
