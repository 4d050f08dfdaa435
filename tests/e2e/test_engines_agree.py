"""Every view built by dbt on Trino equals the same view built on DuckDB from the same seeded data.

The session's demo warehouse (20,000 telemetry rows, seed 42) is built on DuckDB, loaded into the session's Trino by
`pulse load-trino` and built there by `pulse build --target trino` (tests/conftest.py). Both engines must then give
the same columns, the same number of rows, the same keys, and for each key the same values: text, timestamps and
integers exactly, doubles within TOLERANCE. A difference is a bug in one engine's SQL, not a reason to widen it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pulse_analytics import config, dbt, warehouse
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.trino_only

# Doubles: the engines sum in different orders (windows, aggregates), so the last bits may differ: 1e-9 relative (or
# 1e-9 absolute near zero) is six orders of magnitude below any figure a chart shows, and far above rounding noise.
TOLERANCE = 1e-9
# Views whose rows are each engine's own by design, not data: source_versions holds Iceberg snapshot ids and a build id
# on Trino (tests/e2e/test_trino_cache.py checks it), and no versions on DuckDB, whose cache reads file versions.
ENGINE_SPECIFIC = {"source_versions"}
VIEWS = sorted(path.stem for path in (REPO_ROOT / "dbt" / "models").rglob("*.sql") if path.stem not in ENGINE_SPECIFIC)
KEYS = {
    "telemetry": ("device_id", "test_id", "cycle_number", "step_number", "record_number"),
    "statistics_step": ("device_id", "test_id", "cycle_number", "step_number"),
    "statistics_cycle": ("device_id", "test_id", "cycle_number"),
    "device_metadata": ("device_id",),
    "recipe_metadata": ("recipe_id",),
    "device_test_recipe": ("device_id", "test_id"),
    "part_metadata": ("part_id",),
    "device_test_part": ("device_id", "test_id"),
    "test_telemetry": ("device_id", "test_id", "cycle_number", "step_number", "record_number"),
    "test_daily_records": ("device_id", "test_id", "record_date"),
    "test_statistics_step": ("device_id", "test_id", "cycle_number", "step_number"),
    "test_statistics_cycle": ("device_id", "test_id", "cycle_number"),
    "part_telemetry": ("part_id", "part_record_number"),
    "part_statistics_step": ("part_id", "part_step_number"),
    "part_statistics_cycle": ("part_id", "part_cycle_number"),
    "int_part_tests": ("device_id", "test_id"),
    "int_part_test_offsets": ("device_id", "test_id"),
    "int_cycle_kinds": ("device_id", "test_id", "cycle_number"),
    "metadata_key_conflicts": ("metadata_table", "device_id", "test_id", "recipe_id", "part_id"),
    "part_end_of_life": ("part_id",),
    "int_cycles": ("device_id", "test_id", "cycle_number"),
    "int_cycle_records": ("device_id", "test_id", "cycle_number", "record_number"),
    "cycle_voltage_curves": ("device_id", "test_id", "cycle_number", "direction", "curve_point"),
    "cycle_incremental_capacity": ("device_id", "test_id", "cycle_number", "direction", "voltage__v"),
    "cycle_temperatures": ("device_id", "test_id", "cycle_number"),
    "step_resistances": ("device_id", "test_id", "step_number"),
}


# Views with no rows on clean data: both engines agree on their columns here (tests/e2e/test_trino_bad_input.py
# fills them).
EMPTY_ON_CLEAN_DATA = {"metadata_key_conflicts"}


def test_every_view_has_a_key_here() -> None:
    assert sorted(KEYS) == VIEWS


def fetch(target: str, view: str, warehouse_dir: Path | None) -> tuple[list[str], list[tuple]]:
    sql = f"select * from {config.get('TARGET_CATALOG')}.{config.get('TARGET_SCHEMA')}.{view}"
    if target == "trino":
        return dbt.query("trino", sql)
    connection = warehouse.connect_analytics(read_only=True, warehouse_dir=warehouse_dir)
    try:
        cursor = connection.execute(sql)
        return [column[0] for column in cursor.description], cursor.fetchall()
    finally:
        connection.close()


def same(left: Any, right: Any) -> bool:
    if isinstance(left, float) or isinstance(right, float):
        if left is None or right is None:
            return left is right
        if math.isnan(left) or math.isnan(right):
            return math.isnan(left) and math.isnan(right)
        return math.isclose(left, right, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[key], right[key]) for key in left)
    if isinstance(left, datetime) and isinstance(right, datetime):
        return left.replace(tzinfo=None) == right.replace(tzinfo=None)
    return left == right


def by_key(columns: list[str], rows: Sequence[tuple], key: tuple[str, ...]) -> dict[tuple, tuple]:
    positions = [columns.index(name) for name in key]
    keyed = {tuple(row[position] for position in positions): row for row in rows}
    assert len(keyed) == len(rows), f"key {key} is not unique"
    return keyed


@pytest.mark.parametrize("view", VIEWS)
def test_trino_and_duckdb_build_the_same_view(
    trino_demo: dict[str, str], demo_warehouse_template: Path, view: str
) -> None:
    duckdb_columns, duckdb_rows = fetch("duckdb", view, demo_warehouse_template)
    trino_columns, trino_rows = fetch("trino", view, None)
    assert trino_columns == duckdb_columns
    assert len(trino_rows) == len(duckdb_rows) > (-1 if view in EMPTY_ON_CLEAN_DATA else 0)
    duckdb_keyed = by_key(duckdb_columns, duckdb_rows, KEYS[view])
    trino_keyed = by_key(trino_columns, trino_rows, KEYS[view])
    assert trino_keyed.keys() == duckdb_keyed.keys()
    differences = []
    for key, duckdb_row in duckdb_keyed.items():
        trino_row = trino_keyed[key]
        for column, left, right in zip(duckdb_columns, duckdb_row, trino_row, strict=True):
            if not same(left, right):
                differences.append(f"{key} {column}: duckdb {left!r}, trino {right!r}")
    assert differences == [], f"{len(differences)} values differ, first: {differences[:10]}"
