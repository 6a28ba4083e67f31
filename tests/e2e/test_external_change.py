"""A change typed on the host's command line, behind WMI2's back, becomes events and shows in the API."""

from __future__ import annotations

import subprocess

import httpx

from tests.support.sse import EventCollector
from tests.support.stack import Stack
from tests.support.wait import wait_for

pytest_plugins = ["tests.support.web_fixtures"]


def test_useradd_behind_our_back_becomes_user_created(admin: httpx.Client, stack: Stack) -> None:
    sysroot = stack.sysroot
    with EventCollector(admin) as stream:
        command = ["useradd", "--prefix", str(sysroot), "-c", "Typed By Hand", "--", "mallory"]
        subprocess.run(command, check=True)
        event = stream.wait(lambda e: e["type"] == "user.created" and e["data"]["login"] == "mallory")
    assert event["actor"] is None and event["job"] is None
    assert event["data"]["external"] is True
    listed = wait_for(lambda: admin.get("/api/v1/users", params={"q": "mallory"}).json()["items"])
    assert listed[0]["full_name"] == "Typed By Hand"


def test_userdel_behind_our_back_becomes_user_deleted(admin: httpx.Client, stack: Stack) -> None:
    sysroot = stack.sysroot
    subprocess.run(["useradd", "--prefix", str(sysroot), "--", "oscar"], check=True)
    wait_for(lambda: admin.get("/api/v1/users/oscar").status_code == 200)
    with EventCollector(admin) as stream:
        subprocess.run(["userdel", "--prefix", str(sysroot), "--", "oscar"], check=True)
        event = stream.wait(lambda e: e["type"] == "user.deleted" and e["data"]["login"] == "oscar")
    assert event["actor"] is None
    assert admin.get("/api/v1/users/oscar").status_code == 404
