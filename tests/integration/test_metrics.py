"""Battery metrics of the cycle marts against values computed by hand, on a hand-made warehouse."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pulse_analytics import warehouse
from tests.conftest import Warehouse
from tests.integration.hand_made import (
    START,
    built,
    insert_cycle,
    insert_row,
    source_tables,
)

# One part, two tests on two devices, shaped like real recordings' oddities. Test A, a characterisation test (one full
# cycle only): a tiny cycle, a charge-only cycle, a full cycle, a rest. Test B, the cycling test: a start part-charged
# (1 Ah in, 1.9 Ah out), the part's first full cycle of a cycling test (its discharge, 1.71 Ah, is the reference
# capacity), a full cycle whose efficiency is above 110 % and one whose retention is above 150 %.
# Energies: 4 Wh per Ah charged, 3.6 Wh per Ah discharged.
CYCLES = [  # device, test, cycle, charge Ah, discharge Ah, start offset (h)
    ("dev-a", "test-a", 1, 0.025, 0.03, 0),
    ("dev-a", "test-a", 2, 1.0, 0.0, 3),
    ("dev-a", "test-a", 3, 2.0, 1.9, 6),
    ("dev-a", "test-a", 4, 0.0, 0.0, 9),
    ("dev-b", "test-b", 1, 1.0, 1.9, 48),
    ("dev-b", "test-b", 2, 1.8, 1.71, 51),
    ("dev-b", "test-b", 3, 1.5, 1.7, 54),
    ("dev-b", "test-b", 4, 3.0, 2.9, 57),
]


def build_hand_made(directory: Path, **recipe_columns: str) -> Warehouse:
    """CYCLES in a new warehouse, built by `pulse build`. recipe_columns: lab-defined recipe_metadata columns of recipe
    r1 (both tests'), as text (labs' metadata often is), e.g. reference_cycle_number="3"."""
    with source_tables(directory) as (connection, tables):
        with warehouse.transaction(connection):
            for device, test, cycle, charge, discharge, hours in CYCLES:
                begin = START + timedelta(hours=hours)
                insert_cycle(connection, tables, (device, test, cycle), begin, charge, discharge)
        with warehouse.transaction(connection):
            for column in recipe_columns:
                connection.execute(f"alter table {tables['recipe_metadata']} add column {column} varchar")
            insert_row(connection, tables["device_metadata"], {"device_id": "dev-a"})
            insert_row(connection, tables["recipe_metadata"], {"recipe_id": "r1", **recipe_columns})
            insert_row(connection, tables["part_metadata"], {"part_id": "cell-x"})
            for device, test in (("dev-a", "test-a"), ("dev-b", "test-b")):
                insert_row(
                    connection, tables["device_test_recipe"], {"device_id": device, "test_id": test, "recipe_id": "r1"}
                )
                insert_row(
                    connection, tables["device_test_part"], {"device_id": device, "test_id": test, "part_id": "cell-x"}
                )
    return built(directory)


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory: pytest.TempPathFactory, dbt_target: str) -> Warehouse:
    if dbt_target != "duckdb":
        pytest.skip("the hand-made input is written to the DuckDB catalog files; on Trino the demo-data suite runs")
    return build_hand_made(tmp_path_factory.mktemp("hand-made"))


def test_test_cycle_metrics(hand_made: Warehouse) -> None:
    rows = hand_made.query(
        f"select test_id, cycle_number, cycle_kind, test_purpose, coulombic_efficiency, energy_efficiency, "
        f"cumulative_throughput__ah, cumulative_throughput__wh from {hand_made.view('test_statistics_cycle')} "
        f"order by test_id, cycle_number"
    )
    a, b = "characterisation", "cycling"  # test A has one full cycle, test B three (a cycling test has 3 or more)
    expected = [  # test, cycle, kind, test purpose, CE, EE, cumulative Ah, cumulative Wh
        ("test-a", 1, "partial", a, 1.2, 1.08, 0.055, 0.208),  # balanced, but under half test A's median (0.965 Ah)
        ("test-a", 2, "partial", a, 0.0, 0.0, 1.055, 4.208),  # charge only
        ("test-a", 3, "full", a, 0.95, 0.855, 4.955, 19.048),
        ("test-a", 4, "rest", a, None, None, 4.955, 19.048),  # nothing charged: no efficiency
        ("test-b", 1, "partial", b, 1.9, 1.71, 2.9, 10.84),  # 1 Ah in, 1.9 Ah out: under 2/3 of each other
        ("test-b", 2, "full", b, 0.95, 0.855, 6.41, 24.196),
        ("test-b", 3, "full", b, 1.7 / 1.5, 1.02, 9.61, 36.316),
        ("test-b", 4, "full", b, 2.9 / 3.0, 0.87, 15.51, 58.756),
    ]
    assert [row[:4] for row in rows] == [row[:4] for row in expected]
    for actual, wanted in zip(rows, expected, strict=True):
        assert actual[4:] == pytest.approx(wanted[4:]), actual


def test_part_cycle_metrics(hand_made: Warehouse) -> None:
    rows = hand_made.query(
        f"select test_id, part_test_number, part_cycle_number, life_curve_exclusion, reference_capacity__ah, "
        f"capacity_retention, part_cumulative_throughput__ah, part_cumulative_throughput__wh, equivalent_full_cycles "
        f"from {hand_made.view('part_statistics_cycle')} order by part_cycle_number"
    )
    reference = 1.71  # test B's second cycle: neither the tiny first cycle nor the characterisation test's full one
    characterisation = "characterisation test"
    expected = [  # test, part test, part cycle, why off the life curves, reference, retention, Ah, Wh, EFC
        ("test-a", 1, 1, characterisation, reference, 0.03 / reference, 0.055, 0.208, 0.03 / reference),
        ("test-a", 1, 2, characterisation, reference, 0.0, 1.055, 4.208, 0.03 / reference),
        ("test-a", 1, 3, characterisation, reference, 1.9 / reference, 4.955, 19.048, 1.93 / reference),
        ("test-a", 1, 4, characterisation, reference, 0.0, 4.955, 19.048, 1.93 / reference),
        ("test-b", 2, 5, "partial cycle", reference, 1.9 / reference, 7.855, 29.888, 3.83 / reference),
        ("test-b", 2, 6, None, reference, 1.0, 11.365, 43.244, 5.54 / reference),
        (
            "test-b",
            2,
            7,
            "implausible coulombic efficiency",
            reference,
            1.7 / reference,
            14.565,
            55.364,
            7.24 / reference,
        ),
        (
            "test-b",
            2,
            8,
            "implausible capacity retention",
            reference,
            2.9 / reference,
            20.465,
            77.804,
            10.14 / reference,
        ),
    ]
    assert [row[:4] for row in rows] == [row[:4] for row in expected]
    for actual, wanted in zip(rows, expected, strict=True):
        assert actual[4:] == pytest.approx(wanted[4:]), actual


def test_a_reference_cycle_named_by_the_recipe_is_the_reference_when_it_is_a_full_cycle(
    tmp_path: Path, dbt_target: str
) -> None:
    """Recipe r1 (both tests') names cycle 3. Test A's cycle 3 (1.9 Ah, full) is the reference, although test A is a
    characterisation test (a lab's check-up before cycling is such a reference); test B's cycle 3 comes later."""
    if dbt_target != "duckdb":
        pytest.skip("the hand-made input is written to the DuckDB catalog files")
    named = build_hand_made(tmp_path, reference_cycle_number="3")
    rows = named.query(
        f"select part_cycle_number, reference_capacity__ah, capacity_retention "
        f"from {named.view('part_statistics_cycle')} order by part_cycle_number"
    )
    assert [row[1] for row in rows] == [pytest.approx(1.9)] * len(CYCLES)
    retention = {part_cycle: value for part_cycle, _, value in rows}
    assert retention[3] == pytest.approx(1.0) and retention[6] == pytest.approx(1.71 / 1.9)


def test_a_reference_cycle_that_is_not_a_number_or_no_cycle_falls_back_to_the_first_full_cycle(
    tmp_path: Path, dbt_target: str
) -> None:
    if dbt_target != "duckdb":
        pytest.skip("the hand-made input is written to the DuckDB catalog files")
    for stated in ("after formation", "99", "1"):  # text, no such cycle, a cycle that is partial in both tests
        named = build_hand_made(tmp_path / stated.replace(" ", "-"), reference_cycle_number=stated)
        references = named.query(f"select distinct reference_capacity__ah from {named.view('part_statistics_cycle')}")
        assert references == [(pytest.approx(1.71),)], stated


def test_a_purpose_the_recipe_states_wins_over_the_count_of_full_cycles(tmp_path: Path, dbt_target: str) -> None:
    """'Cycling' (any case) makes test A a cycling test, so its full cycle 3 is the reference; any other label (here
    pOCV) makes both tests characterisation tests: no reference, every cycle off the life curves."""
    if dbt_target != "duckdb":
        pytest.skip("the hand-made input is written to the DuckDB catalog files")
    for stated, purposes, reference in (("Cycling", {"cycling"}, 1.9), ("pOCV", {"characterisation"}, None)):
        stated_warehouse = build_hand_made(tmp_path / stated, test_purpose=stated)
        rows = stated_warehouse.query(
            f"select test_purpose, reference_capacity__ah, life_curve_exclusion "
            f"from {stated_warehouse.view('part_statistics_cycle')}"
        )
        assert {row[0] for row in rows} == purposes, stated
        assert [row[1] for row in rows] == [pytest.approx(reference) if reference else None] * len(rows), stated
        if reference is None:
            assert {row[2] for row in rows} == {"characterisation test"}
