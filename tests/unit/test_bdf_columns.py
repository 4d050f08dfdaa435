"""BDF importer: reading files, mapping columns, and rejecting what cannot be imported (with file, line, column)."""

from __future__ import annotations

import gzip

import pytest

from tests.unit.bdf_support import import_error, import_ok, repair, telemetry, write_bdf

CLEAN = """
    test_time_second,voltage_volt,current_ampere,step_index
    0,3.50,0,1
    10,3.50,0,1
    20,3.60,1.0,2
    30,3.70,1.0,2
    40,3.65,-1.0,3
    50,3.55,-1.0,3
"""


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse"


def test_machine_readable_and_labelled_headers_give_the_same_rows(tmp_path, warehouse):
    labelled = CLEAN.replace(
        "test_time_second,voltage_volt,current_ampere,step_index",
        "Test Time / s,Voltage / V,Current / A,Step Index / 1",
    )
    import_ok(warehouse, write_bdf(tmp_path / "a", CLEAN), test_id="named")
    import_ok(warehouse, write_bdf(tmp_path / "b", labelled), test_id="labelled")
    columns = 'step_number, step_type, "voltage__V", "current__A", "capacity_charged__Ah", "timestamp"'
    named = telemetry(warehouse, columns, test_id="named")
    assert len(named) == 6
    assert named == telemetry(warehouse, columns, test_id="labelled")


def test_labels_are_matched_whatever_the_spacing_and_case(tmp_path, warehouse):
    text = CLEAN.replace(
        "test_time_second,voltage_volt,current_ampere,step_index",
        "test time/s,  VOLTAGE /V ,Current  /  A,Step Index / 1",
    )
    report = import_ok(warehouse, write_bdf(tmp_path, text))
    assert report.records == 6 and report.steps == 3


def test_semicolon_and_tab_separated_files_import(tmp_path, warehouse):
    for name, separator in (("semi", ";"), ("tab", "\t")):
        report = import_ok(warehouse, write_bdf(tmp_path / name, CLEAN.replace(",", separator)), test_id=name)
        assert report.records == 6


def test_gzip_compressed_file_imports(tmp_path, warehouse):
    path = tmp_path / "LAB__cell-A1__2025-01-15__cc__Maccor.bdf.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(write_bdf(tmp_path / "plain", CLEAN).read_text())
    report = import_ok(warehouse, path)
    assert report.identity.test_id == "LAB__cell-A1__2025-01-15__cc__Maccor"
    assert report.records == 6


def test_missing_required_column_is_rejected_naming_it(tmp_path, warehouse):
    path = write_bdf(tmp_path, "test_time_second,voltage_volt\n0,3.5\n1,3.6")
    message = import_error(warehouse, path)
    assert str(path) in message
    assert "current_ampere" in message and "'Current / A'" in message
    assert "the header has: test_time_second, voltage_volt" in message


def test_a_known_quantity_in_another_unit_is_rejected(tmp_path, warehouse):
    path = write_bdf(tmp_path, "Test Time / s,Voltage / V,Current / mA\n0,3.5,100")
    message = import_error(warehouse, path)
    assert "column 'Current / mA'" in message and "Current / A" in message


def test_the_same_quantity_twice_is_rejected(tmp_path, warehouse):
    path = write_bdf(tmp_path, "test_time_second,voltage_volt,current_ampere,Voltage / V\n0,3.5,0,3.5")
    message = import_error(warehouse, path)
    assert "'voltage_volt' and 'Voltage / V' are both voltage_volt" in message


def test_two_columns_that_would_share_an_auxiliary_key_are_rejected(tmp_path, warehouse):
    path = write_bdf(tmp_path, "test_time_second,voltage_volt,current_ampere,note,note\n0,3.5,0,1,2")
    assert "columns 'note' and 'note' are both note" in import_error(warehouse, path)
    path = write_bdf(
        tmp_path, "test_time_second,voltage_volt,current_ampere,temperature_t1_celsius,temperature__C\n0,3.5,0,25,26"
    )
    message = import_error(warehouse, path)
    assert "columns 'temperature_t1_celsius' and 'temperature__C' would both be auxiliary['temperature__C']" in message


def test_empty_file_is_rejected(tmp_path, warehouse):
    path = tmp_path / "empty.bdf.csv"
    path.write_text("")
    assert "the file is empty" in import_error(warehouse, path, start_time=None)


def test_header_without_rows_is_rejected(tmp_path, warehouse):
    path = write_bdf(tmp_path, "test_time_second,voltage_volt,current_ampere")
    assert "has a header but no data rows" in import_error(warehouse, path)


def test_non_numeric_value_is_rejected_naming_line_column_and_value(tmp_path, warehouse):
    text = CLEAN.replace("30,3.70,1.0,2", "30,3.7O,1.0,2").replace("40,3.65,-1.0,3", "40,n/a,-1.0,3")
    path = write_bdf(tmp_path, text)
    message = import_error(warehouse, path)
    assert f"{path}: line 5, column 'voltage_volt': value '3.7O' is not a number" in message
    assert "(1 more rows like this)" in message


