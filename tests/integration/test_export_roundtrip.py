"""`pulse sync` then `pulse export` on a real Superset: the files come back byte for byte, and an edit made through
Superset's REST API comes back as exactly that edit.

The Superset is the session's (tests/conftest.py `superset_server`: `pulse superset start` on a free port, every asset
synced); every export goes into a copy of the repository's asset folders, and each test leaves Superset as git has it.
"""

from __future__ import annotations

import difflib
import json
import subprocess
from pathlib import Path

import pytest

from pulse_analytics.superset import assets, layout
from pulse_analytics.superset.api import SupersetApi
from tests.conftest import REPO_ROOT, SupersetServer, project_copy, run_pulse

ASSET_FOLDERS = ("datasets", "dashboards")
CHART = "dashboards/charts/test_voltage.yaml"
DASHBOARD = "dashboards/dashboards/test_explorer.yaml"
CHART_UUID = "4b7fd554-77d9-5dc8-bdf1-5b381c56936e"


@pytest.fixture
def assets_copy(tmp_path: Path) -> Path:
    return project_copy(tmp_path / "project")


def differences(root: Path) -> dict[str, list[str]]:
    """Per file that differs from the repository's: the lines removed (-) and added (+)."""
    changed: dict[str, list[str]] = {}
    names = {
        path.relative_to(base).as_posix()
        for base in (REPO_ROOT, root)
        for folder in ASSET_FOLDERS
        for path in (base / folder).rglob("*")
        if path.is_file()
    }
    for name in sorted(names):
        before = (REPO_ROOT / name).read_text().splitlines() if (REPO_ROOT / name).exists() else []
        after = (root / name).read_text().splitlines() if (root / name).exists() else []
        lines = [
            line
            for line in difflib.unified_diff(before, after, lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]
        if lines:
            changed[name] = lines
    return changed


def export(server: SupersetServer, root: Path, *options: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`pulse export` from the session's Superset into the project copy at root."""
    return run_pulse("--project-dir", str(root), "export", *options, env=server.env, check=check)


def chart_id(api: SupersetApi, uuid: str) -> int:
    return next(chart["id"] for chart in api.list_all("/api/v1/chart/") if chart["uuid"] == uuid)


@pytest.mark.trino  # in the Trino pass, from a Superset synced with --target trino (reading Trino as user superset)
def test_sync_then_export_changes_nothing(superset_server: SupersetServer, assets_copy: Path, dbt_target: str) -> None:
    result = export(superset_server, assets_copy, "--target", dbt_target)
    files = sum(1 for folder in ASSET_FOLDERS for _ in (REPO_ROOT / folder).rglob("*.yaml"))
    databases = len(list((REPO_ROOT / "datasets/databases").glob("*.yaml")))  # never written: templates
    assert f"export: 0 file(s) written, {files - databases} unchanged" in result.stderr
    assert differences(assets_copy) == {}


def test_a_title_edited_through_the_api_comes_back_as_exactly_that_edit(
    superset_server: SupersetServer, assets_copy: Path
) -> None:
    api = superset_server.api()
    api.put(f"/api/v1/chart/{chart_id(api, CHART_UUID)}", {"slice_name": "Cell voltage vs time"})
    try:
        result = export(superset_server, assets_copy, "--dashboard", "Test explorer")
        assert sorted(result.stdout.split()) == sorted(["wrote", CHART, "wrote", DASHBOARD])
        assert differences(assets_copy) == {
            CHART: ["-slice_name: Voltage vs time", "+slice_name: Cell voltage vs time"],
            # the dashboard's layout names the chart too; export keeps that name in step with the chart's title
            DASHBOARD: ["-      sliceName: Voltage vs time", "+      sliceName: Cell voltage vs time"],
        }
    finally:
        run_pulse("sync", env=superset_server.env)  # git's title again, for the other tests
    export(superset_server, assets_copy, "--dashboard", "test-explorer")
    assert differences(assets_copy) == {}  # the sync replaced the UI edit; the export wrote git's title back


def test_a_chart_added_in_superset_gets_a_file_named_from_its_title(
    superset_server: SupersetServer, assets_copy: Path
) -> None:
    api = superset_server.api()
    dataset = next(item for item in api.list_all("/api/v1/dataset/") if item["table_name"] == "test_telemetry")
    dashboard = next(item for item in api.list_all("/api/v1/dashboard/") if item["slug"] == "test-explorer")
    params = {
        "viz_type": "big_number_total",
        "metric": "telemetry_records",
        "adhoc_filters": [],
        "datasource": f"{dataset['id']}__table",
    }
    created = api.post(
        "/api/v1/chart/",
        {
            "slice_name": "Records of the test",
            "viz_type": "big_number_total",
            "datasource_id": dataset["id"],
            "datasource_type": "table",
            "params": json.dumps(params),
            "dashboards": [dashboard["id"]],
        },
    )
    try:
        result = export(superset_server, assets_copy, "--dashboard", "Test explorer")
        chart_file = assets_copy / "dashboards/charts/records_of_the_test.yaml"
        assert chart_file.read_text() == (
            "dataset_uuid: 6229d5ef-692a-5f46-92a2-99fa4e04bc76\n"
            "params:\n  adhoc_filters: []\n  metric: telemetry_records\n  viz_type: big_number_total\n"
            "slice_name: Records of the test\n"
            f"uuid: {chart_uuid(api, created['id'])}\n"
            "version: 1.0.0\nviz_type: big_number_total\n"
        )  # no ids, no defaults: as short as a hand-written chart
        assert set(differences(assets_copy)) == {"dashboards/charts/records_of_the_test.yaml", DASHBOARD}
        assert "check: " not in result.stderr  # the exported bundle passes `pulse check`
        # Superset's page shows a chart added outside the layout in a new row of the first tab: so does the export
        position = assets.load(assets_copy / DASHBOARD)["position"]
        [added] = [node for node in layout.chart_nodes(position) if node["meta"]["sliceName"] == "Records of the test"]
        first_tab = assets.load(REPO_ROOT / DASHBOARD)["position"]["TABS-test-explorer"]["children"][0]
        assert added["parents"][:3] == ["ROOT_ID", "TABS-test-explorer", first_tab]
        shown_first = layout.charts_per_tab(assets.load(REPO_ROOT / DASHBOARD))[0][1]
        assert added["meta"]["chartId"] == shown_first + 1  # numbered in layout order, after the first tab's charts
    finally:
        api.session.delete(f"{api.url}/api/v1/chart/{created['id']}", timeout=60).raise_for_status()


def chart_uuid(api: SupersetApi, identifier: int) -> str:
    return next(chart["uuid"] for chart in api.list_all("/api/v1/chart/") if chart["id"] == identifier)


def test_exporting_an_unknown_dashboard_names_the_ones_there_are(
    superset_server: SupersetServer, assets_copy: Path
) -> None:
    result = export(superset_server, assets_copy, "--dashboard", "Cycle lives", check=False)
    assert result.returncode == 1
    assert "no dashboard in http://localhost:" in result.stderr
    assert "'Cycle lives'" in result.stderr and "'Cycle life'" in result.stderr
    assert differences(assets_copy) == {}


def test_sql_edited_in_superset_keeps_its_schema_template(superset_server: SupersetServer, assets_copy: Path) -> None:
    overview = "datasets/datasets/pulse_warehouse/test_overview.yaml"
    api = superset_server.api()
    dataset = next(item for item in api.list_all("/api/v1/dataset/") if item["table_name"] == "test_overview")
    rendered_sql = api.get(f"/api/v1/dataset/{dataset['id']}")["result"]["sql"]
    assert "{{ schema }}" not in rendered_sql and "pulse.statistics_cycle" in rendered_sql  # as Superset holds it
    api.put(f"/api/v1/dataset/{dataset['id']}", {"sql": "-- Reviewed in the UI.\n" + rendered_sql})
    try:
        export(superset_server, assets_copy)
        before, after = (assets.load(base / overview) for base in (REPO_ROOT, assets_copy))
        assert after["sql"] == "-- Reviewed in the UI.\n" + before["sql"]  # `{{ schema }}.` kept, not `pulse.`
        assert {key: value for key, value in after.items() if key != "sql"} == {
            key: value for key, value in before.items() if key != "sql"
        }
        assert set(differences(assets_copy)) == {overview}
    finally:
        run_pulse("sync", env=superset_server.env)
