"""DC internal resistance at step edges against values computed by hand, on a hand-made warehouse built by the real
`pulse build`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pulse_analytics import warehouse
from tests.conftest import Warehouse
from tests.integration.hand_made import START, built, insert_row, source_tables

# step -> (step type, [(seconds from START, voltage, current)]) of one cycle of one test.
STEPS = {
    1: ("Rest", [(t, 3.70, 0.0) for t in range(0, 61, 10)]),
    # 2 A drawn: the first record 10 s or more past the rest's last (60 s) is at 70 s: (3.59 - 3.70) / (-2 - 0).
    2: ("Discharge", [(61, 3.60, -2.0), (65, 3.595, -2.0), (70, 3.59, -2.0), (120, 3.50, -2.0)]),
    # The load ends: read at 135 s (the first record 10 s past 120 s, 15 s after it): (3.57 - 3.50) / (0 - -2).
    3: ("Rest", [(125, 3.56, 0.0), (135, 3.57, 0.0), (200, 3.60, 0.0)]),
    # A charge whose first record comes 200 s after the rest's last: too late to read a resistance (over 120 s).
    4: ("Charge", [(400, 3.75, 1.0), (410, 4.20, 1.0)]),
    # Constant current to constant voltage: the current changes by 10 %, not an edge.
    5: ("Charge", [(420, 4.20, 0.9), (430, 4.20, 0.5)]),
}
EXPECTED = {  # step -> (type, resistance (Ohm), read after (s), voltage before, current before)
    2: ("Discharge", (3.59 - 3.70) / (-2.0 - 0.0), 10.0, 3.70, 0.0),
    3: ("Rest", (3.57 - 3.50) / (0.0 + 2.0), 15.0, 3.50, -2.0),
}


def build(directory: Path) -> Warehouse:
    with source_tables(directory) as (connection, tables):
        keys = {"device_id": "dev-r", "test_id": "test-r", "cycle_number": 1}
        record = 0
        with warehouse.transaction(connection):
            for step, (step_type, records) in STEPS.items():
                for seconds, volts, amps in records:
                    record += 1
                    when = START + timedelta(seconds=seconds)
                    insert_row(
                        connection,
                        tables["telemetry"],
                        {
                            **keys,
                            "step_number": step,
                            "step_type": step_type,
                            "record_number": record,
                            "timestamp": when,
                            "voltage__V": volts,
                            "current__A": amps,
                        },
                    )
                (first_s, first_v, first_a), (last_s, last_v, last_a) = records[0], records[-1]
                insert_row(
                    connection,
                    tables["statistics_step"],
                    {
                        **keys,
                        "step_number": step,
                        "step_type": step_type,
                        "start_time": START + timedelta(seconds=first_s),
                        "end_time": START + timedelta(seconds=last_s),
                        "start_voltage__V": first_v,
                        "end_voltage__V": last_v,
                        "start_current__A": first_a,
                        "end_current__A": last_a,
                    },
                )
            insert_row(connection, tables["statistics_cycle"], {**keys, "start_time": START})
        with warehouse.transaction(connection):
            insert_row(connection, tables["part_metadata"], {"part_id": "cell-r"})
            insert_row(
                connection, tables["device_test_part"], {"device_id": "dev-r", "test_id": "test-r", "part_id": "cell-r"}
            )
    return built(directory)


@pytest.fixture(scope="module")
def resistances(tmp_path_factory: pytest.TempPathFactory, dbt_target: str) -> dict[int, tuple]:
    if dbt_target != "duckdb":
        pytest.skip("the hand-made input is written to the DuckDB catalog files; on Trino the demo-data suite runs")
    built = build(tmp_path_factory.mktemp("resistance"))
    rows = built.query(
        f"select step_number, step_type, resistance__ohm, resistance_time__s, voltage_before__v, current_before__a, "
        f"part_id, part_cycle_number from {built.view('step_resistances')}"
    )
    return {row[0]: row[1:] for row in rows}


def test_resistance_is_read_at_load_edges_10_s_after(resistances: dict[int, tuple]) -> None:
    assert sorted(resistances) == sorted(EXPECTED)  # not the first step, a late reading, nor a CC-CV hand-over
    for step, (step_type, ohms, seconds, volts, amps) in EXPECTED.items():
        assert resistances[step][0] == step_type
        assert resistances[step][1:5] == pytest.approx((ohms, seconds, volts, amps)), step
        assert resistances[step][5:] == ("cell-r", 1)
