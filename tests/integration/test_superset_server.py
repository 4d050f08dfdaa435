"""`pulse superset start|stop|status` and `pulse demo` run a real Superset and leave nothing running when stopped."""

from __future__ import annotations

import html
import json
import queue
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import duckdb
import requests

from pulse_analytics import warehouse
from pulse_analytics.superset import assets, rendering, server
from tests.conftest import (
    PULSE,
    REPO_ROOT,
    SupersetServer,
    bundle_processes,
    count_rows,
    free_port,
    pulse_env,
    run_pulse,
)

DEMO_READY = "Press Ctrl-C to stop Superset"
DEMO_TIMEOUT_S = 600  # reading the demo's output gives up after this: it is a hang, not a slow step


def port_open(url: str) -> bool:
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_secret_key_is_generated_private_and_kept(superset_server: SupersetServer) -> None:
    key_file = superset_server.files / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 40
    tracked = subprocess.run(["git", "grep", "-l", key], cwd=REPO_ROOT, capture_output=True, text=True)
    assert tracked.stdout == "", "the secret key must never be in git"


def test_stop_leaves_nothing_running_and_start_reuses_the_state(superset_server: SupersetServer) -> None:
    key = (superset_server.files / "secret_key").read_text()
    assert bundle_processes(superset_server.state_dir), "the session's Superset should be running"

    assert run_pulse("superset", "stop", env=superset_server.env).stdout.strip() == "Superset stopped."
    assert bundle_processes(superset_server.state_dir) == []
    assert not port_open(superset_server.url)
    status = run_pulse("superset", "status", env=superset_server.env, check=False)
    assert status.returncode == 3 and "not running" in status.stdout, status.stdout

    started = run_pulse("superset", "start", env=superset_server.env)
    assert "first start" not in started.stderr  # metadata, roles and admin reused
    assert f"Superset: {superset_server.url}/dashboard/list/" in started.stdout
    assert run_pulse("superset", "status", env=superset_server.env).returncode == 0
    assert (superset_server.files / "secret_key").read_text() == key
    assert superset_server.api().get("/api/v1/dashboard/cycle-life")["result"]["dashboard_title"] == "Cycle life"


def test_start_on_a_busy_port_names_the_port_and_the_variable(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        env = pulse_env(tmp_path / "warehouse", STATE_DIR=str(tmp_path / "state"), SUPERSET_PORT=str(port))
        result = run_pulse("superset", "start", env=env, check=False)
    assert result.returncode != 0
    assert f"port {port} is in use" in result.stderr and "PULSE_ANALYTICS_SUPERSET_PORT" in result.stderr


def read_until(process: subprocess.Popen[str], text: str) -> str:
    """The demo's output up to and including the line holding `text` (fails if the demo exits first)."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout or []] + [lines.put("")], daemon=True
    ).start()
    output = []
    deadline = time.monotonic() + DEMO_TIMEOUT_S
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0))
        except queue.Empty:
            process.kill()
            raise AssertionError(
                f"the demo did not print {text!r} within {DEMO_TIMEOUT_S} s:\n{''.join(output)}"
            ) from None
        if line == "":
            raise AssertionError(f"the demo exited ({process.wait()}) before printing {text!r}:\n{''.join(output)}")
        output.append(line)
        if text in line:
            return "".join(output)


def as_in_a_terminal() -> None:
    """Ctrl-C reaches the demo as it does in a terminal, even when the tests run as a background job (`cmd &` in a
    script), whose commands inherit SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_demo_prints_url_and_logins_and_ctrl_c_stops_everything(superset_server: SupersetServer) -> None:
    demo = subprocess.Popen(
        [PULSE, "demo", "--rows", "20000"],
        env=superset_server.env,
        cwd=REPO_ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=as_in_a_terminal,
    )
    try:
        output = read_until(demo, DEMO_READY)
        for step in ("1/6", "3/6", "4/6", "5/6", "6/6"):
            assert f"==> {step}" in output
        assert f"{superset_server.url}/dashboard/list/" in output
        assert "admin:     admin / the password in PULSE_ANALYTICS_SUPERSET_ADMIN_PASSWORD" in output
        assert "read-only: viewer / the password in PULSE_ANALYTICS_SUPERSET_VIEWER_PASSWORD" in output
        assert superset_server.admin[1] not in output and superset_server.viewer[1] not in output  # set by the user

        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=server.STOP_TIMEOUT_S + 30) == 130
        assert bundle_processes(superset_server.state_dir) == []
        assert not port_open(superset_server.url)
    finally:
        if demo.poll() is None:
            demo.kill()
        run_pulse("superset", "start", env=superset_server.env)  # back for the other tests of the session


