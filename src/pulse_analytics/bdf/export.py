"""Write a test of the telemetry catalog back out as a Battery Data Format file, CSV or Parquet (docs/bdf.md, "Export").

The file holds what the telemetry rows hold, in BDF's machine-readable columns: time since the start and unix time,
voltage, current, power, the test's cycle and step numbers and step types, cumulative capacity and energy counters,
and the auxiliary values (temperatures and the other quantities under their BDF names). A sidecar beside it names the
device, test, part and recipe, so `pulse import-bdf` of the file gives the same test back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from pulse_analytics import config, warehouse
from pulse_analytics.bdf.files import sidecar_path
from pulse_analytics.bdf.report import BdfError
from pulse_analytics.bdf.telemetry import sql_string
from pulse_analytics.bdf.vocabulary import AUXILIARY_KEYS, INTEGERS

# auxiliary key -> BDF column, the inverse of the importer's naming; the program counters it copies into auxiliary
# are not written again: the file's cycle_count and step_count are the test's own cycle and step numbers.
BDF_NAMES = {key: name for name, key in AUXILIARY_KEYS.items()}
PROGRAM_COUNTERS = set(INTEGERS)
# cumulative BDF counter -> the per-record increment it sums
COUNTER_SOURCES = {
    "charging_capacity_ah": '"capacity_charged__Ah"',
    "discharging_capacity_ah": '"capacity_discharged__Ah"',
    "charging_energy_wh": "energy_charged",
    "discharging_energy_wh": "energy_discharged",
}
# Counters are summed exactly (decimal, 1e-18 resolution): a record that adds nothing leaves the counter exactly
# where it was, so importing the file again gives an increment of exactly 0 there.
EXACT = "DECIMAL(38, 18)"
# BDF column -> SQL over the test's telemetry rows (window `whole`: the test in record order)
COLUMNS = {
    "test_time_second": '(epoch_us("timestamp") - first_value(epoch_us("timestamp")) OVER whole) / 1e6',
    "unix_time_second": 'epoch_us("timestamp") / 1e6',
    "voltage_volt": '"voltage__V"',
    "current_ampere": '"current__A"',
    "power_watt": '"power__W"',
    "cycle_count": "cycle_number",
    "step_count": "step_number",
    "step_type": "coalesce(json_extract_string(metadata, '$.step_type'), step_type)",
}
# cumulative counters: exact running sums, kept non-decreasing (an importer reads a drop as a reset); in a CSV file
# their exact decimal text, in a Parquet file the nearest double
COUNTERS = {
    "csv": "rtrim(rtrim(CAST(max({counter}) OVER so_far AS VARCHAR), '0'), '.')",
    "parquet": "CAST(max({counter}) OVER so_far AS DOUBLE)",
}
SUFFIXES = {"csv": ".bdf.csv", "parquet": ".bdf.parquet"}
COPY_OPTIONS = {"csv": "FORMAT csv, HEADER, DELIMITER ','", "parquet": "FORMAT parquet"}


@dataclass(frozen=True)
class Exported:
    path: Path
    sidecar: Path
    rows: int
    columns: list[str]


def connect(warehouse_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """The source catalogs, attached read-only (an export never writes them)."""
    warehouse.require_warehouse(warehouse_dir)
    connection = duckdb.connect()
    for statement in warehouse.attach_statements(warehouse_dir):
        connection.execute(statement)
    return connection


def default_name(test_id: str, kind: str) -> str:
    """A file name from the test id: characters other than letters, digits, '-', '_' and '.' become '_'."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", test_id) + SUFFIXES[kind]


