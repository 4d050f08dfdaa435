"""Bad input makes `pulse build` fail, naming table, column and offending values, and write nothing but views."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from tests.conftest import pulse_env, run_pulse


def fingerprint(directory: Path) -> dict[str, str]:
    """Content hashes of the source catalogs, to prove a build never writes to them."""
    return {name: hashlib.sha256((directory / name).read_bytes()).hexdigest()
            for name in ("telemetry.duckdb", "metadata.duckdb")}  # fmt: skip


def change(directory: Path, catalog: str, *statements: str) -> None:
    connection = duckdb.connect(str(directory / f"{catalog}.duckdb"))
    for statement in statements:
        connection.execute(statement)
    connection.close()


def duplicate_device(directory: Path) -> None:
    change(directory, "metadata",
           "insert into pulse.device_metadata (device_id, manufacturer) values ('maccor-01-ch01', 'Copy')")  # fmt: skip


def map_test_to_two_parts(directory: Path) -> None:
    change(directory, "metadata", "insert into pulse.device_test_part values ('maccor-01-ch02', 'T0002', 'cell-099')")


def null_key(directory: Path) -> None:
    # A lab's table may not declare NOT NULL: recreate one without the constraint, then add a row with a null key.
    change(directory, "metadata",
           "create table pulse.part_metadata_copy as select * from pulse.part_metadata",
           "drop table pulse.part_metadata",
           "alter table pulse.part_metadata_copy rename to part_metadata",
           "insert into pulse.part_metadata (part_id, chemistry) values (null, 'NMC811')")  # fmt: skip


def missing_table(directory: Path) -> None:
    change(directory, "metadata", "drop table pulse.recipe_metadata")


def empty_table(directory: Path) -> None:
    change(directory, "telemetry", "delete from pulse.statistics_cycle")


CASES: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "duplicate key in device_metadata": (duplicate_device, ["metadata.pulse.device_metadata", "device_id",
                                                            "maccor-01-ch01"]),  # fmt: skip
    "a test mapped to two parts": (map_test_to_two_parts, ["metadata.pulse.device_test_part", "device_id, test_id",
                                                              "T0002"]),  # fmt: skip
    "null key in part_metadata": (null_key, ["metadata.pulse.part_metadata", "part_id", "NMC811"]),
    "missing source table": (missing_table, ["metadata.pulse.recipe_metadata", "does not exist"]),
    "empty source table": (empty_table, ["telemetry.pulse.statistics_cycle", "is empty"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_build_fails_naming_the_problem(warehouse_copy: Path, case: str) -> None:
    breaks, expected_words = CASES[case]
    breaks(warehouse_copy)
    before = fingerprint(warehouse_copy)
    process = run_pulse("build", env=pulse_env(warehouse_copy), check=False)
    output = process.stdout + process.stderr
    assert process.returncode != 0, output
    for word in expected_words:
        assert word in output, f"{word!r} not in:\n{output}"
    assert "build FAILED" in process.stdout
    assert fingerprint(warehouse_copy) == before

