"""Roster imports (``core.imports``): a file previewed, then applied as one job."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from services.api import schemas
from services.api.core import hosts, imports
from services.api.deps import AdminSession, AsyncRedisDep, RedisDep, SettingsDep, submitter_for
from services.api.responses import PROBLEMS

router = APIRouter(prefix="/imports", tags=["imports"])

PATH = "/api/v1/imports"
CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            },
        },
    }
}
PreviewId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="A preview's id, as its 201 gave it.")]


async def file_of(request: Request) -> bytes:
    """The file: the body itself (text/csv), or the ``file`` field of a form."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "Send the file in a form field named 'file'."
            )
        return await upload.read()
    return await request.body()


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=imports.PreviewOut,
    responses={**PROBLEMS, 400: {"model": schemas.Problem}, 413: {"model": schemas.Problem}},
    openapi_extra=CSV_BODY,
)
async def preview_import(
    request: Request,
    session: AdminSession,
    client: RedisDep,
    aredis: AsyncRedisDep,
    settings: SettingsDep,
    host: Annotated[
        str | None, Query(max_length=253, description="The host; the default one if not given.")
    ] = None,
    mode: imports.Mode = "create",
    group: Annotated[str | None, Query(max_length=64, description="sync: the cohort's group.")] = None,
    leavers: imports.Leavers = "lock",
) -> Response:
    """Read a roster (CSV, UTF-8 or Windows-1252, ``,`` or ``;``) and say what applying it
    would do to each row; nothing is changed. The preview is kept an hour, for you alone."""
    chosen = host or settings.host_name
    if not await hosts.is_known(aredis, chosen, settings.host_name):
        raise hosts.no_such_host(chosen)
    jobs = submitter_for(request, session, client, chosen)
    raw = await file_of(request)
    out, kept = await run_in_threadpool(imports.preview, jobs, raw, mode, group, leavers)
    await run_in_threadpool(imports.keep, client, out, kept)
    return JSONResponse(out.model_dump(), status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


@router.post(
    "/{preview_id}/apply",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=imports.ImportAccepted,
    responses=PROBLEMS,
)
def apply_import(
    preview_id: PreviewId, request: Request, session: AdminSession, client: RedisDep
) -> Response:
    """Apply a preview as one job, while the host is as the preview saw it (409 otherwise).
    The passwords generated for rows without one are in this answer, and nowhere else."""
    kept = imports.take(client, preview_id, session.login)
    jobs = submitter_for(request, session, client, kept.host)
    job, credentials = imports.apply(jobs, kept)
    url = f"/api/v1/jobs/{job.id}"
    answer = imports.ImportAccepted(id=job.id, state=job.state, url=url, credentials=credentials)
    return JSONResponse(
        answer.model_dump(), status.HTTP_202_ACCEPTED, headers={"Location": url, "Cache-Control": "no-store"}
    )
