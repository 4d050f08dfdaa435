"""`pulse superset screenshots`: a full-page PNG of every dashboard in git, for the README (docs/screenshots/)."""

from __future__ import annotations

import sys
from pathlib import Path

from pulse_analytics import config, project
from pulse_analytics.errors import PulseError
from pulse_analytics.superset import assets


def dashboards() -> list[tuple[str, int]]:
    """(slug, number of charts) of each dashboard in git, in file order."""
    found = []
    for path in assets.files("dashboards"):
        dashboard = assets.load(path)
        found.append((dashboard["slug"], len(assets.chart_uuids(dashboard))))
    return found


def capture(base_url: str, folder: Path | None = None) -> list[Path]:
    """Log in as the admin, open each dashboard, check every chart shows content, save <slug>.png in `folder`
    (default: docs/screenshots of the project)."""
    folder = folder or project.path("docs", "screenshots")
    try:
        from playwright.sync_api import sync_playwright

        from pulse_analytics.superset import browser
    except ImportError as error:
        raise PulseError("screenshots need Playwright: `.venv/bin/pip install -e '.[test]'`.") from error
    written = []
    with sync_playwright() as playwright:
        chromium = browser.launch(playwright)
        page = chromium.new_page(viewport=browser.VIEWPORT)
        browser.login(page, base_url, config.get("SUPERSET_ADMIN_USER"), config.get("SUPERSET_ADMIN_PASSWORD"))
        for slug, chart_count in dashboards():
            views = browser.open_dashboard(page, base_url, slug, chart_count)
            broken = [
                f"{view.name}: {view.error or 'no content'}" for view in views if view.error or not view.has_content
            ]
            if broken:
                raise PulseError(
                    f"dashboard {slug} has charts that do not render, no screenshot taken:\n  " + "\n  ".join(broken)
                )
            written.append(browser.screenshot(page, folder / f"{slug}.png", chart_count))
            print(f"screenshot: {written[-1]}", file=sys.stderr)
        chromium.close()
    return written
