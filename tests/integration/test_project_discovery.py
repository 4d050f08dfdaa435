"""`pulse` works on the project you stand in, found as git and dbt find theirs, not on the clone it was installed from.

The `pulse` under test is this clone's (an editable install); the second project is a copy of this one, broken on
purpose, so the only way to see the breakage is to have checked the copy.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pulse_analytics import project
from tests.conftest import REPO_ROOT, TEST_ROWS, project_copy, pulse_env, run_pulse

CHART = "dashboards/charts/test_voltage.yaml"
NOWHERE = "00000000-0000-5000-8000-000000000000"


@pytest.fixture
def broken_clone(tmp_path: Path) -> Path:
    """A second project whose chart points at a dataset nothing defines."""
    clone = project_copy(tmp_path / "second-clone")
    chart = clone / CHART
    chart.write_text(re.sub(r"(?m)^dataset_uuid: .*$", f"dataset_uuid: {NOWHERE}", chart.read_text()))
    return clone


def expect_breakage(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{CHART}: dataset_uuid {NOWHERE}" in result.stdout, result.stdout


def test_check_in_a_second_clone_checks_that_clone(broken_clone: Path, tmp_path: Path) -> None:
    env = pulse_env(tmp_path / "warehouse")
    expect_breakage(run_pulse("check", env=env, cwd=broken_clone, check=False))
    expect_breakage(run_pulse("check", env=env, cwd=broken_clone / "dbt" / "models", check=False))  # from below
    assert "check: no problems" in run_pulse("check", env=env).stdout  # this clone is fine


def test_project_dir_option_and_variable_choose_the_project(broken_clone: Path, tmp_path: Path) -> None:
    env = pulse_env(tmp_path / "warehouse")
    expect_breakage(run_pulse("--project-dir", str(broken_clone), "check", env=env, check=False))
    expect_breakage(run_pulse("check", env={**env, project.ENV_NAME: str(broken_clone)}, check=False))


def test_outside_a_project_the_error_says_where_it_looked_and_what_to_do(tmp_path: Path) -> None:
    env = pulse_env(tmp_path / "warehouse")
    result = run_pulse("check", env=env, cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: not in a Pulse Analytics project: neither {tmp_path.resolve()} nor")
    assert "--project-dir" in result.stderr and "Traceback" not in result.stderr
    result = run_pulse("--project-dir", str(tmp_path), "build", env=env, check=False)
    assert result.returncode == 1
    assert f"error: {tmp_path.resolve()} (from --project-dir" in result.stderr
    assert f"has no {project.MARKER}" in result.stderr


def test_relative_folders_are_the_projects_wherever_pulse_runs(broken_clone: Path) -> None:
    env = pulse_env(Path("warehouse"))  # the default, relative: the project's warehouse/ folder
    result = run_pulse("check", "--warehouse", env=env, cwd=broken_clone / "datasets", check=False)
    assert result.returncode == 1
    assert f"error: no built warehouse in {broken_clone.resolve() / 'warehouse'};" in result.stderr


def test_a_wheel_install_works_on_a_project_holding_what_the_image_copies(tmp_path: Path) -> None:
    """The pulse image installs the package as a wheel and copies the project beside it: the same here, with a model
    only that project has, so a build of any other dbt project would miss it."""
    site = install_wheel(tmp_path / "site")
    clone, app = project_copy(tmp_path / "clone"), tmp_path / "app"
    for name in image_project_files():
        (app / name).parent.mkdir(parents=True, exist_ok=True)
        (clone / name).rename(app / name)
    (app / "dbt" / "models" / "marts" / "wheel_probe.sql").write_text("select 1 as probe\n")
    env = {**pulse_env(app / "warehouse"), "PYTHONPATH": str(site)}
    imported = subprocess.run(
        [sys.executable, "-c", "import pulse_analytics; print(pulse_analytics.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert imported.startswith(str(site)), imported  # the wheel's code runs, not this clone's
    pulse = [sys.executable, "-m", "pulse_analytics.cli"]
    assert "check: no problems" in run(pulse + ["check"], env, app)
    run(pulse + ["seed", "--rows", str(TEST_ROWS)], env, app)
    assert "build OK" in run(pulse + ["build"], env, app)
    assert (
        app / "warehouse" / ".build" / "target" / "run" / "pulse_analytics" / "models" / "marts" / "wheel_probe.sql"
    ).is_file()


def install_wheel(site: Path) -> Path:
    """This project built as a wheel (from a copy of its sources, as `docker build` has them) and installed into
    `site` alone; its dependencies are this environment's."""
    source, wheel_dir = site.with_name("source"), site.with_name("wheel")
    shutil.copytree(REPO_ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheel_dir), str(source)],
        check=True,
        capture_output=True,
    )
    [wheel] = wheel_dir.glob("pulse_analytics-*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    return site


def run(command: list[str], env: dict[str, str], cwd: Path) -> str:
    process = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    assert process.returncode == 0, process.stdout + process.stderr
    return process.stdout + process.stderr


def image_project_files() -> list[str]:
    """What the Dockerfile copies into /app beside the installed package (not the package's sources)."""
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    copied = [line.split()[1:-1] for line in dockerfile.splitlines() if line.startswith("COPY ")]
    names = [name for sources in copied for name in sources if name not in ("src", "pyproject.toml", "README.md")]
    assert project.MARKER in names, "the image must hold the project's marker file"
    return names
