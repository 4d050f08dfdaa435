"""Step and cycle statistics from telemetry, following pulse-telemetry's definitions, in SQL on the warehouse.

One implementation for every writer of the telemetry catalog (the demo generator, the BDF importer): load telemetry,
then call `summarise(connection, tests)` to (re)write the statistics rows of those tests.

Definitions (as pulse-telemetry 0.1.1):
- start/end values are those of the first/last record by record_number (step) or step_number (cycle);
- time-averaged quantities weight each record (step) or step (cycle) by its duration__s;
- min/max charge (discharge) current and power are taken over records with positive (negative) values, signed;
- capacities and energies are unsigned: the step's last accumulated value; a cycle sums its steps;
- resolution diagnostics are the largest absolute change of a single record; num_records counts records;
- auxiliary and metadata are the first non-null values.
"""

from __future__ import annotations

import duckdb

from pulse_analytics import config
from pulse_analytics.warehouse import quoted

STEP_KEY = "device_id, test_id, cycle_number, step_number"
CYCLE_KEY = "device_id, test_id, cycle_number"


def _time_weighted(column: str, weight: str = '"duration__s"') -> str:
    return f'coalesce(sum("{column}" * {weight}) / nullif(sum({weight}), 0), avg("{column}"))'


def _signed_extremes(quantity: str, unit: str) -> str:
    column = f"{quantity}__{unit}"
    return f"""
        min("{column}") filter (where "{column}" > 0) as "min_charge_{quantity}__{unit}",
        max("{column}") filter (where "{column}" < 0) as "min_discharge_{quantity}__{unit}",
        max("{column}") filter (where "{column}" > 0) as "max_charge_{quantity}__{unit}",
        min("{column}") filter (where "{column}" < 0) as "max_discharge_{quantity}__{unit}","""


def step_statistics_sql(telemetry: str, where: str) -> str:
    """SELECT producing statistics_step rows from a telemetry relation."""
    order = "record_number"
    return f"""
    select
        {STEP_KEY},
        arg_min(step_type, {order}) filter (where step_type is not null) as step_type,
        arg_min(step_id, {order}) filter (where step_id is not null) as step_id,
        arg_min("timestamp", {order}) as start_time,
        arg_max("timestamp", {order}) as end_time,
        epoch(arg_max("timestamp", {order})) - epoch(arg_min("timestamp", {order})) as "duration__s",
        arg_min("voltage__V", {order}) as "start_voltage__V",
        arg_max("voltage__V", {order}) as "end_voltage__V",
        min("voltage__V") as "min_voltage__V",
        max("voltage__V") as "max_voltage__V",
        {_time_weighted("voltage__V")} as "time_averaged_voltage__V",
        arg_min("current__A", {order}) as "start_current__A",
        arg_max("current__A", {order}) as "end_current__A",
        {_signed_extremes("current", "A")}
        {_time_weighted("current__A")} as "time_averaged_current__A",
        arg_min("power__W", {order}) as "start_power__W",
        arg_max("power__W", {order}) as "end_power__W",
        {_signed_extremes("power", "W")}
        {_time_weighted("power__W")} as "time_averaged_power__W",
        arg_max("step_capacity_charged__Ah", {order}) as "charge_capacity__Ah",
        arg_max("step_capacity_discharged__Ah", {order}) as "discharge_capacity__Ah",
        arg_max("step_energy_charged__Wh", {order}) as "charge_energy__Wh",
        arg_max("step_energy_discharged__Wh", {order}) as "discharge_energy__Wh",
        coalesce(max(abs("voltage_delta__V")), 0) as "max_voltage_delta__V",
        coalesce(max(abs("current_delta__A")), 0) as "max_current_delta__A",
        coalesce(max(abs("power_delta__W")), 0) as "max_power_delta__W",
        coalesce(max("duration__s"), 0) as "max_duration__s",
        count(*) as num_records,
        arg_min(auxiliary, {order}) filter (where auxiliary is not null) as auxiliary,
        arg_min(metadata, {order}) filter (where metadata is not null) as metadata,
        current_localtimestamp() as update_ts
    from {telemetry}
    where {where}
    group by {STEP_KEY}
    """


