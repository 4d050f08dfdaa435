"""`pulse sync` against a real Superset: idempotent, stable UUIDs, git wins over UI edits, read-only warehouse."""

from __future__ import annotations

import json

import pytest

from pulse_analytics.superset import assets
from pulse_analytics.superset.api import SupersetApi, SupersetError
from tests.conftest import SupersetServer, chart_data, free_port, run_pulse

ENDPOINTS = {
    "databases": "/api/v1/database/",
    "datasets": "/api/v1/dataset/",
    "charts": "/api/v1/chart/",
    "dashboards": "/api/v1/dashboard/",
}


def snapshot(api: SupersetApi) -> dict[str, tuple[int, str, str]]:
    """Every asset in Superset: "kind:uuid" -> (id, name, last change)."""
    assets_seen = {}
    for kind, endpoint in ENDPOINTS.items():
        for item in api.list_all(endpoint):
            name = (
                item.get("dashboard_title")
                or item.get("slice_name")
                or item.get("table_name")
                or item.get("database_name")
            )
            changed = item.get("changed_on_utc") or item.get("changed_on")
            assets_seen[f"{kind}:{item['uuid']}"] = (item["id"], name, changed)
    return assets_seen


def git_uuids() -> set[str]:
    return {f"{kind}:{assets.load(path)['uuid']}" for kind in ENDPOINTS for path in assets.files(kind)}


def test_superset_holds_exactly_the_assets_in_git(superset_server: SupersetServer) -> None:
    assert set(snapshot(superset_server.api())) == git_uuids()


def test_second_sync_creates_nothing_and_changes_nothing(superset_server: SupersetServer) -> None:
    api = superset_server.api()
    before = snapshot(api)
    result = run_pulse("sync", env=superset_server.env)
    assert "nothing to import" in result.stderr
    assert snapshot(api) == before


def test_forced_sync_keeps_every_uuid_and_id(superset_server: SupersetServer) -> None:
    api = superset_server.api()
    before = snapshot(api)
    run_pulse("sync", "--force", env=superset_server.env)
    after = snapshot(api)
    assert {key: value[:2] for key, value in after.items()} == {key: value[:2] for key, value in before.items()}


def test_edits_made_in_the_ui_are_overwritten_by_the_next_sync(superset_server: SupersetServer) -> None:
    api = superset_server.api()
    dashboard = api.get("/api/v1/dashboard/cycle-life")["result"]
    chart = api.get(f"/api/v1/dashboard/{dashboard['id']}/charts")["result"][0]
    git_chart_names = {assets.load(path)["slice_name"] for path in assets.files("charts")}
    api.put(f"/api/v1/dashboard/{dashboard['id']}", {"dashboard_title": "Edited in the UI", "css": ".x {}"})
    api.put(f"/api/v1/chart/{chart['id']}", {"slice_name": "Renamed in the UI"})

    run_pulse("sync", env=superset_server.env)

    restored = api.get("/api/v1/dashboard/cycle-life")["result"]
    assert (restored["dashboard_title"], restored["css"]) == ("Cycle life", "")
    assert api.get(f"/api/v1/chart/{chart['id']}")["result"]["slice_name"] in git_chart_names
    assert "nothing to import" in run_pulse("sync", env=superset_server.env).stderr


def test_warehouse_is_read_only_and_dml_is_refused(superset_server: SupersetServer) -> None:
    api = superset_server.api()
    database = next(item for item in api.list_all("/api/v1/database/") if item["database_name"] == "Pulse warehouse")
    assert (database["allow_dml"], database["allow_ctas"], database["allow_cvas"]) == (False, False, False)

    def run_sql(sql: str) -> list[dict[str, object]]:
        answer = api.post(
            "/api/v1/sqllab/execute/",
            {
                "database_id": database["id"],
                "sql": sql,
                "runAsync": False,
                "schema": "pulse",
                "client_id": f"t{abs(hash(sql)) % 10**8}",
            },
        )
        return answer["data"]

    assert run_sql("select current_setting('access_mode') as mode") == [{"mode": "read_only"}]
    with pytest.raises(SupersetError, match="DML_NOT_ALLOWED"):
        run_sql("create table pulse.written_by_superset as select 1 as x")


def test_views_can_be_rebuilt_while_superset_runs(superset_server: SupersetServer) -> None:
    api = superset_server.api()

    def retention_per_cell() -> dict[str, tuple[int, float]]:
        rows = chart_data(api, "part_statistics_cycle", ["part_id"], ["cycles_run", "capacity_retention"])["data"]
        return {row["part_id"]: (row["cycles_run"], row["capacity_retention"]) for row in rows}

    before = retention_per_cell()

    result = run_pulse("build", env=superset_server.env)  # needs the write lock on analytics.duckdb

    assert "build OK" in result.stdout
    after = retention_per_cell()
    assert after.keys() == before.keys()
    for part_id, (cycles_run, retention) in after.items():  # a mean's last bit depends on the order DuckDB sums in
        assert (cycles_run, retention) == (before[part_id][0], pytest.approx(before[part_id][1], rel=1e-12)), part_id


def test_dataset_metrics_answer_battery_questions(superset_server: SupersetServer) -> None:
    rows = chart_data(
        superset_server.api(),
        "part_statistics_cycle",
        ["part_id"],
        [
            "discharge_capacity",
            "coulombic_efficiency",
            "energy_efficiency",
            "capacity_retention",
            "lowest_capacity_retention",
            "cycles_to_80_retention",
            "cycles_run",
        ],
    )["data"]
    assert len(rows) == 10  # the demo lab's ten cells
    assert {row["lowest_capacity_retention"] < 0.8 for row in rows} == {True, False}  # some cells reached 80 %
    for row in rows:
        assert 0.9 < row["coulombic_efficiency"] <= 1.0, row
        assert 0.5 < row["energy_efficiency"] < row["coulombic_efficiency"], row
        assert 0 < row["lowest_capacity_retention"] <= row["capacity_retention"] < 1.05, row
        below_80 = row["lowest_capacity_retention"] < 0.8
        assert (row["cycles_to_80_retention"] is not None) == below_80, row
        if below_80:
            assert 1 < row["cycles_to_80_retention"] <= row["cycles_run"], row


def test_sync_without_a_superset_says_what_to_do(superset_server: SupersetServer) -> None:
    url = f"http://localhost:{free_port()}"
    result = run_pulse("sync", "--url", url, env=superset_server.env, check=False)
    assert result.returncode != 0
    assert f"cannot reach Superset at {url}" in result.stderr


def test_sync_with_a_wrong_password_names_the_variable(superset_server: SupersetServer) -> None:
    env = {**superset_server.env, "PULSE_ANALYTICS_SUPERSET_ADMIN_PASSWORD": "not-the-password"}
    result = run_pulse("sync", "--url", superset_server.url, env=env, check=False)
    assert result.returncode != 0
    assert "PULSE_ANALYTICS_SUPERSET_ADMIN_USER / _PASSWORD" in result.stderr


def test_sync_records_no_secret(superset_server: SupersetServer) -> None:
    records = (superset_server.files / "sync-records.json").read_text()
    assert superset_server.admin[1] not in records and superset_server.viewer[1] not in records
    assert superset_server.url in json.loads(records)
