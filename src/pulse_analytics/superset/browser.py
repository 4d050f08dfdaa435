"""Superset in a real browser (Playwright driving Debian's Chromium): log in, open a dashboard, wait until every chart
has settled, read what each chart shows, show each tab, take screenshots. Used by the smoke tests and `pulse superset
screenshots`.

Waits are on signals from the page, never on fixed sleeps: a chart has settled when its spinner is gone, it shows its
content, an error or "no results", and its canvases have stopped repainting (ECharts animates its first draw).

Tabs: Superset 6.1 puts a tab's charts into the page only when the tab is first shown (so the first view queries
only the first tab's charts), and keeps a tab it has shown in the page, hidden, when another tab is shown. So the
waits and readings count the charts on screen (`checkVisibility`), and `open_every_tab` shows each tab in turn.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, Playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from pulse_analytics.errors import PulseError
from pulse_analytics.superset import assets, layout
from pulse_analytics.superset.api import SupersetError

VIEWPORT = {"width": 1600, "height": 1000}
SETTLE_TIMEOUT_MS = 180_000  # a chart still loading after this is the "endless spinner" the smoke tests catch
REPAINT_POLL_MS = 250
LOGIN_TRIES = 3
LOGIN_WAIT_MS = 30_000  # from the click to the first page after the login page

USERNAME_INPUT = '[data-test="username-input"]'
PASSWORD_INPUT = '[data-test="password-input"]'

CHART = "[data-test-chart-id]"
TAB = '[role="tab"]'
# The chart elements on screen: those of the tab shown (a tab shown before stays in the page, hidden).
SHOWN_CHARTS_JS = f"Array.from(document.querySelectorAll('{CHART}')).filter(c => c.checkVisibility())"
LOADING = '[data-test="loading-indicator"]'
ERROR = '[role="alert"], .ant-alert-error'
NO_RESULTS = "No results were returned"

# What one chart element shows. Content: a drawn canvas (ECharts), table rows, or a number (big number charts).
CHART_STATE_JS = f"""(c) => {{
  const error = c.querySelector('{ERROR}');
  const body = c.querySelector('[data-test="slice-container"]');
  const text = body ? body.innerText : '';
  const viz = c.dataset.testVizType || '';
  const canvases = Array.from(c.querySelectorAll('canvas')).filter(x => x.width > 0 && x.height > 0).length;
  const rows = c.querySelectorAll('table tbody tr').length;
  const content = viz === 'table' ? rows > 0 && !text.includes('{NO_RESULTS}')
    : viz.startsWith('big_number') ? /[0-9]/.test(text) : canvases > 0;
  return {{id: Number(c.dataset.testChartId), name: c.dataset.testChartName || '', vizType: viz,
           loading: c.querySelector('{LOADING}') !== null, error: error ? error.innerText : null,
           noResults: text.includes('{NO_RESULTS}'), content: content}};
}}"""

# True once every chart on screen shows its content, an error or "no results", with no spinner, and their canvases
# looked the same for two polls in a row (ECharts animates its first draw).
SETTLED_JS = f"""(expected) => {{
  const state = {CHART_STATE_JS};
  const shown = {SHOWN_CHARTS_JS};
  const charts = shown.map(state);
  if (charts.length < expected) return false;
  if (!charts.every(c => !c.loading && (c.error !== null || c.content || c.noResults))) return false;
  const picture = shown.flatMap(c => Array.from(c.querySelectorAll('canvas'))).map(c => c.toDataURL()).join('|');
  const seen = window.__pulseSettle || (window.__pulseSettle = {{picture: null, same: 0}});
  seen.same = picture === seen.picture ? seen.same + 1 : 0;
  seen.picture = picture;
  return seen.same >= 2;
}}"""

# SETTLED_JS, or the page is Superset's login page (where no chart will ever settle).
SETTLED_OR_LOGIN_JS = f"(expected) => window.location.pathname.startsWith('/login') || ({SETTLED_JS})(expected)"

CHARTS_JS = f"() => {SHOWN_CHARTS_JS}.map({CHART_STATE_JS})"

# The series each ECharts chart draws, with their colours: the option Superset hands to ECharts (its Echart component's
# prop `echartOptions`, found through the React fiber of the element ECharts draws in). ECharts draws on a canvas and
# keeps its instances to itself, so the option is the one place the page states which colour each series has.
# Per chart name: [series name, colour] pairs, or null when the chart is ECharts but its option was not found. Every
# chart in the page, also those of a tab shown before and hidden since.
SERIES_COLOURS_JS = f"""() => Object.fromEntries(Array.from(document.querySelectorAll('{CHART}'))
  .filter(chart => chart.querySelector('[_echarts_instance_]'))
  .map(chart => {{
    const holder = chart.querySelector('[_echarts_instance_]');
    const key = Object.keys(holder).find(name => name.startsWith('__reactFiber$'));
    let fiber = key ? holder[key] : null;
    while (fiber && !(fiber.memoizedProps && fiber.memoizedProps.echartOptions)) fiber = fiber.return;
    if (!fiber) return [chart.dataset.testChartName, null];
    const series = [].concat(fiber.memoizedProps.echartOptions.series || []);
    return [chart.dataset.testChartName, series.map(s => [String(s.name), s.itemStyle ? s.itemStyle.color : null])];
  }}))"""


@dataclass(frozen=True)
class ChartView:
    """What one chart on a dashboard page shows."""

    id: int
    name: str
    viz_type: str
    loading: bool
    error: str | None
    no_results: bool
    has_content: bool  # tables have rows, big numbers a number, every other chart type a drawn canvas


def chromium_path() -> str:
    """Debian's Chromium (Playwright's own browser download is not used)."""
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise PulseError("Chromium is not installed; run `make chromium` (Debian's chromium package).")
    return path


def launch(playwright: Playwright) -> Browser:
    arguments = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium refuses to sandbox as root
    return playwright.chromium.launch(executable_path=chromium_path(), args=arguments)


@contextmanager
def logged_in_page(base_url: str, user: tuple[str, str]) -> Iterator[Page]:
    """A page of a new headless Chromium, logged in to the Superset at `base_url` as `user` (name, password); the
    browser is closed when the block ends."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            page = chromium.new_page(viewport=VIEWPORT)
            login(page, base_url, *user)
            yield page
        finally:
            chromium.close()


