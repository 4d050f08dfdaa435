"""The quality suite: written once, run against any target (`pytest --dbt-target=duckdb|trino`) on the demo data."""

from __future__ import annotations

import pytest

from pulse_analytics import config, generate
from tests.conftest import Warehouse

SOURCES = {table.name: table for table in config.source_tables()}
TEST_MARTS = {
    "test_telemetry": "telemetry",
    "test_statistics_step": "statistics_step",
    "test_statistics_cycle": "statistics_cycle",
}
PART_MARTS = {
    "part_telemetry": "test_telemetry",
    "part_statistics_step": "test_statistics_step",
    "part_statistics_cycle": "test_statistics_cycle",
}
PREFIXES = {"dm__": "device_metadata", "rm__": "recipe_metadata"}
KEYS = {
    "telemetry": SOURCES["telemetry"].key,
    "statistics_step": SOURCES["statistics_step"].key,
    "statistics_cycle": SOURCES["statistics_cycle"].key,
}
MAP_COLUMNS = {"auxiliary"}  # not comparable with EXCEPT on Trino; compared through their cardinality

pytestmark = pytest.mark.trino


@pytest.mark.parametrize("name", list(SOURCES))
def test_source_view_equals_its_table(built_warehouse: Warehouse, name: str) -> None:
    table, view = SOURCES[name].qualified, built_warehouse.view(name)
    table_columns = built_warehouse.columns(table)
    assert built_warehouse.columns(view) == [column.lower() for column in table_columns]
    assert built_warehouse.count(view) == built_warehouse.count(table) > 0
    comparable = ", ".join(
        f"cardinality({column})" if column.lower() in MAP_COLUMNS else f'"{column}"' for column in table_columns
    )
    for left, right in ((table, view), (view, table)):
        assert built_warehouse.query(f"select {comparable} from {left} except select {comparable} from {right}") == []


@pytest.mark.parametrize("mart", list(TEST_MARTS))
def test_test_mart_keeps_every_row_once(built_warehouse: Warehouse, mart: str) -> None:
    source = built_warehouse.view(TEST_MARTS[mart])
    view = built_warehouse.view(mart)
    assert built_warehouse.count(view) == built_warehouse.count(source)
    key = ", ".join(KEYS[TEST_MARTS[mart]])
    assert built_warehouse.query(f"select {key} from {view} group by {key} having count(*) > 1") == []


@pytest.mark.parametrize("mart", list(TEST_MARTS))
def test_test_mart_has_every_source_and_metadata_column(built_warehouse: Warehouse, mart: str) -> None:
    columns = built_warehouse.columns(built_warehouse.view(mart))
    expected = built_warehouse.columns(built_warehouse.view(TEST_MARTS[mart])) + ["recipe_id"]
    for prefix, metadata in PREFIXES.items():
        expected += [prefix + column for column in built_warehouse.columns(built_warehouse.view(metadata))]
    assert set(expected) <= set(columns), f"missing: {set(expected) - set(columns)}"


def test_daily_records_count_every_record_once_with_the_test_metadata(built_warehouse: Warehouse) -> None:
    daily, telemetry = built_warehouse.view("test_daily_records"), built_warehouse.view("test_telemetry")
    per_day = (
        'select device_id, test_id, cast("timestamp" as date) as record_date, count(*) as records, '
        'min("timestamp") as first_record_time, max("timestamp") as last_record_time, recipe_id, dm__location '
        f'from {telemetry} group by device_id, test_id, cast("timestamp" as date), recipe_id, dm__location'
    )
    mart = (
        "select device_id, test_id, record_date, records, first_record_time, last_record_time, recipe_id, dm__location "
        f"from {daily}"
    )
    for left, right in ((per_day, mart), (mart, per_day)):
        assert built_warehouse.query(f"{left} except {right}") == []
    assert built_warehouse.query(f"select sum(records) from {daily}") == [(built_warehouse.count(telemetry),)]


