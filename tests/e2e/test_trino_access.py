"""Trino's access rules (trino_catalogs/rules.json), asserted from a real server's answers.

Each Trino user gets exactly what docs/trino.md promises: `loader` writes the source catalogs, `dbt` reads them and
owns the views of the analytics catalog, `superset` reads every analytics view (views run as their owner) and nothing
else, `admin` sees everyone's queries, anyone else who can log in gets nothing. Who can log in at all:
test_trino_authentication.py.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from pulse_analytics import config, trino_connection, trino_security
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


def test_a_user_the_rules_do_not_name_is_refused_everything(
    lab_user: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A person the lab lets log in (a line in the password file) whom rules.json does not name gets nothing."""
    user, password = lab_user
    monkeypatch.setenv(config.PREFIX + "TRINO_PASSWORD", password)
    for sql in (
        f"select count(*) from {ANALYTICS}.test_statistics_cycle",
        f"select count(*) from {SOURCES['telemetry'].qualified}",
    ):
        assert "Access Denied: Cannot access catalog" in refusal(user, sql, monkeypatch)
    assert {row[0] for row in query_as(user, "show catalogs", monkeypatch)} == {"system"}


@pytest.fixture
def lab_user() -> Iterator[tuple[str, str]]:
    """A user `guest` added to the running Trino's password file (Trino reads it again every 5 s), removed after."""
    security = trino_security.SecurityFiles(Path(config.get("TRINO_PASSWORDS_FILE")).parent)
    kept = security.password_db.read_text()
    password = secrets.token_urlsafe(12)
    security.password_db.write_text(kept + trino_security.password_db({"guest": password}))
    try:
        wait_until_accepted("guest", password)
        yield "guest", password
    finally:
        security.password_db.write_text(kept)


def wait_until_accepted(user: str, password: str, timeout_s: float = 60) -> None:
    url = f"https://{config.get('TRINO_HOST')}:{config.get('TRINO_PORT')}/v1/statement"
    deadline = time.monotonic() + timeout_s
    while True:
        answer = requests.post(
            url, data="select 1", auth=(user, password), verify=config.trino_ca_file(), headers={"X-Trino-User": user}
        )
        if answer.status_code == 200 or time.monotonic() > deadline:
            assert answer.status_code == 200, f"Trino never accepted {user}'s new password: {answer.status_code}"
            return
        time.sleep(1)


def test_only_admin_sees_other_users_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    query_as("dbt", "select 1", monkeypatch)
    users_seen = 'select distinct "user" from system.runtime.queries'
    assert {row[0] for row in query_as("superset", users_seen, monkeypatch)} == {"superset"}
    assert "dbt" in {row[0] for row in query_as("admin", users_seen, monkeypatch)}