def test_demo_detached_keeps_superset_running(superset_server: SupersetServer) -> None:
    result = run_pulse("demo", "--rows", "20000", "--detach", env=superset_server.env)
    assert "keeps running in the background" in result.stdout
    assert "nothing to import" in result.stderr  # the assets were already in sync
    assert bundle_processes(superset_server.state_dir) and port_open(superset_server.url)


def test_status_of_a_state_folder_with_no_superset(tmp_path: Path) -> None:
    env = pulse_env(tmp_path / "warehouse", STATE_DIR=str(tmp_path / "state"), SUPERSET_PORT=str(free_port()))
    result = run_pulse("superset", "status", env=env, check=False)
    assert result.returncode == 3 and "not running" in result.stdout
    assert run_pulse("superset", "stop", env=env).stdout.strip() == "Superset was not running."


def test_chart_results_are_kept_until_any_program_writes_the_warehouse(superset_server: SupersetServer) -> None:
    """The bundle's default: chart results kept, filed under the warehouse files' version. A write by a program other
    than `pulse` (which would not empty the cache folder) still shows at the next request."""
    api = superset_server.api()
    first, again = count_rows(api, "part_metadata"), count_rows(api, "part_metadata")
    assert again["is_cached"] is True and again["data"] == first["data"] and first["data"][0]["records"] > 0
    parts = first["data"][0]["records"]

    metadata_file = warehouse.catalog_path("metadata", superset_server.warehouse_dir)
    table = "pulse.part_metadata"
    with duckdb.connect(str(metadata_file)) as writer:  # Superset holds no connection between queries
        writer.execute(f"insert into {table} select * replace ('cache-probe' as part_id) from {table} limit 1")
    try:
        after_write = count_rows(api, "part_metadata")
        assert not after_write["is_cached"] and after_write["data"][0]["records"] == parts + 1
        assert count_rows(api, "part_metadata")["is_cached"] is True
    finally:
        with duckdb.connect(str(metadata_file)) as writer:
            writer.execute(f"delete from {table} where part_id = 'cache-probe'")
    restored = count_rows(api, "part_metadata")
    assert not restored["is_cached"] and restored["data"][0]["records"] == parts


def test_pulse_build_empties_the_cache_and_warms_every_dashboard(superset_server: SupersetServer) -> None:
    cache = superset_server.files / "cache"
    stale = cache / "left-by-an-earlier-version"
    stale.write_text("")
    result = run_pulse("build", env=superset_server.env)
    assert not stale.exists()
    for slug in ("cycle-life", "lab-operations", "recipe-comparison", "test-explorer"):
        assert re.search(rf"warm: \d/4 {slug} rendered", result.stderr), result.stderr[-2000:]
    answers = first_view_answers(superset_server, "test-explorer")  # as a viewer, in a browser of its own
    assert answers and all(answer["is_cached"] is True for answer in answers), answers


def first_view_answers(superset_server: SupersetServer, slug: str) -> list[dict[str, Any]]:
    """Superset's answer to each chart-data request of a dashboard's first view by the viewer, every tab shown."""
    from pulse_analytics.superset import browser

    answers: list[dict[str, Any]] = []

    def keep(response: Any) -> None:
        if "/api/v1/chart/data" in response.url and response.request.method == "POST":
            answers.extend({"is_cached": result.get("is_cached")} for result in response.json()["result"])

    with browser.logged_in_page(superset_server.url, superset_server.viewer) as page:
        page.on("response", keep)
        browser.open_every_tab(page, superset_server.url, slug)
    return answers


def test_results_of_either_warehouse_are_kept_as_long_as_the_cache_says() -> None:
    """No timeout of the database's own: the data cache's versions (tests/e2e/test_trino_cache.py on Trino) decide."""
    template = assets.files("databases")[0]
    rendered = {
        target: rendering.render(template.read_text(), rendering.sync_environment(target, "test"), template)
        for target in ("duckdb", "trino")
    }
    assert rendered["trino"]["cache_timeout"] is None and rendered["duckdb"]["cache_timeout"] is None


def test_start_with_a_bad_cache_setting_names_the_variable(tmp_path: Path) -> None:
    env = pulse_env(
        tmp_path / "warehouse",
        STATE_DIR=str(tmp_path / "state"),
        SUPERSET_PORT=str(free_port()),
        SUPERSET_CACHE_SECONDS="ten minutes",
    )
    result = run_pulse("superset", "start", env=env, check=False)
    assert result.returncode != 0
    assert "PULSE_ANALYTICS_SUPERSET_CACHE_SECONDS is 'ten minutes'" in result.stderr
    assert not (tmp_path / "state").exists()


