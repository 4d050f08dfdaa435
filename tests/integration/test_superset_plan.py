"""`pulse plan` and `pulse drift` on a real Superset (the session's, every asset synced): what a sync would change and
what Superset holds that git does not, asset by asset, with Superset left exactly as it was.

Each test leaves Superset as git has it (a sync, and the assets it made deleted)."""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path

import pytest

from pulse_analytics.superset import assets
from pulse_analytics.superset.api import SupersetApi
from tests.conftest import SupersetServer, project_copy, run_pulse
from tests.integration.test_export_roundtrip import CHART, CHART_UUID, DASHBOARD, chart_id

DIFFERS = 2
OVERVIEW = "datasets/datasets/pulse_warehouse/test_overview.yaml"


def compare(
    server: SupersetServer, command: str, *options: str, root: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`pulse plan` or `pulse drift`, in the project at root (default this one); exit code 0 or 2 expected."""
    project = ("--project-dir", str(root)) if root else ()
    result = run_pulse(*project, command, *options, env=server.env, check=False)
    assert result.returncode in (0, DIFFERS), f"pulse {command} failed:\n{result.stdout}\n{result.stderr}"
    return result


def superset_export(api: SupersetApi) -> dict[str, bytes]:
    """Every file of Superset's export of all dashboards and datasets (but the zip's own timestamp file), and its
    row-level security filters: what a plan must leave byte for byte as it was."""
    files: dict[str, bytes] = {}
    for resource in ("dashboard", "dataset", "chart"):
        ids = ",".join(str(item["id"]) for item in api.list_all(f"/api/v1/{resource}/"))
        response = api.session.get(f"{api.url}/api/v1/{resource}/export/", params={"q": f"!({ids})"}, timeout=300)
        response.raise_for_status()
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            for name in archive.namelist():
                if not name.endswith("/metadata.yaml"):
                    files[f"{resource}:{name.split('/', 1)[1]}"] = archive.read(name)
    rules = api.list_all("/api/v1/rowlevelsecurity/")
    files["rls"] = repr(
        [{key: value for key, value in rule.items() if not key.startswith("changed_on_delta")} for rule in rules]
    ).encode()
    return files


@pytest.mark.trino  # in the Trino pass too, against a Superset synced with --target trino
def test_a_synced_superset_has_nothing_to_plan_and_no_drift_and_is_left_as_it_was(
    superset_server: SupersetServer, dbt_target: str
) -> None:
    api = superset_server.api()
    before = superset_export(api)
    plan = compare(superset_server, "plan", "--target", dbt_target)
    drift = compare(superset_server, "drift", "--target", dbt_target)
    assert superset_export(api) == before
    assert (plan.returncode, drift.returncode) == (0, 0), plan.stdout + drift.stdout
    assert "0 to create, 0 to update (nothing differs)" in plan.stdout
    assert "0 edited in Superset, 0 only in Superset (nothing differs)" in drift.stdout


def test_a_plan_shows_what_a_sync_of_changed_files_would_do_and_the_sync_does_it(
    superset_server: SupersetServer, tmp_path: Path
) -> None:
    root = project_copy(tmp_path / "project")
    for name in (CHART, DASHBOARD):  # a chart's new title, in its file and in the dashboard's layout
        path = root / name
        path.write_text(path.read_text().replace("Voltage vs time", "Cell voltage (V)"))
    overview = root / OVERVIEW
    new_uuid = "0f4a1c52-7d2e-4b8e-9a41-5b2f0c6d7e81"
    new_dataset = overview.with_name("test_overview_copy.yaml")
    new_dataset.write_text(
        overview.read_text()
        .replace(assets.load(overview)["uuid"], new_uuid)
        .replace("table_name: test_overview", "table_name: test_overview_copy")
    )
    api = superset_server.api()
    before = superset_export(api)
    plan = compare(superset_server, "plan", root=root)
    assert superset_export(api) == before
    assert plan.returncode == DIFFERS
    assert "1 to create, 2 to update" in plan.stdout, plan.stdout
    assert f"+ create dataset 'test_overview_copy' ({new_dataset.relative_to(root)})" in plan.stdout
    update = plan.stdout.split(f"~ update chart 'Cell voltage (V)' ({CHART})\n", 1)[1].split("~ update dashboard")[0]
    diff_lines = [line.strip() for line in update.splitlines() if line.startswith("    ")]
    assert diff_lines[:2] == ["--- Superset", f"+++ git: {CHART}"]
    changed = [line for line in diff_lines[2:] if line[:1] in "+-"]
    assert changed == ["-slice_name: Voltage vs time", "+slice_name: Cell voltage (V)"]
    markdown = compare(superset_server, "plan", "--format", "markdown", root=root).stdout
    assert markdown.startswith("### Plan for http://localhost:") and "```diff\n--- Superset\n" in markdown
    assert "+slice_name: Cell voltage (V)\n" in markdown
    try:
        run_pulse("--project-dir", str(root), "sync", env=superset_server.env)  # as the merge's workflow does
        after = compare(superset_server, "plan", root=root)
        assert after.returncode == 0, after.stdout
    finally:
        for item in api.list_all("/api/v1/dataset/"):
            if item["uuid"] == new_uuid:
                api.delete(f"/api/v1/dataset/{item['id']}")
        run_pulse("sync", env=superset_server.env)
    assert compare(superset_server, "plan").returncode == 0


def test_drift_shows_an_edit_and_a_dashboard_made_in_superset(superset_server: SupersetServer) -> None:
    api = superset_server.api()
    api.put(f"/api/v1/chart/{chart_id(api, CHART_UUID)}", {"slice_name": "Voltage, edited in the UI"})
    made = api.post("/api/v1/dashboard/", {"dashboard_title": "Made by hand"})
    try:
        drift = compare(superset_server, "drift")
        assert drift.returncode == DIFFERS
        # the chart, and the dashboard's layout, which names it by its title (as `pulse export` would write)
        assert "2 edited in Superset, 1 only in Superset" in drift.stdout, drift.stdout
        edits = drift.stdout.split(f"~ update chart 'Voltage vs time' ({CHART})\n", 1)[1]
        edit, dashboard_edit = edits.split(f"~ update dashboard 'Test explorer' ({DASHBOARD})\n", 1)
        changed = [line.strip() for line in edit.splitlines() if line.startswith("    ")]
        assert changed[:2] == [f"--- git: {CHART}", "+++ Superset"]
        assert [line for line in changed[2:] if line[:1] in "+-"] == [
            "-slice_name: Voltage vs time",
            "+slice_name: Voltage, edited in the UI",
        ]
        dashboard_lines = [line.strip() for line in dashboard_edit.splitlines() if line.startswith("    -")]
        dashboard_lines += [line.strip() for line in dashboard_edit.splitlines() if line.startswith("    +")]
        assert dashboard_lines == [
            f"--- git: {DASHBOARD}",
            "-      sliceName: Voltage vs time",
            "+++ Superset",
            "+      sliceName: Voltage, edited in the UI",
        ]
        assert "+ only in Superset dashboard 'Made by hand'" in drift.stdout
        assert "`pulse export`" in drift.stdout and "`pulse sync`" in drift.stdout
        plan = compare(superset_server, "plan")
        assert plan.returncode == DIFFERS and "0 to create, 2 to update" in plan.stdout
        assert "kept (made in Superset, not in git; a sync never deletes it): dashboard 'Made by hand'" in plan.stdout
    finally:
        api.delete(f"/api/v1/dashboard/{made['id']}")
        run_pulse("sync", env=superset_server.env)
    assert compare(superset_server, "drift").returncode == 0


def git(root: Path, *arguments: str) -> None:
    identity = ("-c", "user.name=Pulse test", "-c", "user.email=test@example.org")
    subprocess.run(["git", *identity, *arguments], cwd=root, check=True, capture_output=True)


BUNDLE_DASHBOARD_UUID = "5d0b6a0e-3c1f-4f5e-8a2b-6e7c9d1f2a34"


def commit_a_new_dashboard(root: Path) -> Path:
    """The project at root made a git repository with its files in a first commit, then a second commit adding a
    dashboard 'Made by the bundle' (the test explorer's copy, uuid BUNDLE_DASHBOARD_UUID); the new file."""
    if not (root / ".git").exists():
        git(root, "init", "-q")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "the bundle")
    original = root / DASHBOARD
    added = original.with_name("made_by_the_bundle.yaml")
    added.write_text(
        original.read_text()
        .replace(str(assets.load(original)["uuid"]), BUNDLE_DASHBOARD_UUID)
        .replace("dashboard_title: Test explorer", "dashboard_title: Made by the bundle")
        .replace(f"slug: {assets.load(original)['slug']}", "slug: made-by-the-bundle")
    )
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a dashboard")
    return added


