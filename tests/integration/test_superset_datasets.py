"""The Superset datasets describe their columns exactly as the dbt docs do, and label them with their units."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pulse_analytics import dbt
from pulse_analytics.superset import assets
from tests.conftest import REPO_ROOT

UNIT_SUFFIXES = {"__v": "(V)", "__a": "(A)", "__w": "(W)", "__ah": "(Ah)", "__wh": "(Wh)", "__s": "(s)", "__c": "(°C)",
                 "__ah_v": "(Ah/V)"}  # fmt: skip


def physical_datasets() -> list[tuple[Path, dict]]:
    datasets = [(path, assets.load(path)) for path in assets.files("datasets")]
    return [(path, dataset) for path, dataset in datasets if not dataset.get("sql")]


@pytest.fixture(scope="module")
def dbt_columns(demo_warehouse_template: Path) -> dict[str, dict[str, str]]:
    """model -> column -> description, from the manifest `pulse build` wrote (the docs blocks resolved)."""
    manifest_file = dbt.build_folder("duckdb", demo_warehouse_template) / "target" / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    return {node["name"]: {name: column["description"].strip() for name, column in node["columns"].items()}
            for node in manifest["nodes"].values() if node["resource_type"] == "model"}  # fmt: skip


def test_every_view_users_need_has_a_dataset(dbt_columns: dict[str, dict[str, str]]) -> None:
    names = {dataset["table_name"] for _, dataset in physical_datasets()}
    marts = {"test_telemetry", "test_statistics_step", "test_statistics_cycle", "part_telemetry",
             "part_statistics_step", "part_statistics_cycle"}  # fmt: skip
    assert marts <= names <= set(dbt_columns)


@pytest.mark.parametrize("path", [path for path, _ in physical_datasets()], ids=lambda path: path.stem)
def test_column_descriptions_are_the_dbt_docs(path: Path, dbt_columns: dict[str, dict[str, str]]) -> None:
    dataset = assets.load(path)
    documented = dbt_columns[dataset["table_name"]]
    differ = []
    for column in dataset["columns"]:
        dbt_text = documented.get(column["column_name"])
        if dbt_text and column.get("description") != dbt_text:
            differ.append(f"{column['column_name']}: {column.get('description')!r} != dbt {dbt_text!r}")
    assert differ == [], f"copy the dbt descriptions into {path.relative_to(REPO_ROOT)}"


@pytest.mark.parametrize("path", [path for path in assets.files("datasets")], ids=lambda path: path.stem)
def test_columns_with_a_unit_say_it_in_their_verbose_name(path: Path) -> None:
    missing = []
    for column in assets.load(path)["columns"]:
        suffix = re.search(r"(__[a-z]+(?:_v)?)$", column["column_name"])
        unit = UNIT_SUFFIXES.get(suffix.group(1)) if suffix else None
        if unit and unit not in column.get("verbose_name", ""):
            missing.append(f"{column['column_name']}: {column.get('verbose_name')!r} lacks {unit}")
    assert missing == []