def login(page: Page, base_url: str, username: str, password: str, wait_ms: int = LOGIN_WAIT_MS) -> None:
    """Log in through Superset's login form. The form is React's: on a loaded machine it can render again after the
    fields were typed into, empty, so the click submits nothing. Each try waits for the page's requests to end, fills,
    checks the fields still hold the values, submits, and counts the login as done only when the browser's session
    answers /api/v1/me/ (leaving the login page is not proof: a failed navigation leaves it too). A login not done
    after LOGIN_TRIES tries (a wrong password, say) raises with what the page shows."""
    for _ in range(LOGIN_TRIES):
        page.goto(f"{base_url}/login/", wait_until="networkidle")
        page.fill(USERNAME_INPUT, username)
        page.fill(PASSWORD_INPUT, password)
        if page.input_value(USERNAME_INPUT) != username or page.input_value(PASSWORD_INPUT) != password:
            continue
        page.click('[data-test="login-button"]')
        try:
            page.wait_for_url(lambda address: "/login" not in address, timeout=wait_ms)
        except PlaywrightTimeoutError:
            continue
        if logged_in(page, base_url):
            return
    shown = " ".join(page.inner_text("body").split())[:300]
    raise SupersetError(
        f"could not log in to {base_url} as '{username}' in the browser: still on {page.url} after "
        f"{LOGIN_TRIES} tries; the page shows: {shown!r}"
    )


def logged_in(page: Page, base_url: str) -> bool:
    """Whether the page's browser session is a logged-in user's (the request shares the page's cookies)."""
    return page.request.get(f"{base_url}/api/v1/me/", fail_on_status_code=False).status == 200


def dashboard_url(base_url: str, slug: str) -> str:
    return f"{base_url}/superset/dashboard/{slug}/"


TabViews = dict[str | None, list[ChartView]]  # tab title (None: a dashboard without tabs) -> its charts


