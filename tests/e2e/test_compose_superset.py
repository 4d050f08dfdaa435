"""The compose stack's Superset, in a real browser: every dashboard of git renders every chart from Trino.

`make test-e2e` sets PULSE_E2E_SUPERSET_URL (http://localhost:8088) and the admin's credentials from .env; without them
(or without a Trino) these tests are skipped, saying why. Screenshots go to test-artifacts/e2e-screenshots/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, sync_playwright

from pulse_analytics import config, dbt
from pulse_analytics.superset import browser, screenshots, server
from pulse_analytics.superset.access import DATABASE_NAME
from tests.conftest import REPO_ROOT
from tests.ui.test_dashboards import problems

DASHBOARDS = screenshots.dashboards()
pytestmark = pytest.mark.trino_only
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "e2e-screenshots"


@pytest.fixture(scope="module")
def compose_superset(dbt_target: str) -> str:
    url = os.environ.get("PULSE_E2E_SUPERSET_URL")
    if dbt_target != "trino" or not url:
        pytest.skip(
            "needs a Docker engine: the compose stack's Superset (`make test-e2e` sets "
            "PULSE_E2E_SUPERSET_URL); the native Trino pass renders every dashboard from Trino in tests/ui"
        )
    if reason := dbt.trino_unreachable():
        pytest.skip(reason)
    return url.rstrip("/")


@pytest.fixture(scope="module")
def admin_page(compose_superset: str) -> Iterator[Page]:
    with sync_playwright() as playwright:
        chromium = browser.launch(playwright)
        page = chromium.new_context(viewport=browser.VIEWPORT).new_page()
        browser.login(page, compose_superset, config.get("SUPERSET_ADMIN_USER"), config.get("SUPERSET_ADMIN_PASSWORD"))
        yield page
        chromium.close()


def test_the_warehouse_connection_is_trinos_analytics_catalog(compose_superset: str) -> None:
    api = server.admin_api(compose_superset)
    [database] = [item for item in api.list_all("/api/v1/database/") if item["database_name"] == DATABASE_NAME]
    assert database["backend"] == "trino"
    uri = api.get(f"/api/v1/database/{database['id']}/connection")["result"]["sqlalchemy_uri"]
    assert uri.startswith("trino://superset@trino:8080/") and uri.endswith(f"/{config.get('TARGET_CATALOG')}")


@pytest.mark.parametrize(("slug", "charts"), DASHBOARDS)
def test_every_chart_renders_from_trino(compose_superset: str, admin_page: Page, slug: str, charts: int) -> None:
    names = iter(screenshots.file_names(slug))

    def take_screenshot(_tab: str | None, views: list[browser.ChartView]) -> None:
        browser.screenshot(admin_page, SCREENSHOTS / next(names), len(views))

    tabs = browser.open_every_tab(admin_page, compose_superset, slug, on_tab=take_screenshot)
    views = [view for shown in tabs.values() for view in shown]
    assert len(views) == charts
    assert problems(views) == []
