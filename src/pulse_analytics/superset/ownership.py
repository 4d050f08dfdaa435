"""Which assets in Superset the bundle made, so that a sync deletes an asset removed from git and nothing else.

The record is git's own history: an asset the bundle made had a file in git, so its UUID is in a committed version of
datasets/ or dashboards/. An asset whose file was deleted (in a commit, or in the working tree since the last one) is
*retired*: a sync deletes it from Superset. An asset made by hand in Superset never had a file, so its UUID is in no
commit, and nothing here ever deletes it; one adopted with `pulse export` and committed is the bundle's from then on.
A retired asset that something kept still uses (a chart on a dashboard that stays, a dataset of a chart that stays) is
kept, and the plan says why. Database connections are never deleted.

Without history (no git, or a shallow clone: actions/checkout needs `fetch-depth: 0`) deletions are not planned and
nothing is deleted; the plan and the sync say so.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pulse_analytics.superset import assets
from pulse_analytics.superset.api import SupersetApi

DELETABLE = ("dashboards", "charts", "datasets")  # in the order a sync deletes them: users of an asset first
API = {"dashboards": "dashboard", "charts": "chart", "datasets": "dataset"}


@dataclass
class Retired:
    """The UUIDs of assets whose files git deleted, by kind, each with the file it had; or why they are unknown."""

    files: dict[str, dict[str, str]] = field(default_factory=lambda: {kind: {} for kind in DELETABLE})
    unknown_because: str | None = None


def retired(root: Path, in_git: dict[str, set[str]]) -> Retired:
    """The bundle's assets whose files were deleted from the project at root (committed or not), leaving out UUIDs
    that a file in git still has (a file moved or renamed)."""
    found = Retired()
    shallow = git(root, "rev-parse", "--is-shallow-repository")
    if shallow is None:
        found.unknown_because = f"{root} is not a git checkout, so which assets the bundle made is unknown"
        return found
    if shallow.strip() == "true":
        found.unknown_because = "the clone is shallow (actions/checkout: `fetch-depth: 0`), so git's history is missing"
        return found
    folders = [str(path) for path in assets.FOLDERS.values()]
    for commit, path in deleted_files(root, folders):
        kind = kind_of(path)
        text = git(root, "show", f"{commit}:./{path}")
        uuid = uuid_of(text) if kind and text else None
        if uuid and uuid not in in_git.get(kind, set()):
            found.files[kind].setdefault(uuid, path)
    return found


def deleted_files(root: Path, folders: list[str]) -> list[tuple[str, str]]:
    """(the commit that still had it, path) for each asset file deleted: in the working tree since HEAD, then in
    every commit of HEAD's history, newest first."""
    pairs = [
        ("HEAD", path)
        for path in lines(
            git(root, "diff", "--no-renames", "--name-only", "--diff-filter=D", "--relative", "HEAD", "--", *folders)
        )
    ]
    log = git(
        root, "log", "--no-renames", "--relative", "--diff-filter=D", "--name-only", "--format=%H", "--", *folders
    )
    commit = ""
    for line in lines(log):
        if len(line) == 40 and all(character in "0123456789abcdef" for character in line):
            commit = line
        elif commit:
            pairs.append((f"{commit}^", line))
    return pairs


def kind_of(path: str) -> str | None:
    for kind in DELETABLE:
        folder = assets.FOLDERS[kind]
        candidate = Path(path)
        if candidate.is_relative_to(folder) and candidate.suffix in assets.YAML_SUFFIXES:
            return kind
    return None


def uuid_of(text: str) -> str | None:
    try:
        asset = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return str(asset["uuid"]) if isinstance(asset, dict) and asset.get("uuid") else None


def git(root: Path, *arguments: str) -> str | None:
    """git's output in root, or None when git is missing or refuses (not a checkout, no such commit)."""
    try:
        result = subprocess.run(["git", *arguments], cwd=root, capture_output=True, text=True, check=False)
    except OSError:
        return None
    return result.stdout if result.returncode == 0 else None


def lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


@dataclass(frozen=True)
class Deletion:
    kind: str
    uuid: str
    id: int
    title: str
    file: str  # the file git deleted
    kept_because: str | None = None  # set when the asset stays: what still uses it


def deletions(api: SupersetApi, found: Retired) -> list[Deletion]:
    """The retired assets Superset holds, dashboards first, each to delete or kept with the reason."""
    dashboards = {str(item["uuid"]): item for item in api.list_all("/api/v1/dashboard/")}
    charts = {str(item["uuid"]): item for item in api.list_all("/api/v1/chart/")}
    going_dashboards = {dashboards[uuid]["id"] for uuid in found.files["dashboards"] if uuid in dashboards}
    result = [
        Deletion("dashboards", uuid, item["id"], item["dashboard_title"], found.files["dashboards"][uuid])
        for uuid, item in dashboards.items()
        if uuid in found.files["dashboards"]
    ]
    going_charts = set()
    for uuid, item in charts.items():
        if uuid not in found.files["charts"]:
            continue
        staying = [board["id"] for board in item.get("dashboards") or [] if board["id"] not in going_dashboards]
        reason = f"it is on dashboard id {staying[0]}, which stays" if staying else None
        result.append(Deletion("charts", uuid, item["id"], item["slice_name"], found.files["charts"][uuid], reason))
        going_charts |= set() if reason else {item["id"]}
    if found.files["datasets"]:
        users = {}
        for item in charts.values():
            if item["id"] not in going_charts and item.get("datasource_type") == "table":
                users.setdefault(item.get("datasource_id"), item["slice_name"])
        for item in api.list_all("/api/v1/dataset/"):
            uuid = dataset_uuid(api, item["id"])
            if uuid in found.files["datasets"]:
                user = users.get(item["id"])
                reason = f"chart '{user}' uses it and stays" if user else None
                file = found.files["datasets"][uuid]
                result.append(Deletion("datasets", uuid, item["id"], item["table_name"], file, reason))
    return result


def dataset_uuid(api: SupersetApi, dataset_id: int) -> str | None:
    """A dataset's UUID (Superset's dataset list does not give it; its export does)."""
    from pulse_analytics.superset import export

    found = export.download(api, "dataset", [dataset_id])["datasets"]
    return next(iter(found), None)


def delete(api: SupersetApi, planned: list[Deletion]) -> list[Deletion]:
    """Delete each planned asset that nothing keeps, in order; the ones deleted."""
    done = []
    for deletion in planned:
        if deletion.kept_because is None:
            api.delete(f"/api/v1/{API[deletion.kind]}/{deletion.id}")
            done.append(deletion)
    return done
