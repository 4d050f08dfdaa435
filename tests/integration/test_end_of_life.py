"""part_end_of_life against values computed by hand: measured and projected end of life on a hand-made warehouse."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy
import pytest

from pulse_analytics import warehouse
from tests.conftest import Warehouse
from tests.integration.hand_made import START, built, insert_cycle, insert_row, source_tables


def linear(first: float, step: float, count: int) -> list[float]:
    return [first - step * index for index in range(count)]


# part -> discharge capacity (Ah) of each full cycle, in order; every cycle charges discharge / 0.99.
PARTS = {
    "cell-fading": linear(2.0, 0.012, 20),  # retention 1 - 0.006 (k - 1): reaches 0.8 at k = 34.33 -> 35
    "cell-dead": linear(2.0, 0.04, 14),  # retention 1 - 0.02 (k - 1): first below 0.8 at k = 12
    "cell-short": linear(2.0, 0.012, 5),  # fading, but 5 cycles are too few to project from
    "cell-flat": [2.0] * 12,  # no fade: nothing to project
    "cell-late": [2.0] * 20 + linear(2.0 - 0.008, 0.008, 40),  # flat for 20 cycles, then fading: the fit sees the end
}


def build(directory: Path) -> Warehouse:
    with source_tables(directory) as (connection, tables):
        with warehouse.transaction(connection):
            for number, discharges in enumerate(PARTS.values()):
                for cycle, discharge in enumerate(discharges, start=1):
                    insert_cycle(
                        connection,
                        tables,
                        (f"dev-{number}", f"test-{number}", cycle),
                        START + timedelta(hours=3 * cycle),
                        discharge / 0.99,
                        discharge,
                    )
        with warehouse.transaction(connection):
            insert_row(connection, tables["recipe_metadata"], {"recipe_id": "r1"})
            for number, part in enumerate(PARTS):
                insert_row(connection, tables["device_metadata"], {"device_id": f"dev-{number}"})
                insert_row(connection, tables["part_metadata"], {"part_id": part, "chemistry": "NMC"})
                link = {"device_id": f"dev-{number}", "test_id": f"test-{number}"}
                insert_row(connection, tables["device_test_recipe"], {**link, "recipe_id": "r1"})
                insert_row(connection, tables["device_test_part"], {**link, "part_id": part})
    return built(directory)


@pytest.fixture(scope="module")
def lives(tmp_path_factory: pytest.TempPathFactory, dbt_target: str) -> dict[str, tuple]:
    if dbt_target != "duckdb":
        pytest.skip("the hand-made input is written to the DuckDB catalog files; on Trino the demo-data suite runs")
    built = build(tmp_path_factory.mktemp("end-of-life"))
    rows = built.query(
        f"select part_id, recipe_id, pm__chemistry, curve_cycles, last_cycle_number, lowest_capacity_retention, "
        f"measured_end_of_life_cycle, fit_cycles, fit_first_cycle_number, retention_fade_per_cycle, "
        f"projected_end_of_life_cycle from {built.view('part_end_of_life')}"
    )
    return {row[0]: row[1:] for row in rows}


def test_a_fading_cell_is_projected_from_its_line(lives: dict[str, tuple]) -> None:
    recipe, chemistry, cycles, last, lowest, measured, fit, first, fade, projected = lives["cell-fading"]
    assert (recipe, chemistry, cycles, last, measured, fit, first) == ("r1", "NMC", 20, 20, None, 20, 1)
    assert lowest == pytest.approx(1 - 0.006 * 19)
    assert fade == pytest.approx(-0.006)
    assert projected == 35  # 1 - 0.006 (k - 1) = 0.8 at k = 34.33


def test_a_cell_below_the_line_is_measured_not_projected(lives: dict[str, tuple]) -> None:
    _, _, cycles, last, lowest, measured, fit, _, fade, projected = lives["cell-dead"]
    assert (cycles, last, measured, fit, projected) == (14, 14, 12, 14, None)
    assert fade == pytest.approx(-0.02) and lowest == pytest.approx(1 - 0.02 * 13)


def test_too_few_cycles_or_no_fade_project_nothing(lives: dict[str, tuple]) -> None:
    assert lives["cell-short"][5:7] == (None, 5) and lives["cell-short"][-1] is None
    flat = lives["cell-flat"]
    assert flat[5] is None and flat[8] == pytest.approx(0.0, abs=1e-12) and flat[-1] is None


def test_the_fit_rests_on_the_last_fifty_cycles(lives: dict[str, tuple]) -> None:
    _, _, cycles, last, _, measured, fit, first, fade, projected = lives["cell-late"]
    assert (cycles, last, measured, fit, first) == (60, 60, None, 50, 11)
    retention = numpy.array(PARTS["cell-late"]) / 2.0
    slope, intercept = numpy.polyfit(numpy.arange(11, 61), retention[10:], 1)  # least squares by hand
    assert fade == pytest.approx(slope)
    assert projected == int(numpy.ceil((0.8 - intercept) / slope))
