"""Playwright (Python) driving Debian's Chromium against the session's Superset (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from pulse_analytics.superset import browser
from tests.conftest import REPO_ROOT, SupersetServer

ACCESS_LOG_LINES = 60  # the end of Superset's access log shown under a failed browser test

# CI keeps test-artifacts/: a screenshot of every dashboard as the smoke test saw it (the Trino pass's in trino/).
SCREENSHOT_DIR = REPO_ROOT / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = browser.launch(playwright)
        yield launched
        launched.close()


def logged_in_page(chromium: Browser, server: SupersetServer, user: tuple[str, str]) -> Iterator[Page]:
    context = chromium.new_context(viewport=browser.VIEWPORT)
    page = context.new_page()
    browser.login(page, server.url, *user)
    yield page
    context.close()


@pytest.fixture
def admin_page(chromium: Browser, superset_server: SupersetServer) -> Iterator[Page]:
    yield from logged_in_page(chromium, superset_server, superset_server.admin)


@pytest.fixture
def viewer_page(chromium: Browser, superset_server: SupersetServer) -> Iterator[Page]:
    yield from logged_in_page(chromium, superset_server, superset_server.viewer)


@pytest.fixture(scope="session")
def screenshot_dir(dbt_target: str) -> Path:
    directory = SCREENSHOT_DIR / "trino" if dbt_target == "trino" else SCREENSHOT_DIR
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    """Under a failed browser test, the end of its Superset's access log: which requests were refused or slow."""
    outcome = yield
    report = outcome.get_result()
    server = getattr(item, "funcargs", {}).get("superset_server")
    if report.failed and isinstance(server, SupersetServer):
        access_log = server.files / "access.log"
        if access_log.exists():
            lines = access_log.read_text(errors="replace").splitlines()[-ACCESS_LOG_LINES:]
            report.sections.append((f"end of {access_log}", "\n".join(lines)))
