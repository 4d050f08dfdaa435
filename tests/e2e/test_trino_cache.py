"""Superset's data cache on Trino keeps chart results only under the version of the data (the view source_versions:
Iceberg snapshots, metadata checksums, the views' build): a write to Trino's tables by anything, not only by `pulse`,
shows at the next request. In the Trino pass the session's Superset reads Trino as user `superset`."""

from __future__ import annotations

import pytest

from pulse_analytics import config, trino_connection
from pulse_analytics.superset.api import SupersetApi
from tests.conftest import SupersetServer, count_rows

pytestmark = pytest.mark.trino_only


def query_as_loader(sql: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    monkeypatch.setenv(config.PREFIX + "TRINO_USER", "loader")
    connection = trino_connection.connect()
    try:
        return trino_connection.run(connection.cursor(), sql)
    finally:
        connection.close()


def kept_then_changed(api: SupersetApi, dataset: str, write: str, undo: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A result is kept; after `write` the next request queries Trino and sees it; after `undo`, the content of before
    again."""
    first, again = count_rows(api, dataset), count_rows(api, dataset)
    assert again["is_cached"] is True and again["data"] == first["data"], (first, again)
    rows = first["data"][0]["records"]
    query_as_loader(write, monkeypatch)
    try:
        written = count_rows(api, dataset)
        assert not written["is_cached"] and written["data"][0]["records"] == rows + 1
        assert count_rows(api, dataset)["is_cached"] is True
    finally:
        query_as_loader(undo, monkeypatch)
    undone = count_rows(api, dataset)  # a version of the same content as before may find the result kept then
    assert undone["data"][0]["records"] == rows


def test_a_commit_to_a_telemetry_table_shows_at_once(
    superset_server: SupersetServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    telemetry = next(table for table in config.source_tables() if table.name == "telemetry")
    catalog, schema = trino_connection.quote(telemetry.catalog), telemetry.schema
    columns = [
        row[0]
        for row in query_as_loader(
            f"select column_name from {catalog}.information_schema.columns where table_schema = '{schema}' "
            f"and table_name = '{telemetry.table}' order by ordinal_position",
            monkeypatch,
        )
    ]
    copied = ", ".join("'cache-probe'" if name == "test_id" else trino_connection.quote(name) for name in columns)
    kept_then_changed(
        superset_server.api(),
        "test_telemetry",
        f"insert into {telemetry.qualified} select {copied} from {telemetry.qualified} limit 1",
        f"delete from {telemetry.qualified} where test_id = 'cache-probe'",
        monkeypatch,
    )


def test_an_edited_metadata_row_shows_at_once(superset_server: SupersetServer, monkeypatch: pytest.MonkeyPatch) -> None:
    parts = next(table for table in config.source_tables() if table.name == "part_metadata").qualified
    kept_then_changed(
        superset_server.api(),
        "part_metadata",
        f"insert into {parts} (part_id, chemistry) values ('cache-probe', 'NMC811')",
        f"delete from {parts} where part_id = 'cache-probe'",
        monkeypatch,
    )
