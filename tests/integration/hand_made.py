"""Hand-made warehouses for the tests that check a metric on values computed by hand: rows written straight into
the source tables of a new DuckDB warehouse, then `pulse build`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from pulse_analytics import config, warehouse
from tests.conftest import Warehouse, pulse_env, run_pulse

START = datetime(2026, 1, 1)
CHARGE_WH_PER_AH, DISCHARGE_WH_PER_AH = 4.0, 3.6


@contextmanager
def source_tables(directory: Path) -> Iterator[tuple[duckdb.DuckDBPyConnection, dict[str, str]]]:
    """The empty source tables of a new warehouse in `directory`: the connection and each table's quoted name by
    source name. Write each catalog (telemetry, metadata) in its own `warehouse.transaction`: DuckDB writes one
    attached database per transaction."""
    connection = warehouse.connect_sources(directory)
    try:
        warehouse.create_source_tables(connection)
        yield connection, {table.name: warehouse.quoted(table) for table in config.source_tables()}
    finally:
        connection.close()


def built(directory: Path) -> Warehouse:
    """The hand-made warehouse in `directory` after `pulse build`."""
    run_pulse("build", env=pulse_env(directory))
    return Warehouse("duckdb", directory)


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


def insert_cycle(
    connection: duckdb.DuckDBPyConnection,
    tables: dict[str, str],
    key: tuple[str, str, int],
    begin: datetime,
    charge: float,
    discharge: float,
) -> None:
    """One cycle of two hours from `begin`: its statistics_cycle row (energies at CHARGE_WH_PER_AH and
    DISCHARGE_WH_PER_AH), one step and one telemetry record."""
    device, test, cycle = key
    keys = {"device_id": device, "test_id": test, "cycle_number": cycle}
    insert_row(
        connection,
        tables["statistics_cycle"],
        {
            **keys,
            "start_time": begin,
            "end_time": begin + timedelta(hours=2),
            "charge_capacity__Ah": charge,
            "discharge_capacity__Ah": discharge,
            "charge_energy__Wh": charge * CHARGE_WH_PER_AH,
            "discharge_energy__Wh": discharge * DISCHARGE_WH_PER_AH,
        },
    )
    insert_row(connection, tables["statistics_step"], {**keys, "step_number": cycle, "start_time": begin})
    insert_row(
        connection, tables["telemetry"], {**keys, "step_number": cycle, "record_number": cycle, "timestamp": begin}
    )