def test_decimal_comma_is_rejected(tmp_path, warehouse):
    path = write_bdf(tmp_path, "test_time_second;voltage_volt;current_ampere\n0;3,5;0")
    assert "value '3,5' is not a number (use . as decimal separator)" in import_error(warehouse, path)


def test_infinite_value_is_rejected(tmp_path, warehouse):
    path = write_bdf(tmp_path, CLEAN.replace("20,3.60,1.0,2", "20,3.60,inf,2"))
    assert "line 4, column 'current_ampere': value 'inf' is not a number" in import_error(warehouse, path)


def test_empty_required_value_is_rejected(tmp_path, warehouse):
    path = write_bdf(tmp_path, CLEAN.replace("10,3.50,0,1", ",3.50,0,1"))
    message = import_error(warehouse, path)
    assert "line 3, column 'test_time_second': value None is empty; every row needs a value" in message


def test_cycle_column_that_is_not_an_integer_falls_back_to_derived_cycles(tmp_path, warehouse):
    path = write_bdf(
        tmp_path,
        """
        test_time_second,voltage_volt,current_ampere,cycle_count
        0,3.5,1,1
        10,3.6,1,1.5
        20,3.7,-1,2
        30,3.6,-1,2
    """,
    )
    report = import_ok(warehouse, path)
    assert report.cycles == 1  # derived from the steps: one charge, one discharge
    assert "column 'cycle_count' cannot be used (first: line 3, '1.5'" in repair(report, "unusable-column")
    assert [row[0]["cycle_count"] for row in telemetry(warehouse, "auxiliary")] == [1, 1.5, 2, 2]  # kept as written


def test_whole_numbers_written_as_decimals_are_integers(tmp_path, warehouse):
    path = write_bdf(tmp_path, CLEAN.replace(",1\n", ",1.0\n").replace(",2\n", ",2.00\n"))
    assert import_ok(warehouse, path).steps == 3


def test_text_in_step_column_falls_back_to_steps_from_the_current(tmp_path, warehouse):
    path = write_bdf(tmp_path, CLEAN.replace("40,3.65,-1.0,3", "40,3.65,-1.0,CC"))
    report = import_ok(warehouse, path)
    assert report.steps == 3  # rest, charge, discharge: from the current
    assert "column 'step_index' cannot be used (first: line 6, 'CC'" in repair(report, "unusable-column")
    assert "text-column: column 'step_index' is not numeric" in repair(report, "text-column")


def test_row_with_too_many_cells_is_rejected_naming_the_line(tmp_path, warehouse):
    path = write_bdf(tmp_path, CLEAN.replace("30,3.70,1.0,2", "30,3.70,1.0,2,9"))
    message = import_error(warehouse, path)
    assert str(path) in message and "Line: 5" in message and "as many cells as the header" in message


def test_unknown_numeric_columns_go_to_auxiliary_and_text_columns_are_reported(tmp_path, warehouse):
    header = "test_time_second,voltage_volt,current_ampere,temperature_t1_celsius,Ambient Temperature / degC,strain_um"
    path = write_bdf(tmp_path, f"{header},mode,note\n0,3.5,0,25.0,21.5,1.5,CC,\n10,3.6,1,25.5,21.5,,CV,")
    report = import_ok(warehouse, path)
    assert repair(report, "text-column").startswith("text-column: column 'mode' is not numeric (line 2: 'CC'")
    assert repair(report, "empty-column") == "empty-column: column 'note' is empty: not imported"
    auxiliary = telemetry(warehouse, "auxiliary")
    assert auxiliary[0] == ({"temperature__C": 25.0, "ambient_temperature__C": 21.5, "strain_um": 1.5},)
    assert auxiliary[1] == ({"temperature__C": 25.5, "ambient_temperature__C": 21.5},)  # empty cells are left out


def test_counters_of_the_program_are_kept_in_auxiliary(tmp_path, warehouse):
    import_ok(warehouse, write_bdf(tmp_path, CLEAN))
    assert [row[0]["step_index"] for row in telemetry(warehouse, "auxiliary")] == [1, 1, 2, 2, 3, 3]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("cell.mpt", "a BioLogic MPT text export"),
        ("cell.xlsx", "an Excel workbook"),
        ("cell.txt", "a file of a format pulse does not read"),
        ("cell.csv", "a binary file"),
    ],
)
def test_files_in_a_format_pulse_does_not_read_are_refused_naming_it_and_the_formats_it_reads(
    tmp_path, warehouse, name, kind
):
    path = tmp_path / name
    path.write_bytes(b"\x00\x01NEWARE\x00" * 100)
    message = import_error(warehouse, path, start_time=None)
    assert message.startswith(f"{path}: {kind}")
    assert (
        "pulse imports Battery Data Format CSV (.csv, .bdf, .csv.gz, .bdf.gz); Battery Data Format Parquet "
        "(.parquet); Neware NDA (.nda); Neware NDAX (.ndax); Arbin RES (.res); BioLogic MPR (.mpr) (docs/bdf.md)"
    ) in message
