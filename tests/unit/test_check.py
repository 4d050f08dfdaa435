"""`pulse check` catches each kind of problem, on broken copies of the real assets, and passes the real ones.

Every test copies the repository's datasets/ and dashboards/ into a folder of its own, breaks one thing the way a
person would (rename, delete, copy, mistype), and checks that the report names the file and what it refers to.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pulse_analytics.errors import PulseError
from pulse_analytics.superset import assets, check, layout, model_columns, rendering, sync
from tests.conftest import REPO_ROOT, project_copy, run_pulse

DATASET = "datasets/datasets/pulse_warehouse/test_telemetry.yaml"
CYCLE_DATASET = "datasets/datasets/pulse_warehouse/part_statistics_cycle.yaml"
OVERVIEW = "datasets/datasets/pulse_warehouse/test_overview.yaml"
DATABASE = "datasets/databases/pulse_warehouse.yaml"
CHART = "dashboards/charts/test_voltage.yaml"  # on dataset test_telemetry, dashboard test_explorer
DASHBOARD = "dashboards/dashboards/test_explorer.yaml"
CYCLE_DASHBOARD = "dashboards/dashboards/cycle_life.yaml"


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A copy of the project with the real assets, to break."""
    return project_copy(tmp_path / "project")


def edit(root: Path, name: str, change: Callable[[dict[str, Any]], Any]) -> None:
    """Change one asset file as a person editing the YAML would, keeping it in normal form."""
    path = root / name
    asset = assets.load(path)
    change(asset)
    path.write_text(assets.normal_yaml(asset), encoding="utf-8")


def user_env() -> dict[str, str]:
    return dict(os.environ)


def problems_of(root: Path, **options: Any) -> list[str]:
    return [str(problem) for problem in check.run(root, **options)]


def only_problem(root: Path, file: str, *fragments: str, **options: Any) -> str:
    """The run reports exactly one problem, in that file, containing every fragment."""
    found = problems_of(root, **options)
    assert len(found) == 1, "\n".join(found)
    assert found[0].startswith(f"{file}: "), found[0]
    for fragment in fragments:
        assert fragment in found[0], found[0]
    return found[0]


def column(dataset: dict[str, Any], name: str) -> dict[str, Any]:
    return next(entry for entry in dataset["columns"] if entry["column_name"] == name)


def test_the_real_assets_pass() -> None:
    assert problems_of(REPO_ROOT) == []


def test_pulse_check_command_passes_the_real_assets() -> None:
    result = run_pulse("check", env=user_env())
    assert "check: no problems" in result.stdout


def test_every_problem_is_reported_in_one_run_and_the_command_fails(bundle: Path) -> None:
    edit(bundle, CHART, lambda chart: chart["params"].update(metrics=["mean_voltage"]))
    edit(bundle, DATASET, lambda dataset: column(dataset, "voltage__v").update(column_name="voltage"))
    (bundle / "dashboards/charts/ops_tests.yaml").write_text("slice_name: [unclosed\n", encoding="utf-8")
    result = run_pulse("--project-dir", str(bundle), "check", env=user_env(), check=False)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"{CHART}: params.metrics[0] uses metric 'mean_voltage'") for line in lines)
    assert any(line.startswith(f"{DATASET}: column 'voltage' is not in dbt model test_telemetry") for line in lines)
    assert any(line.startswith("dashboards/charts/ops_tests.yaml: is not valid YAML: line 2") for line in lines)
    assert lines[-1].startswith("check: ")


def test_invalid_yaml_names_the_line(bundle: Path) -> None:
    path = bundle / CHART
    text = path.read_text()
    path.write_text(text + "params: {viz_type: line\n", encoding="utf-8")  # the flow mapping never closes
    end = len(text.splitlines()) + 2  # the line after the added one
    only_problem(bundle, CHART, f"is not valid YAML: line {end}, column 1: did not find expected ',' or '}}'")


def test_a_missing_required_key_is_named(bundle: Path) -> None:
    edit(bundle, CHART, lambda chart: chart.pop("slice_name"))
    found = problems_of(bundle)
    assert f"{CHART}: lacks slice_name, which every chart needs" in found
    assert any(line.startswith(f"{DASHBOARD}: layout node CHART-test_voltage names chart") for line in found)


def test_a_misspelt_key_is_named(bundle: Path) -> None:
    edit(bundle, CHART, lambda chart: chart.update(slice_nam="Voltage"))
    only_problem(bundle, CHART, "has key(s) slice_nam that Superset's chart import refuses")


