"""Battery metrics of the cycle marts against values computed by hand, on a hand-made warehouse."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest

from pulse_analytics import config, warehouse
from tests.conftest import Warehouse, pulse_env, run_pulse

START = datetime(2026, 1, 1)
# One part, two tests on two devices. Test A's first cycle is a partial one (charge only), so the reference capacity
# is the discharge capacity of its second cycle, the part's first full cycle.
CYCLES = [  # device, test, cycle, charge Ah, discharge Ah, charge Wh, discharge Wh, start offset (h)
    ("dev-a", "test-a", 1, 1.0, 0.0, 3.7, 0.0, 0),
    ("dev-a", "test-a", 2, 2.0, 1.9, 7.6, 6.84, 3),
    ("dev-b", "test-b", 1, 1.8, 1.71, 6.8, 6.12, 48),
]


def insert_row(connection: duckdb.DuckDBPyConnection, table: str, values: dict[str, object]) -> None:
    """Insert one row; columns not given are 0 (numbers), START (timestamps) or null (anything else)."""
    described = connection.execute(f"describe {table}").fetchall()
    row = {}
    for name, kind, *_ in described:
        if name in values:
            row[name] = values[name]
        elif kind == "TIMESTAMP":
            row[name] = START
        elif kind in ("DOUBLE", "INTEGER", "BIGINT"):
            row[name] = 0
        else:  # text, dates, maps: unknown
            row[name] = None
    names = ", ".join(f'"{name}"' for name in row)
    connection.execute(f"insert into {table} ({names}) values ({', '.join('?' * len(row))})", list(row.values()))


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory: pytest.TempPathFactory, dbt_target: str) -> Warehouse:
    if dbt_target != "duckdb":
        pytest.skip("the hand-made input is written to the DuckDB catalog files; on Trino the demo-data suite runs")
    directory = tmp_path_factory.mktemp("hand-made")
    connection = warehouse.connect_sources(directory)
    warehouse.create_source_tables(connection)
    tables = {table.name: warehouse.quoted(table) for table in config.source_tables()}
    with warehouse.transaction(connection):
        for device, test, cycle, charge, discharge, charge_wh, discharge_wh, hours in CYCLES:
            begin = START + timedelta(hours=hours)
            key = {"device_id": device, "test_id": test, "cycle_number": cycle}
            insert_row(connection, tables["statistics_cycle"], {
                **key, "start_time": begin, "end_time": begin + timedelta(hours=2),
                "charge_capacity__Ah": charge, "discharge_capacity__Ah": discharge,
                "charge_energy__Wh": charge_wh, "discharge_energy__Wh": discharge_wh,
            })  # fmt: skip
            insert_row(connection, tables["statistics_step"], {**key, "step_number": cycle, "start_time": begin})
            insert_row(connection, tables["telemetry"], {**key, "step_number": cycle, "record_number": cycle,
                                                          "timestamp": begin})  # fmt: skip
    with warehouse.transaction(connection):
        insert_row(connection, tables["device_metadata"], {"device_id": "dev-a"})
        insert_row(connection, tables["recipe_metadata"], {"recipe_id": "r1"})
        insert_row(connection, tables["part_metadata"], {"part_id": "cell-x"})
        for device, test in (("dev-a", "test-a"), ("dev-b", "test-b")):
            insert_row(connection, tables["device_test_recipe"], {"device_id": device, "test_id": test,
                                                                   "recipe_id": "r1"})  # fmt: skip
            insert_row(connection, tables["device_test_part"], {"device_id": device, "test_id": test,
                                                                 "part_id": "cell-x"})  # fmt: skip
    connection.close()
    run_pulse("build", env=pulse_env(directory))
    return Warehouse("duckdb", directory)


def test_test_cycle_metrics(hand_made: Warehouse) -> None:
    rows = hand_made.query(
        f"select test_id, cycle_number, coulombic_efficiency, energy_efficiency, cumulative_throughput__ah, "
        f"cumulative_throughput__wh from {hand_made.view('test_statistics_cycle')} order by test_id, cycle_number"
    )
    expected = [
        ("test-a", 1, 0.0, 0.0, 1.0, 3.7),
        ("test-a", 2, 0.95, 0.9, 1.0 + 3.9, 3.7 + 14.44),
        ("test-b", 1, 0.95, 0.9, 3.51, 12.92),
    ]
    assert [row[:2] for row in rows] == [row[:2] for row in expected]
    for actual, wanted in zip(rows, expected, strict=True):
        assert actual[2:] == pytest.approx(wanted[2:]), actual


def test_part_cycle_metrics(hand_made: Warehouse) -> None:
    rows = hand_made.query(
        f"select test_id, part_test_number, part_cycle_number, reference_capacity__ah, capacity_retention, "
        f"part_cumulative_throughput__ah, part_cumulative_throughput__wh, equivalent_full_cycles "
        f"from {hand_made.view('part_statistics_cycle')} order by part_cycle_number"
    )
    expected = [
        ("test-a", 1, 1, 1.9, 0.0, 1.0, 3.7, 0.0),
        ("test-a", 1, 2, 1.9, 1.0, 4.9, 18.14, 1.0),
        ("test-b", 2, 3, 1.9, 0.9, 8.41, 31.06, 1.9),
    ]
    assert [row[:3] for row in rows] == [row[:3] for row in expected]
    for actual, wanted in zip(rows, expected, strict=True):
        assert actual[3:] == pytest.approx(wanted[3:]), actual

