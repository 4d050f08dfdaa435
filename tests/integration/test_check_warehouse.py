"""The offline check's column lists are the built views' columns (the metadata columns each model's YAML declares
included), and `pulse check --warehouse` reads the real ones."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pulse_analytics.superset import assets, check, model_columns
from tests.conftest import REPO_ROOT, project_copy, pulse_env, run_pulse

CYCLE_DATASET = "datasets/datasets/pulse_warehouse/part_statistics_cycle.yaml"
METADATA_PREFIXES = ("dm__", "rm__", "pm__")


def prefix_mismatches(declared: dict[str, dict[str, str]], built: dict[str, list[str]]) -> list[str]:
    """Where a built view's metadata columns are not what its model's YAML declares (config: meta: metadata_prefixes):
    a prefix it carries undeclared, or declares and lacks, or columns under a prefix other than the metadata view's."""
    prefixes = set(METADATA_PREFIXES) | {prefix for found in declared.values() for prefix in found}
    mismatches = []
    for view, columns in sorted(built.items()):
        carried = sorted({prefix for prefix in prefixes for column in columns if column.startswith(prefix)})
        said = declared.get(view, {})
        if carried != sorted(said):
            mismatches.append(
                f"{view} has {carried or 'no'} metadata columns; its YAML declares {sorted(said) or 'none'}"
            )
            continue
        for prefix, source in sorted(said.items()):
            have = sorted(column for column in columns if column.startswith(prefix))
            want = sorted(prefix + column for column in built.get(source, []))
            if have != want:
                mismatches.append(f"{view} has {prefix} columns {have}, not those of {source}: {want}")
    return mismatches


def test_declared_columns_are_the_built_views_columns(demo_warehouse_template: Path) -> None:
    declared = model_columns.declared_columns(REPO_ROOT / "dbt")
    built = model_columns.built_columns(demo_warehouse_template)
    assert set(declared) == set(built)
    for model, columns in built.items():
        assert sorted(declared[model]) == sorted(columns), model


def test_every_model_declares_the_metadata_columns_its_view_has(demo_warehouse_template: Path) -> None:
    built = model_columns.built_columns(demo_warehouse_template)
    declared = model_columns.metadata_prefixes(REPO_ROOT / "dbt")
    assert {"test_telemetry", "part_statistics_cycle", "part_end_of_life"} <= declared.keys()
    assert prefix_mismatches(declared, built) == []


def test_a_model_that_forgets_its_declaration_fails(demo_warehouse_template: Path) -> None:
    built = model_columns.built_columns(demo_warehouse_template)
    declared = model_columns.metadata_prefixes(REPO_ROOT / "dbt")
    forgotten = {model: found for model, found in declared.items() if model != "part_telemetry"}
    assert prefix_mismatches(forgotten, built) == [
        "part_telemetry has ['dm__', 'pm__', 'rm__'] metadata columns; its YAML declares none"
    ]
    wrong = {**declared, "part_end_of_life": {"pm__": "device_metadata"}}
    [mismatch] = prefix_mismatches(wrong, built)
    assert mismatch.startswith("part_end_of_life has pm__ columns ['pm__"), mismatch
    assert "not those of device_metadata" in mismatch, mismatch


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
