"""The dashboard workflows of .github/workflows run for real: each `run:` step in order, in bash as GitHub's runner
runs it, in a checkout of this project, with the job's environment (its secrets and variables pointed at the
session's Superset, synced to the native Trino as the production one is). A pull request's plan shows a changed
chart and changes nothing, the merge's sync applies it, the nightly drift finds nothing, then a UI edit and fails.
`uses:` steps are the runner's (the checkout is the copy; setup-python is the venv the copy links to)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from pulse_analytics import config, trino_security
from tests.conftest import REPO_ROOT, TRINO_SETTINGS, SupersetServer, project_copy, run_pulse
from tests.integration.test_export_roundtrip import CHART, CHART_UUID, DASHBOARD, chart_id
from tests.integration.test_superset_plan import BUNDLE_DASHBOARD_UUID, commit_a_new_dashboard, dashboards_by_uuid, git

pytestmark = pytest.mark.trino_only

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
EXPRESSION = re.compile(r"\$\{\{\s*(secrets|vars)\.([A-Z_]+)\s*\}\}")


@dataclass
class JobRun:
    returncode: int  # of the first step that failed, else 0
    output: str
    summary: str  # what the steps wrote to $GITHUB_STEP_SUMMARY


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """This project as actions/checkout leaves it, with the project's venv as setup-python and `make install` leave
    it (so the Install step runs and finds it up to date)."""
    root = project_copy(tmp_path / "checkout")
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(REPO_ROOT / name, root / name)
    shutil.copytree(REPO_ROOT / ".github", root / ".github")
    (root / ".venv").symlink_to(REPO_ROOT / ".venv")
    return root


@pytest.fixture
def production(superset_server: SupersetServer) -> dict[str, str]:
    """The repository's secrets and variables, as the production environment holds them."""
    users = TRINO_SETTINGS["TRINO_PASSWORDS_FILE"]
    return {
        "secrets.SUPERSET_URL": superset_server.url,
        "secrets.SUPERSET_ADMIN_USER": superset_server.admin[0],
        "secrets.SUPERSET_ADMIN_PASSWORD": superset_server.admin[1],
        "secrets.TRINO_SUPERSET_PASSWORD": trino_security.read_passwords(Path(users))["superset"],
        "vars.TRINO_HOST": TRINO_SETTINGS["TRINO_HOST"],
        "vars.TRINO_PORT": TRINO_SETTINGS["TRINO_PORT"],
    }


def run_job(name: str, checkout: Path, settings: dict[str, str], tmp_path: Path) -> JobRun:
    """Every step of the workflow's one job, in order, stopping at the first that fails (as the runner does)."""
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    [job] = workflow["jobs"].values()
    summary = tmp_path / f"{name}.summary.md"
    summary.write_text("")
    env = {key: value for key, value in os.environ.items() if not key.startswith(config.PREFIX)}
    env.update({key: substituted(value, settings) for key, value in job.get("env", {}).items()})
    env.update(
        {
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_WORKFLOW": workflow["name"],
            "CI": "true",
            # the runner's trust store: the production Trino's certificate is the lab's; here, the native stack's CA
            config.PREFIX + "TRINO_CA_FILE": TRINO_SETTINGS["TRINO_CA_FILE"],
        }
    )
    output = []
    for step in job["steps"]:
        if "uses" in step:
            continue
        script = substituted(step["run"], settings)
        step_env = {**env, **{key: substituted(value, settings) for key, value in step.get("env", {}).items()}}
        process = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=checkout,
            env=step_env,
            capture_output=True,
            text=True,
        )
        output.append(f"--- {step.get('name', script)}\n{process.stdout}{process.stderr}")
        if process.returncode != 0:
            return JobRun(process.returncode, "\n".join(output), summary.read_text())
    return JobRun(0, "\n".join(output), summary.read_text())


def substituted(value: Any, settings: dict[str, str]) -> str:
    def lookup(match: re.Match[str]) -> str:
        key = f"{match.group(1)}.{match.group(2)}"
        assert key in settings, f"the workflow reads {key}, which this test does not configure: add it"
        return settings[key]

    text = EXPRESSION.sub(lookup, str(value))
    assert "${{" not in text, f"an expression this test cannot evaluate: {text}"
    return text


