"""The Battery Data Format as it stands (vocabulary 1.3.0): step_id is the program's step, step_record_index the record
within a step, step_type the cycler's label of the step; names of earlier versions still import where their meaning is
unambiguous, and where it is not the importer says which reading it took."""

from __future__ import annotations

import json

import pytest

from tests.unit.bdf_support import import_ok, rows, steps, telemetry, write_bdf


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse"


def table(header: str, *records: tuple) -> str:
    return "\n".join([header, *(",".join("" if value is None else str(value) for value in row) for row in records)])


def test_step_id_and_step_record_index_start_steps_as_the_standard_defines_them(tmp_path, warehouse):
    # Program step 7 runs twice in a row (a loop of one step): only the record index restarting tells them apart.
    text = table(
        "test_time_second,voltage_volt,current_ampere,step_id,step_record_index",
        (0, 3.5, 0, 1, 1),
        (10, 3.5, 0, 1, 2),
        (20, 3.6, 1.0, 7, 1),
        (30, 3.7, 1.0, 7, 2),
        (40, 3.8, 1.0, 7, 1),
        (50, 3.9, 1.0, 7, 2),
        (60, 3.7, -1.0, 8, 1),
    )
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert [row[0] for row in telemetry(warehouse, "step_number")] == [1, 1, 2, 2, 3, 3, 4]
    assert report.steps == 4
    assert (
        "steps: a new step where step_id changes or step_record_index (the record within the step) does not count up"
    ) in report.derivations


def test_a_legacy_step_index_that_counts_records_is_read_as_the_record_within_the_step(tmp_path, warehouse):
    # Before: every change of step_index started a step, so each record of this file was a step of its own.
    text = table(
        "test_time_second,voltage_volt,current_ampere,step_index",
        (0, 3.5, 0, 1),
        (10, 3.5, 0, 2),
        (20, 3.5, 0, 3),
        (30, 3.6, 1.0, 1),
        (40, 3.7, 1.0, 2),
        (50, 3.8, 1.0, 3),
        (60, 3.7, -1.0, 1),
        (70, 3.6, -1.0, 2),
        (80, 3.5, -1.0, 3),
    )
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert steps(warehouse, "step_number, step_type, num_records") == [
        (1, "Rest", 3),
        (2, "Charge", 3),
        (3, "Discharge", 3),
    ]
    reading = next(line for line in report.derivations if line.startswith("step_index read as"))
    assert "the record within a step (step_record_index in BDF 1.3)" in reading


def test_a_legacy_step_index_that_keeps_its_value_is_read_as_the_program_step(tmp_path, warehouse):
    text = table(
        "test_time_second,voltage_volt,current_ampere,step_index",
        (0, 3.5, 0, 1),
        (10, 3.5, 0, 1),
        (20, 3.6, 1.0, 2),
        (30, 3.7, 1.0, 2),
        (40, 3.6, -1.0, 3),
        (50, 3.5, -1.0, 3),
    )
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert report.steps == 3
    reading = next(line for line in report.derivations if line.startswith("step_index read as"))
    assert "the program's step (step_id in BDF 1.3)" in reading


def test_step_type_labels_name_the_step_type_where_they_say_more_than_the_current(tmp_path, warehouse):
    # An OCV step drawing a small current is a rest; a CV charge tapering to little current is a charge; a label the
    # importer does not know (PULSE) leaves the step to the current's sign.
    text = table(
        "test_time_second,voltage_volt,current_ampere,step_type",
        (0, 3.6, 1.0, "CC_CHG"),
        (10, 4.2, 1.0, "CC_CHG"),
        (20, 4.2, 0.05, "CV_CHG"),
        (30, 4.2, 0.02, "CV_CHG"),
        (40, 4.1, 0.02, "OCV"),
        (50, 4.1, 0.02, "OCV"),
        (60, 3.9, -1.0, "CC_DCH"),
        (70, 3.5, -1.0, "CC_DCH"),
        (80, 3.5, -0.5, "PULSE"),
        (90, 3.4, -0.5, "PULSE"),
    )
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert steps(warehouse, "step_number, step_type") == [
        (1, "Charge"),
        (2, "Charge"),
        (3, "Rest"),
        (4, "Discharge"),
        (5, "Discharge"),
    ]
    labels = [json.loads(metadata)["step_type"] for (metadata,) in steps(warehouse, "metadata")]
    assert labels == ["CC_CHG", "CV_CHG", "OCV", "CC_DCH", "PULSE"]  # the cycler's own names, kept
    assert any(
        line.startswith("step types: from the step_type label") and "(4 of 5 steps" in line
        for line in report.derivations
    ), report.derivations


def test_the_labels_of_bdf_1_3_are_read(tmp_path, warehouse):
    text = table(
        "Test Time / s,Voltage / V,Current / A,Step ID,Step Record Index / 1,Step Type,Temperature T1 / degC,"
        "Step Time / s,DC Internal Resistance / ohm,Cycle Charging Capacity / Ah",
        (0, 3.6, 1.0, "CHG-1", 1, "CC Chg", 25.0, 0, 0.02, 0.0),
        (10, 3.7, 1.0, "CHG-1", 2, "CC Chg", 25.5, 10, 0.02, 0.003),
        (20, 3.6, -1.0, "DCH-1", 1, "CC DChg", 26.0, 0, 0.021, 0.003),
    )
    import_ok(warehouse, write_bdf(tmp_path, text))
    assert steps(warehouse, "step_number, step_type") == [(1, "Charge"), (2, "Discharge")]
    auxiliary = rows(warehouse, "SELECT auxiliary FROM telemetry.pulse.telemetry ORDER BY record_number")[1][0]
    assert auxiliary == {
        "temperature__C": 25.5,
        "step_time__s": 10.0,
        "dc_internal_resistance__Ohm": 0.02,
        "cycle_charging_capacity__Ah": 0.003,
        "step_record_index": 2.0,
    }


def test_names_of_the_first_draft_in_other_units_are_converted(tmp_path, warehouse):
    text = table(
        "test_time_millisecond,voltage_volt,current_ampere,cycle_dimensionless",
        (0, 3.6, 1.0, 1),
        (1500, 3.7, 1.0, 1),
        (3000, 3.6, -1.0, 1),
        (4500, 3.7, 1.0, 2),
    )
    import_ok(warehouse, write_bdf(tmp_path, text))
    assert telemetry(warehouse, "duration__s, cycle_number") == [(0.0, 1), (1.5, 1), (1.5, 1), (1.5, 2)]
