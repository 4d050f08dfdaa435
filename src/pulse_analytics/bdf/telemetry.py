"""Capacities, energies and the telemetry rows: the SELECT turning the staged records and steps into pulse-telemetry
rows, and the transaction that writes them with their statistics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb

from pulse_analytics import config, statistics, warehouse
from pulse_analytics.bdf.files import Identity
from pulse_analytics.bdf.reading import Columns
from pulse_analytics.bdf.report import Report
from pulse_analytics.bdf.vocabulary import COUNTERS

STEP_IDS = {"Rest": 0, "Charge": 1, "Discharge": 2}  # pulse-telemetry's step_id of each step type
COUNTER_ROUNDING = 1e-9  # a counter falling by less than this fraction of its value is rounding, not a reset


def counter_increment(counter: str) -> str:
    """Per-record increment of a cumulative counter: the change since its last value; a drop means the counter was
    reset (to zero) in between, so the increment is the new value. An empty cell, and the file's first row, add 0;
    so does a drop within COUNTER_ROUNDING of the value (a sum written with rounding)."""
    before = f"previous_{counter}"
    return f"""CASE WHEN {counter} IS NULL OR {before} IS NULL THEN 0
                    WHEN {counter} >= {before} THEN {counter} - {before}
                    WHEN {counter} >= {before} - {COUNTER_ROUNDING!r} * abs({before}) THEN 0 ELSE {counter} END"""


def interval_mean(quantity: str) -> str:
    """Mean of a quantity over the interval before each record: trapezoidal within a step; the first record of a
    step counts its own value over the gap since the last one."""
    own, before = quantity, f"previous_{quantity}"
    return f"CASE WHEN same_step THEN ({own} + {before}) / 2 ELSE {own} END"


def increments_sql(columns: Columns, report: Report) -> tuple[str, str, str]:
    """SELECT items: the counters' previous values (a window over record order), the per-record capacity increments
    and the energy increments (projections of those).

    Capacity: the cycler's counter where the file has one, else current integrated over time. Energy: the cycler's
    counter, else the capacity increment times the interval's mean voltage (so energy agrees with capacity).
    """
    previous, capacities, energies, described = [], [], [], []
    for counter, target in COUNTERS.items():
        if counter in columns.quantities:
            previous.append(f", last_value({counter} IGNORE NULLS) OVER before AS previous_{counter}")
            increment = counter_increment(counter)
            described.append(
                f"{target.replace('_', ' ')} from the cycler's {counter} (per-record increments; a drop is a reset)"
            )
        elif target.startswith("capacity"):
            sign = -1 if "discharged" in target else 1
            # sample-and-hold on the right: each record's current over the interval before it, the rule that
            # reproduces cyclers' own counters best (docs/bdf.md, "Capacity from current: which rule, measured")
            increment = f"duration / 3600 * greatest({sign} * current_ampere, 0)"
            described.append(
                f"{target.replace('_', ' ')} integrated from current (each record's current over "
                f"the interval before it)"
            )
        else:
            capacity = target.replace("energy", "capacity")
            increment = f"{capacity} * {interval_mean('voltage_volt')}"
            described.append(f"{target.replace('_', ' ')} = {capacity.replace('_', ' ')} x mean voltage")
        (capacities if target.startswith("capacity") else energies).append(f"{increment} AS {target}")
    power = "power_watt (else voltage x current)" if "power_watt" in columns.quantities else "voltage x current"
    report.derivations.append(f"capacities and energies: {'; '.join(described)}; power from {power}")
    return "".join(previous), ", ".join(capacities), ", ".join(energies)


def auxiliary_sql(columns: Columns, auxiliary: list[str]) -> str:
    if not auxiliary:
        return "NULL::MAP(VARCHAR, DOUBLE)"
    entries = ", ".join(
        f"{{'key': {sql_string(key)}, 'value': {column}}}"
        for key, column in zip(columns.auxiliary, auxiliary, strict=True)
    )
    return f"map_from_entries(list_filter([{entries}], entry -> entry.value IS NOT NULL))"


def metadata_sql(columns: Columns) -> str:
    """Each record's metadata: the file's (source, file name, the sidecar's metadata), with the record's step_type
    label where the file has one (so a step's statistics keep the cycler's own name of it)."""
    if "step_type" not in columns.quantities:
        return "$metadata"
    return (
        "CASE WHEN step_label IS NULL THEN $metadata "
        "ELSE CAST(json_merge_patch($metadata, json_object('step_type', step_label)) AS VARCHAR) END"
    )


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def telemetry_sql(columns: Columns, auxiliary: list[str], report: Report) -> str:
    """SELECT of the telemetry rows of the staged file (parameters: device_id, test_id, start, metadata, now).

    Two passes over the records: one window in record order (every previous value), one per step (running sums).
    """
    previous, capacities, energies = increments_sql(columns, report)
    power = "voltage_volt * current_ampere"
    if "power_watt" in columns.quantities:
        power = f"coalesce(power_watt, {power})"
    step_ids = " ".join(f"WHEN '{name}' THEN {code}" for name, code in STEP_IDS.items())
    return f"""
    WITH joined AS (
        SELECT bdf_records.*, bdf_steps.step_type, bdf_steps.cycle_number, {power} AS power
        FROM bdf_records JOIN bdf_steps USING (step_number)
    ), previous AS (
        SELECT *, lag(voltage_volt) OVER w AS previous_voltage_volt,
               lag(current_ampere) OVER w AS previous_current_ampere,
               lag(power) OVER w AS previous_power,
               coalesce(lag(step_number) OVER w = step_number, false) AS same_step{previous}
        FROM joined
        WINDOW w AS (ORDER BY record_number),
               before AS (ORDER BY record_number ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
    ), capacities AS (
        SELECT *, {capacities} FROM previous
    ), energies AS (
        SELECT *, {energies} FROM capacities
    )
    SELECT
        $device_id AS device_id, $test_id AS test_id, cycle_number, step_number, step_type,
        CASE step_type {step_ids} END AS step_id,
        record_number,
        make_timestamp(CAST(round(($start + elapsed) * 1e6) AS BIGINT)) AS "timestamp",
        voltage_volt AS "voltage__V",
        current_ampere AS "current__A",
        power AS "power__W",
        duration AS "duration__s",
        voltage_volt - previous_voltage_volt AS "voltage_delta__V",
        current_ampere - previous_current_ampere AS "current_delta__A",
        power - previous_power AS "power_delta__W",
        capacity_charged AS "capacity_charged__Ah",
        capacity_discharged AS "capacity_discharged__Ah",
        CASE WHEN capacity_charged > 0 AND voltage_volt <> previous_voltage_volt
             THEN capacity_charged / (voltage_volt - previous_voltage_volt) END
            AS "differential_capacity_charged__Ah_V",
        CASE WHEN capacity_discharged > 0 AND voltage_volt <> previous_voltage_volt
             THEN capacity_discharged / (voltage_volt - previous_voltage_volt) END
            AS "differential_capacity_discharged__Ah_V",
        sum(duration) OVER so_far AS "step_duration__s",
        sum(capacity_charged) OVER so_far AS "step_capacity_charged__Ah",
        sum(capacity_discharged) OVER so_far AS "step_capacity_discharged__Ah",
        sum(energy_charged) OVER so_far AS "step_energy_charged__Wh",
        sum(energy_discharged) OVER so_far AS "step_energy_discharged__Wh",
        {auxiliary_sql(columns, auxiliary)} AS auxiliary,
        {metadata_sql(columns)} AS metadata,
        $now AS update_ts
    FROM energies
    WINDOW so_far AS (PARTITION BY step_number ORDER BY record_number ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    """


def write_telemetry(
    connection: duckdb.DuckDBPyConnection, identity: Identity, select: str, parameters: dict[str, Any]
) -> None:
    """Replace the test's telemetry and statistics in one transaction: all of it is written, or none."""
    telemetry = warehouse.quoted(next(table for table in config.source_tables() if table.name == "telemetry"))
    test = {"device_id": identity.device_id, "test_id": identity.test_id}
    now = datetime.now(UTC).replace(tzinfo=None)
    with warehouse.transaction(connection):
        connection.execute(f"DELETE FROM {telemetry} WHERE device_id = $device_id AND test_id = $test_id", test)
        connection.execute(f"INSERT INTO {telemetry} BY NAME {select}", {**test, **parameters, "now": now})
        statistics.summarise(connection, [(identity.device_id, identity.test_id)])