def test_a_copied_uuid_is_caught(bundle: Path) -> None:
    shutil.copy(bundle / CHART, bundle / "dashboards/charts/test_voltage_copy.yaml")
    found = problems_of(bundle)
    uuid = assets.load(bundle / CHART)["uuid"]
    duplicate = f"uuid {uuid} is also the uuid of {CHART}; each asset needs its own (copied file?)"
    assert found == [f"dashboards/charts/test_voltage_copy.yaml: {duplicate}"]


def test_a_uuid_that_is_not_one_is_caught(bundle: Path) -> None:
    edit(bundle, DASHBOARD, lambda dashboard: dashboard.update(uuid="test-explorer"))
    only_problem(bundle, DASHBOARD, "uuid 'test-explorer' is not a UUID")


def test_a_chart_whose_dataset_is_gone_is_caught(bundle: Path) -> None:
    (bundle / DATASET).unlink()
    found = problems_of(bundle)
    charts = [line for line in found if "is not the uuid of any dataset" in line]
    assert (
        f"{CHART}: dataset_uuid 6229d5ef-692a-5f46-92a2-99fa4e04bc76 is not the uuid of any dataset in "
        "datasets/datasets (deleted or renamed dataset?)" in charts
    )
    assert len(charts) == len(found)  # nothing else is reported: each chart on the dataset, once


def test_a_dataset_whose_database_is_gone_is_caught(bundle: Path) -> None:
    edit(bundle, DATASET, lambda dataset: dataset.update(database_uuid="00000000-0000-4000-8000-000000000000"))
    only_problem(
        bundle,
        DATASET,
        "database_uuid 00000000-0000-4000-8000-000000000000 is not the uuid of any database in datasets/databases",
    )


def test_a_dashboard_chart_that_is_gone_is_caught(bundle: Path) -> None:
    (bundle / CHART).unlink()
    only_problem(
        bundle,
        DASHBOARD,
        "layout node CHART-test_voltage shows chart 4b7fd554-77d9-5dc8-bdf1-5b381c56936e",
        "which is not the uuid of any chart in dashboards/charts",
    )


def test_a_chart_on_no_dashboard_is_caught(bundle: Path) -> None:
    def take_off(dashboard: dict[str, Any]) -> None:
        position = dashboard["position"]
        node = position.pop("CHART-test_voltage")
        position[node["parents"][-1]]["children"].remove("CHART-test_voltage")
        dashboard.update(layout.renumbered(dashboard))  # scopes drop it and chartIds close up, as `--normalize` does

    edit(bundle, DASHBOARD, take_off)
    only_problem(bundle, CHART, "chart 'Voltage vs time' is on no dashboard")


def test_a_layout_node_cut_off_from_the_tree_is_caught(bundle: Path) -> None:
    def cut_off(dashboard: dict[str, Any]) -> None:
        position = dashboard["position"]
        position[position["CHART-test_voltage"]["parents"][-1]]["children"].remove("CHART-test_voltage")

    edit(bundle, DASHBOARD, cut_off)
    only_problem(bundle, DASHBOARD, "layout node CHART-test_voltage (CHART) is not under ROOT_ID")


def test_a_layout_child_that_is_not_a_node_is_caught(bundle: Path) -> None:
    tab = "TAB-time-series-and-cycles"
    edit(bundle, DASHBOARD, lambda dashboard: dashboard["position"][tab]["children"].append("ROW-gone"))
    only_problem(bundle, DASHBOARD, f"layout node {tab} has child ROW-gone, which is not a node of the layout")


def test_wrong_parents_in_the_layout_are_caught(bundle: Path) -> None:
    edit(bundle, DASHBOARD, lambda dashboard: dashboard["position"]["CHART-test_voltage"].update(parents=["ROOT_ID"]))
    only_problem(bundle, DASHBOARD, "layout node CHART-test_voltage lists parents ['ROOT_ID']")


def test_two_tabs_with_one_title_are_caught(bundle: Path) -> None:
    def same_title(dashboard: dict[str, Any]) -> None:
        dashboard["position"]["TAB-curves-and-resistance"]["meta"]["text"] = "Time series and cycles"

    edit(bundle, DASHBOARD, same_title)
    only_problem(bundle, DASHBOARD, "tabs TABS-test-explorer has two tabs titled 'Time series and cycles'")