def test_a_pull_request_is_planned_merged_synced_and_a_ui_edit_found_at_night(
    superset_server: SupersetServer, checkout: Path, production: dict[str, str], tmp_path: Path
) -> None:
    api = superset_server.api()
    for name in (CHART, DASHBOARD):  # the pull request: a chart's new title
        path = checkout / name
        path.write_text(path.read_text().replace("Voltage vs time", "Cell voltage (V)"))
    chart = f"/api/v1/chart/{chart_id(api, CHART_UUID)}"
    try:
        plan = run_job("plan-dashboards.yml", checkout, production, tmp_path)
        assert plan.returncode == 0, plan.output
        assert plan.summary.startswith("### Plan for ") and "0 to create, 2 to update" in plan.summary
        assert "-slice_name: Voltage vs time\n+slice_name: Cell voltage (V)\n" in plan.summary
        assert api.get(chart)["result"]["slice_name"] == "Voltage vs time"  # a plan changes nothing

        merged = run_job("sync-dashboards.yml", checkout, production, tmp_path)
        assert merged.returncode == 0, merged.output
        assert api.get(chart)["result"]["slice_name"] == "Cell voltage (V)"
        assert "Cannot connect" not in merged.output  # preset-cli's probe, blind to the TLS settings (sync.py)

        night = run_job("drift-dashboards.yml", checkout, production, tmp_path)
        assert night.returncode == 0, night.output
        assert "0 edited in Superset, 0 only in Superset (nothing differs)" in night.summary

        api.put(chart, {"slice_name": "Cell voltage, edited in the UI"})
        drifted = run_job("drift-dashboards.yml", checkout, production, tmp_path)
        assert drifted.returncode == 2, drifted.output  # the nightly job fails
        assert "-slice_name: Cell voltage (V)\n+slice_name: Cell voltage, edited in the UI\n" in drifted.summary
    finally:
        run_pulse("sync", "--target", "trino", env=superset_server.env)  # git's assets again, for the other tests


def test_a_workflow_without_its_secrets_names_what_is_missing(
    checkout: Path, production: dict[str, str], tmp_path: Path
) -> None:
    unset = {**production, "secrets.TRINO_SUPERSET_PASSWORD": ""}
    run = run_job("plan-dashboards.yml", checkout, unset, tmp_path)
    assert run.returncode == 1
    assert "::error::not configured: PULSE_ANALYTICS_TRINO_PASSWORD (see the comment at the top of the workflow" in (
        run.output
    )


def test_a_dashboard_deleted_in_git_goes_at_the_merge_and_one_made_by_hand_stays(
    superset_server: SupersetServer, checkout: Path, production: dict[str, str], tmp_path: Path
) -> None:
    """The checkout's history (fetch-depth: 0 in the workflows) says what the bundle made: a dashboard added and then
    deleted in git is planned as a deletion, first, and the merge's sync deletes it; one made by hand stays."""
    added = commit_a_new_dashboard(checkout)
    api = superset_server.api()
    made = api.post("/api/v1/dashboard/", {"dashboard_title": "Made by hand"})
    try:
        merged = run_job("sync-dashboards.yml", checkout, production, tmp_path)
        assert merged.returncode == 0 and BUNDLE_DASHBOARD_UUID in dashboards_by_uuid(api), merged.output
        git(checkout, "rm", "-q", str(added.relative_to(checkout)))
        git(checkout, "commit", "-q", "-m", "the dashboard deleted")

        plan = run_job("plan-dashboards.yml", checkout, production, tmp_path)
        assert plan.returncode == 0 and "1 to delete, 0 to create, 0 to update" in plan.summary, plan.output
        path = added.relative_to(checkout)
        assert (
            plan.summary.split("\n")[2] == f"- **delete** dashboard 'Made by the bundle' (`{path}`, deleted from git)"
        )
        assert "a sync never deletes it): dashboard 'Made by hand'" in plan.summary

        merged = run_job("sync-dashboards.yml", checkout, production, tmp_path)
        assert merged.returncode == 0, merged.output
        assert BUNDLE_DASHBOARD_UUID not in dashboards_by_uuid(api) and made["id"] in dashboards_by_uuid(api).values()
    finally:
        for uuid, dashboard_id in dashboards_by_uuid(api).items():
            if uuid == BUNDLE_DASHBOARD_UUID or dashboard_id == made["id"]:
                api.delete(f"/api/v1/dashboard/{dashboard_id}")
        run_pulse("sync", "--target", "trino", env=superset_server.env)  # git's assets again, for the other tests
