"""The Superset half of `pulse bench`: a Superset of its own (own state folder and port), the assets synced for each
size's warehouse, then in Debian's Chromium driven by Playwright: every dashboard rendered, every chart's request
captured; and through the REST API: every chart-data request timed, and its SQL fetched for the engine half.

A dashboard has rendered when every chart of its first view (its first tab: Superset renders a tab's charts when the
tab is first shown) shows its content (or an error, or "no results") with no spinner left and the chart canvases
have stopped changing (ECharts animates its first draw): both moments are recorded, measured from the start of
navigation by the page's own clock. The warm-up render also shows every other tab, so the chart-data requests of
every chart are captured and timed. Superset first runs as the bundle runs it by default, with no data
cache, so every chart-data request queries the warehouse; "warm" means Superset and the browser have served each
dashboard once. Then it is restarted with its data cache on (PULSE_ANALYTICS_SUPERSET_CACHE_SECONDS) and the
dashboards are rendered again, each after one render that fills the cache: what a dashboard seen again costs.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from pulse_analytics import config, state
from pulse_analytics.bench.measure import load_average, pulse_command, run_child, summary, vm_hwm
from pulse_analytics.errors import PulseError
from pulse_analytics.progress import step
from pulse_analytics.superset import assets, browser, layout
from pulse_analytics.superset import server as superset_server
from pulse_analytics.superset.api import SupersetApi

CHART_DATA = "/api/v1/chart/data"
POLL_MS = 100
ADMIN = ("admin", "bench-admin")  # of the benchmark's own Superset, which only it uses
CACHE_SECONDS = 3600  # the data cache of the cached renders: longer than they take

# Polled in the page: false until every chart has settled, then when it had loaded and when it settled (ms since the
# start of navigation), with the page's own timeline of where the time went: the page ready (DOMContentLoaded), the
# first chart-data request sent, the last answered. The picture of all chart canvases must look the same for two
# polls in a row.
RENDERED_JS = f"""(expected) => {{
  const state = {browser.CHART_STATE_JS};
  const shown = {browser.SHOWN_CHARTS_JS};
  const charts = shown.map(state);
  const seen = window.__pulseBench || (window.__pulseBench = {{picture: null, same: 0, changedAt: 0, loadedAt: null}});
  const done = charts.length >= expected
    && charts.every(c => !c.loading && (c.error !== null || c.content || c.noResults));
  if (!done) {{ seen.picture = null; seen.same = 0; seen.loadedAt = null; return false; }}
  if (seen.loadedAt === null) seen.loadedAt = performance.now();
  const picture = shown.flatMap(c => Array.from(c.querySelectorAll('canvas'))).map(c => c.toDataURL()).join('|');
  if (picture !== seen.picture) {{
    seen.picture = picture; seen.same = 0; seen.changedAt = performance.now(); return false;
  }}
  seen.same += 1;
  if (seen.same < 2) return false;
  const requests = performance.getEntriesByType('resource').filter(e => e.name.includes('{CHART_DATA}'));
  const navigation = performance.getEntriesByType('navigation')[0];
  return {{loaded: seen.loadedAt, settled: seen.changedAt, charts: charts.length,
           page_ready: navigation ? navigation.domContentLoadedEventEnd : null,
           first_request: requests.length ? Math.min(...requests.map(e => e.startTime)) : null,
           last_response: requests.length ? Math.max(...requests.map(e => e.responseEnd)) : null,
           requests: requests.length,
           errors: charts.filter(c => c.error !== null).map(c => c.name + ': ' + c.error)}};
}}"""


@dataclass
class Server:
    """The bench's own Superset: started and stopped with the `pulse` command line, as a user would."""

    state_dir: Path
    port: int = field(default_factory=lambda: free_port())
    admin: tuple[str, str] = ADMIN
    cache_seconds: int = 0  # what it runs with; the measurements set their own and restore this one
    target: str = "duckdb"  # what the assets are synced for (`pulse sync --target`)
    settings: dict[str, str] = field(default_factory=dict)  # the target's own, e.g. its Trino and Trino user

    @property
    def url(self) -> str:
        return superset_server.url(self.port)

    def env(self, warehouse_dir: Path) -> dict[str, str]:
        return {
            **os.environ,
            **config.resolved_environment(),
            config.PREFIX + "WAREHOUSE_DIR": str(warehouse_dir),
            config.PREFIX + "STATE_DIR": str(self.state_dir),
            config.PREFIX + "SUPERSET_PORT": str(self.port),
            config.PREFIX + "SUPERSET_ADMIN_USER": self.admin[0],
            config.PREFIX + "SUPERSET_ADMIN_PASSWORD": self.admin[1],
            config.PREFIX + "SUPERSET_CACHE_SECONDS": str(self.cache_seconds),
            **self.settings,
        }

    def pulse(self, warehouse_dir: Path, *arguments: str) -> None:
        result = run_child([pulse_command(), *arguments], env=self.env(warehouse_dir))
        if result.exit_code != 0:
            raise PulseError(
                f"`pulse {' '.join(arguments)}` failed for the benchmark's Superset "
                f"(state {self.state_dir}):\n{result.stderr[-3000:]}"
            )

    def start(self, warehouse_dir: Path) -> None:
        step(f"Starting the benchmark's Superset at {self.url} (state {self.state_dir})")
        self.pulse(warehouse_dir, "superset", "start")

    def sync(self, warehouse_dir: Path, target: str = "duckdb", settings: dict[str, str] | None = None) -> None:
        """Point the assets at the warehouse of `target` (settings: the target's, e.g. its Trino and Trino user)."""
        self.target, self.settings = target, settings or {}
        step(f"Syncing the assets into {self.url} for {target} (warehouse {warehouse_dir})")
        self.pulse(warehouse_dir, "sync", "--force", "--target", target)

    def stop(self, warehouse_dir: Path) -> None:
        self.pulse(warehouse_dir, "superset", "stop")

    def restart(self, warehouse_dir: Path, cache_seconds: int) -> None:
        """Stop, then start with this data cache setting (0: none) and an empty cache."""
        self.stop(warehouse_dir)
        self.cache_seconds = cache_seconds
        superset_server.clear_cache(self.files)
        self.start(warehouse_dir)

    @property
    def files(self) -> superset_server.State:
        return superset_server.State(self.state_dir / state.SUPERSET)

    def api(self) -> SupersetApi:
        return superset_server.admin_api(self.url, self.admin)

    def peak_rss_bytes(self) -> dict[str, int]:
        """Peak resident memory of gunicorn's master and each worker so far (VmHWM)."""
        master = int(self.files.pid.read_text().strip())
        processes = {"gunicorn master": master}
        processes.update({f"worker {pid}": pid for pid in children(master)})
        return {name: peak for name, pid in processes.items() if (peak := vm_hwm(pid)) is not None}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if int(fields.get("PPid", "0").strip()) == pid:
            found.append(int(status.parent.name))
    return found


def descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        next_level = [child for parent in frontier for child in children(parent)]
        found.extend(next_level)
        frontier = next_level
    return found


def chromium_peak_rss_bytes() -> dict[str, int]:
    """Peak resident memory of each Chromium process this benchmark started (through Playwright), by role."""
    peaks: dict[str, int] = {}
    for pid in descendants(os.getpid()):
        try:  # Chromium rewrites its children's command line into one string: split on spaces too
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").split()
        except OSError:
            continue
        if not command or "chrom" not in Path(command[0]).name:
            continue
        role = next((part.split("=", 1)[1] for part in command if part.startswith("--type=")), "browser")
        peak = vm_hwm(pid)
        if peak is not None:
            peaks[role] = max(peaks.get(role, 0), peak)
    return peaks


@dataclass(frozen=True)
class Dashboard:
    slug: str
    title: str
    charts: int  # the charts of the first view (the first tab), the ones a render waits for
    other_tabs: tuple[tuple[str, int], ...] = ()  # (title, charts) of each tab after the first


def dashboards() -> list[Dashboard]:
    found = []
    for path in assets.files("dashboards"):
        asset = assets.load(path)
        (_, first), *others = layout.charts_per_tab(asset)
        tabs = tuple((str(title), charts) for title, charts in others)
        found.append(Dashboard(asset["slug"], asset["dashboard_title"], first, tabs))
    return found


def measure(server: Server, warehouse_dir: Path, runs: int) -> dict[str, Any]:
    """Render every dashboard `runs` times (after one warm-up), capturing the chart-data requests it sends; time each
    captured request through the API and fetch its SQL; then render every dashboard again with the data cache on."""
    as_found = server.cache_seconds
    if as_found:
        step("Restarting the benchmark's Superset with no data cache")
        server.restart(warehouse_dir, 0)
    try:
        rendered, requests_sent, chromium_memory = render_dashboards(server, runs)
        charts = time_chart_requests(server, requests_sent, runs)
        superset_memory = server.peak_rss_bytes()
        step(f"Restarting the benchmark's Superset with its data cache on ({CACHE_SECONDS} s)")
        server.restart(warehouse_dir, CACHE_SECONDS)
        cached, _, _ = render_dashboards(server, runs)
        cache_files = len(list(server.files.cache.glob("*")))  # the chart results kept: the cache was used
    finally:
        if server.cache_seconds != as_found:
            server.restart(warehouse_dir, as_found)
    return {
        "dashboards": rendered,
        "dashboards_cached": cached,
        "cache_files": cache_files,
        "charts": charts,
        "peak_rss_bytes": {"superset": superset_memory, "chromium": chromium_memory},
    }


