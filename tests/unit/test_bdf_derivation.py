"""BDF importer: every derivation and repair rule of docs/bdf.md, on small hand-made files with known answers."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.unit.bdf_support import import_error, import_ok, repair, rows, steps, table, telemetry, write_bdf


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse"


def test_steps_from_step_index_and_types_from_current(tmp_path, warehouse):
    text = table(
        "test_time_second,voltage_volt,current_ampere,step_index",
        (0, 3.5, 0, 1),
        (10, 3.5, 0, 1),
        (20, 3.6, 1.0, 2),
        (30, 3.7, 1.0, 2),
        (40, 3.65, -1.0, 3),
        (50, 3.55, -1.0, 3),
    )
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert (report.records, report.steps, report.cycles) == (6, 3, 1)
    assert telemetry(warehouse, "step_number, step_type, step_id, cycle_number") == [
        (1, "Rest", 0, 1),
        (1, "Rest", 0, 1),
        (2, "Charge", 1, 1),
        (2, "Charge", 1, 1),
        (3, "Discharge", 2, 1),
        (3, "Discharge", 2, 1),
    ]
    assert "steps: a new step where step_index (the program's step) changes" in report.derivations


def test_capacities_and_energies_integrated_by_the_documented_rule(tmp_path, warehouse):
    text = table(
        "test_time_second,voltage_volt,current_ampere,step_index",
        (0, 3.5, 0, 1),
        (10, 3.5, 0, 1),
        (20, 3.6, 1.0, 2),
        (30, 3.7, 1.0, 2),
        (40, 3.65, -1.0, 3),
        (50, 3.55, -1.0, 3),
    )
    import_ok(warehouse, write_bdf(tmp_path, text))
    # The first record of a step counts its own current over the 10 s since the previous record; then trapezoids.
    charge, discharge = 20 / 3600, 20 / 3600
    charge_energy = 10 / 3600 * 3.6 + 10 / 3600 * (3.6 + 3.7) / 2
    discharge_energy = 10 / 3600 * 3.65 + 10 / 3600 * (3.65 + 3.55) / 2
    measured = steps(
        warehouse,
        '"charge_capacity__Ah", "discharge_capacity__Ah", "charge_energy__Wh", '
        '"discharge_energy__Wh", "duration__s", num_records',
    )
    assert measured[1][:4] == pytest.approx((charge, 0, charge_energy, 0))
    assert measured[2][:4] == pytest.approx((0, discharge, 0, discharge_energy))
    assert [step[5] for step in measured] == [2, 2, 2]


def test_one_hour_at_two_amperes_is_two_ampere_hours(tmp_path, warehouse):
    records = [(0, 3.4, 0, 1)] + [(seconds, 3.5 + seconds / 36000, 2.0, 2) for seconds in range(10, 3601, 10)]
    import_ok(
        warehouse, write_bdf(tmp_path, table("test_time_second,voltage_volt,current_ampere,step_index", *records))
    )
    assert steps(warehouse, '"charge_capacity__Ah"')[1] == (pytest.approx(2.0),)
    assert telemetry(warehouse, '"step_duration__s"')[-1] == (3600.0,)  # the step began where the rest ended


def test_differential_capacity_where_voltage_changes(tmp_path, warehouse):
    text = table("test_time_second,voltage_volt,current_ampere", (0, 3.50, 1.0), (36, 3.60, 1.0), (72, 3.60, 1.0))
    import_ok(warehouse, write_bdf(tmp_path, text))
    assert telemetry(warehouse, '"differential_capacity_charged__Ah_V", "differential_capacity_discharged__Ah_V"') == [
        (None, None),
        (pytest.approx(0.01 / 0.10), None),
        (None, None),
    ]


def test_steps_from_current_sign_when_the_file_has_no_step_column(tmp_path, warehouse):
    currents = [0, 0, 2, 2, 2, 0.0001, -2, -2, 0, 2, 2, -2]  # 0.1 mA is rest: below 0.1 % of the largest current
    text = table("test_time_second,voltage_volt,current_ampere", *((10 * i, 3.6, a) for i, a in enumerate(currents)))
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert steps(warehouse, "step_type, cycle_number, num_records") == [
        ("Rest", 1, 2),
        ("Charge", 1, 3),
        ("Rest", 1, 1),
        ("Discharge", 1, 2),
        ("Rest", 1, 1),
        ("Charge", 2, 2),
        ("Discharge", 2, 1),
    ]
    assert any("no step column" in line for line in report.derivations)
    assert any(
        "a cycle starts at each charge step that follows a discharge step" in line for line in report.derivations
    )


def test_cycles_of_a_file_that_starts_with_a_discharge(tmp_path, warehouse):
    currents = [0, -1, -1, 0, 1, 1, 0, -1]
    text = table("test_time_second,voltage_volt,current_ampere", *((10 * i, 1.0, a) for i, a in enumerate(currents)))
    import_ok(warehouse, write_bdf(tmp_path, text))
    assert steps(warehouse, "step_type, cycle_number") == [
        ("Rest", 1),
        ("Discharge", 1),
        ("Rest", 1),
        ("Charge", 1),
        ("Rest", 1),
        ("Discharge", 2),
    ]


def test_step_count_and_cycle_count_changes_start_steps(tmp_path, warehouse):
    text = table(
        "test_time_second,voltage_volt,current_ampere,step_count,step_index,cycle_count",
        (0, 3.5, 1, 1, 2, 1),
        (10, 3.6, 1, 1, 2, 1),
        (20, 3.7, 1, 2, 2, 1),  # step_count: a repeated index
        (30, 3.6, -1, 3, 3, 1),
        (40, 3.5, 1, 3, 3, 2),  # cycle_count changes inside a step
        (50, 3.4, -1, 4, 3, 2),
    )
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert telemetry(warehouse, "step_number, cycle_number") == [(1, 1), (1, 1), (2, 1), (3, 1), (4, 2), (5, 2)]
    assert "cycles: cycle_count as written by the cycler" in report.derivations


def test_capacity_from_a_changing_current_holds_each_records_current_over_the_interval_before_it(tmp_path, warehouse):
    # A ramp: 1 A held for the 10 s before the second record, 2 A for the 10 s before the third. Sample-and-hold on
    # the right gives 30 As; the trapezoid would give 20 As, the left rule 10 As (docs/bdf.md, which rule, measured).
    text = table(
        "test_time_second,voltage_volt,current_ampere", (0, 3.5, 0.0), (10, 3.6, 1.0), (20, 3.7, 2.0), (30, 3.7, 0.0)
    )
    import_ok(warehouse, write_bdf(tmp_path, text), start_time=datetime(2025, 1, 1))
    charged = [row[0] for row in telemetry(warehouse, '"capacity_charged__Ah"')]
    assert charged == pytest.approx([0, 10 / 3600, 20 / 3600, 0])


def test_cycle_count_is_kept_as_written(tmp_path, warehouse):
    text = table(
        "test_time_second,voltage_volt,current_ampere,cycle_count",
        (0, 3.5, 1, 7),
        (5, 3.55, 1, 7),
        (10, 3.6, -1, 7),
        (20, 3.5, 1, 8),
        (30, 3.6, -1, 8),
    )
    import_ok(warehouse, write_bdf(tmp_path, text))
    assert steps(warehouse, "step_type, cycle_number") == [
        ("Charge", 7),
        ("Discharge", 7),
        ("Charge", 8),
        ("Discharge", 8),
    ]


def test_constant_cycle_count_over_several_cycles_is_replaced_and_reported(tmp_path, warehouse):
    text = table(
        "test_time_second,voltage_volt,current_ampere,cycle_count",
        (0, 3.5, 1, 1),
        (5, 3.55, 1, 1),
        (10, 3.6, -1, 1),
        (20, 3.5, 1, 1),
        (30, 3.6, -1, 1),
    )
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert steps(warehouse, "cycle_number") == [(1,), (1,), (2,), (2,)]
    assert "the steps hold 2 charge/discharge cycles" in repair(report, "cycle-constant")


def test_constant_cycle_count_of_a_single_cycle_is_kept(tmp_path, warehouse):
    text = table(
        "test_time_second,voltage_volt,current_ampere,cycle_count", (0, 3.5, 1, 5), (5, 3.55, 1, 5), (10, 3.6, -1, 5)
    )
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert steps(warehouse, "cycle_number") == [(5,), (5,)]
    assert not report.repairs


def test_decreasing_cycle_count_is_replaced_and_reported(tmp_path, warehouse):
    text = table(
        "test_time_second,voltage_volt,current_ampere,cycle_count",
        (0, 3.5, 1, 1),
        (5, 3.55, 1, 1),
        (10, 3.6, -1, 1),
        (20, 3.5, 1, 2),
        (30, 3.6, -1, 2),
        (40, 3.5, 1, 1),
        (50, 3.6, -1, 1),
    )
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert steps(warehouse, "cycle_number") == [(1,), (1,), (2,), (2,), (3,), (3,)]
    assert "goes down 1 times (first: line 7)" in repair(report, "cycle-decreasing")


def test_a_single_row_out_of_time_order_is_set_between_its_neighbours(tmp_path, warehouse):
    # The Neware time bug: the first row of a step carries 0 s, the next one continues the test time.
    text = table(
        "test_time_second,voltage_volt,current_ampere",
        (0, 3.5, 0),
        (10, 3.5, 0),
        (20, 3.5, 0),
        (0, 3.6, 1),
        (20.5, 3.6, 1),
        (30, 3.7, 1),
    )
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert [row[0] for row in telemetry(warehouse, '"duration__s"')] == [0, 10, 10, 0.25, 0.25, 9.5]
    assert "at 1 single rows (first: line 5)" in repair(report, "time-glitch")


def test_an_out_of_order_last_row_takes_the_time_before_it(tmp_path, warehouse):
    text = table("test_time_second,voltage_volt,current_ampere", (0, 3.5, 0), (10, 3.5, 0), (5, 3.5, 0))
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert [row[0] for row in telemetry(warehouse, '"duration__s"')] == [0, 10, 0]
    assert "first: line 4" in repair(report, "time-glitch")


def test_a_restarted_clock_continues_from_the_row_before(tmp_path, warehouse):
    text = table(
        "test_time_second,voltage_volt,current_ampere",
        (0, 3.5, 0),
        (10, 3.5, 0),
        (20, 3.5, 0),
        (0, 3.6, 1),
        (10, 3.6, 1),
        (20, 3.7, 1),
    )
    report = import_ok(warehouse, write_bdf(tmp_path, text), start_time=datetime(2025, 1, 1))
    stamps = [row[0] for row in telemetry(warehouse, '"timestamp"')]
    assert [(stamp - stamps[0]).total_seconds() for stamp in stamps] == [0, 10, 20, 20, 30, 40]
    assert "restarts 1 times (first: line 5)" in repair(report, "time-restart")
    assert not [line for line in report.repairs if line.startswith("repeated-time")]


def test_repeated_times_are_kept_with_zero_duration_and_reported(tmp_path, warehouse):
    text = table("test_time_second,voltage_volt,current_ampere", (0, 3.5, 1), (10, 3.6, 1), (10, 3.7, 1))
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert [row[0] for row in telemetry(warehouse, '"duration__s"')] == [0, 10, 0]
    assert "1 rows have the time of the row before (first: line 4)" in repair(report, "repeated-time")


def test_duplicated_rows_are_dropped_and_reported(tmp_path, warehouse):
    records = [(0, 3.5, 1), (10, 3.6, 1), (10, 3.6, 1), (20, 3.7, 1)]
    report = import_ok(warehouse, write_bdf(tmp_path, table("test_time_second,voltage_volt,current_ampere", *records)))
    assert report.rows_read == 4 and report.records == 3
    assert "1 rows repeat an earlier row in every column (first: line 4 repeats line 3)" in repair(
        report, "duplicate-row"
    )


def test_a_file_written_twice_over_imports_once(tmp_path, warehouse):
    records = [(10 * i, 3.5 + i / 100, 1) for i in range(5)]
    path = write_bdf(tmp_path, table("test_time_second,voltage_volt,current_ampere", *records, *records))
    report = import_ok(warehouse, path)
    assert report.records == 5
    assert "5 rows repeat an earlier row in every column (first: line 7 repeats line 2)" in repair(
        report, "duplicate-row"
    )
    assert not [line for line in report.repairs if line.startswith("time-")]


def test_timestamps_from_unix_time(tmp_path, warehouse):
    text = table(
        "test_time_second,voltage_volt,current_ampere,unix_time_second",
        (0.5, 3.5, 0, 1700000000.5),
        (10.5, 3.5, 0, 1700000010.5),
    )
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert telemetry(warehouse, '"timestamp"') == [
        (datetime(2023, 11, 14, 22, 13, 20, 500000),),
        (datetime(2023, 11, 14, 22, 13, 30, 500000),),
    ]
    assert "timestamps: start from the first unix_time_second, then + test_time_second" in report.derivations


def test_start_time_option_wins_and_is_converted_to_utc(tmp_path, warehouse):
    text = table("test_time_second,voltage_volt,current_ampere,unix_time_second", (0, 3.5, 0, 1700000000))
    from pulse_analytics.bdf import parse_start_time

    import_ok(warehouse, write_bdf(tmp_path, text), start_time=parse_start_time("2025-02-01T10:00:00+01:00", "test"))
    assert telemetry(warehouse, '"timestamp"') == [(datetime(2025, 2, 1, 9, 0),)]


def test_start_from_the_date_in_the_file_name(tmp_path, warehouse):
    report = import_ok(
        warehouse, write_bdf(tmp_path, table("test_time_second,voltage_volt,current_ampere", (60, 3.5, 0)))
    )
    assert telemetry(warehouse, '"timestamp"') == [(datetime(2025, 1, 15, 0, 1),)]
    assert any("from the date in the file name" in line for line in report.derivations)


def test_no_start_time_anywhere_is_rejected_with_what_to_do(tmp_path, warehouse):
    path = write_bdf(tmp_path, table("test_time_second,voltage_volt,current_ampere", (0, 3.5, 0)), "cell7.bdf.csv")
    message = import_error(warehouse, path)
    assert f"{path}: no start time" in message and "--start-time" in message and "cell7.yaml" in message


def per_step_counter_file() -> str:
    """Counters that restart at every step (like the Landt file), with two cycles."""
    return table(
        "test_time_second,voltage_volt,current_ampere,step_index,charging_capacity_ah,discharging_capacity_ah",
        (0, 3.0, 0, 1, 0, 0),
        (10, 3.0, 0, 1, 0, 0),
        (20, 3.5, 2, 2, 0.004, 0),
        (30, 3.8, 2, 2, 0.0095, 0),
        (40, 4.0, 2, 2, 0.015, 0),
        (50, 3.9, -2, 3, 0, 0.005),
        (60, 3.6, -2, 3, 0, 0.011),
        (70, 3.2, -2, 3, 0, 0.0165),
        (80, 3.5, 2, 2, 0.0052, 0),
        (90, 3.9, 2, 2, 0.0104, 0),
        (100, 3.7, -2, 3, 0, 0.0049),
        (110, 3.1, -2, 3, 0, None),
        (120, 3.0, -2, 3, 0, 0.0101),
    )


def test_summed_step_capacities_equal_counters_that_restart_every_step(tmp_path, warehouse):
    report = import_ok(warehouse, write_bdf(tmp_path, per_step_counter_file()))
    assert steps(warehouse, 'step_type, "charge_capacity__Ah", "discharge_capacity__Ah"') == [
        ("Rest", 0, 0),
        ("Charge", pytest.approx(0.015), 0),
        ("Discharge", 0, pytest.approx(0.0165)),
        ("Charge", pytest.approx(0.0104), 0),
        ("Discharge", 0, pytest.approx(0.0101)),
    ]
    totals = rows(
        warehouse,
        'SELECT sum("charge_capacity__Ah"), sum("discharge_capacity__Ah") FROM telemetry.pulse.statistics_cycle',
    )
    assert totals == [(pytest.approx(0.015 + 0.0104), pytest.approx(0.0165 + 0.0101))]
    assert "1 empty cells in discharging_capacity_ah (first: line 13)" in repair(report, "empty-cell")
    assert any("from the cycler's charging_capacity_ah" in line for line in report.derivations)


def test_summed_step_capacities_equal_counters_that_run_over_the_whole_test(tmp_path, warehouse):
    text = table(
        "test_time_second,voltage_volt,current_ampere,charging_capacity_ah,discharging_capacity_ah,"
        "charging_energy_wh,discharging_energy_wh",
        (0, 3.0, 0, 1.0, 2.0, 3.0, 6.0),  # counters carried over from an earlier file: a baseline
        (10, 3.5, 2, 1.2, 2.0, 3.7, 6.0),
        (20, 3.9, 2, 1.5, 2.0, 4.8, 6.0),
        (30, 3.6, -2, 1.5, 2.25, 4.8, 6.9),
        (40, 3.2, -2, 1.5, 2.4, 4.8, 7.4),
    )
    import_ok(warehouse, write_bdf(tmp_path, text))
    measured = steps(
        warehouse,
        'step_type, "charge_capacity__Ah", "discharge_capacity__Ah", "charge_energy__Wh", "discharge_energy__Wh"',
    )
    assert [step[0] for step in measured] == ["Rest", "Charge", "Discharge"]
    assert [step[1:] for step in measured] == [
        (0, 0, 0, 0),
        pytest.approx((0.5, 0, 1.8, 0)),
        pytest.approx((0, 0.4, 0, 1.4)),
    ]
    assert telemetry(warehouse, '"capacity_charged__Ah"') == [
        (0,),
        (pytest.approx(0.2),),
        (pytest.approx(0.3),),
        (0,),
        (0,),
    ]


def test_power_from_the_file_else_voltage_times_current(tmp_path, warehouse):
    text = table("test_time_second,voltage_volt,current_ampere,power_watt", (0, 3.5, 2, 7.1), (10, 3.5, 2, None))
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert telemetry(warehouse, '"power__W"') == [(7.1,), (7.0,)]
    assert "power = voltage x current on those rows" in repair(report, "empty-cell")


def test_statistics_are_summarised_per_step_and_cycle(tmp_path, warehouse):
    import_ok(warehouse, write_bdf(tmp_path, per_step_counter_file()))
    cycles = rows(
        warehouse,
        'SELECT cycle_number, num_records, round("charge_capacity__Ah", 6), '
        'round("discharge_capacity__Ah", 6) FROM telemetry.pulse.statistics_cycle ORDER BY 1',
    )
    assert cycles == [(1, 8, 0.015, 0.0165), (2, 5, 0.0104, 0.0101)]
