"""Step and cycle statistics (pulse-telemetry definitions) against values computed by hand."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pulse_analytics import config, statistics, warehouse

T0 = datetime(2026, 1, 1, 12, 0, 0)
# Two steps of one cycle; rows deliberately inserted out of record order.
# step, record, seconds after T0, V, A, duration s, step charged Ah, step discharged Ah, step charged Wh, discharged Wh
RECORDS = [
    (1, 2, 10, 3.2, 2.0, 10.0, 0.006, 0.0, 0.019, 0.0),
    (1, 1, 0, 3.0, 1.0, 5.0, 0.001, 0.0, 0.003, 0.0),
    (1, 3, 30, 3.1, 1.5, 20.0, 0.014, 0.0, 0.045, 0.0),
    (2, 4, 40, 3.0, -1.0, 10.0, 0.0, 0.003, 0.0, 0.008),
    (2, 5, 60, 2.9, -3.0, 20.0, 0.0, 0.019, 0.0, 0.055),
]


@pytest.fixture
def summarised(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = warehouse.connect_sources(tmp_path)
    warehouse.create_source_tables(connection)
    telemetry = warehouse.quoted(next(t for t in config.source_tables() if t.name == "telemetry"))
    for step, record, seconds, volts, amps, duration, ch_ah, dis_ah, ch_wh, dis_wh in RECORDS:
        connection.execute(
            f"insert into {telemetry} by name select 'dev' as device_id, 'test' as test_id, 1 as cycle_number, "
            f'? as step_number, ? as record_number, ? as "timestamp", ? as "voltage__V", ? as "current__A", '
            f'? as "power__W", ? as "duration__s", '
            f'0 as "capacity_charged__Ah", 0 as "capacity_discharged__Ah", '
            f'0 as "step_duration__s", ? as "step_capacity_charged__Ah", ? as "step_capacity_discharged__Ah", '
            f'? as "step_energy_charged__Wh", ? as "step_energy_discharged__Wh", '
            f"abs(? - 3.05) as \"voltage_delta__V\", map(['temperature__C'], [20.0 + ?]) as auxiliary, "
            f"now()::timestamp as update_ts",
            [
                step,
                record,
                T0 + timedelta(seconds=seconds),
                volts,
                amps,
                volts * amps,
                duration,
                ch_ah,
                dis_ah,
                ch_wh,
                dis_wh,
                volts,
                record,
            ],
        )
    statistics.summarise(connection, [("dev", "test")])
    return connection


def one(connection: duckdb.DuckDBPyConnection, table: str, columns: str, where: str = "true") -> tuple:
    return connection.execute(f"select {columns} from telemetry.pulse.{table} where {where}").fetchall()[0]


def test_step_statistics(summarised: duckdb.DuckDBPyConnection) -> None:
    start, end, duration, v_start, v_end, v_min, v_max, v_avg = one(
        summarised,
        "statistics_step",
        '"start_time", end_time, "duration__s", "start_voltage__V", "end_voltage__V", "min_voltage__V", '
        '"max_voltage__V", "time_averaged_voltage__V"',
        "step_number = 1",
    )
    assert (start, end, duration) == (T0, T0 + timedelta(seconds=30), 30.0)
    assert (v_start, v_end, v_min, v_max) == (3.0, 3.1, 3.0, 3.2)
    assert v_avg == pytest.approx((3.0 * 5 + 3.2 * 10 + 3.1 * 20) / 35)
    currents = one(
        summarised,
        "statistics_step",
        '"min_charge_current__A", "max_charge_current__A", "min_discharge_current__A", '
        '"max_discharge_current__A", "start_current__A", "end_current__A"',
        "step_number = 2",
    )
    assert currents == (None, None, -1.0, -3.0, -1.0, -3.0)
    charged, discharged, charged_wh, records, max_gap, jump, auxiliary = one(
        summarised,
        "statistics_step",
        '"charge_capacity__Ah", "discharge_capacity__Ah", "charge_energy__Wh", num_records, "max_duration__s", '
        '"max_voltage_delta__V", auxiliary',
        "step_number = 1",
    )
    assert (charged, discharged, charged_wh, records, max_gap) == (0.014, 0.0, 0.045, 3, 20.0)
    assert jump == pytest.approx(0.15)
    assert auxiliary == {"temperature__C": 21.0}  # the first record's, by record order


def test_cycle_statistics(summarised: duckdb.DuckDBPyConnection) -> None:
    start, end, duration, charged, discharged, discharged_wh, records, v_start, v_end = one(
        summarised,
        "statistics_cycle",
        'start_time, end_time, "duration__s", "charge_capacity__Ah", "discharge_capacity__Ah", '
        '"discharge_energy__Wh", num_records, "start_voltage__V", "end_voltage__V"',
    )
    assert (start, end, duration) == (T0, T0 + timedelta(seconds=60), 60.0)
    assert (charged, discharged, discharged_wh, records) == (0.014, 0.019, 0.055, 5)
    assert (v_start, v_end) == (3.0, 2.9)
    step_avgs = summarised.execute(
        'select "time_averaged_current__A", "duration__s" from telemetry.pulse.statistics_step order by step_number'
    ).fetchall()
    weighted = sum(a * d for a, d in step_avgs) / sum(d for _, d in step_avgs)
    assert one(summarised, "statistics_cycle", '"time_averaged_current__A"')[0] == pytest.approx(weighted)


def test_summarise_again_replaces_rather_than_duplicates(summarised: duckdb.DuckDBPyConnection) -> None:
    statistics.summarise(summarised, [("dev", "test")])
    assert one(summarised, "statistics_step", "count(*)") == (2,)
    assert one(summarised, "statistics_cycle", "count(*)") == (1,)
