"""The Superset datasets describe their columns exactly as the dbt docs do (written there by `pulse check --normalize`
from dbt's manifest, checked by `pulse check`), and label them with their units."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pulse_analytics.errors import PulseError
from pulse_analytics.superset import assets, check, descriptions
from tests.conftest import MARTS, REPO_ROOT, project_copy, pulse_env, run_pulse

UNIT_SUFFIXES = {
    "__v": "(V)",
    "__a": "(A)",
    "__w": "(W)",
    "__ah": "(Ah)",
    "__wh": "(Wh)",
    "__s": "(s)",
    "__c": "(°C)",
    "__ah_v": "(Ah/V)",
}
DATASET = "datasets/datasets/pulse_warehouse/test_telemetry.yaml"
CYCLE_DATASET = "datasets/datasets/pulse_warehouse/part_statistics_cycle.yaml"


def physical_datasets() -> list[tuple[Path, dict]]:
    datasets = [(path, assets.load(path)) for path in assets.files("datasets")]
    return [(path, dataset) for path, dataset in datasets if not dataset.get("sql")]


@pytest.fixture(scope="module")
def docs() -> descriptions.Docs:
    """model -> column -> description, from the manifest `dbt parse` writes (the docs blocks resolved)."""
    return descriptions.read()


def test_every_view_users_need_has_a_dataset(docs: descriptions.Docs) -> None:
    names = {dataset["table_name"] for _, dataset in physical_datasets()}
    assert set(MARTS) <= names <= set(docs.columns)


def test_the_committed_datasets_carry_the_dbt_docs_descriptions(docs: descriptions.Docs) -> None:
    described = 0
    for path, dataset in physical_datasets():
        differ = [
            f"{entry['column_name']}: {entry.get('description')!r} != dbt {text!r}"
            for entry, text in descriptions.differences(dataset, docs)
        ]
        assert differ == [], f"run `pulse check --normalize` ({path.relative_to(REPO_ROOT)})"
        documented = docs.columns[dataset["table_name"]]
        described += sum(column["column_name"] in documented for column in dataset["columns"])
    assert described > 200  # the check compares every documented column, not none
    assert [str(problem) for problem in check.run(REPO_ROOT)] == []  # the README's table of definitions too


def test_a_changed_description_is_reported_and_normalize_writes_the_dbt_docs_back(tmp_path: Path) -> None:
    bundle = project_copy(tmp_path / "project")
    dataset = assets.load(bundle / DATASET)
    next(column for column in dataset["columns"] if column["column_name"] == "voltage__v")["description"] = "Voltage."
    (bundle / DATASET).write_text(assets.normal_yaml(dataset), encoding="utf-8")
    env = pulse_env(tmp_path / "no-warehouse")
    result = run_pulse("--project-dir", str(bundle), "check", env=env, check=False)
    assert result.returncode == 1
    problems = result.stdout.splitlines()[:-1]
    assert len(problems) == 1, result.stdout
    assert problems[0].startswith(
        f"{DATASET}: column 'voltage__v' is not described as dbt model test_telemetry "
        "describes it (from character 1: 'Voltage.' here, 'Instantaneous voltage (V).' in "
        "the dbt docs)"
    ), problems[0]
    assert problems[0].endswith("run `pulse check --normalize` to write the dbt docs' description")
    result = run_pulse("--project-dir", str(bundle), "check", "--normalize", env=env)
    assert f"normalized {DATASET}" in result.stderr
    assert "check: no problems" in result.stdout
    assert (bundle / DATASET).read_text() == (REPO_ROOT / DATASET).read_text()


def test_a_description_edited_in_the_dbt_docs_reaches_the_datasets_and_the_readme(tmp_path: Path) -> None:
    """The one way a description travels: dbt docs -> manifest (`dbt parse`) -> datasets and README."""
    bundle = project_copy(tmp_path / "project")
    assert check.run(bundle) == []
    column_docs = bundle / "dbt/models/_column_docs.md"
    old = "Capacity retention: discharge_capacity__ah / reference_capacity__ah (fraction; 0.8 = 80 %)."
    new = "Share of the reference capacity the cycle discharged: discharge_capacity__ah / reference_capacity__ah."
    column_docs.write_text(column_docs.read_text().replace(old, new), encoding="utf-8")

    stale = [str(problem) for problem in check.run(bundle)]  # the manifest is parsed again
    assert len(stale) == 2, stale
    assert stale[0].startswith(
        f"{CYCLE_DATASET}: column 'capacity_retention' is not described as dbt model part_statistics_cycle describes it"
    )
    assert stale[1].startswith("README.md: the table between <!-- column definitions from the dbt docs")
    changed = check.normalize(bundle)
    assert sorted(path.relative_to(bundle).as_posix() for path in changed) == ["README.md", CYCLE_DATASET]
    assert check.run(bundle) == []
    retention = next(
        column
        for column in assets.load(bundle / CYCLE_DATASET)["columns"]
        if column["column_name"] == "capacity_retention"
    )
    assert retention["description"] == new
    assert f"| `capacity_retention` | `part_statistics_cycle` | {new} |" in (bundle / "README.md").read_text()


def test_a_readme_column_no_mart_documents_is_named(docs: descriptions.Docs) -> None:
    text = (
        "<!-- column definitions from the dbt docs: capacity_retention capacity_retentoin -->\n"
        "<!-- end of column definitions -->\n"
    )
    with pytest.raises(
        PulseError, match="column 'capacity_retentoin' of the column definitions .* is documented in no dbt mart"
    ):
        descriptions.with_tables(text, docs)


@pytest.mark.parametrize("path", [path for path in assets.files("datasets")], ids=lambda path: path.stem)
def test_columns_with_a_unit_say_it_in_their_verbose_name(path: Path) -> None:
    missing = []
    for column in assets.load(path)["columns"]:
        suffix = re.search(r"(__[a-z]+(?:_v)?)$", column["column_name"])
        unit = UNIT_SUFFIXES.get(suffix.group(1)) if suffix else None
        if unit and unit not in column.get("verbose_name", ""):
            missing.append(f"{column['column_name']}: {column.get('verbose_name')!r} lacks {unit}")
    assert missing == []