def test_a_row_put_straight_into_the_tabs_is_caught(bundle: Path) -> None:
    def row_in_tabs(dashboard: dict[str, Any]) -> None:
        position = dashboard["position"]
        position["TAB-curves-and-resistance"]["children"].remove("ROW-8")
        position["TABS-test-explorer"]["children"].append("ROW-8")
        position["ROW-8"]["parents"] = ["ROOT_ID", "TABS-test-explorer"]
        for chart in position["ROW-8"]["children"]:
            position[chart]["parents"] = ["ROOT_ID", "TABS-test-explorer", "ROW-8"]

    edit(bundle, DASHBOARD, row_in_tabs)
    only_problem(bundle, DASHBOARD, "layout node ROW-8 (ROW) is a child of TABS-test-explorer (TABS)")


def test_a_filter_scope_rooted_in_a_tab_that_is_gone_is_caught(bundle: Path) -> None:
    def scope_in_gone_tab(dashboard: dict[str, Any]) -> None:
        dashboard["metadata"]["native_filter_configuration"][3]["scope"]["rootPath"] = ["TAB-curves"]

    edit(bundle, DASHBOARD, scope_in_gone_tab)
    only_problem(
        bundle, DASHBOARD, "native_filter_configuration[3].scope.rootPath names 'TAB-curves', which is no ROOT or TAB"
    )


def test_the_spare_grid_of_a_tabbed_layout_must_stay_empty(bundle: Path) -> None:
    """Superset keeps an empty GRID_ID beside top-level tabs; anything put in it would not be shown."""
    edit(bundle, DASHBOARD, lambda dashboard: dashboard["position"]["GRID_ID"]["children"].append("ROW-8"))
    only_problem(bundle, DASHBOARD, "layout node GRID_ID (GRID) is not under ROOT_ID")


def test_charts_per_tab_are_the_charts_each_tab_shows() -> None:
    """The first entry is what the first view of a dashboard renders; an untabbed dashboard is one untitled tab."""
    explorer = assets.load(REPO_ROOT / DASHBOARD)
    assert layout.charts_per_tab(explorer) == [("Time series and cycles", 6), ("Curves and resistance", 4)]
    assert layout.charts_per_tab(assets.load(REPO_ROOT / "dashboards/dashboards/lab_operations.yaml")) == [(None, 10)]
    position = explorer["position"]  # a chart above the tabs shows on every tab; nested tabs show their first tab
    position["ROOT_ID"]["children"] = ["GRID_ID"]
    position["GRID_ID"]["children"] = ["ROW-1", "TABS-test-explorer"]
    position["TAB-time-series-and-cycles"]["children"].remove("ROW-1")
    position["TAB-curves-and-resistance"]["children"] = ["TABS-inner"]
    position["TABS-inner"] = {"id": "TABS-inner", "type": "TABS", "children": ["TAB-a", "TAB-b"]}
    position["TAB-a"] = {"id": "TAB-a", "type": "TAB", "children": ["ROW-7"], "meta": {"text": "a"}}
    position["TAB-b"] = {"id": "TAB-b", "type": "TAB", "children": ["ROW-8"], "meta": {"text": "b"}}
    assert layout.charts_per_tab(explorer) == [("Time series and cycles", 6), ("Curves and resistance", 3)]


def test_a_renamed_chart_still_named_the_old_way_in_the_layout_is_caught(bundle: Path) -> None:
    edit(bundle, CHART, lambda chart: chart.update(slice_name="Cell voltage"))
    only_problem(
        bundle,
        DASHBOARD,
        f"layout node CHART-test_voltage names chart {CHART} 'Voltage vs time', but its title is 'Cell voltage'",
    )


def test_a_filter_scope_naming_a_chart_not_in_the_layout_is_caught(bundle: Path) -> None:
    edit(
        bundle,
        DASHBOARD,
        lambda dashboard: dashboard["metadata"]["native_filter_configuration"][0]["scope"].update(excluded=[99]),
    )
    only_problem(bundle, DASHBOARD, "metadata.native_filter_configuration[0].scope.excluded refers to chart id 99")


def test_a_column_renamed_in_the_dbt_model_is_caught(bundle: Path) -> None:
    marts = bundle / "dbt/models/marts/_marts.yml"
    marts.write_text(marts.read_text().replace("- name: voltage__v\n", "- name: cell_voltage__v\n", 1))
    only_problem(bundle, DATASET, "column 'voltage__v' is not in dbt model test_telemetry")