def render_dashboards(server: Server, runs: int) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, int]]:
    """Each dashboard rendered once (its chart-data requests captured), then `runs` times timed; with the peak memory
    of the Chromium processes."""
    rendered, requests_sent = [], {}
    cache = "with the data cache" if server.cache_seconds else "no data cache"
    with browser.logged_in_page(server.url, server.admin) as page:
        for dashboard in dashboards():
            tabs = f" on the first of {len(dashboard.other_tabs) + 1} tabs" if dashboard.other_tabs else ""
            step(
                f"Rendering dashboard '{dashboard.title}' ({dashboard.charts} charts{tabs}, {cache}, {runs} runs "
                "after a warm-up)"
            )
            captured: list[dict[str, Any]] = []
            listener = partial(capture, into=captured)
            page.on("request", listener)
            render(page, server.url, dashboard)  # warm-up, and the requests the dashboard sends
            for title, charts in dashboard.other_tabs:  # and those of its other tabs
                browser.show_tab(page, title, charts)
            page.remove_listener("request", listener)
            timings = [render(page, server.url, dashboard) for _ in range(runs)]
            rendered.append(summarise_renders(dashboard, timings))
            requests_sent[dashboard.slug] = captured
        chromium_memory = chromium_peak_rss_bytes()
    return rendered, requests_sent, chromium_memory


def capture(request: Any, into: list[dict[str, Any]]) -> None:
    if request.method == "POST" and CHART_DATA in request.url:
        into.append(request.post_data_json)


def render(page: Any, base_url: str, dashboard: Dashboard) -> dict[str, Any]:
    page.goto(browser.dashboard_url(base_url, dashboard.slug))
    handle = page.wait_for_function(
        RENDERED_JS, arg=dashboard.charts, timeout=browser.SETTLE_TIMEOUT_MS, polling=POLL_MS
    )
    return handle.json_value()


def summarise_renders(dashboard: Dashboard, timings: list[dict[str, Any]]) -> dict[str, Any]:
    errors = sorted({error for timing in timings for error in timing["errors"]})
    phases = {
        name: summary([timing[name] / 1000 for timing in timings])
        for name in ("page_ready", "first_request", "last_response", "loaded", "settled")
        if all(timing.get(name) is not None for timing in timings)
    }
    return {
        "slug": dashboard.slug,
        "title": dashboard.title,
        "charts": dashboard.charts,
        **phases,
        "chart_data_requests": timings[-1]["requests"],
        "chart_errors": errors,
        "load_average": load_average(),
    }


def time_chart_requests(server: Server, sent: dict[str, list[dict[str, Any]]], runs: int) -> list[dict[str, Any]]:
    """Each distinct chart-data request a dashboard sent, sent again `runs` times through the API; with its SQL."""
    api = server.api()
    names = {int(chart["id"]): chart["slice_name"] for chart in api.list_all("/api/v1/chart/")}
    measured = []
    for slug, payloads in sent.items():
        for payload in unique_requests(payloads):
            form_data = payload.get("form_data") or {}
            chart_id = form_data.get("slice_id")
            name = names.get(int(chart_id), f"chart {chart_id}") if chart_id else filter_name(form_data)
            step(f"Timing the chart-data request of '{name}' ({slug}), {runs} runs")
            post(api, {**payload, "force": True})  # warm-up
            seconds = []
            for _ in range(runs):
                started = time.perf_counter()
                post(api, {**payload, "force": True})
                seconds.append(time.perf_counter() - started)
            measured.append(
                {
                    "dashboard": slug,
                    "chart": name,
                    "chart_id": chart_id,
                    "kind": "chart" if chart_id else "native filter",
                    "api": summary(seconds),
                    "sql": chart_sql(api, payload),
                    "load_average": load_average(),
                }
            )
    return measured


def unique_requests(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last request of each chart (or filter) during one render: a chart may ask again once filters apply."""
    latest: dict[str, dict[str, Any]] = {}
    for payload in payloads:
        form_data = payload.get("form_data") or {}
        key = str(
            form_data.get("slice_id") or json.dumps([payload.get("datasource"), payload.get("queries")], sort_keys=True)
        )
        latest[key] = payload
    return list(latest.values())


def filter_name(form_data: dict[str, Any]) -> str:
    columns = form_data.get("groupby") or []
    return "native filter on " + ", ".join(str(column) for column in columns) if columns else "native filter"


def post(api: SupersetApi, payload: dict[str, Any]) -> dict[str, Any]:
    response = api.session.post(f"{api.url}{CHART_DATA}", json=payload, timeout=300)
    if response.status_code != 200:
        raise PulseError(
            f"Superset answered a dashboard's chart-data request with HTTP "
            f"{response.status_code}: {response.text[:500]}"
        )
    return response.json()


def chart_sql(api: SupersetApi, payload: dict[str, Any]) -> list[str]:
    """The SQL Superset runs for a chart-data request (result_type query: Superset answers with its queries)."""
    answer = post(api, {**payload, "result_type": "query"})
    return [item["query"] for item in answer.get("result", []) if item.get("query")]


def views_read(statements: list[str], names: list[str]) -> list[str]:
    """The views (of `names`) a chart's SQL reads."""
    text = "\n".join(statements)
    return [name for name in names if re.search(rf"\b{re.escape(name)}\b", text)]
