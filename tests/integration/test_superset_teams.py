"""Teams as code in a real Superset (access/teams.yaml): `pulse sync` makes the team roles and their row-level security
filters, a team viewer's queries return its team's rows only, `pulse export` writes what Superset holds back.
The same viewer in a browser: tests/ui/test_dashboards.py; in Trino directly: tests/e2e/test_trino_teams.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pulse_analytics import generate, teams
from pulse_analytics.superset import access
from pulse_analytics.superset.api import SupersetApi
from tests.conftest import SupersetServer, chart_data, project_copy, run_pulse

pytestmark = pytest.mark.trino  # on the embedded warehouse, then with Superset reading Trino

TEAMS = teams.load()
TEAM_A = TEAMS.roles[0]  # Cylindrical team: the demo's cells 1-5
PART_WITHOUT_TEAM = generate.PART_WITHOUT_METADATA  # no part_metadata row, so no team: the admin's only
PARTS_OF = {
    team: {part.part_id for part in generate.PARTS if part.team == team and part.part_id != PART_WITHOUT_TEAM}
    for team in ("cylindrical", "pouch")
}


def team_viewer(server: SupersetServer, role: teams.TeamRole = TEAM_A) -> tuple[str, str]:
    """The demo login of a team role: its demo_user, with the read-only user's password (server.ensure_logins)."""
    assert role.demo_user
    return role.demo_user, server.viewer[1]


def values(api: SupersetApi, dataset: str, column: str) -> set[Any]:
    return {row[column] for row in chart_data(api, dataset, [column], [])["data"]}


def test_sync_makes_each_team_role_and_its_filters(superset_server: SupersetServer) -> None:
    api = superset_server.api()
    rules = {item["name"]: item for item in api.list_all("/api/v1/rowlevelsecurity/")}
    for role in TEAMS.roles:
        rule = rules[f"{teams.RULE_PREFIX}{role.name}"]
        assert [item["name"] for item in rule["roles"]] == [role.name]
        assert rule["clause"] == TEAMS.role_clause(role)
        filtered = {table["table_name"] for table in rule["tables"]}
        assert {"part_statistics_cycle", "test_telemetry", "part_end_of_life", "test_overview"} <= filtered
        assert not filtered & {"recipe_metadata", "device_metadata"}
        closed = rules[f"{teams.RULE_PREFIX}{role.name} (closed datasets)"]
        assert [table["table_name"] for table in closed["tables"]] == ["device_metadata"]


def test_a_team_viewer_gets_its_teams_rows_only(superset_server: SupersetServer) -> None:
    viewer = superset_server.api(team_viewer(superset_server))
    admin = superset_server.api()
    for dataset in ("part_metadata", "part_end_of_life", "part_statistics_cycle", "test_overview"):
        assert values(viewer, dataset, "part_id") <= PARTS_OF["cylindrical"], dataset
        assert values(viewer, dataset, "part_id"), f"{dataset}: the team viewer sees none of its own cells"
        assert values(admin, dataset, "part_id") & (PARTS_OF["pouch"] | {PART_WITHOUT_TEAM}), dataset
    assert values(viewer, "test_telemetry", "team") == {"cylindrical"}
    assert chart_data(viewer, "device_metadata", ["device_id"], [])["data"] == []  # closed
    assert values(viewer, "recipe_metadata", "recipe_id") == values(admin, "recipe_metadata", "recipe_id")  # open


def test_the_read_only_viewer_still_sees_every_cell(superset_server: SupersetServer) -> None:
    viewer = superset_server.api(superset_server.viewer)
    assert values(viewer, "part_metadata", "part_id") >= PARTS_OF["cylindrical"] | PARTS_OF["pouch"]


def test_export_writes_superset_s_teams_back_and_sync_restores_git(
    superset_server: SupersetServer, tmp_path: Path, dbt_target: str
) -> None:
    """A role widened in Superset's UI (its filter's clause edited) comes back into access/teams.yaml with
    `pulse export`; applying the unchanged file again (what `pulse sync` does) puts git's filter back."""
    api = superset_server.api()
    name = f"{teams.RULE_PREFIX}{TEAM_A.name}"
    rule = next(item for item in api.list_all("/api/v1/rowlevelsecurity/") if item["name"] == name)
    api.put(f"/api/v1/rowlevelsecurity/{rule['id']}", {"clause": "team IN ('cylindrical', 'pouch')"})
    root = project_copy(tmp_path / "project")
    try:
        result = run_pulse(
            "--project-dir", str(root), "export", "--target", dbt_target, env=superset_server.env, check=False
        )
        assert "wrote access/teams.yaml" in result.stdout, result.stderr[-2000:]
        exported = teams.load(root / "access" / "teams.yaml")
        assert exported.roles[0].teams == ("cylindrical", "pouch")
        assert exported.roles[1:] == TEAMS.roles[1:]
        # a role the file does not have, made in the UI under the bundle's name: deleted by the next sync
        gone = api.post(
            "/api/v1/rowlevelsecurity/",
            {
                "name": f"{teams.RULE_PREFIX}Gone team",
                "filter_type": "Regular",
                "tables": [rule["tables"][0]["id"]],
                "roles": [rule["roles"][0]["id"]],
                "clause": "team IN ('gone')",
            },
        )
    finally:
        summary = teams.apply(api, TEAMS, access.ensure_read_only_role)
    assert "1 written, 1 deleted" in summary
    assert gone["id"] not in {item["id"] for item in api.list_all("/api/v1/rowlevelsecurity/")}
    rule = next(item for item in api.list_all("/api/v1/rowlevelsecurity/") if item["name"] == name)
    assert rule["clause"] == TEAMS.role_clause(TEAM_A)