def test_rows_without_metadata_are_kept(built_warehouse: Warehouse) -> None:
    view = built_warehouse.view("test_telemetry")
    without_recipe = [test for test in generate.TESTS if test.recipe_id is None][0]
    assert built_warehouse.count(view, f"test_id = '{without_recipe.test_id}' and recipe_id is null") > 0
    unknown_device = generate.DEVICE_WITHOUT_METADATA
    assert built_warehouse.count(view, f"device_id = '{unknown_device}' and dm__device_id is null") > 0
    assert built_warehouse.count(view, "dm__device_id is not null and rm__recipe_id is not null") > 0


@pytest.mark.parametrize("mart", list(PART_MARTS))
def test_part_mart_holds_exactly_the_rows_of_tests_linked_to_parts(built_warehouse: Warehouse, mart: str) -> None:
    part_links = built_warehouse.view("device_test_part")
    source = built_warehouse.view(PART_MARTS[mart])
    linked = built_warehouse.count(
        source,
        f"exists (select 1 from {part_links} as links "
        f"where links.device_id = {source}.device_id and links.test_id = {source}.test_id)",
    )
    view = built_warehouse.view(mart)
    assert built_warehouse.count(view) == linked > 0
    unlinked = [test.test_id for test in generate.TESTS if test.part_id is None]
    assert built_warehouse.count(view, f"test_id in ({', '.join(repr(t) for t in unlinked)})") == 0
    columns = built_warehouse.columns(view)
    expected = ["part_id", *built_warehouse.columns(source)]
    expected += ["pm__" + column for column in built_warehouse.columns(built_warehouse.view("part_metadata"))]
    assert set(expected) <= set(columns), f"missing: {set(expected) - set(columns)}"


def expected_part_numbers(warehouse: Warehouse, part_id: str, number: str) -> list[tuple]:
    """Re-index a test-level number across the part's tests in time order, computed here in Python."""
    tests = warehouse.query(
        f"select device_id, test_id, min(start_time) from {warehouse.view('statistics_cycle')} "
        f"where (device_id, test_id) in (select device_id, test_id from {warehouse.view('device_test_part')} "
        f"where part_id = '{part_id}') group by device_id, test_id"
    )
    order = {(device, test): position for position, (device, test, _) in enumerate(sorted(tests, key=lambda t: t[2]))}
    rows = warehouse.query(
        f"select device_id, test_id, {number} from {warehouse.view('test_telemetry')} "
        f"where (device_id, test_id) in (select device_id, test_id from {warehouse.view('device_test_part')} "
        f"where part_id = '{part_id}')"
    )
    rows.sort(key=lambda row: (order[(row[0], row[1])], row[2]))
    expected, previous, counter = [], None, 0
    for device, test, value in rows:
        if (device, test, value) != previous:
            counter += 1
            previous = (device, test, value)
        expected.append((device, test, value, counter))
    return expected


@pytest.mark.parametrize("part_id", ["cell-001", "cell-009", "cell-010"])  # one test; two tests; two tests
@pytest.mark.parametrize("number", ["cycle_number", "step_number", "record_number"])
def test_part_renumbering(built_warehouse: Warehouse, part_id: str, number: str) -> None:
    tests = {test.test_id for test in generate.TESTS if test.part_id == part_id}
    actual = built_warehouse.query(
        f"select device_id, test_id, {number}, part_{number} from {built_warehouse.view('part_telemetry')} "
        f"where part_id = '{part_id}' order by part_record_number"
    )
    assert {row[1] for row in actual} == tests
    expected = expected_part_numbers(built_warehouse, part_id, number)
    assert actual == expected
    assert actual[0][3] == 1


