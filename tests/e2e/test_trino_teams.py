"""The team boundary in Trino itself (access/teams.yaml, teams.trino_rules): a team's Trino user, querying Trino as a
SQL client or notebook does, reads its team's rows of every view with the column, the open views whole, nothing
else. In Superset: tests/integration/test_superset_teams.py."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pulse_analytics import project, teams
from pulse_analytics.superset import model_columns
from tests.conftest import TRINO_SETTINGS, project_copy, pulse_env, run_pulse
from tests.e2e.test_engines_agree import EMPTY_ON_CLEAN_DATA
from tests.e2e.test_trino_access import ANALYTICS, SOURCES, query_as, refusal

pytestmark = pytest.mark.trino_only

TEAMS = teams.load()
TEAM_A = TEAMS.roles[0]
COLUMNS = model_columns.declared_columns(project.path("dbt"))
WITH_COLUMN = sorted(model for model, names in COLUMNS.items() if TEAMS.column in names)


@pytest.fixture(autouse=True)
def live_trino(trino_demo: dict[str, str]) -> None:
    """The demo lab loaded into the session's Trino and its views built there."""


@pytest.mark.parametrize("view", WITH_COLUMN)
def test_a_team_user_reads_its_teams_rows_of_every_view(view: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sql = f"select distinct coalesce({TEAMS.column}, '(none)') from {ANALYTICS}.{view}"
    seen = {row[0] for row in query_as(TEAM_A.trino_users[0], sql, monkeypatch)}
    everyone = {row[0] for row in query_as("superset", sql, monkeypatch)}
    assert seen == set(TEAM_A.teams) or (view in EMPTY_ON_CLEAN_DATA and not everyone), (view, seen)
    assert everyone - seen or view in EMPTY_ON_CLEAN_DATA, f"{view}: the other teams' rows are missing for superset"


def test_a_team_user_reads_the_open_views_whole_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    user = TEAM_A.trino_users[0]
    for view in TEAMS.open_datasets:
        sql = f"select count(*) from {ANALYTICS}.{view}"
        assert query_as(user, sql, monkeypatch) == query_as("superset", sql, monkeypatch) != [(0,)]
    for sql in (
        f"select count(*) from {ANALYTICS}.{TEAMS.closed_datasets[0]}",
        f"select count(*) from {ANALYTICS}.source_versions",
        f"select count(*) from {SOURCES['telemetry'].qualified}",
        f"select count(*) from {SOURCES['part_metadata'].qualified}",
    ):
        assert "Access Denied" in refusal(user, sql, monkeypatch), sql
    for sql in (
        f"delete from {SOURCES['part_metadata'].qualified}",
        f"create view {ANALYTICS}.team_view as select 1 as one",
    ):
        assert "Access Denied" in refusal(user, sql, monkeypatch), sql


def wait_until(holds: Callable[[], bool], what: str, seconds: float = 120) -> None:
    """Poll until `holds()` (Trino re-reads its rules every 5 s: trino_catalogs/access-control.properties)."""
    deadline = time.monotonic() + seconds
    while not holds():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds:.0f} s: {what}")
        time.sleep(0.5)


def test_an_edited_teams_file_takes_effect_in_the_running_trino(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A team given a second team in access/teams.yaml: `pulse trino secrets` writes the rules into the running
    stack's security folder, and Trino, without a restart, shows the team user both teams' rows; then back."""
    if os.environ.get("PULSE_E2E_COMPOSE"):
        pytest.skip("compose's rules are written by its trino-secrets job, into a volume of the compose stack")
    security = str(Path(TRINO_SETTINGS["TRINO_PASSWORDS_FILE"]).parent)
    root = project_copy(tmp_path / "project")
    teams_file = root / "access" / "teams.yaml"
    other = TEAMS.roles[1].teams[0]
    teams_file.write_text(
        teams_file.read_text().replace(f"teams: [{TEAM_A.teams[0]}]", f"teams: [{TEAM_A.teams[0]}, {other}]", 1)
    )
    view = next(view for view in WITH_COLUMN if view not in EMPTY_ON_CLEAN_DATA)
    sql = f"select distinct {TEAMS.column} from {ANALYTICS}.{view} where {TEAMS.column} is not null"
    seen = lambda: {row[0] for row in query_as(TEAM_A.trino_users[0], sql, monkeypatch)}  # noqa: E731
    assert seen() == set(TEAM_A.teams)
    try:
        run_pulse("--project-dir", str(root), "trino", "secrets", security, env=pulse_env(tmp_path))
        wait_until(lambda: seen() == {*TEAM_A.teams, other}, f"{TEAM_A.trino_users[0]} reads the {other} rows too")
    finally:
        run_pulse("trino", "secrets", security, env=pulse_env(tmp_path))
    wait_until(lambda: seen() == set(TEAM_A.teams), f"{TEAM_A.trino_users[0]} reads its own team's rows only again")
