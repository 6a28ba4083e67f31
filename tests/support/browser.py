"""Real headless Chromium (Debian's, never a downloaded one) driven by Playwright, for the web tests.

One browser for the whole session (it takes a second or two to start); each test gets
fresh contexts (separate cookie jars: separate people), closed after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright, expect, sync_playwright

from tests.support.stack import ADMIN

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
WIDTH, HEIGHT = 1280, 800


# Per module, not per session: Playwright's sync API keeps an event loop running in the
# test process while it lives, and a later test of the same process that starts its own
# (asyncio.run) would find it running. With the files spread over processes (xdist), the
# Chromium tests are no longer the last ones.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


NewContext = Callable[..., BrowserContext]


@pytest.fixture
def new_context(browser: Browser) -> Iterator[NewContext]:
    """Makes browser contexts (each its own cookies: its own person); all closed after the test.

    Keyword arguments go to ``Browser.new_context`` (``java_script_enabled=False``...).
    """
    made: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        settings: dict[str, Any] = {
            "ignore_https_errors": True,
            "viewport": {"width": WIDTH, "height": HEIGHT},
        }
        context = browser.new_context(**(settings | options))
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def context(new_context: NewContext) -> BrowserContext:
    return new_context()


def log_in(page: Page, base_url: str, login: str, password: str) -> None:
    """Log in through the login form, as a person would; lands on the dashboard."""
    page.goto(f"{base_url}/login/")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base_url}/")


def live(page: Page) -> None:
    """Wait until the page's event stream is open (its indicator says Live)."""
    expect(page.locator("[data-conn]")).to_have_text("Live", timeout=10_000)


def live_page(new_context: NewContext, base_url: str, path: str, *, marked: bool = True) -> Page:
    """An admin's page at ``path``, its event stream open; ``marked`` for :func:`same_document`."""
    page = new_context().new_page()
    log_in(page, base_url, *ADMIN)
    page.goto(base_url + path)
    live(page)
    if marked:
        no_reload(page)
    return page


def row(page: Page, login: str) -> Locator:
    """The users table's row of ``login``."""
    return page.locator(f'[data-rows] tr[data-key="{login}"]')


def no_reload(page: Page) -> None:
    """Mark the page's document, so that :func:`same_document` tells whether it was reloaded since."""
    page.evaluate("window.sameDocument = true")


def same_document(page: Page) -> bool:
    return bool(page.evaluate("window.sameDocument === true"))