def open_dashboard(page: Page, base_url: str, slug: str, expected_charts: int) -> list[ChartView]:
    """Open a dashboard, wait until the charts of its first view (its first tab, if it has tabs) have settled, and
    return what each shows."""
    page.goto(dashboard_url(base_url, slug))
    wait_until_settled(page, expected_charts)
    return chart_views(page)


def show_tab(page: Page, title: str, expected_charts: int) -> list[ChartView]:
    """Click the tab of the open dashboard titled `title`, wait until its charts have settled and return what each
    shows. The wait starts once the tab is the selected one: from then on the previous tab's charts are hidden and
    no longer counted."""
    tab = page.locator(TAB, has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))
    tab.click()
    page.mouse.move(0, 0)  # off the tab bar: a hovered tab shows its link icon, in screenshots too
    page.wait_for_function(
        "(tab) => tab.getAttribute('aria-selected') === 'true'", arg=tab.element_handle(), timeout=SETTLE_TIMEOUT_MS
    )
    wait_until_settled(page, expected_charts)
    return chart_views(page)


def open_every_tab(
    page: Page, base_url: str, slug: str, on_tab: Callable[[str | None, list[ChartView]], None] | None = None
) -> TabViews:
    """Open a dashboard and show each of its tabs in turn (the first is shown on opening), waiting each time until
    the tab's charts have settled: what each chart of each tab shows, by tab title (one entry, None, for a dashboard
    without tabs). The number of charts to wait for on each tab comes from the dashboard's layout in git.
    `on_tab(title, views)` is called while each tab is shown (e.g. to take its screenshot)."""
    views: TabViews = {}
    for index, (title, expected) in enumerate(layout.charts_per_tab(assets.dashboard(slug))):
        if index == 0:
            views[title] = open_dashboard(page, base_url, slug, expected)
        else:
            views[title] = show_tab(page, str(title), expected)
        if on_tab is not None:
            on_tab(title, views[title])
    return views


def wait_until_settled(page: Page, expected_charts: int) -> None:
    """Wait for SETTLED_JS; raise at once if Superset sent the page to its login page instead (the session was not
    accepted: Superset's pages do that on any HTTP 401), rather than waiting out the timeout on a login form."""
    page.evaluate("() => { window.__pulseSettle = null; }")
    page.wait_for_function(SETTLED_OR_LOGIN_JS, arg=expected_charts, timeout=SETTLE_TIMEOUT_MS, polling=REPAINT_POLL_MS)
    if on_login_page(page):
        raise SupersetError(
            f"Superset sent the browser to its login page ({page.url}) instead of showing the "
            "dashboard: the browser's session was not accepted; the requests that were refused are "
            "in the state folder's access.log (status 401)"
        )


def on_login_page(page: Page) -> bool:
    return page.evaluate("() => window.location.pathname.startsWith('/login')")


def chart_views(page: Page) -> list[ChartView]:
    views: list[dict[str, Any]] = page.evaluate(CHARTS_JS)
    return [
        ChartView(
            view["id"],
            view["name"],
            view["vizType"],
            view["loading"],
            view["error"],
            view["noResults"],
            view["content"],
        )
        for view in views
    ]


def series_colours(page: Page) -> dict[str, dict[str, str]]:
    """The colour of every series each ECharts chart on the page draws: chart name -> series name -> colour."""
    found: dict[str, list[list[str]] | None] = page.evaluate(SERIES_COLOURS_JS)
    unread = sorted(name for name, series in found.items() if series is None)
    if unread:
        raise PulseError(
            f"could not read the series colours of {', '.join(unread)}: this Superset's charts no "
            "longer pass `echartOptions` to their ECharts component; update SERIES_COLOURS_JS in "
            "browser.py."
        )
    return {name: {label: colour for label, colour in series or []} for name, series in found.items()}


def screenshot(page: Page, path: Path, expected_charts: int) -> Path:
    """The whole dashboard page, top to bottom. The window is made as tall as the page and the charts are left to
    settle at that size, then the window is captured as it is: a full-page capture would resize the page while it
    is taken, and Superset re-lays out (and blanks) the dashboard on every resize."""
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(height, VIEWPORT["height"])})
    wait_until_settled(page, expected_charts)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)
    return path