def test_a_dataset_column_missing_from_its_model_is_caught(bundle: Path) -> None:
    edit(bundle, DATASET, lambda dataset: column(dataset, "voltage__v").update(column_name="voltage"))
    problem = only_problem(bundle, DATASET, "column 'voltage' is not in dbt model test_telemetry")
    assert problem.endswith("did you mean 'voltage__v'?")


def test_a_dataset_on_a_model_that_does_not_exist_is_caught(bundle: Path) -> None:
    edit(bundle, DATASET, lambda dataset: dataset.update(table_name="test_telemetryy"))
    only_problem(bundle, DATASET, "table_name 'test_telemetryy' is not a dbt model", "did you mean 'test_telemetry'")


def test_a_metadata_column_the_metadata_tables_lack_is_caught(bundle: Path) -> None:
    edit(bundle, CYCLE_DATASET, lambda dataset: dataset["columns"].append({"column_name": "pm__firmware"}))
    only_problem(bundle, CYCLE_DATASET, "column 'pm__firmware' is not in dbt model part_statistics_cycle")


def test_a_metric_on_a_column_the_table_lacks_is_caught(bundle: Path) -> None:
    edit(bundle, DATASET, lambda dataset: dataset["metrics"][0].update(expression="AVG(voltage)"))
    only_problem(bundle, DATASET, "metric 'voltage' refers to column 'voltage', which is not in dataset test_telemetry")


def test_a_metric_that_does_not_parse_is_caught(bundle: Path) -> None:
    edit(bundle, DATASET, lambda dataset: dataset["metrics"][0].update(expression="AVG(voltage__v"))
    only_problem(bundle, DATASET, "metric 'voltage' does not parse as duckdb SQL", "AVG(voltage__v")


def test_a_chart_metric_the_dataset_lacks_is_caught(bundle: Path) -> None:
    edit(bundle, CHART, lambda chart: chart["params"].update(metrics=["mean_voltage"]))
    only_problem(
        bundle,
        CHART,
        f"params.metrics[0] uses metric 'mean_voltage', which is not a metric of dataset test_telemetry ({DATASET})",
    )


def test_a_chart_column_the_dataset_lacks_is_caught(bundle: Path) -> None:
    edit(bundle, CHART, lambda chart: chart["params"].update(groupby=["cell"]))
    only_problem(bundle, CHART, "params.groupby[0] uses column 'cell', which is not a column of dataset test_telemetry")


def test_a_chart_filter_on_a_column_the_dataset_lacks_is_caught(bundle: Path) -> None:
    chart = "dashboards/charts/ops_missing_metadata.yaml"
    edit(bundle, chart, lambda asset: asset["params"]["adhoc_filters"][0].update(sqlExpression="missing <> ''"))
    only_problem(
        bundle,
        chart,
        "params.adhoc_filters[0] refers to column 'missing', which is not in dataset test_overview",
        "did you mean 'missing_metadata'",
    )


def test_a_chart_sort_column_the_dataset_lacks_is_caught(bundle: Path) -> None:
    chart = "dashboards/charts/ops_missing_metadata.yaml"
    edit(bundle, chart, lambda asset: asset["params"].update(order_by_cols=['["device", true]']))
    only_problem(bundle, chart, "params.order_by_cols[0] uses column 'device'", "did you mean 'device_id'")


def test_a_native_filter_on_a_column_the_dataset_lacks_is_caught(bundle: Path) -> None:
    edit(
        bundle,
        CYCLE_DASHBOARD,
        lambda dashboard: dashboard["metadata"]["native_filter_configuration"][2]["targets"][0]["column"].update(
            name="pm__cell_chemistry"
        ),
    )
    only_problem(
        bundle,
        CYCLE_DASHBOARD,
        "native filter 'Chemistry' uses column 'pm__cell_chemistry', which is not a "
        f"column of dataset part_statistics_cycle ({CYCLE_DATASET})",
    )


def test_a_native_filter_on_a_dataset_that_is_gone_is_caught(bundle: Path) -> None:
    edit(
        bundle,
        CYCLE_DASHBOARD,
        lambda dashboard: dashboard["metadata"]["native_filter_configuration"][0]["targets"][0].update(
            datasetUuid="00000000-0000-4000-8000-000000000000"
        ),
    )
    only_problem(
        bundle,
        CYCLE_DASHBOARD,
        "native filter 'Cell (part)' targets dataset "
        "00000000-0000-4000-8000-000000000000, which is not the uuid of any dataset",
    )


