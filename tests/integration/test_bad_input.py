"""Bad input makes `pulse build` fail, naming table, column and offending values, and write nothing but views."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from tests.conftest import MARTS, pulse_env, run_pulse


def fingerprint(directory: Path) -> dict[str, str]:
    """Content hashes of the source catalogs, to prove a build never writes to them."""
    return {
        name: hashlib.sha256((directory / name).read_bytes()).hexdigest()
        for name in ("telemetry.duckdb", "metadata.duckdb")
    }


def change(directory: Path, catalog: str, *statements: str) -> None:
    connection = duckdb.connect(str(directory / f"{catalog}.duckdb"))
    for statement in statements:
        connection.execute(statement)
    connection.close()


def duplicate_device(directory: Path) -> None:
    change(
        directory,
        "metadata",
        "insert into pulse.device_metadata (device_id, manufacturer) values ('maccor-01-ch01', 'Copy')",
    )


def map_test_to_two_parts(directory: Path) -> None:
    change(directory, "metadata", "insert into pulse.device_test_part values ('maccor-01-ch02', 'T0002', 'cell-099')")


def null_key(directory: Path) -> None:
    # A lab's table may not declare NOT NULL: recreate one without the constraint, then add a row with a null key.
    change(
        directory,
        "metadata",
        "create table pulse.part_metadata_copy as select * from pulse.part_metadata",
        "drop table pulse.part_metadata",
        "alter table pulse.part_metadata_copy rename to part_metadata",
        "insert into pulse.part_metadata (part_id, chemistry) values (null, 'NMC811')",
    )


def missing_table(directory: Path) -> None:
    change(directory, "metadata", "drop table pulse.recipe_metadata")


def empty_table(directory: Path) -> None:
    change(directory, "telemetry", "delete from pulse.statistics_cycle")


def text_voltage(directory: Path) -> None:
    change(
        directory,
        "telemetry",
        'alter table pulse.telemetry alter "voltage__V" type varchar',
        """update pulse.telemetry set "voltage__V" = 'n/a' where record_number = 1""",
    )


def metadata_column_with_a_space(directory: Path) -> None:
    change(directory, "metadata", 'alter table pulse.part_metadata add column "Cell Type" varchar')


def part_id_of_type(column_type: str, value: str) -> Callable[[Path], None]:
    """part_metadata recreated with a part_id of another type, holding one row."""

    def breaks(directory: Path) -> None:
        change(
            directory,
            "metadata",
            "create table pulse.typed as select * replace (null as part_id) from pulse.part_metadata limit 0",
            f"alter table pulse.typed alter part_id type {column_type}",
            f"insert into pulse.typed (part_id) values ({value})",
            "drop table pulse.part_metadata",
            "alter table pulse.typed rename to part_metadata",
        )

    return breaks


IDENTIFIER = "expected text, an integer or a UUID (an identifier)"
CASES: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "duplicate key in device_metadata": (
        duplicate_device,
        ["metadata.pulse.device_metadata", "device_id", "maccor-01-ch01"],
    ),
    "a test mapped to two parts": (
        map_test_to_two_parts,
        ["metadata.pulse.device_test_part", "device_id, test_id", "T0002"],
    ),
    "null key in part_metadata": (null_key, ["metadata.pulse.part_metadata", "part_id", "NMC811"]),
    "missing source table": (missing_table, ["metadata.pulse.recipe_metadata", "does not exist"]),
    "empty source table": (empty_table, ["telemetry.pulse.statistics_cycle", "is empty"]),
    "text in a measurement column": (
        text_voltage,
        ["telemetry.pulse.telemetry", "column voltage__V is VARCHAR", "expected a number"],
    ),
    "a part id that is a double": (
        part_id_of_type("DOUBLE", "1.5"),
        ["metadata.pulse.part_metadata", "column part_id is DOUBLE", IDENTIFIER],
    ),
    "a part id that is a timestamp": (
        part_id_of_type("TIMESTAMP", "TIMESTAMP '2026-01-01'"),
        ["metadata.pulse.part_metadata", "column part_id is TIMESTAMP", IDENTIFIER],
    ),
    "a part id that is a list": (
        part_id_of_type("INTEGER[]", "[1]"),
        ["metadata.pulse.part_metadata", "column part_id is INTEGER[]", IDENTIFIER],
    ),
    "metadata column name with a space": (
        metadata_column_with_a_space,
        ["metadata.pulse.part_metadata", '"Cell Type"', "cell_type"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_build_fails_naming_the_problem(warehouse_copy: Path, case: str) -> None:
    breaks, expected_words = CASES[case]
    breaks(warehouse_copy)
    before = fingerprint(warehouse_copy)
    live_views = hashlib.sha256((warehouse_copy / "analytics.duckdb").read_bytes()).hexdigest()
    process = run_pulse("build", env=pulse_env(warehouse_copy), check=False)
    output = process.stdout + process.stderr
    assert process.returncode != 0, output
    for word in expected_words:
        assert word in output, f"{word!r} not in:\n{output}"
    assert "build FAILED" in process.stdout
    assert fingerprint(warehouse_copy) == before
    # Readers keep the views of the last build that passed: the live analytics file is not touched.
    assert hashlib.sha256((warehouse_copy / "analytics.duckdb").read_bytes()).hexdigest() == live_views
    assert "The views Superset reads are unchanged" in process.stderr


def counts(directory: Path) -> dict[str, int]:
    """Rows of every mart, read from the views the last good build left."""
    connection = duckdb.connect(str(directory / "analytics.duckdb"), read_only=True)
    for statement in (directory / "attach.sql").read_text().splitlines():
        connection.execute(statement)
    found = {mart: connection.execute(f"select count(*) from {mart}").fetchone()[0] for mart in MARTS}
    connection.close()
    return found


def test_keys_written_twice_never_multiply_rows_and_are_listed(warehouse_copy: Path) -> None:
    before = counts(warehouse_copy)
    change(
        warehouse_copy,
        "metadata",
        "insert into pulse.device_metadata (device_id, manufacturer) values ('maccor-01-ch01', 'AAA first')",
        "insert into pulse.recipe_metadata select * replace ('zzz' as recipe_name) from pulse.recipe_metadata",
        "insert into pulse.part_metadata select * from pulse.part_metadata",
        "insert into pulse.device_test_recipe select * from pulse.device_test_recipe",
        "insert into pulse.device_test_part values ('maccor-01-ch02', 'T0002', 'cell-099')",
    )

    assert counts(warehouse_copy) == before  # the views the last build left, reading the changed sources live
    build = run_pulse("build", env=pulse_env(warehouse_copy), check=False)
    assert build.returncode != 0 and "build FAILED" in build.stdout
    for table in ("device_metadata", "recipe_metadata", "part_metadata", "device_test_recipe", "device_test_part"):
        assert f"source table metadata.pulse.{table}" in build.stderr, build.stderr

    connection = duckdb.connect(str(warehouse_copy / "analytics.duckdb"), read_only=True)
    for statement in (warehouse_copy / "attach.sql").read_text().splitlines():
        connection.execute(statement)
    listed = dict(
        connection.execute(
            "select metadata_table, count(*) from metadata_key_conflicts group by metadata_table"
        ).fetchall()
    )
    recipes, parts, tests = (
        connection.execute(f"select count(*) from metadata.pulse.{table}").fetchone()[0] // 2
        for table in ("recipe_metadata", "part_metadata", "device_test_recipe")
    )
    assert listed == {
        "device_metadata": 1,
        "recipe_metadata": recipes,
        "part_metadata": parts,
        "device_test_recipe": tests,
        "device_test_part": 1,
    }
    # The row kept for a key is the first by its other columns: 'AAA first' sorts before the demo's manufacturer,
    # the demo's recipe names before 'zzz', and 'cell-099' after the demo's part of T0002.
    assert connection.execute(
        "select distinct dm__manufacturer from test_statistics_cycle where device_id = 'maccor-01-ch01'"
    ).fetchall() == [("AAA first",)]
    recipe_names = connection.execute("select distinct rm__recipe_name from test_statistics_cycle").fetchall()
    assert recipe_names and ("zzz",) not in recipe_names
    part_of_test = connection.execute(
        "select distinct part_id from part_statistics_cycle where device_id = 'maccor-01-ch02' and test_id = 'T0002'"
    ).fetchall()
    assert len(part_of_test) == 1 and part_of_test[0][0] < "cell-099", part_of_test
