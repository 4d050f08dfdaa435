"""The offline check's column lists are the built views' columns, and `pulse check --warehouse` reads the real ones."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pulse_analytics.superset import assets, check, model_columns
from tests.conftest import REPO_ROOT, project_copy, pulse_env, run_pulse

CYCLE_DATASET = "datasets/datasets/pulse_warehouse/part_statistics_cycle.yaml"


def test_declared_columns_are_the_built_views_columns(demo_warehouse_template: Path) -> None:
    declared = model_columns.declared_columns(REPO_ROOT / "dbt")
    built = model_columns.built_columns(demo_warehouse_template)
    assert set(declared) == set(built)
    for model, columns in built.items():
        assert sorted(declared[model]) == sorted(columns), model


def test_pulse_check_against_the_built_warehouse_passes(demo_warehouse_template: Path) -> None:
    result = run_pulse("check", "--warehouse", env=pulse_env(demo_warehouse_template))
    assert "check: no problems" in result.stdout


def test_pulse_check_warehouse_without_a_built_warehouse_says_what_to_do(tmp_path: Path) -> None:
    result = run_pulse("check", "--warehouse", env=pulse_env(tmp_path / "empty"), check=False)
    assert result.returncode == 1
    assert "no built warehouse in" in result.stderr and "run `pulse build` first" in result.stderr


def test_a_lab_metadata_column_passes_against_its_built_warehouse_only(warehouse_copy: Path, tmp_path: Path) -> None:
    connection = duckdb.connect(str(warehouse_copy / "metadata.duckdb"))
    connection.execute("alter table pulse.part_metadata add column supplier_lot varchar")
    connection.close()
    run_pulse("build", "--select", "part_metadata+", env=pulse_env(warehouse_copy))
    root = project_copy(tmp_path / "project")
    dataset = assets.load(root / CYCLE_DATASET)
    dataset["columns"].append({"column_name": "pm__supplier_lot", "type": "VARCHAR"})
    (root / CYCLE_DATASET).write_text(assets.normal_yaml(dataset))
    assert check.run(root, warehouse_dir=warehouse_copy) == []
    offline = [str(problem) for problem in check.run(root)]
    assert len(offline) == 1
    assert offline[0].startswith(f"{CYCLE_DATASET}: column 'pm__supplier_lot' is not in dbt model part_statistics")
