"""`pulse export`'s normal form, offline: what Superset adds to an exported asset (ids, defaults, rendered templates,
its own chart numbering) goes, and what an analyst changed stays. The round trip through a real Superset is in
tests/integration/test_export_roundtrip.py; these cases pin down each rule on the real assets."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from pulse_analytics.superset import export, layout, rendering
from pulse_analytics.superset.bundle import Asset, Bundle, parse
from tests.conftest import REPO_ROOT

CHART = "dashboards/charts/test_voltage.yaml"
DASHBOARD = "dashboards/dashboards/cycle_life.yaml"
OVERVIEW = "datasets/datasets/pulse_warehouse/test_overview.yaml"


@pytest.fixture(scope="module")
def git() -> Bundle:
    return parse(REPO_ROOT, [rendering.sync_environment("duckdb", "http://localhost:8088")])


def asset(git: Bundle, name: str) -> Asset:
    return next(item for found in git.assets.values() for item in found if item.path == REPO_ROOT / name)


def as_superset_exports(item: Asset) -> dict[str, Any]:
    """What Superset's export holds for an asset synced from git: rendered, with its ids and defaults added."""
    exported = copy.deepcopy(item.data)
    exported.update(certified_by=None, certification_details=None, tags=[], theme_uuid=None)
    if item.kind == "charts":
        exported["params"].update(datasource="17__table", slice_id=17, annotation_layers=[])
        exported["query_context"] = '{"datasource": {"id": 17, "type": "table"}, "form_data": {}}'
    if item.kind == "dashboards":
        for node in layout.chart_nodes(exported["position"]):
            node["meta"]["chartId"] += 100  # Superset's own ids, in the layout and in the filters' scopes
        for native_filter in exported["metadata"].get("native_filter_configuration", []):
            native_filter["scope"]["excluded"] = [chart_id + 100 for chart_id in native_filter["scope"]["excluded"]]
        exported["metadata"]["map_label_colors"] = {"cell-001": "#1FA8C9"}
    if item.kind == "datasets":
        exported["columns"] = [
            dict(column, is_active=True, groupby=True, filterable=True, expression=None, python_date_format=None)
            for column in reversed(exported["columns"])
        ]
        exported.update(offset=0, catalog=None, params=None, extra=None, normalize_columns=False)
    for key in ("certified_by", "certification_details", "tags", "theme_uuid"):
        if key not in export.TOP_DEFAULTS[item.kind]:
            exported.pop(key)
    return exported


def normalized(git: Bundle, item: Asset, exported: dict[str, Any]) -> dict[str, Any]:
    titles = {chart.uuid: chart.data["slice_name"] for chart in git.assets["charts"]}
    return export.normalized(item.kind, exported, item, titles, git.environments[0].schema)


@pytest.mark.parametrize("name", [CHART, DASHBOARD, OVERVIEW])
def test_an_unchanged_asset_comes_back_as_its_git_file(git: Bundle, name: str) -> None:
    item = asset(git, name)
    assert normalized(git, item, as_superset_exports(item)) == item.raw


def test_a_chart_edit_stays_and_the_ids_go(git: Bundle) -> None:
    item = asset(git, CHART)
    exported = as_superset_exports(item)
    exported["params"]["metrics"] = ["current"]
    result = normalized(git, item, exported)
    assert result["params"]["metrics"] == ["current"]
    assert {key: value for key, value in result.items() if key != "params"} == {
        key: value for key, value in item.raw.items() if key != "params"
    }
    assert "datasource" not in result["params"] and "slice_id" not in result["params"]


def test_filter_scopes_follow_the_renumbered_charts(git: Bundle) -> None:
    item = asset(git, DASHBOARD)
    exported = as_superset_exports(item)
    charts = layout.chart_nodes(exported["position"])
    exported["metadata"]["native_filter_configuration"][0]["scope"]["excluded"] = [charts[2]["meta"]["chartId"]]
    result = normalized(git, item, exported)
    assert result["metadata"]["native_filter_configuration"][0]["scope"]["excluded"] == [3]
    assert "map_label_colors" not in result["metadata"]


def test_a_virtual_dataset_keeps_its_schema_template(git: Bundle) -> None:
    item = asset(git, OVERVIEW)
    exported = as_superset_exports(item)
    assert "{{ schema }}" not in exported["sql"]
    exported["sql"] = exported["sql"].replace("count(*) as cycles", "count(*) as cycle_count")
    result = normalized(git, item, exported)
    assert result["sql"] == item.raw["sql"].replace("count(*) as cycles", "count(*) as cycle_count")
    assert result["schema"] == "{{ schema }}"
    assert [column["column_name"] for column in result["columns"]] == [
        column["column_name"] for column in item.raw["columns"]
    ]  # git's order, not Superset's


def test_a_new_chart_is_written_short_under_a_name_from_its_title(git: Bundle, tmp_path: Path) -> None:
    exported = as_superset_exports(asset(git, CHART))
    exported.update(
        uuid="0d1f6c52-4f55-4d8a-a9a8-6f0d64d1a001",
        slice_name="Voltage, per cell (V)",
        description=None,
        cache_timeout=None,
    )
    result = export.normalized("charts", exported, None, {}, "pulse")
    assert set(result) == {"dataset_uuid", "params", "slice_name", "uuid", "version", "viz_type"}
    assert "annotation_layers" not in result["params"]
    bundle = Bundle(tmp_path, git.environments)
    assert export.new_path(bundle, "charts", result) == tmp_path / "dashboards/charts/voltage_per_cell_v.yaml"


def test_a_chart_added_outside_the_layout_goes_into_a_new_row_of_the_first_tab(git: Bundle) -> None:
    """Superset's export leaves such a chart out of a tabbed layout (it appends it to GRID_ID only); its dashboard page
    shows it in a new row of the first tab, and so does the export."""
    item = asset(git, DASHBOARD)
    exported = as_superset_exports(item)
    meta = {"chartId": 999, "height": 50, "sliceName": "New chart", "uuid": "0f2ee4b5-2d1c-4c1e-9a4e-5d1f5c1e2a77"}
    exported["position"]["CHART-x1"] = {"children": [], "id": "CHART-x1", "meta": meta, "type": "CHART"}
    position = normalized(git, item, exported)["position"]
    first_tab = ["ROOT_ID", "TABS-cycle-life", "TAB-capacity-fade"]
    assert position["TAB-capacity-fade"]["children"][-1] == "ROW-x1"
    assert position["ROW-x1"]["parents"] == first_tab and position["ROW-x1"]["children"] == ["CHART-x1"]
    assert position["CHART-x1"]["parents"] == [*first_tab, "ROW-x1"]
    assert position["CHART-x1"]["meta"]["chartId"] == layout.charts_per_tab(item.data)[0][1] + 1


def test_a_dataset_timeout_folded_in_from_its_database_is_exported_as_unset() -> None:
    databases = {"db-1": {"cache_timeout": -1}}  # Trino's: never cached
    inherited = {"database_uuid": "db-1", "cache_timeout": -1}
    own = {"database_uuid": "db-1", "cache_timeout": 600}
    export.unfold_inherited_cache_timeout(inherited, databases)
    export.unfold_inherited_cache_timeout(own, databases)
    assert inherited["cache_timeout"] is None and own["cache_timeout"] == 600