@pytest.mark.parametrize(
    "mart,numbers",
    [("part_statistics_step", ("cycle_number", "step_number")), ("part_statistics_cycle", ("cycle_number",))],
)
def test_part_statistics_numbers_match_part_telemetry(built_warehouse: Warehouse, mart: str, numbers: tuple) -> None:
    keys = ", ".join(["part_id", "device_id", "test_id", *numbers, *(f"part_{n}" for n in numbers)])
    telemetry = built_warehouse.view("part_telemetry")
    statistics = built_warehouse.view(mart)
    assert (
        built_warehouse.query(
            f"select distinct {keys} from {statistics} except select distinct {keys} from {telemetry}"
        )
        == []
    )  # noqa: E501
    assert (
        built_warehouse.query(
            f"select distinct {keys} from {telemetry} except select distinct {keys} from {statistics}"
        )
        == []
    )  # noqa: E501


def test_demo_cells_fade_and_some_reach_80_percent(built_warehouse: Warehouse) -> None:
    """On the life curves (every cycle but the partial first one of the test that starts half charged)."""
    rows = built_warehouse.query(
        f"select part_id, min(capacity_retention), max(capacity_retention), min(coulombic_efficiency), "
        f"max(coulombic_efficiency) from {built_warehouse.view('part_statistics_cycle')} "
        f"where life_curve_exclusion is null group by part_id"
    )
    assert len(rows) == len(generate.PARTS)
    for part_id, lowest, highest, ce_low, ce_high in rows:
        assert highest == pytest.approx(1.0), part_id  # the reference cycle itself
        assert lowest < 1.0, part_id
        assert 0.99 < ce_low <= ce_high < 1.0, part_id
    assert any(lowest < 0.8 for _, lowest, *_ in rows)


def test_the_demo_test_that_starts_half_charged_has_a_partial_first_cycle_off_the_curves(built_warehouse: Warehouse):
    started_half_charged = [test for test in generate.TESTS if test.start_soc > 0]
    off_curves = built_warehouse.query(
        f"select part_id, test_id, cycle_number, cycle_kind, life_curve_exclusion, coulombic_efficiency "
        f"from {built_warehouse.view('part_statistics_cycle')} where life_curve_exclusion is not null"
    )
    assert [row[:5] for row in off_curves] == [
        (test.part_id, test.test_id, 1, "partial", "partial cycle") for test in started_half_charged
    ]
    assert [row[5] for row in off_curves] == [pytest.approx(2.0, abs=0.01)]  # half charged in, a full discharge out


def test_the_curve_charts_overlay_each_cells_ends_and_about_ten_cycles(built_warehouse: Warehouse) -> None:
    """curve_overlay: 'first and last' at each part's ends, 'sampled' at each test's ends and every Nth between."""
    cycles = built_warehouse.view("part_statistics_cycle")
    rows = built_warehouse.query(
        f"select part_id, min(part_cycle_number), max(part_cycle_number), "
        f"min(case when curve_overlay = 'first and last' then part_cycle_number end), "
        f"max(case when curve_overlay = 'first and last' then part_cycle_number end), "
        f"count(case when curve_overlay = 'first and last' then 1 end), "
        f"count(case when curve_overlay <> 'other' then 1 end) from {cycles} group by part_id"
    )
    assert len(rows) == len(generate.PARTS)
    for part_id, first, last, first_overlaid, last_overlaid, ends, overlaid in rows:
        assert (first_overlaid, last_overlaid, ends) == (first, last, 2), part_id
        assert 10 <= overlaid <= 14, part_id  # every Nth of the part, N making about 10, and each test's own ends
    test_cycles = built_warehouse.view("test_statistics_cycle")
    test_ends = built_warehouse.query(
        f"select cycles.test_id, cycles.curve_overlay from {test_cycles} as cycles inner join ("
        f"select device_id, test_id, min(cycle_number) as first, max(cycle_number) as last from {test_cycles} "
        f"group by device_id, test_id) as ends on cycles.device_id = ends.device_id and cycles.test_id = ends.test_id "
        f"and cycles.cycle_number in (ends.first, ends.last)"
    )
    assert {row[0] for row in test_ends} == {test.test_id for test in generate.TESTS}
    assert {row[1] for row in test_ends} <= {"first and last", "sampled"}