def test_upper_case_column_names_are_caught(bundle: Path) -> None:
    edit(bundle, DATASET, lambda dataset: column(dataset, "voltage__v").update(column_name="voltage__V"))
    edit(bundle, CHART, lambda chart: chart["params"].update(x_axis="Timestamp"))
    found = problems_of(bundle)
    assert (
        f"{DATASET}: column 'voltage__V' is not lower case; the views name every column in lower case on DuckDB "
        "and Trino ('voltage__v')" in found
    )
    assert f"{CHART}: params.x_axis uses column 'Timestamp', which is not lower case ('timestamp')" in found


def test_a_virtual_dataset_reading_a_column_its_table_lacks_is_caught(bundle: Path) -> None:
    edit(
        bundle,
        OVERVIEW,
        lambda dataset: dataset.update(sql=dataset["sql"].replace("sum(num_records)", "sum(record_count)")),
    )
    only_problem(bundle, OVERVIEW, "sql refers to what its tables do not have", "record_count")


def test_a_virtual_dataset_reading_a_table_that_is_not_a_model_is_caught(bundle: Path) -> None:
    edit(
        bundle,
        OVERVIEW,
        lambda dataset: dataset.update(
            sql=dataset["sql"].replace("{{ schema }}.device_metadata", "{{ schema }}.devices")
        ),
    )
    only_problem(bundle, OVERVIEW, "sql reads table devices, which is not a dbt model")


def test_a_virtual_dataset_column_its_sql_does_not_return_is_caught(bundle: Path) -> None:
    edit(bundle, OVERVIEW, lambda dataset: column(dataset, "cycles").update(column_name="cycle_count"))
    only_problem(bundle, OVERVIEW, "column 'cycle_count' is not in the result of its sql")


def test_a_template_variable_that_is_not_set_is_caught(bundle: Path) -> None:
    path = bundle / DATABASE
    path.write_text(path.read_text().replace("PULSE_ANALYTICS_TARGET_CATALOG", "PULSE_ANALYTICS_CATALOG"))
    found = problems_of(bundle)
    assert len(found) == 2, found  # both environments use the variable
    assert all(
        "template uses a variable that is not set" in line and "PULSE_ANALYTICS_CATALOG" in line for line in found
    )
    assert any("docker compose Trino environment" in line for line in found)


def test_a_variable_unset_only_in_docker_compose_is_caught(bundle: Path) -> None:
    path = bundle / DATABASE
    text = path.read_text().replace("env['PULSE_ANALYTICS_TRINO_HOST']", "env['PULSE_ANALYTICS_TRINO_HOSTNAME']")
    path.write_text(text)
    only_problem(
        bundle, DATABASE, "is not set in the docker compose Trino environment", "PULSE_ANALYTICS_TRINO_HOSTNAME"
    )


def test_an_unset_variable_in_a_dataset_template_is_caught(bundle: Path) -> None:
    edit(bundle, DATASET, lambda dataset: dataset.update(schema="{{ target_schema }}"))
    found = problems_of(bundle)
    assert found and all(line.startswith(f"{DATASET}: template uses a variable that is not set") for line in found)
    assert "'target_schema' is undefined" in found[0]


def test_a_database_uri_for_the_wrong_engine_is_caught(bundle: Path) -> None:
    path = bundle / DATABASE
    path.write_text(path.read_text().replace("{% if trino %}trino://", "{% if trino %}duckdb://", 1))
    only_problem(bundle, DATABASE, "sqlalchemy_uri renders to a duckdb URL for docker compose Trino, which needs trino")


def test_a_committed_password_is_caught(bundle: Path) -> None:
    path = bundle / DATABASE
    path.write_text(
        path.read_text().replace(
            "password: \"{% if trino %}{{ env['PULSE_ANALYTICS_TRINO_PASSWORD'] }}{% endif %}\"", "password: hunter2"
        )
    )
    only_problem(bundle, DATABASE, "password holds a literal secret; commit none: take it from the environment")


