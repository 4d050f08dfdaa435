"""part_telemetry's part numbers when a part's own numbers are not consecutive.

part_telemetry adds per-test offsets where every test of a part has consecutive cycle, step and record numbers (the
demo data always does) and ranks the records otherwise (int_part_test_offsets). Here the demo data is changed so that
each way of not being consecutive occurs, and the numbers must still be the dense ranks the quality suite computes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pulse_analytics import config, warehouse
from tests.conftest import Warehouse
from tests.integration.test_views_quality import expected_part_numbers

PART = "cell-009"  # two tests: T0009 on maccor-01-ch02, then T0010 on arbin-02-ch01
FIRST_TEST = "device_id = 'maccor-01-ch02' and test_id = 'T0009'"
SECOND_TEST = "device_id = 'arbin-02-ch01' and test_id = 'T0010'"
CHANGES = {  # name: (UPDATE/DELETE on the telemetry table, whether the part's numbers stay consecutive)
    "record gap inside a step": (
        f"delete from {{table}} where {FIRST_TEST} and record_number in (select "
        f"min(record_number) + 2 from {{table}} where {FIRST_TEST} and step_number = 3)",
        False,
    ),
    "missing cycle": (f"delete from {{table}} where {FIRST_TEST} and cycle_number = 2", False),
    "missing first cycle": (f"delete from {{table}} where {SECOND_TEST} and cycle_number = 1", True),
    "steps overlapping": (
        f"update {{table}} set record_number = record_number - 1 where {SECOND_TEST} and step_number = 6",
        False,
    ),
    "steps moved after the test": (
        f"update {{table}} set record_number = record_number + 10000000 where {FIRST_TEST} and step_number = 5",
        False,
    ),
    "step numbers restart each cycle": (
        f"update {{table}} set step_number = (step_number - 1) % 4 + 1 where {SECOND_TEST}",
        True,
    ),
}


def change_telemetry(directory: Path, statement: str) -> None:
    telemetry = next(table for table in config.source_tables() if table.name == "telemetry")
    connection = warehouse.connect_sources(directory)
    try:
        with warehouse.transaction(connection):
            changed = connection.execute(statement.format(table=warehouse.quoted(telemetry))).fetchone()[0]
    finally:
        connection.close()
    assert changed > 0, statement


@pytest.mark.parametrize("change", list(CHANGES))
def test_part_numbers_are_dense_ranks(dbt_target: str, warehouse_copy: Path, change: str) -> None:
    if dbt_target != "duckdb":
        pytest.skip("the change is written to the DuckDB catalog files; on Trino the demo-data suite runs")
    statement, stays_consecutive = CHANGES[change]
    change_telemetry(warehouse_copy, statement)
    changed = Warehouse("duckdb", warehouse_copy)
    offsets = changed.view("int_part_test_offsets")
    flags = dict(changed.query(f"select distinct part_id, part_numbers_consecutive from {offsets}"))
    assert flags.pop(PART) is stays_consecutive
    assert all(flags.values()), f"parts left unchanged must keep the offsets: {flags}"
    for number in ("cycle_number", "step_number", "record_number"):
        actual = changed.query(
            f"select device_id, test_id, {number}, part_{number} "
            f"from {changed.view('part_telemetry')} where part_id = '{PART}'"
        )
        assert sorted(actual) == sorted(expected_part_numbers(changed, PART, number)), number


def test_part_numbers_are_bigint(dbt_target: str, demo_warehouse_template: Path) -> None:
    """The offsets must not change the numbers' type: BIGINT, as dense_rank gives and the datasets declare."""
    if dbt_target != "duckdb":
        pytest.skip("reads the DuckDB catalog's column types; the Trino suite checks the values")
    built = Warehouse("duckdb", demo_warehouse_template)
    types = dict(built.query(f"select column_name, column_type from (describe {built.view('part_telemetry')})"))
    assert {name: types[name] for name in ("part_cycle_number", "part_step_number", "part_record_number")} == {
        "part_cycle_number": "BIGINT",
        "part_step_number": "BIGINT",
        "part_record_number": "BIGINT",
    }
