"""BDF importer: what no real test can be is repaired, flagged or refused by the documented rules (docs/bdf.md, "Bad
and odd input"), naming file, line and column; and an import that is stopped leaves nothing behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import PULSE, pulse_env
from tests.unit.bdf_support import import_error, import_ok, repair, rows, steps, table, telemetry, write_bdf

HEADER = "test_time_second,voltage_volt,current_ampere"


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse"


def durations(warehouse) -> list[float]:
    return [row[0] for row in telemetry(warehouse, '"duration__s"')]


def test_a_unix_time_among_test_times_is_set_between_its_neighbours(tmp_path, warehouse):
    text = table(HEADER, (0, 3.5, 0), (10, 3.5, 0), (1_330_000_000, 3.6, 1), (20, 3.6, 1), (30, 3.7, 1), (40, 3.7, 1))
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert durations(warehouse) == [0, 10, 5, 5, 10, 10]
    assert "jumps ahead at 1 single rows (first: line 4)" in repair(report, "time-spike")


def test_a_time_column_running_for_decades_is_rejected_naming_the_line(tmp_path, warehouse):
    text = table(HEADER, (0, 3.5, 0), (10, 3.5, 0), (1_330_000_000, 3.6, 1), (1_330_000_010, 3.6, 1))
    message = import_error(warehouse, write_bdf(tmp_path, text))
    assert "line 4, column 'test_time_second': value 1330000000.0 puts the record at 2067-" in message
    assert "42 years after the start, longer than any test runs (at most 10 years)" in message
    assert not (warehouse / "telemetry.duckdb").exists() or not rows(warehouse, "FROM telemetry.pulse.telemetry")


def test_records_after_now_are_rejected(tmp_path, warehouse):
    start = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    text = table(HEADER, (0, 3.5, 0), (3600, 3.5, 0), (3 * 86_400, 3.6, 1))
    message = import_error(warehouse, write_bdf(tmp_path, text), start_time=start)
    assert "line 4, column 'test_time_second'" in message and "in the future" in message


def test_rows_in_reverse_time_order_are_rejected(tmp_path, warehouse):
    text = table(HEADER, (50, 3.5, 0), (40, 3.5, 0), (30, 3.6, 1), (20, 3.6, 1), (10, 3.7, -1), (0, 3.7, -1))
    message = import_error(warehouse, write_bdf(tmp_path, text))
    assert "column 'test_time_second' goes down on 5 rows and up on 0 (first going down: line 3)" in message
    assert "Sort the file by test time" in message


def test_negative_time_is_rejected(tmp_path, warehouse):
    message = import_error(warehouse, write_bdf(tmp_path, table(HEADER, (-5, 3.5, 0), (5, 3.5, 0))))
    assert "line 2, column 'test_time_second': value '-5' is negative" in message


@pytest.mark.parametrize("column", ["voltage_volt", "current_ampere"])
def test_values_no_cycler_measures_are_rejected(tmp_path, warehouse, column):
    values = {"voltage_volt": (10, "1e308", 1), "current_ampere": (10, 3.5, "-1e308")}
    text = table(HEADER, (0, 3.5, 0), values[column], (20, 3.6, 1))
    message = import_error(warehouse, write_bdf(tmp_path, text))
    assert f"line 3, column '{column}': value " in message and "is beyond what a cycler measures" in message


def test_unusable_counter_values_count_as_empty_cells(tmp_path, warehouse):
    text = table(
        f"{HEADER},charging_capacity_ah",
        (0, 3.5, 1, 0.0),
        (1800, 3.6, 1, 0.5),
        (2700, 3.7, 1, "1e308"),
        (3600, 3.8, 1, 1.0),
    )
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert "column 'charging_capacity_ah' cannot be used (first: line 4, '1e308'" in repair(report, "unusable-value")
    assert steps(warehouse, '"charge_capacity__Ah"') == [(pytest.approx(1.0),)]  # the counter, without the bad value


def test_auxiliary_values_out_of_range_are_left_out(tmp_path, warehouse):
    text = table(f"{HEADER},temperature_t1_celsius", (0, 3.5, 0, 25.0), (10, 3.5, 0, "9e99"), (20, 3.6, 0, 25.5))
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert "1 values of column 'temperature_t1_celsius' are beyond 1e+12 (first: line 3" in repair(
        report, "out-of-range"
    )
    assert [row[0] for row in telemetry(warehouse, "auxiliary")] == [
        {"temperature__C": 25.0},
        {},
        {"temperature__C": 25.5},
    ]


def test_a_step_drawing_current_for_no_time_does_not_open_a_cycle(tmp_path, warehouse):
    # Shaped like a pseudo-OCV recording: its first record draws a discharge current at 0 s, then the cell rests,
    # charges and discharges. The 0 s "discharge" must not become cycle 1.
    text = table(
        HEADER,
        (0, 3.0, -0.1),
        (10, 3.0, 0),
        (20, 3.0, 0),
        (30, 3.5, 0.1),
        (40, 4.0, 0.1),
        (50, 3.5, -0.1),
        (60, 3.0, -0.1),
    )
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert steps(warehouse, "step_type, cycle_number") == [("Rest", 1), ("Charge", 1), ("Discharge", 1)]
    assert "1 steps draw current for 0 s (every record at the time of the one before; first: line 2)" in repair(
        report, "instant-step"
    )


def test_a_step_at_the_time_of_the_record_before_is_merged_into_the_next(tmp_path, warehouse):
    text = table(
        f"{HEADER},step_id",
        (0, 3.5, 0, 1),
        (10, 3.5, 0, 1),
        (10, 3.6, 1, 2),
        (10, 3.6, -1, 3),
        (20, 3.6, -1, 3),
        (30, 3.5, -1, 3),
    )
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert steps(warehouse, "step_type") == [("Rest",), ("Discharge",)]
    assert "first: line 4)" in repair(report, "instant-step")


def nominal_sidecar(path, capacity: float) -> None:
    path.with_name(path.name.removesuffix(".bdf.csv") + ".yaml").write_text(
        f"part:\n  nominal_capacity__ah: {capacity}\n"
    )


def test_charge_far_beyond_the_nominal_capacity_is_flagged(tmp_path, warehouse):
    path = write_bdf(tmp_path, table(HEADER, (0, 3.5, 0), (10, 3.5, 0), (3610, 4.0, 2.0), (3620, 4.0, 0)))
    nominal_sidecar(path, 0.2)  # 2 Ah charged: ten times a 0.2 Ah cell (a current in mA written as A looks so)
    report = import_ok(warehouse, path)
    assert len(report.flags) == 1
    assert report.flags[0].startswith(
        "capacity-beyond-nominal: 1 steps move more than 5 times the part's nominal "
        "capacity of 0.2 Ah (first: step 2 from line 4, 2 Ah, 10 times)"
    )
    assert "flagged:  capacity-beyond-nominal" in report.summary()
    assert len(telemetry(warehouse, "record_number")) == 4  # imported as written


def test_charge_within_the_nominal_capacity_is_not_flagged(tmp_path, warehouse):
    path = write_bdf(tmp_path, table(HEADER, (0, 3.5, 0), (10, 3.5, 0), (3610, 4.0, 2.0), (3620, 4.0, 0)))
    nominal_sidecar(path, 2.1)
    assert import_ok(warehouse, path).flags == []


def test_any_mix_of_restarts_and_glitches_leaves_time_non_decreasing(tmp_path, warehouse):
    # Large, fractional times (as a cycler writes after months) with clock restarts, glitches and spikes at random:
    # the sums of the time rules must never produce a record earlier than the one before it.
    generator = random.Random(7)
    times, now = [], 3.0e7 + 0.123456789
    for _ in range(5000):
        now += generator.uniform(0.1, 30.0)
        fault = generator.random()
        if fault < 0.01:
            now = generator.uniform(0, 100) + 0.1 / 3  # the clock restarts
        times.append(now + 1.0e8 if 0.01 <= fault < 0.015 else max(now - 1.0e3, 0.0) if 0.015 <= fault < 0.02 else now)
    text = table(HEADER, *((t, 3.0 + index / 10_000, 0) for index, t in enumerate(times)))
    import_ok(warehouse, write_bdf(tmp_path, text), start_time=datetime(2020, 1, 1))
    stamps = [row[0] for row in telemetry(warehouse, '"timestamp"')]
    assert len(stamps) == 5000 and stamps == sorted(stamps)
    assert min(durations(warehouse)) >= 0


def big_file(folder, rows_count: int):
    lines = [HEADER] + [
        f"{index},{3.0 + (index % 1000) / 1000:.3f},{1.0 if index % 2000 < 1000 else -1.0}"
        for index in range(rows_count)
    ]
    return write_bdf(folder, "\n".join(lines))


def wait_for_spill(warehouse, pid: int, process: subprocess.Popen) -> None:
    spill = warehouse / ".import-spill" / str(pid)
    while not spill.is_dir():
        assert process.poll() is None, "the import ended before its spill folder was seen"
        time.sleep(0.05)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_stopped_import_leaves_no_spill_folder(tmp_path, warehouse, stop):
    path = big_file(tmp_path / "files", 2_000_000)
    env = pulse_env(warehouse)
    process = subprocess.Popen(
        [PULSE, "import-bdf", str(path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wait_for_spill(warehouse, process.pid, process)
    os.kill(process.pid, stop)
    process.communicate(timeout=120)
    left = warehouse / ".import-spill" / str(process.pid)
    if stop == signal.SIGTERM:
        assert not left.exists(), "SIGTERM runs the import's cleanup"
        return
    assert left.is_dir()  # nothing can clean up after SIGKILL in the process itself: the next import does
    small = write_bdf(tmp_path / "small", table(HEADER, (0, 3.5, 0), (10, 3.6, 1)), name="LAB__b__2025-01-15__x.csv")
    result = subprocess.run([PULSE, "import-bdf", str(small)], env=env, capture_output=True, text=True, check=True)
    assert not left.exists()
    assert f"removed {left}" in result.stderr and "left by an import that was stopped" in result.stderr
    assert rows(warehouse, "SELECT count(*) FROM telemetry.pulse.telemetry") == [(2,)]  # the killed one wrote nothing