def test_a_password_in_the_database_uri_is_caught(bundle: Path) -> None:
    path = bundle / DATABASE
    path.write_text(
        path.read_text().replace("{% if env['PULSE_ANALYTICS_TRINO_PASSWORD'] %}:XXXXXXXXXX{% endif %}@", ":hunter2@")
    )
    only_problem(bundle, DATABASE, "sqlalchemy_uri holds a literal password (docker compose Trino)")


def test_a_token_in_any_asset_is_caught(bundle: Path) -> None:
    edit(bundle, CHART, lambda chart: chart["params"].update(mapbox_api_key="pk.eyJ1IjoiYSJ9"))
    only_problem(bundle, CHART, "params.mapbox_api_key holds a literal secret")


def test_a_file_out_of_normal_form_is_caught_and_normalize_fixes_it(bundle: Path) -> None:
    path = bundle / CHART
    reordered = dict(reversed(assets.load(path).items()))  # the same content, keys in another order
    path.write_text(yaml.safe_dump(reordered, sort_keys=False), encoding="utf-8")
    only_problem(bundle, CHART, "is not in normal form", "pulse check --normalize")
    result = run_pulse("--project-dir", str(bundle), "check", "--normalize", env=user_env())
    assert f"normalized {CHART}" in result.stderr
    assert path.read_text() == (REPO_ROOT / CHART).read_text()


def test_chart_ids_out_of_layout_order_are_caught_and_normalize_renumbers_them(bundle: Path) -> None:
    """The same rule as `pulse export`: chartIds 1, 2, ... in layout order, filter scopes mapped with them."""
    swapped = {1: 2, 2: 1}

    def swap(dashboard: dict[str, Any]) -> None:
        for node in layout.chart_nodes(dashboard["position"]):
            node["meta"]["chartId"] = swapped.get(node["meta"]["chartId"], node["meta"]["chartId"])
        dashboard["metadata"] = layout.map_chart_ids(dashboard["metadata"], lambda old, _where: swapped.get(old, old))

    edit(bundle, CYCLE_DASHBOARD, swap)
    only_problem(bundle, CYCLE_DASHBOARD, "is not in normal form", "chartIds 1, 2, ... in layout order")
    result = run_pulse("--project-dir", str(bundle), "check", "--normalize", env=user_env())
    assert f"normalized {CYCLE_DASHBOARD}" in result.stderr
    assert (bundle / CYCLE_DASHBOARD).read_text() == (REPO_ROOT / CYCLE_DASHBOARD).read_text()


