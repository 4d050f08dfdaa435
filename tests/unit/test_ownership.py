"""Which assets the bundle made, from git's history (ownership.retired), on real git repositories."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pulse_analytics.superset import ownership

DASHBOARD = Path("dashboards", "dashboards")
CHARTS = Path("dashboards", "charts")


def git(root: Path, *arguments: str) -> None:
    subprocess.run(["git", *arguments], cwd=root, check=True, capture_output=True)


def asset(root: Path, folder: Path, name: str, uuid: str) -> Path:
    path = root / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"title: {name}\nuuid: {uuid}\n")
    return path


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", message)


def repository(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q")
    asset(root, DASHBOARD, "kept.yaml", "uuid-kept")
    asset(root, DASHBOARD, "gone.yaml", "uuid-gone")
    asset(root, CHARTS, "moved.yaml", "uuid-moved")
    asset(root, CHARTS, "uncommitted.yaml", "uuid-uncommitted")
    commit(root, "the bundle")
    return root


def in_git(root: Path) -> dict[str, set[str]]:
    from pulse_analytics.superset import assets

    return {
        kind: {str(assets.load(path)["uuid"]) for path in assets.files(kind, root / assets.FOLDERS[kind])}
        for kind in ownership.DELETABLE
    }


def test_files_deleted_in_a_commit_or_the_working_tree_are_retired_a_moved_one_is_not(tmp_path: Path) -> None:
    root = repository(tmp_path)
    (root / DASHBOARD / "gone.yaml").unlink()
    (root / CHARTS / "moved.yaml").rename(root / CHARTS / "renamed.yaml")
    commit(root, "a dashboard deleted, a chart renamed")
    (root / CHARTS / "uncommitted.yaml").unlink()
    found = ownership.retired(root, in_git(root))
    assert found.unknown_because is None
    assert found.files == {
        "dashboards": {"uuid-gone": "dashboards/dashboards/gone.yaml"},
        "charts": {"uuid-uncommitted": "dashboards/charts/uncommitted.yaml"},
        "datasets": {},
    }


def test_an_asset_never_in_git_is_never_retired(tmp_path: Path) -> None:
    root = repository(tmp_path)
    assert ownership.retired(root, in_git(root)).files == {"dashboards": {}, "charts": {}, "datasets": {}}


def test_without_history_nothing_is_retired_and_the_reason_is_given(tmp_path: Path) -> None:
    root = repository(tmp_path)
    (root / DASHBOARD / "gone.yaml").unlink()
    commit(root, "a dashboard deleted")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{root}", str(shallow))
    found = ownership.retired(shallow, in_git(shallow))
    assert found.files["dashboards"] == {} and "shallow" in (found.unknown_because or "")
    plain = tmp_path / "plain"
    asset(plain, DASHBOARD, "x.yaml", "uuid-x")
    found = ownership.retired(plain, in_git(plain))
    assert found.files["dashboards"] == {} and "not a git checkout" in (found.unknown_because or "")
