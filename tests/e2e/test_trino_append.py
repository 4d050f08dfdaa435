"""`pulse import FILE --target trino` on a real Trino: the imported tests are appended to the telemetry and metadata
tables without rewriting the rest; the same file again changes nothing; a test id already there with other content is
refused naming it; a write that fails midway leaves every table as it was. The lab is a small demo lab loaded into
scratch schemas of the session's Trino (dropped afterwards)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulse_analytics import config, trino_connection
from tests.conftest import REPO_ROOT, pulse_env, run_pulse
from tests.e2e.test_trino_stack import drop_schema, query_as

SCHEMA = "pulse_e2e_append"
BDF = sorted((REPO_ROOT / "examples" / "bdf").glob("*.bdf.csv"))
LANDT, NEWARE = (next(path for path in BDF if cycler in path.name) for cycler in ("Landt", "Neware"))

pytestmark = pytest.mark.trino_only


@pytest.fixture
def lab(tmp_path: Path, trino_stack: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A small demo lab loaded into schema pulse_e2e_append of the telemetry and metadata catalogs."""
    settings = {"TRINO_USER": "loader", "TELEMETRY_SCHEMA": SCHEMA, "METADATA_SCHEMA": SCHEMA}
    for key, value in settings.items():
        monkeypatch.setenv(config.PREFIX + key, value)
    run_pulse("seed", "--rows", "2000", env=pulse_env(tmp_path / "warehouse", **settings))
    run_pulse("load-trino", env=pulse_env(tmp_path / "warehouse", **settings))
    yield settings
    for catalog in {table.catalog for table in config.source_tables()}:
        drop_schema(catalog, SCHEMA, "loader", monkeypatch)


def state(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """What each table holds: rows, and for the Iceberg tables their current snapshot and data files."""
    found: dict[str, object] = {}
    for table in config.source_tables():
        found[table.name] = query_as("loader", f"select count(*) from {table.qualified}", monkeypatch)[0][0]
        if table.catalog == config.get("TELEMETRY_CATALOG"):
            quoted = trino_connection.quote(table.catalog, table.schema, f"{table.table}$snapshots")
            found[f"{table.name} snapshot"] = query_as(
                "loader", f"select snapshot_id from {quoted} order by committed_at desc limit 1", monkeypatch
            )[0][0]
            files = trino_connection.quote(table.catalog, table.schema, f"{table.table}$files")
            found[f"{table.name} files"] = {
                row[0] for row in query_as("loader", f"select file_path from {files}", monkeypatch)
            }
    return found


def rows_of(test_id: str, monkeypatch: pytest.MonkeyPatch) -> int:
    return query_as(
        "loader", f"select count(*) from telemetry.{SCHEMA}.telemetry where test_id = '{test_id}'", monkeypatch
    )[0][0]


def test_imported_tests_are_appended_once_and_never_replaced(
    lab: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = state(monkeypatch)
    imported = run_pulse(
        "import", str(LANDT), str(NEWARE), "--target", "trino", env=pulse_env(tmp_path / "unused", **lab)
    )
    assert "import OK: 38,281 rows added to Trino's tables" in imported.stdout, imported.stdout
    after = state(monkeypatch)
    assert after["telemetry"] == before["telemetry"] + 25_162 + 13_086
    assert after["device_test_part"] == before["device_test_part"] + 2
    for table in ("telemetry", "statistics_step", "statistics_cycle"):  # appended: every file before is still there
        assert before[f"{table} files"] < after[f"{table} files"], table
    assert rows_of(LANDT.name.removesuffix(".bdf.csv"), monkeypatch) == 25_162

    again = run_pulse("import", str(LANDT), str(NEWARE), "--target", "trino", env=pulse_env(tmp_path / "unused", **lab))
    assert "import OK: 0 rows added" in again.stdout
    assert again.stdout.count("with the same content: kept") == 4  # telemetry, both statistics, the part links
    assert state(monkeypatch) == after  # no commit at all

    other = tmp_path / "other.bdf.csv"
    shutil.copy(LANDT, other)  # another recording under the Neware test's id: refused, naming it
    refused = run_pulse(
        "import",
        str(other),
        "--target",
        "trino",
        "--device-id",
        "SINTEF-Neware",
        "--test-id",
        NEWARE.name.removesuffix(".bdf.csv"),
        "--start-time",
        "2024-10-23T00:00:00+00:00",
        env=pulse_env(tmp_path / "unused", **lab),
        check=False,
    )
    assert refused.returncode == 1
    assert (
        f"telemetry.{SCHEMA}.telemetry holds test {NEWARE.name.removesuffix('.bdf.csv')} of device SINTEF-Neware "
        "with other content (13,086 rows there, 25,162 imported)"
    ) in refused.stderr, refused.stderr
    assert state(monkeypatch) == after


def test_a_write_that_fails_midway_takes_back_what_it_appended(
    lab: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lab whose part ids are integers: the telemetry tables take the test, then the part link cannot (the file's
    part is not a number), and the rows appended before are deleted again."""
    links = f"metadata.{SCHEMA}.device_test_part"
    query_as(
        "loader", f"create table {links}__int as select device_id, test_id, 1 as part_id from {links}", monkeypatch
    )
    query_as("loader", f"drop table {links}", monkeypatch)
    query_as("loader", f"alter table {links}__int rename to {links}", monkeypatch)
    before = state(monkeypatch)
    failed = run_pulse(
        "import", str(LANDT), "--target", "trino", env=pulse_env(tmp_path / "unused", **lab), check=False
    )
    assert failed.returncode == 1
    assert "Cannot cast 'LiGrR2032' to INT" in failed.stderr, failed.stderr
    assert "rows appended were removed again" in failed.stderr
    after = state(monkeypatch)
    for table in config.source_tables():
        assert after[table.name] == before[table.name], table.name
    assert rows_of(LANDT.name.removesuffix(".bdf.csv"), monkeypatch) == 0

    numbered = run_pulse(
        "import", str(LANDT), "--part-id", "7", "--target", "trino", env=pulse_env(tmp_path / "unused", **lab)
    )
    assert "import OK: 25,169 rows added" in numbered.stdout  # 25,162 records, 4 steps, 2 cycles, 1 part link
    [(part,)] = query_as("loader", f"select part_id from {links} where test_id like 'SINTEF%'", monkeypatch)
    assert part == 7