def test_sync_refuses_a_broken_bundle_before_reaching_superset(
    bundle: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(bundle, CHART, lambda chart: chart["params"].update(metrics=["mean_voltage"]))
    monkeypatch.setenv("PULSE_ANALYTICS_PROJECT_DIR", str(bundle))
    with pytest.raises(PulseError) as refused:
        sync.sync("http://127.0.0.1:9", target="duckdb")  # nothing listens there: only the check can answer
    assert "nothing was synced" in str(refused.value)
    assert f"{CHART}: params.metrics[0] uses metric 'mean_voltage'" in capsys.readouterr().err


def test_renumbering_chart_ids_keeps_filter_scopes_pointing_at_the_same_charts() -> None:
    dashboard = assets.load(REPO_ROOT / CYCLE_DASHBOARD)
    by_uuid = {layout.chart_uuid(node): node["meta"]["chartId"] for node in layout.chart_nodes(dashboard["position"])}
    shifted = {uuid: number + 40 for uuid, number in by_uuid.items()}  # as another Superset would number them
    excluded_uuid = next(iter(by_uuid))
    for node in layout.chart_nodes(dashboard["position"]):
        node["meta"]["chartId"] = shifted[layout.chart_uuid(node)]
    dashboard["metadata"]["native_filter_configuration"][0]["scope"]["excluded"] = [shifted[excluded_uuid], 7]
    dashboard["metadata"]["chart_configuration"] = {str(shifted[excluded_uuid]): {"id": shifted[excluded_uuid]}}
    fixed = layout.renumbered(dashboard)
    numbers = [node["meta"]["chartId"] for node in layout.chart_nodes(fixed["position"])]
    assert numbers == list(range(1, len(by_uuid) + 1))
    assert fixed["metadata"]["native_filter_configuration"][0]["scope"]["excluded"] == [by_uuid[excluded_uuid]]
    assert fixed["metadata"]["chart_configuration"] == {str(by_uuid[excluded_uuid]): {"id": by_uuid[excluded_uuid]}}


def test_declared_columns_follow_the_metadata_prefix_declarations() -> None:
    columns = model_columns.declared_columns(REPO_ROOT / "dbt")
    assert "dm__manufacturer" in columns["test_telemetry"] and "pm__chemistry" not in columns["test_telemetry"]
    assert {"pm__chemistry", "dm__location", "rm__recipe_name"} <= set(columns["part_statistics_cycle"])
    assert columns["device_metadata"][:2] == ["device_id", "manufacturer"]
    assert not any(name.startswith(("dm__", "rm__", "pm__")) for name in columns["int_part_tests"])


def test_a_metadata_prefix_declared_for_a_table_that_is_not_one_is_named(tmp_path: Path) -> None:
    dbt_dir = tmp_path / "dbt"
    shutil.copytree(REPO_ROOT / "dbt", dbt_dir, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    marts = dbt_dir / "models/marts/_marts.yml"
    text = marts.read_text()
    assert "metadata_prefixes: {pm__: part_metadata}" in text
    marts.write_text(text.replace("{pm__: part_metadata}", "{pm__: part_metadta}"))
    with pytest.raises(
        PulseError, match="dbt model part_end_of_life declares metadata_prefixes .*part_metadta is not a source view"
    ):
        model_columns.declared_columns(dbt_dir)


def test_the_docker_compose_environment_is_the_sync_jobs() -> None:
    environment = rendering.docker_compose(REPO_ROOT / "docker-compose.yml")
    assert environment.target == "trino"
    assert environment.env["PULSE_ANALYTICS_TRINO_HOST"] == "trino"
    assert environment.env["PULSE_ANALYTICS_TRINO_USER"] == "superset"
    assert environment.instance == "http://superset:8088"  # the `--url` of the job's `pulse sync`


def shape_cases() -> list[tuple[str, str, list[Any], type]]:
    """(file, dotted path, concrete path, expected type) for every shape the checks rely on that a real asset has."""
    cases = []
    for kind, shapes in check.SHAPES.items():
        files = sorted(assets.folder(kind, REPO_ROOT).rglob("*.yaml"))
        for dotted, expected in shapes:
            for path in files:
                concrete = first_concrete(rendering.parse_yaml(path.read_text()), dotted.split("."))
                if concrete is not None:
                    cases.append((path.relative_to(REPO_ROOT).as_posix(), dotted, concrete, expected))
                    break
    return cases


def first_concrete(value: Any, path: list[str]) -> list[Any] | None:
    if not path:
        return []
    keys: list[Any] = []
    if isinstance(value, dict):
        keys = [key for key in value if key not in layout.NON_NODE_KEYS] if path[0] == "*" else [path[0]]
    elif isinstance(value, list) and path[0] == "*":
        keys = list(range(len(value)))
    for key in keys:
        if isinstance(value, dict) and (key not in value or value[key] is None):
            continue
        rest = first_concrete(value[key], path[1:])
        if rest is not None:
            return [key, *rest]
    return None


@pytest.mark.parametrize(
    ("file", "dotted", "concrete", "expected"), shape_cases(), ids=lambda value: value if isinstance(value, str) else ""
)
def test_a_value_of_the_wrong_type_is_reported_not_a_crash(
    bundle: Path, file: str, dotted: str, concrete: list[Any], expected: type
) -> None:
    wrong = 7 if expected is not int else "seven"
    if file.startswith("datasets/databases/"):  # a template with comments that matter: edit its text
        path = bundle / file
        path.write_text(replace_top_level_key(path.read_text(), concrete[0], yaml.safe_dump(wrong).split("\n")[0]))
    else:
        edit(bundle, file, lambda asset: set_at(asset, concrete, wrong))
    where = ".".join(str(key) for key in concrete)
    found = problems_of(bundle)
    assert f"{file}: {where} is {type(wrong).__name__} {wrong!r}, not " in "\n".join(found), (dotted, found)


def replace_top_level_key(text: str, key: str, value: str) -> str:
    """The YAML text with one top-level key (and its indented lines) replaced by `key: value`."""
    lines, kept, skipping = text.splitlines(), [], False
    for line in lines:
        if line.startswith(f"{key}:"):
            kept.append(f"{key}: {value}")
            skipping = True
        elif skipping and line.startswith((" ", "-")):
            continue
        else:
            kept.append(line)
            skipping = False
    return "\n".join(kept) + "\n"


def set_at(data: Any, path: list[Any], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value
