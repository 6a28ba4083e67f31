"""``make screenshots``: a PNG of each page at 1280 px (and the users page at phone width).

Starts a private WMI2 (its own redis-server, a sandbox host with a few dozen users, a
worker, the web origin), makes some history through the API (users created, a lock,
memberships, a job that fails), then photographs every page in headless Chromium.

    python -m tests.support.screenshots [DIRECTORY]   # default: docs/screenshots
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from tests.support.api import logged_in_client, run_ok, wait_job
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, log_in
from tests.support.redis_server import RedisServer
from tests.support.seed import seed_users
from tests.support.stack import ADMIN, Stack

ROOT = Path(__file__).resolve().parents[2]
WIDTH = 1280
PHONE = 390


def make_history(stack: Stack) -> None:
    admin = logged_in_client(stack.url, *ADMIN)
    try:
        zoe = {
            "login": "zoe_walker",
            "full_name": "Zoe Walker",
            "password": "a long pass phrase",
            "groups": ["lab"],
        }
        run_ok(admin, "POST", "/api/v1/users", json=zoe)
        run_ok(admin, "POST", "/api/v1/groups", json={"name": "teachers"})
        run_ok(admin, "POST", "/api/v1/groups/teachers/members",
               json={"logins": ["alice_martin", "bruno_martin", "chloe_martin", "zoe_walker"]})  # fmt: skip
        run_ok(admin, "POST", "/api/v1/users/david_martin/lock")
        run_ok(admin, "PATCH", "/api/v1/users/emma_martin", json={"full_name": "Emma Martin-Leroy"})
        # groupdel refuses to delete a user's primary group: a job that fails, as some do.
        wait_job(admin, admin.delete("/api/v1/groups/farid_martin"))
        admin.post(
            "/api/v1/accounts", json={"login": "helpdesk", "password": "helpdesk-pass-1", "role": "viewer"}
        )
    finally:
        admin.close()


def shoot(page: Page, url: str, path: Path, *, full: bool = True) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    # The live indicator turns on once the event stream is open: the page is then as it stays.
    if page.locator("[data-conn]").count():
        page.locator("[data-conn]").get_by_text("Live").wait_for()
    page.screenshot(path=str(path), full_page=full)
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", flush=True)


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wmi2-screens-") as tmp:
        directory = Path(tmp)
        redis_server = RedisServer(directory / "redis", appendonly=False)
        redis_server.start()
        stack = Stack(directory, redis_server.url, host="school-server")
        try:
            sysroot = stack.prepare()
            seed_users(sysroot, 42, groups={"lab": [0, 2, 4, 6, 8, 10, 12], "office": [1, 3, 5]})
            stack.start()
            make_history(stack)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                context = browser.new_context(
                    ignore_https_errors=True, viewport={"width": WIDTH, "height": 800}
                )
                page = context.new_page()
                shoot(page, f"{stack.url}/login/", out / "login.png", full=False)
                log_in(page, stack.url, *ADMIN)
                for name, path in (("dashboard", "/"), ("users", "/users/"), ("user", "/users/alice_martin/"),
                                   ("groups", "/groups/"), ("group", "/groups/teachers/"), ("jobs", "/jobs/"),
                                   ("audit", "/audit/"), ("accounts", "/accounts/"),
                                   ("imports", "/imports/")):  # fmt: skip
                    shoot(page, stack.url + path, out / f"{name}.png")
                page.set_viewport_size({"width": PHONE, "height": 844})
                shoot(page, f"{stack.url}/users/", out / "users-phone.png", full=False)
                context.close()
                browser.close()
        finally:
            stack.stop()
            redis_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