def test_an_event_log_sent_before_the_login_cannot_log_the_user_out(superset_server: SupersetServer) -> None:
    """The login page posts its usage events as its form is submitted, with the cookie from before the login. Were
    that request's answer to write the session cookie, it would replace the login's own when it arrives later, and
    the browser would be logged out (a dashboard then sends it to the login page). It is answered with no cookie."""
    browser = requests.Session()
    cookie_before_login = log_in_by_the_form(browser, superset_server)

    events_url = f"{superset_server.url}/superset/log/?explode=events"
    late_event_log = requests.post(
        events_url, data={"events": "[]"}, cookies={"session": cookie_before_login}, allow_redirects=False, timeout=30
    )
    assert late_event_log.status_code == 204
    assert "session" not in late_event_log.cookies, "a refused event log must not write the session cookie"

    assert browser.get(f"{superset_server.url}/api/v1/me/", timeout=30).status_code == 200
    logged_in_event_log = browser.post(events_url, data={"events": "[]"}, allow_redirects=False, timeout=30)
    assert logged_in_event_log.status_code == 200, "a logged-in user's events are still logged"


def log_in_by_the_form(browser: requests.Session, superset_server: SupersetServer) -> str:
    """Log in as the admin through Superset's login form, as a browser does; the session cookie from before."""
    login_page = browser.get(f"{superset_server.url}/login/", timeout=30)
    csrf_token = re.search(r'id="csrf_token"\s+value="([^"]+)"', login_page.text).group(1)
    cookie_before_login = browser.cookies["session"]
    username, password = superset_server.admin
    login = browser.post(
        f"{superset_server.url}/login/",
        allow_redirects=False,
        timeout=30,
        data={"username": username, "password": password, "csrf_token": csrf_token},
    )
    assert login.status_code == 302 and "session" in login.cookies, "the login form did not log in"
    return cookie_before_login


def metadata_database(superset_server: SupersetServer) -> sqlite3.Connection:
    """Superset's SQLite metadata database, opened read-only beside the running Superset."""
    return sqlite3.connect(f"file:{superset_server.files / 'superset.db'}?mode=ro", uri=True)


def event_log_actions(superset_server: SupersetServer) -> Counter[str]:
    with closing(metadata_database(superset_server)) as database:
        return Counter(dict(database.execute("select action, count(*) from logs group by action").fetchall()))


def test_chart_data_requests_stay_out_of_the_event_log_other_calls_do_not(superset_server: SupersetServer) -> None:
    """Superset logs three rows per chart-data request, committed before the answer leaves; the bundle's Superset
    leaves them out (bench/README.md) and logs every other call as Superset does."""
    api = superset_server.api()
    before = event_log_actions(superset_server)
    count_rows(api, "part_metadata")
    api.get("/api/v1/dashboard/")
    logged = event_log_actions(superset_server) - before
    assert logged["DashboardRestApi.get_list"] and logged["DatasetRestApi.get_list"], logged
    chart_data_actions = ("ChartDataRestApi.data", "ChartDataRestApi.json_dumps", "_get_data_response")  # Superset's
    assert not [action for action in chart_data_actions if logged[action]], logged


def test_the_metadata_database_keeps_a_write_ahead_log(superset_server: SupersetServer) -> None:
    """Readers of Superset's SQLite database do not wait for its writers (the event log, filter states, SQL Lab)."""
    with closing(metadata_database(superset_server)) as database:
        assert database.execute("pragma journal_mode").fetchone()[0] == "wal"


def test_charts_draw_without_animation_in_either_theme(superset_server: SupersetServer) -> None:
    """Every page tells the browser its themes: ECharts' first-draw animation is off in both (bench/README.md)."""
    browser = requests.Session()
    log_in_by_the_form(browser, superset_server)
    page = browser.get(f"{superset_server.url}/dashboard/list/", timeout=30)
    bootstrap = json.loads(html.unescape(re.search(r'data-bootstrap="([^"]+)"', page.text).group(1)))
    themes = bootstrap["common"]["theme"]
    for mode in ("default", "dark"):
        assert themes[mode]["echartsOptionsOverrides"] == {"animation": False}, themes[mode]
        assert themes[mode]["token"]["colorPrimary"], "Superset's own theme is kept underneath"
