"""`pulse superset screenshots`: a full-page PNG of every tab of every dashboard in git, for the README
(docs/screenshots/): `<slug>.png` for a dashboard's first view (its first tab), `<slug>--<tab title>.png` for each
of its other tabs."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pulse_analytics import project
from pulse_analytics.errors import PulseError
from pulse_analytics.superset import assets, layout, server

if TYPE_CHECKING:  # Playwright is the test extra's; only the screenshot functions need it
    from playwright.sync_api import Page

    from pulse_analytics.superset.browser import ChartView


def dashboards() -> list[tuple[str, int]]:
    """(slug, number of charts on all its tabs) of each dashboard in git, in file order."""
    found = []
    for path in assets.files("dashboards"):
        dashboard = assets.load(path)
        found.append((dashboard["slug"], len(assets.chart_uuids(dashboard))))
    return found


def file_name(slug: str, tab: str | None, first: bool) -> str:
    """The screenshot of a dashboard's first view keeps the name it had before the dashboard had tabs; another tab's
    adds the tab's title, lower case, words joined by '-'."""
    if first or tab is None:
        return f"{slug}.png"
    return f"{slug}--{re.sub(r'[^a-z0-9]+', '-', tab.lower()).strip('-')}.png"


def file_names(slug: str) -> list[str]:
    """The screenshots of one dashboard in git, one per tab, in tab order."""
    tabs = layout.charts_per_tab(assets.dashboard(slug))
    return [file_name(slug, title, index == 0) for index, (title, _) in enumerate(tabs)]


def capture(base_url: str, folder: Path | None = None) -> list[Path]:
    """Log in as the admin, open each dashboard and show each of its tabs, check every chart shows content, save a
    screenshot of each tab in `folder` (default: docs/screenshots of the project)."""
    folder = folder or project.path("docs", "screenshots")
    try:
        from pulse_analytics.superset import browser
    except ImportError as error:
        raise PulseError("screenshots need Playwright: `.venv/bin/pip install -e '.[test]'`.") from error
    written: list[Path] = []
    with browser.logged_in_page(base_url, server.admin_login()) as page:
        for slug, _ in dashboards():
            written += capture_dashboard(page, base_url, slug, folder)
    return written


def shown(view: ChartView) -> str:
    """Why a chart has no content: its error, or no rows for the dashboard's default filters (a test without the
    measurement, say), or nothing drawn."""
    if view.error:
        return view.error
    if view.no_results:
        return "no rows for the dashboard's default filters (Superset's \"No results\"; pick other defaults or data)"
    return "nothing drawn"


def capture_dashboard(page: Page, base_url: str, slug: str, folder: Path) -> list[Path]:
    """The screenshots of one dashboard, one per tab, each taken once every chart of the tab shows content."""
    from pulse_analytics.superset import browser

    names = iter(file_names(slug))
    written: list[Path] = []

    def take(tab: str | None, views: list[browser.ChartView]) -> None:
        broken = [f"{view.name}: {shown(view)}" for view in views if view.error or not view.has_content]
        if broken:
            where = f"dashboard {slug}" + (f", tab {tab!r}," if tab else "")
            raise PulseError(f"{where} has charts without content, no screenshot taken:\n  " + "\n  ".join(broken))
        written.append(browser.screenshot(page, folder / next(names), len(views)))
        print(f"screenshot: {written[-1]}", file=sys.stderr)

    browser.open_every_tab(page, base_url, slug, on_tab=take)
    return written
