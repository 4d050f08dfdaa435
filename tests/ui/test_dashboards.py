"""Smoke tests of the dashboards in a real browser: every chart renders, roles see what they should."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from pulse_analytics import generate, teams
from pulse_analytics.superset import assets, browser, colours, layout, screenshots
from pulse_analytics.superset.api import SupersetError
from tests.conftest import SupersetServer
from tests.ui.conftest import logged_in_page
from tests.unit.test_colours import hue_apart

DASHBOARDS = screenshots.dashboards()  # (slug, number of charts on all its tabs) of every dashboard in git
CHARTS = [assets.load(path) for path in assets.files("charts")]
ECHARTS = {chart["uuid"]: chart["slice_name"] for chart in CHARTS if chart["viz_type"].startswith("echarts_")}
# Charts with a series per cell, recipe or device (coloured by colours.py), with a series per metric (coloured by
# the dashboard's label_colors), and with a curve per cycle (coloured by colours.py by cycle number, or by cell).
LABEL_CHARTS = {
    chart["slice_name"]
    for chart in CHARTS
    if len(chart["params"].get("groupby") or []) == 1 and chart["params"]["groupby"][0] in colours.LABEL_COLUMNS
}
METRIC_CHARTS = {chart["slice_name"] for chart in CHARTS if not chart["params"].get("groupby")}
CURVE_CHARTS = {
    chart["slice_name"]
    for chart in CHARTS
    if tuple(chart["params"].get("groupby") or []) in (colours.TEST_CURVES[1] + ("direction",), colours.PART_CURVES[1])
}
LINES = {layer["name"] for chart in CHARTS for layer in chart["params"].get("annotation_layers", [])}  # 80 % line

pytestmark = pytest.mark.trino  # on the embedded warehouse, then on a real Trino (Superset reading it as user superset)


def problems(views: list[browser.ChartView]) -> list[str]:
    """Each chart that did not render, and why."""
    found = []
    for view in views:
        if view.error or view.loading or not view.has_content:
            why = view.error or ("still loading" if view.loading else "no results" if view.no_results else "empty")
            found.append(f"{view.name} ({view.viz_type}): {why}")
    return found


def every_view(tabs: browser.TabViews) -> list[browser.ChartView]:
    return [view for views in tabs.values() for view in views]


@pytest.mark.parametrize("slug", [slug for slug, _ in DASHBOARDS])
def test_every_chart_of_the_dashboard_renders(
    slug: str, superset_server: SupersetServer, admin_page: Page, screenshot_dir: Path
) -> None:
    """On every tab (each shown in turn: Superset renders a tab's charts when it is first shown), with a screenshot of
    each tab named as `pulse superset screenshots` names it."""
    listed = superset_server.api().get(f"/api/v1/dashboard/{slug}/charts")["result"]
    expected = {chart["id"]: chart["slice_name"] for chart in listed}
    assert len(expected) == dict(DASHBOARDS)[slug], f"Superset lists {sorted(expected.values())} for {slug}"

    names = iter(screenshots.file_names(slug))

    def take_screenshot(_tab: str | None, views: list[browser.ChartView]) -> None:
        browser.screenshot(admin_page, screenshot_dir / next(names), len(views))

    tabs = browser.open_every_tab(admin_page, superset_server.url, slug, on_tab=take_screenshot)

    on_page = {view.id: view.name for view in every_view(tabs)}
    assert on_page == expected, f"charts on the page differ from the dashboard's chart list: {on_page} != {expected}"
    assert len(every_view(tabs)) == len(expected), f"a chart shown on two tabs: {tabs}"
    assert problems(every_view(tabs)) == []


def test_the_first_view_renders_only_the_first_tab(superset_server: SupersetServer, admin_page: Page) -> None:
    """What the tabs are for: on opening a tabbed dashboard, only the first tab's charts ask for data."""
    slug = "test-explorer"
    [(_, first), *others] = layout.charts_per_tab(assets.dashboard(slug))
    assert others, f"{slug} has no second tab"
    asked: list[int] = []

    def chart_request(request: Request) -> None:
        if request.method == "POST" and "/api/v1/chart/data" in request.url:
            chart_id = (request.post_data_json.get("form_data") or {}).get("slice_id")
            asked.extend([chart_id] if chart_id else [])

    admin_page.on("request", chart_request)
    views = browser.open_dashboard(admin_page, superset_server.url, slug, first)
    admin_page.wait_for_load_state("networkidle")
    assert len(views) == first and sorted(set(asked)) == sorted(view.id for view in views)


def test_every_time_grain_a_chart_uses_is_one_its_database_offers(superset_server: SupersetServer) -> None:
    """Superset refuses a chart-data request whose time grain the database's engine lacks (Trino's has no 30 minutes:
    superset_config.py adds it). Checked here by name, so a missing grain says so before any browser looks."""
    api = superset_server.api()
    ids = {chart["uuid"]: chart["id"] for chart in api.list_all("/api/v1/chart/")}
    missing = []
    for path in assets.files("charts"):
        chart = assets.load(path)
        grain = chart["params"].get("time_grain_sqla")
        if grain:
            dataset = api.get(f"/api/v1/explore/?slice_id={ids[chart['uuid']]}")["result"]["dataset"]
            offered = [duration for duration, _ in dataset["time_grain_sqla"]]
            if grain not in offered:
                missing.append(f"{path.name}: {grain} (offered: {', '.join(map(str, offered))})")
    assert missing == []


@pytest.mark.parametrize("slug", [slug for slug, _ in DASHBOARDS])
def test_a_team_viewer_sees_only_its_teams_cells(slug: str, superset_server: SupersetServer, chromium: Browser) -> None:
    """The Cylindrical team's demo login (access/teams.yaml) on every tab: no cell, test or device of another team
    (or of none) in any chart's or native filter's data, nor in the page's text; its own cells or tests are there."""
    role = teams.load().roles[0]
    own = {part.part_id for part in generate.PARTS if part.team in role.teams}
    tests = [test for test in generate.TESTS if test.part_id in own]
    hidden = {part.part_id for part in generate.PARTS} - own
    hidden |= {test.test_id for test in generate.TESTS if test.part_id not in own}
    hidden |= {test.device_id for test in generate.TESTS} - {test.device_id for test in tests}
    seen: list[str] = []

    def keep(response: Any) -> None:
        if "/api/v1/chart/data" in response.url and response.request.method == "POST":
            seen.append(response.text())

    pages = logged_in_page(chromium, superset_server, (str(role.demo_user), superset_server.viewer[1]))
    page = next(pages)
    try:
        page.on("response", keep)
        browser.open_every_tab(
            page, superset_server.url, slug, on_tab=lambda _title, _views: seen.append(page.inner_text("body"))
        )
    finally:
        pages.close()
    everything = "\n".join(seen)
    assert sorted(value for value in hidden if value in everything) == []
    shown = {value for value in own | {test.test_id for test in tests} if value in everything}
    assert shown, f"{slug}: none of the team's own cells or tests shown: {everything[:1000]}"


def test_viewer_sees_every_dashboard_but_cannot_edit(superset_server: SupersetServer, viewer_page: Page) -> None:
    viewer_page.goto(f"{superset_server.url}/dashboard/list/")
    for path in assets.files("dashboards"):
        expect(viewer_page.get_by_text(assets.load(path)["dashboard_title"], exact=True).first).to_be_visible()
    for slug, chart_count in DASHBOARDS:
        views = every_view(browser.open_every_tab(viewer_page, superset_server.url, slug))
        assert len(views) == chart_count and problems(views) == [], f"as {superset_server.viewer[0]} on {slug}"
        expect(viewer_page.locator('[data-test="edit-dashboard-button"]')).to_have_count(0)
        expect(viewer_page.locator('[data-test="dashboard-header-container"]')).to_be_visible()


def test_viewer_cannot_open_sql_lab_explore_or_change_a_dashboard(
    superset_server: SupersetServer, viewer_page: Page
) -> None:
    for page_path in ("/sqllab/", "/explore/?slice_id=1"):
        response = viewer_page.goto(f"{superset_server.url}{page_path}")
        assert response is not None and response.status == 403, f"{page_path} answered {response and response.status}"

    api = superset_server.api(superset_server.viewer)
    dashboard = api.get("/api/v1/dashboard/cycle-life")["result"]
    database_id = superset_server.api().list_all("/api/v1/database/")[0]["id"]
    with pytest.raises(SupersetError, match="HTTP 403"):
        api.put(f"/api/v1/dashboard/{dashboard['id']}", {"dashboard_title": "changed by the viewer"})
    with pytest.raises(SupersetError, match="HTTP 403"):
        api.post("/api/v1/sqllab/execute/", {"database_id": database_id, "sql": "select 1", "runAsync": False})
    assert api.get("/api/v1/dashboard/cycle-life")["result"]["dashboard_title"] == "Cycle life"


def test_anonymous_visitor_is_sent_to_login(superset_server: SupersetServer, chromium: Browser) -> None:
    context = chromium.new_context(viewport=browser.VIEWPORT)
    page = context.new_page()
    for slug, _ in DASHBOARDS:
        with pytest.raises(SupersetError, match=r"sent the browser to its login page \(.*/login/\?next="):
            browser.open_every_tab(page, superset_server.url, slug)
        expect(page.locator('[data-test="login-button"]')).to_be_visible()
    context.close()


def test_a_refused_login_says_who_and_what_the_page_shows(superset_server: SupersetServer, chromium: Browser) -> None:
    context = chromium.new_context(viewport=browser.VIEWPORT)
    page = context.new_page()
    with pytest.raises(SupersetError, match=r"as 'viewer' in the browser: still on .*/login.*the page shows: .*\S"):
        browser.login(page, superset_server.url, superset_server.viewer[0], "not-the-password", wait_ms=5_000)
    context.close()


def fresh_series_colours(chromium: Browser, server: SupersetServer, slug: str) -> dict[str, dict[str, str]]:
    """Log in as the viewer in a new browser context (no cache, no storage), open the dashboard, show every tab and
    read the colours of the series whose colours are fixed (chart -> series -> colour), on every tab: Superset keeps
    a tab it has shown in the page."""
    context = chromium.new_context(viewport=browser.VIEWPORT)
    try:
        page = context.new_page()
        browser.login(page, server.url, *server.viewer)
        browser.open_every_tab(page, server.url, slug)
        drawn = browser.series_colours(page)
    finally:
        context.close()
    fixed = {chart: series for chart, series in drawn.items() if chart in LABEL_CHARTS | METRIC_CHARTS | CURVE_CHARTS}
    on_dashboard = {ECHARTS[uuid] for uuid in assets.chart_uuids(assets.dashboard(slug)) if uuid in ECHARTS}
    assert set(fixed) == on_dashboard & (LABEL_CHARTS | METRIC_CHARTS | CURVE_CHARTS), f"charts read on {slug}"
    return fixed


def dashboard_metadata(server: SupersetServer, slug: str) -> dict[str, Any]:
    return json.loads(server.api().get(f"/api/v1/dashboard/{slug}")["result"]["json_metadata"])


@pytest.mark.parametrize("slug", [slug for slug, _ in DASHBOARDS])
def test_series_keep_their_colours_across_page_loads(
    slug: str, superset_server: SupersetServer, chromium: Browser
) -> None:
    """Superset hands out colours in the order the charts' data arrive unless the dashboard fixes them: loaded twice,
    each series per cell, recipe, device, metric or cycle has the same colour, the one Superset holds for its label,
    and no two series of a chart share one (but curves per cycle, coloured by cycle number)."""
    fixed = dashboard_metadata(superset_server, slug).get("map_label_colors") or {}
    first, second = (fresh_series_colours(chromium, superset_server, slug) for _ in range(2))
    assert first and all(first.values()), f"no series read on {slug}"
    assert first == second
    for chart, series in first.items():
        if chart in LABEL_CHARTS | CURVE_CHARTS:
            labels = {label: colour for label, colour in series.items() if label not in LINES}
            assert labels == {label: fixed.get(label) for label in labels}, f"{chart} on {slug}"
        if chart not in CURVE_CHARTS:  # curves are coloured by cycle number: neighbouring cycles look alike
            assert len(set(series.values())) == len(series), f"{chart} on {slug} draws two series in one colour"


def test_every_dashboard_gives_each_cell_recipe_and_device_one_colour(superset_server: SupersetServer) -> None:
    labels = colours.warehouse_labels(api := superset_server.api(), colours.dataset_ids(api))
    expected = colours.label_colours(labels)
    assert set(expected) == set().union(*labels.values()) and set(expected.values()) <= set(colours.PALETTE)
    for slug, _ in DASHBOARDS:
        stored = dashboard_metadata(superset_server, slug).get("map_label_colors") or {}
        assert {label: stored.get(label) for label in expected} == expected, slug


def test_charge_and_discharge_series_are_told_apart(superset_server: SupersetServer, chromium: Browser) -> None:
    """Superset's first two colours are two blues: charge and discharge series must not get them."""
    drawn = fresh_series_colours(chromium, superset_server, "test-explorer")
    pairs = {
        "Charge and discharge capacity vs cycle": ("Charge capacity (Ah)", "Discharge capacity (Ah)"),
        "DC resistance per cycle": ("At charge start (mΩ)", "At discharge start (mΩ)"),
    }
    for chart, (charge, discharge) in pairs.items():
        series = drawn[chart]
        assert hue_apart(series[charge], series[discharge]) >= 90, f"{chart}: {series}"
