"""A lab whose metadata database keys parts and recipes by integers (a LIMS's serial keys) builds, and its views equal
those of the same lab keyed by the same ids written as text, row for row: the source views give every id one type,
text (dbt/macros/select_lowercase.sql). (Types that cannot be identifiers
are refused: tests/integration/test_bad_input.py.)

On DuckDB both labs are built and compared exactly. In the Trino pass the integer-keyed lab is loaded into scratch
schemas of the session's Trino (the metadata catalog is PostgreSQL: integer columns there) and built there, and every
mart equals the text-keyed lab's DuckDB build as tests/e2e/test_engines_agree.py compares engines."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pulse_analytics import config, dbt, warehouse
from tests.conftest import MARTS, pulse_env, run_pulse

SCHEMA = "pulse_e2e_integer_ids"
# The metadata tables holding each id renumbered here.
ID_TABLES = {"part_id": ["part_metadata", "device_test_part"], "recipe_id": ["recipe_metadata", "device_test_recipe"]}

pytestmark = pytest.mark.trino


def renumber_ids(directory: Path, as_type: str) -> None:
    """Every part and recipe id replaced by its number in sorted order (cell-001 -> 1), stored as `as_type` (INTEGER,
    or VARCHAR for the same ids as text), in tables recreated without constraints as a lab's may be."""
    connection = duckdb.connect(str(directory / "metadata.duckdb"))
    try:
        for id_column, tables in ID_TABLES.items():
            ids = " union ".join(f"select {id_column} from {SCHEMA}.{table}" for table in tables)
            connection.execute(
                f"create temp table {id_column}_numbers as "
                f"select {id_column} as old, dense_rank() over (order by {id_column}) as new from ({ids})"
            )
            for table in tables:
                number = f"(select new from {id_column}_numbers where old = {id_column})"
                connection.execute(
                    f"create table {SCHEMA}.{table}_renumbered as select * replace "
                    f"(cast({number} as {as_type}) as {id_column}) from {SCHEMA}.{table}"
                )
                connection.execute(f"drop table {SCHEMA}.{table}")
                connection.execute(f"alter table {SCHEMA}.{table}_renumbered rename to {table}")
    finally:
        connection.close()


@pytest.fixture
def labs(
    tmp_path: Path, dbt_target: str, request: pytest.FixtureRequest
) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    """The demo lab (small) twice, keyed by integers and by the same ids as text, in schema pulse_e2e_integer_ids
    (also of the views); in the Trino pass, that schema's tables and views are dropped afterwards."""
    if dbt_target == "trino":
        request.getfixturevalue("trino_stack")
    schemas = {"TELEMETRY_SCHEMA": SCHEMA, "METADATA_SCHEMA": SCHEMA, "TARGET_SCHEMA": SCHEMA}
    integers, texts = tmp_path / "integer-ids", tmp_path / "text-ids"
    run_pulse("seed", "--rows", "2000", env=pulse_env(integers, **schemas))
    shutil.copytree(integers, texts)
    renumber_ids(integers, "INTEGER")
    renumber_ids(texts, "VARCHAR")
    yield integers, texts, schemas
    if dbt_target == "trino":
        from tests.e2e.test_trino_bad_input import drop_schema

        with pytest.MonkeyPatch.context() as patch:
            for key, value in schemas.items():
                patch.setenv(config.PREFIX + key, value)
            patch.setenv(config.PREFIX + "TRINO_USER", "dbt")
            drop_schema(config.get("TARGET_CATALOG"), SCHEMA)
            drop_schema(config.get("TARGET_CATALOG"), f"{SCHEMA}__staging")
            patch.setenv(config.PREFIX + "TRINO_USER", "loader")
            for catalog in {table.catalog for table in config.source_tables()}:
                drop_schema(catalog, SCHEMA)


def hashable(row: tuple) -> tuple:
    """A row whose maps (auxiliary values) are sorted tuples of their entries, to count it."""
    return tuple(tuple(sorted(value.items())) if isinstance(value, dict) else value for value in row)


def duckdb_rows(directory: Path, view: str) -> tuple[list[str], list[tuple]]:
    connection = warehouse.connect_analytics(read_only=True, warehouse_dir=directory)
    try:
        cursor = connection.execute(f"select * from {config.get('TARGET_CATALOG')}.{SCHEMA}.{view}")
        return [column[0] for column in cursor.description], cursor.fetchall()
    finally:
        connection.close()


def test_integer_part_and_recipe_ids_build_the_views_of_their_text(
    labs: tuple[Path, Path, dict[str, str]], dbt_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    integers, texts, schemas = labs
    types = duckdb.connect(str(integers / "metadata.duckdb"), read_only=True).execute(
        f"select table_name, data_type from information_schema.columns where table_schema = '{SCHEMA}' "
        "and column_name in ('part_id', 'recipe_id') order by all"
    )
    assert {row[1] for row in types.fetchall()} == {"INTEGER"}  # the lab's tables really hold integers
    run_pulse("build", env=pulse_env(texts, **schemas))
    if dbt_target == "duckdb":
        run_pulse("build", env=pulse_env(integers, **schemas))
        for mart in MARTS:
            text_columns, text_rows = duckdb_rows(texts, mart)
            integer_columns, integer_rows = duckdb_rows(integers, mart)
            assert integer_columns == text_columns
            assert len(integer_rows) == len(text_rows) > 0
            assert Counter(map(hashable, integer_rows)) == Counter(map(hashable, text_rows)), mart
        return

    from tests.e2e.test_engines_agree import KEYS, by_key, same

    run_pulse("load-trino", env=pulse_env(integers, TRINO_USER="loader", **schemas))
    run_pulse("build", "--target", "trino", env=pulse_env(integers, TRINO_USER="dbt", **schemas))
    for key, value in schemas.items():
        monkeypatch.setenv(config.PREFIX + key, value)
    for mart in MARTS:
        text_columns, text_rows = duckdb_rows(texts, mart)
        trino_columns, trino_rows = dbt.query("trino", f"select * from {config.get('TARGET_CATALOG')}.{SCHEMA}.{mart}")
        assert trino_columns == text_columns
        assert len(trino_rows) == len(text_rows) > 0
        text_keyed, trino_keyed = (
            by_key(text_columns, text_rows, KEYS[mart]),
            by_key(trino_columns, trino_rows, KEYS[mart]),
        )
        assert trino_keyed.keys() == text_keyed.keys(), mart
        differences = [
            f"{mart} {key} {column}: text ids {left!r}, integer ids on Trino {right!r}"
            for key, row in text_keyed.items()
            for column, left, right in zip(text_columns, row, trino_keyed[key], strict=True)
            if not same(left, right)
        ]
        assert differences == [], differences[:10]