def cycle_statistics_sql(steps: str, where: str) -> str:
    """SELECT producing statistics_cycle rows from a statistics_step relation."""
    order = "step_number"

    def weighted(column: str) -> str:
        return _time_weighted(column)

    def extremes(quantity: str, unit: str) -> str:
        return f"""
        min("min_charge_{quantity}__{unit}") as "min_charge_{quantity}__{unit}",
        max("min_discharge_{quantity}__{unit}") as "min_discharge_{quantity}__{unit}",
        max("max_charge_{quantity}__{unit}") as "max_charge_{quantity}__{unit}",
        min("max_discharge_{quantity}__{unit}") as "max_discharge_{quantity}__{unit}","""

    return f"""
    select
        {CYCLE_KEY},
        arg_min(start_time, {order}) as start_time,
        arg_max(end_time, {order}) as end_time,
        epoch(arg_max(end_time, {order})) - epoch(arg_min(start_time, {order})) as "duration__s",
        arg_min("start_voltage__V", {order}) as "start_voltage__V",
        arg_max("end_voltage__V", {order}) as "end_voltage__V",
        min("min_voltage__V") as "min_voltage__V",
        max("max_voltage__V") as "max_voltage__V",
        {weighted("time_averaged_voltage__V")} as "time_averaged_voltage__V",
        arg_min("start_current__A", {order}) as "start_current__A",
        arg_max("end_current__A", {order}) as "end_current__A",
        {extremes("current", "A")}
        {weighted("time_averaged_current__A")} as "time_averaged_current__A",
        arg_min("start_power__W", {order}) as "start_power__W",
        arg_max("end_power__W", {order}) as "end_power__W",
        {extremes("power", "W")}
        {weighted("time_averaged_power__W")} as "time_averaged_power__W",
        sum("charge_capacity__Ah") as "charge_capacity__Ah",
        sum("discharge_capacity__Ah") as "discharge_capacity__Ah",
        sum("charge_energy__Wh") as "charge_energy__Wh",
        sum("discharge_energy__Wh") as "discharge_energy__Wh",
        max("max_voltage_delta__V") as "max_voltage_delta__V",
        max("max_current_delta__A") as "max_current_delta__A",
        max("max_power_delta__W") as "max_power_delta__W",
        max("max_duration__s") as "max_duration__s",
        sum(num_records) as num_records,
        arg_min(auxiliary, {order}) filter (where auxiliary is not null) as auxiliary,
        arg_min(metadata, {order}) filter (where metadata is not null) as metadata,
        current_localtimestamp() as update_ts
    from {steps}
    where {where}
    group by {CYCLE_KEY}
    """


def summarise(connection: duckdb.DuckDBPyConnection, tests: list[tuple[str, str]]) -> None:
    """(Re)write statistics_step and statistics_cycle for the given (device_id, test_id) pairs from their telemetry.

    Runs in the caller's transaction when there is one, so a failed import leaves the catalog as it was.
    """
    tables = {table.name: quoted(table) for table in config.source_tables()}
    connection.execute("CREATE OR REPLACE TEMP TABLE pulse_tests_to_summarise (device_id VARCHAR, test_id VARCHAR)")
    connection.executemany("INSERT INTO pulse_tests_to_summarise VALUES (?, ?)", tests)
    chosen = "(device_id, test_id) in (select device_id, test_id from pulse_tests_to_summarise)"
    for name in ("statistics_step", "statistics_cycle"):
        connection.execute(f"DELETE FROM {tables[name]} WHERE {chosen}")
    connection.execute(
        f"INSERT INTO {tables['statistics_step']} BY NAME {step_statistics_sql(tables['telemetry'], chosen)}"
    )
    connection.execute(
        f"INSERT INTO {tables['statistics_cycle']} BY NAME {cycle_statistics_sql(tables['statistics_step'], chosen)}"
    )