def export_test(
    test_id: str,
    device_id: str | None = None,
    output: Path | None = None,
    warehouse_dir: Path | None = None,
    kind: str | None = None,
) -> Exported:
    """Write one test as a BDF file (and its sidecar). `output` is a file, a folder, or None (the current folder);
    without a device, the one device holding the test id. `kind`: csv or parquet (default: as the output file's name
    ends, else csv)."""
    kind = kind or ("parquet" if output is not None and output.name.lower().endswith(".parquet") else "csv")
    tables = {table.name: warehouse.quoted(table) for table in config.source_tables()}
    connection = connect(warehouse_dir)
    try:
        device_id = device_id or only_device(connection, tables["telemetry"], test_id)
        test = [device_id, test_id]
        rows = connection.execute(
            f"SELECT count(*) FROM {tables['telemetry']} WHERE device_id = ? AND test_id = ?", test
        ).fetchone()[0]
        if rows == 0:
            raise BdfError(
                f"no telemetry for test '{test_id}' on device '{device_id}' in "
                f"{warehouse.catalog_path(config.get('TELEMETRY_CATALOG'), warehouse_dir)}; "
                f"{known_tests(connection, tables['telemetry'], test_id)}"
            )
        path = output_path(output, test_id, kind)
        auxiliary = auxiliary_columns(connection, tables["telemetry"], test)
        select = ", ".join(
            [f"{sql} AS {name}" for name, sql in COLUMNS.items()]
            + [f"{COUNTERS[kind].format(counter=counter)} AS {counter}" for counter in COUNTER_SOURCES]
            + [f'auxiliary[{sql_string(key)}] AS "{header}"' for key, header in auxiliary]
        )
        sums = ", ".join(
            f"sum(CAST({source} AS {EXACT})) OVER so_far AS {counter}" for counter, source in COUNTER_SOURCES.items()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        connection.execute(
            f"""
            COPY (
                WITH records AS (
                    SELECT *,
                           "step_energy_charged__Wh" - coalesce(lag("step_energy_charged__Wh") OVER step, 0)
                               AS energy_charged,
                           "step_energy_discharged__Wh" - coalesce(lag("step_energy_discharged__Wh") OVER step, 0)
                               AS energy_discharged
                    FROM {tables["telemetry"]}
                    WHERE device_id = $device_id AND test_id = $test_id
                    WINDOW step AS (PARTITION BY cycle_number, step_number ORDER BY record_number)
                ), sums AS (
                    SELECT *, {sums} FROM records
                    WINDOW so_far AS (ORDER BY record_number ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
                )
                SELECT {select} FROM sums
                WINDOW whole AS (ORDER BY record_number),
                       so_far AS (ORDER BY record_number ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
                ORDER BY record_number
            ) TO '{partial}' ({COPY_OPTIONS[kind]})
        """,
            {"device_id": device_id, "test_id": test_id},
        )
        partial.replace(path)  # a file at `path` is always whole
        sidecar = write_sidecar(connection, tables, path, device_id, test_id)
        return Exported(path, sidecar, rows, [*COLUMNS, *COUNTER_SOURCES, *(header for _, header in auxiliary)])
    finally:
        connection.close()


def devices_holding(connection: duckdb.DuckDBPyConnection, telemetry: str, test_id: str) -> list[str]:
    return [
        row[0]
        for row in connection.execute(
            f"SELECT DISTINCT device_id FROM {telemetry} WHERE test_id = ? ORDER BY 1", [test_id]
        ).fetchall()
    ]


def only_device(connection: duckdb.DuckDBPyConnection, telemetry: str, test_id: str) -> str:
    devices = devices_holding(connection, telemetry, test_id)
    if len(devices) == 1:
        return devices[0]
    if devices:
        raise BdfError(
            f"test '{test_id}' is on {len(devices)} devices ({', '.join(devices)}); name one with --device-id"
        )
    raise BdfError(f"no test '{test_id}' in the telemetry catalog; {known_tests(connection, telemetry, test_id)}")


def output_path(output: Path | None, test_id: str, kind: str) -> Path:
    if output is None:
        return Path.cwd() / default_name(test_id, kind)
    if output.name.lower().endswith((".csv", ".bdf", ".parquet")) and not output.is_dir():
        if not output.name.lower().endswith(".parquet" if kind == "parquet" else (".csv", ".bdf")):
            raise BdfError(f"{output}: a {kind} file is named *{SUFFIXES[kind]}; name it so, or give a folder")
        return output
    if output.exists() and not output.is_dir():
        raise BdfError(f"{output}: not a folder, and not a *{SUFFIXES[kind]} file name; give one of them")
    return output / default_name(test_id, kind)  # a folder (created if needed)


def auxiliary_columns(connection: duckdb.DuckDBPyConnection, telemetry: str, test: list[str]) -> list[tuple[str, str]]:
    """The test's auxiliary keys and the BDF column each becomes (keys the importer named keep their BDF name)."""
    keys = connection.execute(
        f"""
        SELECT DISTINCT unnest(map_keys(auxiliary)) AS key FROM {telemetry} WHERE device_id = ? AND test_id = ?
        ORDER BY key
    """,
        test,
    ).fetchall()
    columns, seen = [], {*COLUMNS, *COUNTER_SOURCES}
    for (key,) in keys:
        header = BDF_NAMES.get(key, key)
        if key in PROGRAM_COUNTERS or header in seen:
            continue
        seen.add(header)
        columns.append((key, header))
    return columns


def write_sidecar(
    connection: duckdb.DuckDBPyConnection, tables: dict[str, str], path: Path, device_id: str, test_id: str
) -> Path:
    """The identifiers of the test beside the file, so that importing it gives the same test."""
    values: dict[str, str] = {"device_id": device_id, "test_id": test_id}
    for name, column in (("device_test_part", "part_id"), ("device_test_recipe", "recipe_id")):
        found = connection.execute(
            f"SELECT min({column}) FROM {tables[name]} WHERE device_id = ? AND test_id = ?", [device_id, test_id]
        ).fetchone()[0]
        if found is not None:
            values[column] = found
    sidecar = sidecar_path(path)
    sidecar.write_text(yaml.safe_dump(values, sort_keys=False))
    return sidecar


def known_tests(connection: duckdb.DuckDBPyConnection, telemetry: str, test_id: str) -> str:
    """What to try instead: the devices holding this test id, or some of the tests there are."""
    devices = devices_holding(connection, telemetry, test_id)
    if devices:
        return f"test '{test_id}' is on device(s) {', '.join(devices)}"
    tests = connection.execute(f"SELECT DISTINCT device_id, test_id FROM {telemetry} ORDER BY 1, 2 LIMIT 5").fetchall()
    if not tests:
        return "the catalog holds no tests (run `pulse seed` or `pulse import-bdf` first)"
    listed = ", ".join(f"{device}/{test}" for device, test in tests)
    return f"tests there include {listed} (device/test)"
