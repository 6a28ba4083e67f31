"""Posting a page's plain form as a browser without script does, and comparing what it did with what
the JSON request of the same change does (the same job, or the same refusal in the same words)."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from tests.support.api_app import ApiWorld

ALERT = re.compile(r'<p class="alert alert-bad" role="alert">([^<]*)</p>')
JOB_ID = re.compile(r"[?&]job=([0-9a-f]{32})$")


def post_form(client: httpx.Client, path: str, fields: dict[str, Any]) -> httpx.Response:
    """The form with the session's token in its hidden field, as the page renders it."""
    return client.post(path, data={"csrf_token": client.headers["X-CSRF-Token"], **fields})


def form_job(api: ApiWorld, response: httpx.Response, back: str) -> tuple[str, str, dict[str, Any]]:
    """The job an accepted form made: redirected to ``back`` with its id. (action, target, params)"""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    found = JOB_ID.search(location)
    assert found is not None and location.startswith(back + "?"), location
    return job_made(api, found.group(1))


def job_made(api: ApiWorld, job_id: str) -> tuple[str, str, dict[str, Any]]:
    job = api.job(job_id)
    assert job is not None
    return job.action, job.target, job.params


def refusal(page: httpx.Response) -> str:
    """The sentence of a refusal page."""
    assert page.headers["content-type"].startswith("text/html"), page.text
    found = ALERT.search(page.text)
    assert found is not None, page.text
    return html.unescape(found.group(1))
