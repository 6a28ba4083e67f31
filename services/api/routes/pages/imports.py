"""The roster import page (``/imports/``): a file dropped, its preview, its apply, and the sheet
of the passwords made for it — the same steps as the JSON API (routes/api/imports.py)
through ``core.imports``, as plain forms that work without the script."""

from __future__ import annotations

from typing import Any, cast, get_args

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from services.api.core import imports
from services.api.ui.context import AdminPageDep, PageError
from services.api.ui.credentials import credentials_csv
from services.api.ui.forms import FormJobsDep, refusals_as_pages
from services.api.ui.templates import Pages, html

router = APIRouter(include_in_schema=False)

PATH = "/imports/"


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def _choice(value: Any, allowed: tuple[str, ...], default: str) -> str:
    if value in (None, ""):
        return default
    if value not in allowed:
        raise PageError(422, f"{value!r} is not one of {', '.join(allowed)}.")
    return str(value)


@router.get(PATH)
def import_page(request: Request, page: AdminPageDep) -> Response:
    return html(_pages(request).render("imports.html", page=page, preview=None))


@router.post(PATH)
async def preview_page(request: Request, page: AdminPageDep, form: FormJobsDep) -> Response:
    """The file's preview: what applying it would do to each row, the rows with problems first."""
    upload = form.fields.get("file")
    if not isinstance(upload, UploadFile):
        raise PageError(422, "Choose a file to import.")
    raw = await upload.read()
    mode = cast(imports.Mode, _choice(form.fields.get("mode"), get_args(imports.Mode), "create"))
    leavers = cast(imports.Leavers, _choice(form.fields.get("leavers"), get_args(imports.Leavers), "lock"))
    group = form.fields.get("group")
    group = group.strip() if isinstance(group, str) and group.strip() else None
    with refusals_as_pages():
        out, kept = await run_in_threadpool(imports.preview, form.jobs, raw, mode, group, leavers)
    await run_in_threadpool(imports.keep, form.jobs.redis, out, kept)
    return html(
        _pages(request).render("imports.html", page=page, preview=out, filename=upload.filename or "")
    )


@router.post(PATH + "{preview_id}/apply")
def apply_page(request: Request, preview_id: str, page: AdminPageDep, form: FormJobsDep) -> Response:
    """The preview applied as one job; the passwords made for it, shown once, as a sheet."""
    with refusals_as_pages():
        kept = imports.take(form.jobs.redis, preview_id, form.jobs.actor)
        job, credentials = imports.apply(form.jobs, kept)
    body = _pages(request).render(
        "credentials.html", page=page, job=job, credentials=credentials, csv_link=credentials_csv(credentials)
    )
    response = html(body)
    response.headers["Cache-Control"] = "no-store"  # the only copy of the passwords
    return response
