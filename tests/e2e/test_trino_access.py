"""Trino's access rules (trino_catalogs/rules.json), asserted from a real server's answers.

Each Trino user gets exactly what docs/trino.md promises: `loader` writes the source catalogs, `dbt` reads them and
owns the views of the analytics catalog, `superset` reads every analytics view (views run as their owner) and nothing
else, `admin` sees everyone's queries, anyone else gets nothing.
"""

from __future__ import annotations

import pytest

from pulse_analytics import config, trino_connection
from pulse_analytics.errors import PulseError
from tests.conftest import REPO_ROOT
from tests.e2e.test_engines_agree import EMPTY_ON_CLEAN_DATA

pytestmark = pytest.mark.trino_only

ANALYTICS = f"{config.get('TARGET_CATALOG')}.{config.get('TARGET_SCHEMA')}"
VIEWS = sorted(path.stem for path in (REPO_ROOT / "dbt" / "models").rglob("*.sql"))
SOURCES = {table.name: table for table in config.source_tables()}


@pytest.fixture(autouse=True)
def live_trino(trino_demo: dict[str, str]) -> None:
    """The demo lab loaded into the session's Trino and its views built there."""


def query_as(user: str, sql: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    monkeypatch.setenv(config.PREFIX + "TRINO_USER", user)
    connection = trino_connection.connect()
    try:
        return trino_connection.run(connection.cursor(), sql)
    finally:
        connection.close()


def refusal(user: str, sql: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Trino's answer to a statement it must refuse (the test fails if it runs)."""
    with pytest.raises(PulseError) as refused:
        query_as(user, sql, monkeypatch)
    return str(refused.value)


@pytest.mark.parametrize("view", VIEWS)
def test_superset_reads_every_view(view: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = query_as("superset", f"select count(*) from {ANALYTICS}.{view}", monkeypatch)[0][0]
    assert rows > 0 or view in EMPTY_ON_CLEAN_DATA


def test_superset_sees_only_the_analytics_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    catalogs = {row[0] for row in query_as("superset", "show catalogs", monkeypatch)}
    assert catalogs == {config.get("TARGET_CATALOG"), "system"}


@pytest.mark.parametrize("source", ["telemetry", "device_metadata"])
def test_superset_cannot_read_a_source_directly(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    answer = refusal("superset", f"select count(*) from {SOURCES[source].qualified}", monkeypatch)
    assert f"Access Denied: Cannot access catalog {SOURCES[source].catalog}" in answer


@pytest.mark.parametrize(
    "statement",
    [f"create view {ANALYTICS}.pulse_access_probe as select 1 as a", f"drop view {ANALYTICS}.test_telemetry"],
)
def test_superset_cannot_change_the_views(statement: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "Access Denied" in refusal("superset", statement, monkeypatch)


@pytest.mark.parametrize("source", list(SOURCES))
def test_dbt_reads_every_source(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert query_as("dbt", f"select count(*) from {SOURCES[source].qualified}", monkeypatch)[0][0] > 0


@pytest.mark.parametrize("source", ["telemetry", "statistics_cycle", "device_metadata", "part_metadata"])
def test_dbt_cannot_write_a_source(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    table = SOURCES[source]
    key = table.key[0]
    assert "Access Denied" in refusal("dbt", f"insert into {table.qualified} ({key}) values ('probe')", monkeypatch)
    assert "Access Denied" in refusal("dbt", f"delete from {table.qualified}", monkeypatch)
    assert "Access Denied" in refusal("dbt", f"drop table {table.qualified}", monkeypatch)
    create = f"create table {table.catalog}.{table.schema}.pulse_access_probe (a integer)"
    assert "Access Denied" in refusal("dbt", create, monkeypatch)


def test_the_loader_cannot_write_the_analytics_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = refusal("loader", f"create view {ANALYTICS}.pulse_access_probe as select 1 as a", monkeypatch)
    assert "Access Denied" in answer


@pytest.mark.parametrize("user", ["nobody", "guest"])
def test_an_unknown_user_is_refused_everything(user: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for sql in (
        f"select count(*) from {ANALYTICS}.test_statistics_cycle",
        f"select count(*) from {SOURCES['telemetry'].qualified}",
    ):
        assert "Access Denied: Cannot access catalog" in refusal(user, sql, monkeypatch)
    assert {row[0] for row in query_as(user, "show catalogs", monkeypatch)} == {"system"}


def test_only_admin_sees_other_users_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    query_as("dbt", "select 1", monkeypatch)
    users_seen = 'select distinct "user" from system.runtime.queries'
    assert {row[0] for row in query_as("superset", users_seen, monkeypatch)} == {"superset"}
    assert "dbt" in {row[0] for row in query_as("admin", users_seen, monkeypatch)}
