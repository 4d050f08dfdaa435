"""Voltage curves and dQ/dV against analytic cases (a voltage linear in capacity, a plateau) and the cycle's cell
temperature against values computed by hand, on a hand-made warehouse built by the real `pulse build`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pulse_analytics import warehouse
from tests.conftest import Warehouse
from tests.integration.hand_made import START, built, insert_row, source_tables

STEP_AH = 0.001  # capacity per record
# The charge: V = 3.0005 + Q (1 V per Ah) over 1 Ah, 1,000 records; dQ/dV is 1 Ah/V everywhere.
CHARGE = [3.0005 + STEP_AH * k for k in range(1, 1001)]
# The discharge: V = 4.0005 - Q down to 3.7005 (0.3 Ah), a plateau at 3.7005 V for 0.5 Ah, then V = 3.7005 - (Q - 0.8)
# down to 3.0005 (0.7 Ah): 1.5 Ah in 1,500 records. The plateau's bin [3.70, 3.71) holds 0.5 Ah, plus 0.0095 Ah of
# the line above it and 0.0005 Ah of the line below: 0.51 Ah, dQ/dV 51 Ah/V against 1 Ah/V around it.
DISCHARGE = (
    [4.0005 - STEP_AH * k for k in range(1, 301)] + [3.7005] * 500 + [3.7005 - STEP_AH * k for k in range(1, 701)]
)


# Cell temperature (auxiliary temperature__C): 20 °C at the first rest, 25 °C through the charge (1 s per record),
# none at the second rest, 30 °C through the discharge (2 s per record). Time-averaged over the cycle:
MEAN_TEMPERATURE = (20 * 1 + 25 * 1000 * 1 + 30 * 1500 * 2) / (1 + 1000 + 1500 * 2)


def records() -> list[dict[str, object]]:
    """A rest at 3.0005 V, the charge, a rest, the discharge: one cycle of one test."""
    rows: list[dict[str, object]] = [
        {"step_number": 1, "step_type": "Rest", "voltage__V": 3.0005, "duration__s": 1, "temperature": 20.0}
    ]
    rows += [
        {
            "step_number": 2,
            "step_type": "Charge",
            "voltage__V": volts,
            "current__A": 3.6,
            "duration__s": 1,
            "capacity_charged__Ah": STEP_AH,
            "temperature": 25.0,
        }
        for volts in CHARGE
    ]
    rows += [{"step_number": 3, "step_type": "Rest", "voltage__V": 4.0005, "duration__s": 1, "temperature": None}]
    rows += [
        {
            "step_number": 4,
            "step_type": "Discharge",
            "voltage__V": volts,
            "current__A": -3.6,
            "duration__s": 2,
            "capacity_discharged__Ah": STEP_AH,
            "temperature": 30.0,
        }
        for volts in DISCHARGE
    ]
    keys = {"device_id": "dev-1", "test_id": "test-1", "cycle_number": 1}
    return [
        {**keys, **row, "record_number": number, "timestamp": START + timedelta(seconds=number)}
        for number, row in enumerate(rows, start=1)
    ]


def build(directory: Path) -> Warehouse:
    with source_tables(directory) as (connection, tables):
        keys = {"device_id": "dev-1", "test_id": "test-1", "cycle_number": 1}
        with warehouse.transaction(connection):
            temperatures = {}  # step -> its records' temperature
            for row in records():
                temperatures[row["step_number"]] = row.pop("temperature")
                insert_row(connection, tables["telemetry"], row)
            for step, temperature in temperatures.items():
                if temperature is not None:
                    connection.execute(
                        f"update {tables['telemetry']} set auxiliary = map(['temperature__C'], [?]) "
                        f"where step_number = ?",
                        [temperature, step],
                    )
            for step in (1, 2, 3, 4):
                insert_row(connection, tables["statistics_step"], {**keys, "step_number": step, "start_time": START})
            insert_row(
                connection,
                tables["statistics_cycle"],
                {**keys, "start_time": START, "charge_capacity__Ah": 1.0, "discharge_capacity__Ah": 1.5},
            )
        with warehouse.transaction(connection):
            insert_row(connection, tables["device_metadata"], {"device_id": "dev-1"})
            insert_row(connection, tables["part_metadata"], {"part_id": "cell-1"})
            insert_row(
                connection, tables["device_test_part"], {"device_id": "dev-1", "test_id": "test-1", "part_id": "cell-1"}
            )
    return built(directory)


@pytest.fixture(scope="module")
def curves(tmp_path_factory: pytest.TempPathFactory, dbt_target: str) -> Warehouse:
    if dbt_target != "duckdb":
        pytest.skip("the hand-made input is written to the DuckDB catalog files; on Trino the demo-data suite runs")
    return build(tmp_path_factory.mktemp("voltage-curves"))


def test_a_linear_charge_keeps_its_line_in_100_capacity_slices(curves: Warehouse) -> None:
    rows = curves.query(
        f"select curve_point, records, capacity__ah, voltage__v, part_id, part_cycle_number, curve_overlay "
        f"from {curves.view('cycle_voltage_curves')} where direction = 'charge' order by curve_point"
    )
    assert [row[0] for row in rows] == list(range(100))  # every slice of the 1 Ah holds records
    assert sum(row[1] for row in rows) == len(CHARGE)  # the charge's records, the rests' none
    for _, _, capacity, volts, *_ in rows:
        assert volts == pytest.approx(3.0005 + capacity, abs=1e-9)  # mean of a line = the line at the mean
    assert rows[-1][2] == pytest.approx(0.9955, abs=1e-3) and rows[0][2] == pytest.approx(0.0055, abs=1e-3)
    assert {row[4:] for row in rows} == {("cell-1", 1, "first and last")}  # the part's one cycle


def test_the_discharge_plateau_holds_its_capacity_in_few_slices(curves: Warehouse) -> None:
    rows = curves.query(
        f"select curve_point, records, capacity__ah, voltage__v from {curves.view('cycle_voltage_curves')} "
        f"where direction = 'discharge' order by curve_point"
    )
    assert sum(row[1] for row in rows) == len(DISCHARGE) and len(rows) == 100
    on_plateau = [row for row in rows if row[3] == pytest.approx(3.7005)]
    assert sum(row[1] for row in on_plateau) >= 490  # a third of the slices: slices by capacity, not by voltage
    assert [row[3] for row in rows] == sorted((row[3] for row in rows), reverse=True)  # discharge: voltage falls


def incremental_capacity(warehouse_under_test: Warehouse, direction: str) -> dict[float, tuple[float, float]]:
    rows = warehouse_under_test.query(
        f"select voltage__v, incremental_capacity__ah_v, smoothed_incremental_capacity__ah_v "
        f"from {warehouse_under_test.view('cycle_incremental_capacity')} where direction = '{direction}'"
    )
    return {round(volts, 3): (raw, smoothed) for volts, raw, smoothed in rows}


def test_a_voltage_linear_in_capacity_gives_a_constant_dq_dv(curves: Warehouse) -> None:
    bins = incremental_capacity(curves, "charge")
    # From the rest's 3.0005 V to 4.0005 V: bins 3.005 .. 3.995 whole, 4.005 (the cut-off) left out.
    assert sorted(bins) == [round(3.005 + 0.01 * index, 3) for index in range(100)]
    interior = [bins[volts] for volts in bins if 3.03 < volts < 3.97]
    assert all(raw == pytest.approx(1.0) and smoothed == pytest.approx(1.0) for raw, smoothed in interior)
    assert bins[3.005][0] == pytest.approx(0.95)  # the first bin: 3.0005 .. 3.01 V, 0.0095 Ah
    assert bins[3.005][1] == pytest.approx((0.0095 + 2 * 0.01) / 0.05)  # two bins below it are empty


def test_a_plateau_gives_a_peak_at_its_voltage(curves: Warehouse) -> None:
    bins = incremental_capacity(curves, "discharge")
    peak = max(bins, key=lambda volts: bins[volts][0])
    assert peak == 3.705
    assert bins[3.705][0] == pytest.approx(51.0)  # 0.51 Ah in a 0.01 V bin
    assert bins[3.705][1] == pytest.approx((0.51 + 4 * 0.01) / 0.05)  # smoothed over five bins: 11 Ah/V
    assert bins[3.695][0] == pytest.approx(1.0) and bins[3.715][0] == pytest.approx(1.0)
    assert min(bins) == 3.015  # the cut-off bin (3.00-3.01 V, the discharge's lowest) is left out


def test_cycle_temperature_is_time_averaged_between_its_extremes(curves: Warehouse) -> None:
    rows = curves.query(
        f"select part_id, part_cycle_number, temperature_records, min_temperature__c, mean_temperature__c, "
        f"max_temperature__c from {curves.view('cycle_temperatures')}"
    )
    assert len(rows) == 1
    part, part_cycle, readings, lowest, mean, highest = rows[0]
    assert (part, part_cycle, readings, lowest, highest) == ("cell-1", 1, 1 + 1000 + 1500, 20.0, 30.0)
    assert mean == pytest.approx(MEAN_TEMPERATURE)  # 28.75, not the plain mean of the readings (28.0)
    per_record = curves.query(
        f"select step_number, count(*), count(temperature__c), min(temperature__c), max(temperature__c) "
        f"from {curves.view('test_telemetry')} group by step_number order by step_number"
    )
    assert per_record == [
        (1, 1, 1, 20.0, 20.0),
        (2, 1000, 1000, 25.0, 25.0),
        (3, 1, 0, None, None),
        (4, 1500, 1500, 30.0, 30.0),
    ]
