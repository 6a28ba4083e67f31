"""Talking to a running WMI2 as an admin would, with httpx."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.wait import wait_for

FINISHED = ("succeeded", "failed")


def logged_in_client(base_url: str, login: str, password: str) -> httpx.Client:
    """A client holding a session cookie, sending its CSRF token on every request."""
    client = httpx.Client(base_url=base_url, verify=False, timeout=30)
    response = client.post("/api/v1/session", json={"login": login, "password": password})
    response.raise_for_status()
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


def wait_job(client: httpx.Client, accepted: httpx.Response, timeout: float = 60) -> dict[str, Any]:
    """Wait for the job of a 202 answer to finish; return the job."""
    assert accepted.status_code == 202, accepted.text
    url = accepted.headers["Location"]

    def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(url).json()
        return job if job["state"] in FINISHED else None

    return wait_for(finished, timeout=timeout, what=f"job {url}")


def run_ok(client: httpx.Client, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    """Send a mutation, wait for its job, and insist that it succeeded."""
    job = wait_job(client, client.request(method, url, **kwargs))
    assert job["state"] == "succeeded", job
    return job
