"""The files that deploy the bundle beyond one machine, checked by real validators: the Kubernetes dbt Job against
Kubernetes' schemas, the CI workflows against GitHub's workflow schema, the shell scripts with shellcheck."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pulse_analytics import config

REPO = Path(__file__).resolve().parents[2]
DBT_JOB = REPO / "examples" / "dbt-job.yaml"
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
SCRIPTS = sorted((REPO / "compose").rglob("*.sh")) + [REPO / ".github" / "scripts" / "require-env"]
DASHBOARD_WORKFLOWS = {"sync-dashboards.yml": "sync", "plan-dashboards.yml": "plan", "drift-dashboards.yml": "drift"}
BIN = Path(sys.executable).parent


def tool(name: str, installed_by: str) -> str:
    path = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if path is None:
        pytest.fail(f"{name} is not installed: {installed_by}")
    return path


def dbt_variables() -> set[str]:
    """The PULSE_ANALYTICS_* variables dbt reads on the trino target (its profile and the sources)."""
    profile = (REPO / "dbt" / "profiles.yml").read_text().split("    trino:", 1)[1]
    sources = "".join(path.read_text() for path in (REPO / "dbt" / "models").rglob("*.yml"))
    return set(re.findall(r"env_var\('(PULSE_ANALYTICS_[A-Z_]+)'\)", profile + sources))


def test_dbt_job_is_valid_kubernetes() -> None:
    validator = tool("kubernetes-validate", "it is in the project's test extra (make install)")
    process = subprocess.run([validator, "--strict", str(DBT_JOB)], capture_output=True, text=True)
    assert process.returncode == 0, process.stdout + process.stderr
    assert process.stdout.count("passed") == 3


def test_dbt_job_sets_every_variable_dbt_reads_with_its_meaning() -> None:
    config_map, secret, job = yaml.safe_load_all(DBT_JOB.read_text())
    assert (config_map["kind"], secret["kind"], job["kind"]) == ("ConfigMap", "Secret", "Job")
    listed = set(config_map["data"]) | set(secret["stringData"])
    assert listed == dbt_variables()
    assert set(secret["stringData"]) == {"PULSE_ANALYTICS_TRINO_PASSWORD"}
    lines = DBT_JOB.read_text().splitlines()
    descriptions = {variable.env_name: variable.description for variable in config.VARIABLES}
    for name in listed:
        [index] = [i for i, line in enumerate(lines) if line.strip().startswith(f"{name}:")]
        assert descriptions[name] in lines[index - 1], f"{name}: the comment above it must say what it means"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["build", "--target", "trino"]
    sources = {next(iter(item.values()))["name"] for item in container["envFrom"]}
    assert sources == {config_map["metadata"]["name"], secret["metadata"]["name"]}


def test_dbt_job_runs_the_image_of_the_repository() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r'^ENTRYPOINT \["pulse"\]', dockerfile, flags=re.MULTILINE)
    assert "useradd --uid 10001" in dockerfile
    job = list(yaml.safe_load_all(DBT_JOB.read_text()))[2]
    assert job["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001
    mounts = {mount["mountPath"] for mount in job["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    assert "/app/dbt/target" in mounts  # where `pulse build --target trino` writes, beside the dbt project


def test_the_image_holds_what_its_jobs_read() -> None:
    """The dbt project and assets (build, sync), the teams file and the base access rules (`pulse trino secrets`
    writes compose's Trino rules from them, teams.write_trino_rules)."""
    copied = {line.split()[1] for line in (REPO / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")}
    assert {"pulse_project.yml", "dbt", "datasets", "dashboards", "access", "trino_catalogs/rules.json"} <= copied


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_is_valid_for_github_actions(workflow: Path) -> None:
    validator = tool("check-jsonschema", "it is in the project's test extra (make install)")
    process = subprocess.run(
        [validator, "--builtin-schema", "vendor.github-workflows", str(workflow)], capture_output=True, text=True
    )
    assert process.returncode == 0, process.stdout + process.stderr


def test_e2e_workflow_runs_make_test_e2e() -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "e2e.yml").read_text())
    steps = [step.get("run", "") for step in workflow["jobs"]["e2e"]["steps"]]
    assert any(step.startswith("make test-e2e") for step in steps)


def test_workflows_pass_actionlint() -> None:
    """actionlint checks what the schema cannot: expressions, contexts, and every `run:` script with shellcheck."""
    actionlint = tool("actionlint", "`make test` builds it (make actionlint)")
    tool("shellcheck", "`make test` installs Debian's shellcheck")  # actionlint checks the scripts only with it
    path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    process = subprocess.run([actionlint], capture_output=True, text=True, cwd=REPO, env={**os.environ, "PATH": path})
    assert process.returncode == 0, process.stdout + process.stderr


@pytest.mark.parametrize("name", DASHBOARD_WORKFLOWS)
def test_dashboard_workflows_take_their_credentials_from_secrets(name: str) -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / name).read_text())
    [job] = workflow["jobs"].values()
    for variable in ("SUPERSET_URL", "PULSE_ANALYTICS_SUPERSET_ADMIN_PASSWORD", "PULSE_ANALYTICS_TRINO_PASSWORD"):
        assert job["env"][variable].startswith("${{ secrets."), variable
    command = DASHBOARD_WORKFLOWS[name]
    steps = [step.get("run", "") for step in job["steps"]]
    assert any(f"pulse {command} --url" in step and "--target trino" in step for step in steps)


def test_dashboard_workflows_run_when_they_should() -> None:
    triggers = {  # YAML 1.1 reads the key `on` as True
        name: yaml.safe_load((REPO / ".github" / "workflows" / name).read_text())[True] for name in DASHBOARD_WORKFLOWS
    }
    assert triggers["sync-dashboards.yml"]["push"]["branches"] == ["main"]
    assert "pull_request" in triggers["plan-dashboards.yml"]
    assert triggers["drift-dashboards.yml"]["schedule"]


@pytest.mark.parametrize("name", DASHBOARD_WORKFLOWS)
def test_dashboard_workflows_check_out_the_whole_history(name: str) -> None:
    """Without it (actions/checkout fetches one commit by default) a sync deletes nothing and a plan plans no
    deletion: git's history is the record of what the bundle made (superset/ownership.py)."""
    [job] = yaml.safe_load((REPO / ".github" / "workflows" / name).read_text())["jobs"].values()
    [checkout] = [step for step in job["steps"] if str(step.get("uses", "")).startswith("actions/checkout@")]
    assert checkout.get("with", {}).get("fetch-depth") == 0


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: str(path.relative_to(REPO)))
def test_shell_script_passes_shellcheck(script: Path) -> None:
    shellcheck = tool("shellcheck", "`make test` installs Debian's shellcheck")
    process = subprocess.run([shellcheck, str(script)], capture_output=True, text=True)
    assert process.returncode == 0, process.stdout
