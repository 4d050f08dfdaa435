"""access/teams.yaml read, checked and turned into Superset's row-level security and Trino's row filters (teams.py).
What a team viewer then sees: tests/integration/test_superset_teams.py, tests/ui, tests/e2e/test_trino_teams.py."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from pulse_analytics import project, teams
from pulse_analytics.errors import PulseError
from pulse_analytics.superset import check, model_columns

TEAMS_FILE = project.path("access", "teams.yaml")


def test_the_bundle_file_reads_and_passes_the_check() -> None:
    found = teams.load(TEAMS_FILE)
    assert [role.teams for role in found.roles] == [("cylindrical",), ("pouch",)]
    problems = [str(problem) for problem in check.run() if "teams.yaml" in problem.file]
    assert problems == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("column: team\nroles: nope\nextra: 1\n", "expected a mapping with keys"),
        ("roles:\n  - name: A\n", "roles[0] (A): `teams` lists no team"),
        ('roles:\n  - name: A\n    teams: ["x\'; drop table t; --"]\n', "roles[0].teams must be a list of names"),
        ("roles:\n  - {name: A, teams: [a]}\n  - {name: A, teams: [b]}\n", "a role is listed twice: ['A']"),
        ("column: Team\n", "column 'Team' is not a lower-case column name"),
        ("open_datasets: [x]\nclosed_datasets: [x]\n", "datasets ['x'] are both open and closed"),
        ("roles: [\n", "not valid YAML"),
    ],
)
def test_a_bad_file_is_refused_naming_the_file_and_the_key(text: str, expected: str, tmp_path: Path) -> None:
    path = tmp_path / "teams.yaml"
    path.write_text(text)
    with pytest.raises(PulseError) as refused:
        teams.load(path)
    assert str(refused.value).startswith(f"{path}: ") and expected in str(refused.value)


def test_every_dataset_must_have_the_column_or_be_open_or_closed() -> None:
    found = teams.Teams("team", (teams.TeamRole("A", ("a",)),), ("recipes",), ("devices", "gone"))
    problems = teams.problems(found, {"cycles": ["part_id"], "parts": ["team"], "recipes": [], "devices": []})
    assert problems == [
        "dataset cycles has no column `team`, so a team role would see all its rows: add the column to its dbt model "
        "and dataset, or list it under open_datasets or closed_datasets",
        "closed_datasets names gone, which is not a dataset of the bundle",
    ]


def test_pulse_check_reports_a_dataset_without_the_column(tmp_path: Path) -> None:
    """The whole `pulse check` on a copy of the project whose teams file no longer lists device_metadata as closed."""
    import shutil

    root = tmp_path / "project"
    for name in ("datasets", "dashboards", "dbt", "access"):
        shutil.copytree(project.path(name), root / name, ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copy(project.path("pulse_project.yml"), root / "pulse_project.yml")
    path = root / "access" / "teams.yaml"
    path.write_text(path.read_text().replace("closed_datasets: [device_metadata]", "closed_datasets: []"))
    problems = [str(problem) for problem in check.run(root) if "teams.yaml" in problem.file]
    assert problems == [
        "access/teams.yaml: dataset device_metadata has no column `team`, so a team role would see all its rows: add "
        "the column to its dbt model and dataset, or list it under open_datasets or closed_datasets"
    ]


def test_superset_filters_per_role() -> None:
    found = teams.load(TEAMS_FILE)
    datasets = {"part_metadata": 1, "test_telemetry": 2, "recipe_metadata": 3, "device_metadata": 4}
    rules = teams.rls_rules(found, datasets, {"Cylindrical team": 10, "Pouch team": 11})
    assert {name: (rule["tables"], rule["roles"], rule["clause"]) for name, rule in rules.items()} == {
        "Pulse team: Cylindrical team": ([1, 2], [10], "team IN ('cylindrical')"),
        "Pulse team: Cylindrical team (closed datasets)": ([4], [10], "1 = 0"),
        "Pulse team: Pouch team": ([1, 2], [11], "team IN ('pouch')"),
        "Pulse team: Pouch team (closed datasets)": ([4], [11], "1 = 0"),
    }


def test_trino_rules_come_first_and_filter_only_the_views_with_the_column() -> None:
    found = teams.load(TEAMS_FILE)
    base = json.loads(project.path("trino_catalogs", "rules.json").read_text())
    columns = model_columns.declared_columns(project.path("dbt"))
    with_column = sorted(model for model, names in columns.items() if "team" in names)
    assert {"test_telemetry", "part_statistics_cycle", "part_end_of_life", "part_metadata"} <= set(with_column)
    assert "device_metadata" not in with_column
    rules = teams.trino_rules(base, found, with_column, ["recipe_metadata"], "analytics", "pulse")
    assert rules["catalogs"][0] == {"user": "cylindrical", "catalog": "analytics", "allow": "read-only"}
    assert rules["catalogs"][2:] == base["catalogs"] and rules["tables"][4:] == base["tables"]
    filtered, whole = rules["tables"][0], rules["tables"][1]
    assert filtered["user"] == "cylindrical" and filtered["filter"] == "team IN ('cylindrical')"
    assert filtered["table"].split("|") == with_column
    assert whole == {
        "user": "cylindrical",
        "catalog": "analytics",
        "schema": "pulse",
        "table": "recipe_metadata",
        "privileges": ["SELECT"],
    }


def test_export_reads_the_teams_back_from_the_filters_and_keeps_the_comments(tmp_path: Path) -> None:
    path = tmp_path / "teams.yaml"
    path.write_text(TEAMS_FILE.read_text())
    git = teams.load(path)
    assert teams.clause_teams("team", "team IN ('cylindrical', 'pouch')") == ("cylindrical", "pouch")
    assert teams.clause_teams("team", "team = 'x' OR 1 = 1") is None
    widened = dataclasses.replace(git.roles[0], teams=("cylindrical", "pouch"))
    both = dataclasses.replace(git, roles=(widened, *git.roles[1:]))
    assert teams.write(both, path)
    text = path.read_text()
    assert text.startswith(TEAMS_FILE.read_text().split("column:")[0])  # the comments are kept
    assert teams.load(path) == both
    assert not teams.write(both, path)  # nothing to change the second time