def dashboards_by_uuid(api: SupersetApi) -> dict[str, int]:
    """Superset's dashboards: uuid -> id."""
    return {str(item["uuid"]): item["id"] for item in api.list_all("/api/v1/dashboard/")}


def test_a_dashboard_deleted_from_git_goes_at_the_next_sync_and_one_made_by_hand_stays(
    superset_server: SupersetServer, tmp_path: Path
) -> None:
    """The bundle's own history says what it made (ownership.py): a dashboard added in one commit and deleted in a
    later one is planned as a deletion, first, and deleted by the sync; a dashboard made in Superset is kept."""
    root = project_copy(tmp_path / "project")
    added = commit_a_new_dashboard(root)
    api = superset_server.api()
    made = api.post("/api/v1/dashboard/", {"dashboard_title": "Made by hand"})
    try:
        run_pulse("--project-dir", str(root), "sync", env=superset_server.env)
        assert BUNDLE_DASHBOARD_UUID in dashboards_by_uuid(api)
        git(root, "rm", "-q", str(added.relative_to(root)))
        git(root, "commit", "-q", "-m", "the dashboard deleted")

        plan = compare(superset_server, "plan", root=root)
        assert plan.returncode == DIFFERS and "1 to delete, 0 to create, 0 to update" in plan.stdout, plan.stdout
        first_change = plan.stdout.splitlines()[1]
        assert first_change == (
            f"- delete dashboard 'Made by the bundle' ({added.relative_to(root)}, deleted from git)"
        ), plan.stdout
        assert "kept (made in Superset, not in git; a sync never deletes it): dashboard 'Made by hand'" in plan.stdout
        drift = compare(superset_server, "drift", root=root).stdout
        assert "1 asset(s) deleted from git are still in Superset: a sync deletes them." in drift
        assert "Made by the bundle" not in drift.split("asset(s) deleted")[0]  # not drift: a sync not yet run

        synced = run_pulse("--project-dir", str(root), "sync", env=superset_server.env)
        assert f"sync: deleted dashboard 'Made by the bundle' ({added.relative_to(root)} was deleted from git)" in (
            synced.stderr
        )
        assert BUNDLE_DASHBOARD_UUID not in dashboards_by_uuid(api) and made["id"] in dashboards_by_uuid(api).values()
        assert "0 to delete, 0 to create, 0 to update" in compare(superset_server, "plan", root=root).stdout
    finally:
        for uuid, dashboard_id in dashboards_by_uuid(api).items():
            if uuid == BUNDLE_DASHBOARD_UUID or dashboard_id == made["id"]:
                api.delete(f"/api/v1/dashboard/{dashboard_id}")
        run_pulse("sync", env=superset_server.env)
    assert compare(superset_server, "plan").returncode == 0


def test_a_plan_of_a_superset_that_is_not_there_says_so(superset_server: SupersetServer) -> None:
    result = run_pulse("plan", "--url", "http://localhost:9", env=superset_server.env, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("error: ") and "http://localhost:9" in result.stderr
