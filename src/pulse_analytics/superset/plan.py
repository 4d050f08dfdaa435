"""`pulse plan` and `pulse drift`: how a Superset differs from the assets in git, without changing either.

Both read Superset's export of every dashboard and dataset (the zip `pulse export` reads) and put each asset in the
repository's normal form against its file in git (export.normalized), so an asset that a sync would leave as it is
compares equal, and a difference is shown as a diff of the YAML `pulse export` would write:
- the plan says what `pulse sync` would do, deletions first: delete what the bundle made and git has since deleted
  (ownership.py: git's history says what the bundle made), create what git has and Superset does not, update what
  differs (the diff goes from Superset's version to git's); the team roles of access/teams.yaml are compared too.
  Assets made in Superset are listed as kept: a sync never deletes them.
- drift says what Superset holds that git does not: edits made in Superset (the diff goes from git's version to
  Superset's) and dashboards, charts and datasets made there; an asset only in git, or deleted from git and still in
  Superset, is a sync not yet run, not drift.
Exit codes follow `terraform plan -detailed-exitcode`: 0 nothing differs, 2 something does, 1 an error.
"""

from __future__ import annotations

import difflib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pulse_analytics import project, teams
from pulse_analytics.superset import assets, check, export, ownership, rendering, server
from pulse_analytics.superset.bundle import KINDS, Bundle, parse

TITLE_KEYS = {
    "databases": "database_name",
    "datasets": "table_name",
    "charts": "slice_name",
    "dashboards": "dashboard_title",
}
SINGULAR = {
    "databases": "database",
    "datasets": "dataset",
    "charts": "chart",
    "dashboards": "dashboard",
    "access": "teams",
}
DIFFERS = 2


@dataclass(frozen=True)
class Change:
    action: str  # delete, create, update (a sync would do it), kept (deleted from git, still used) or only in Superset
    kind: str  # databases, datasets, charts, dashboards or access
    title: str
    uuid: str
    file: str | None  # the asset's file in git, relative to the project
    superset_text: str = ""  # the asset in normal form as Superset holds it ("" when Superset lacks it)
    git_text: str = ""  # the same from git ("" when git lacks it)
    reason: str = ""  # why a retired asset is kept

    def label(self) -> str:
        where = self.file or f"uuid {self.uuid}"
        if self.action in ("delete", "kept"):
            where = f"{self.file}, deleted from git"
        return f"{SINGULAR[self.kind]} '{self.title}' ({where})"

    def diff(self, towards_git: bool) -> list[str]:
        """The unified diff from one side to the other: Superset to git for a plan, git to Superset for drift."""
        sides = [(self.superset_text, "Superset"), (self.git_text, f"git: {self.file}")]
        (before, before_name), (after, after_name) = sides if towards_git else sides[::-1]
        return list(
            difflib.unified_diff(
                before.splitlines(), after.splitlines(), fromfile=before_name, tofile=after_name, lineterm="", n=2
            )
        )


@dataclass
class Comparison:
    url: str
    changes: list[Change] = field(default_factory=list)
    deletions_unknown_because: str | None = None

    def of(self, *actions: str) -> list[Change]:
        """The changes with those actions, in the order the actions are given."""
        return [change for action in actions for change in self.changes if change.action == action]


def compare(url: str, target: str, root: Path) -> Comparison:
    """Every asset of the project at root against the Superset at url (read only)."""
    environment = rendering.sync_environment(target, url)
    git = parse(root, [environment])
    if git.problems:
        listed = "\n".join(str(problem) for problem in git.problems)
        raise export.ExportError(f"the assets under {root} cannot all be read, so nothing can be compared:\n{listed}")
    api = server.admin_api(url)
    held = export.held(api, [])
    for kind, found in export.download(api, "chart", [item["id"] for item in api.list_all("/api/v1/chart/")]).items():
        held[kind].update(found)  # charts on no dashboard too
    comparison = Comparison(url)
    superset_databases = {str(item.get("uuid")): item for item in api.list_all("/api/v1/database/")}
    for uuid, database in git.by_uuid("databases").items():
        if uuid not in superset_databases:
            comparison.changes.append(
                Change("create", "databases", str(database.data.get("database_name")), uuid, git.name(database.path))
            )
    retired = ownership.retired(root, {kind: set(git.by_uuid(kind)) for kind in ownership.DELETABLE})
    comparison.deletions_unknown_because = retired.unknown_because
    comparison.changes.extend(
        Change(
            "kept" if item.kept_because else "delete",
            item.kind,
            item.title,
            item.uuid,
            item.file,
            reason=item.kept_because or "",
        )
        for item in ownership.deletions(api, retired)
    )
    titles = export.chart_titles(git, held)
    for kind in KINDS[1:]:
        comparison.changes.extend(compare_kind(git, kind, held, titles, environment.schema))
    retired_uuids = {uuid for files in retired.files.values() for uuid in files}
    comparison.changes.extend(
        change for change in made_in_superset(git, held, superset_databases) if change.uuid not in retired_uuids
    )
    teams_file = root / "access" / "teams.yaml"
    if teams_file.exists():
        comparison.changes.extend(compare_teams(api, teams_file, root))
    return comparison


def compare_kind(
    git: Bundle, kind: str, held: dict[str, dict[str, dict[str, Any]]], titles: dict[str, Any], schema: str
) -> list[Change]:
    changes = []
    for uuid, asset in git.by_uuid(kind).items():
        title = str(asset.data.get(TITLE_KEYS[kind]))
        git_text = assets.normal_yaml(asset.raw)
        if uuid not in held[kind]:
            changes.append(Change("create", kind, title, uuid, git.name(asset.path), git_text=git_text))
            continue
        superset_text = assets.normal_yaml(export.normalized(kind, held[kind][uuid], asset, titles, schema))
        if superset_text != git_text:
            changes.append(Change("update", kind, title, uuid, git.name(asset.path), superset_text, git_text))
    return changes


def made_in_superset(
    git: Bundle, held: dict[str, dict[str, dict[str, Any]]], superset_databases: dict[str, Any]
) -> list[Change]:
    """Datasets on the bundle's databases, charts on such datasets and dashboards that Superset has and git does not."""
    bundle_databases = set(git.by_uuid("databases")) & set(superset_databases)
    ours = {
        "datasets": lambda item: str(item.get("database_uuid")) in bundle_databases,
        "charts": lambda item: str(item.get("dataset_uuid")) in set(git.by_uuid("datasets")) | set(held["datasets"]),
        "dashboards": lambda _item: True,
    }
    changes = []
    for kind, belongs in ours.items():
        in_git = git.by_uuid(kind)
        for uuid, item in sorted(held[kind].items()):
            if uuid not in in_git and belongs(item):
                text = assets.normal_yaml(export.normalized(kind, item, None, {}, ""))
                changes.append(Change("only in Superset", kind, str(item.get(TITLE_KEYS[kind])), uuid, None, text))
    return changes


def compare_teams(api: Any, teams_file: Path, root: Path) -> list[Change]:
    """The team roles of access/teams.yaml against Superset's row-level security filters."""
    in_git = teams.load(teams_file)
    in_superset = teams.exported(api, in_git)
    if in_superset.roles == in_git.roles:
        return []
    texts = [
        yaml.safe_dump({"roles": [teams.role_mapping(role) for role in side.roles]}, sort_keys=False, width=120)
        for side in (in_superset, in_git)
    ]
    name = str(teams_file.relative_to(root))
    return [Change("update", "access", "team roles and row-level security", "-", name, texts[0], texts[1])]


def report(comparison: Comparison, drift: bool, markdown: bool) -> str:
    """The comparison as text for a terminal, or as Markdown for a pull-request comment or job summary."""
    if drift:
        shown = comparison.of("update", "only in Superset")
        edited, made = len(comparison.of("update")), len(comparison.of("only in Superset"))
        heading = f"Drift of {comparison.url} from git: {edited} edited in Superset, {made} only in Superset"
        advice = [
            "Adopt it into git: `pulse export` (review with `git diff`, then commit); "
            "discard it: `pulse sync` (makes Superset what git holds; assets made in Superset stay)."
        ]
        pending = comparison.of("create")
        if pending:
            advice.append(f"{len(pending)} asset(s) of git are not in Superset yet: a sync creates them (not drift).")
        retired = comparison.of("delete")
        if retired:
            advice.append(f"{len(retired)} asset(s) deleted from git are still in Superset: a sync deletes them.")
    else:
        shown = comparison.of("delete", "create", "update")  # in this order: deletions first
        heading = (
            f"Plan for {comparison.url}: {len(comparison.of('delete'))} to delete, "
            f"{len(comparison.of('create'))} to create, {len(comparison.of('update'))} to update"
        )
        advice = [f"kept (deleted from git, but {change.reason}): {change.label()}" for change in comparison.of("kept")]
        made = comparison.of("only in Superset")
        advice += [f"kept (made in Superset, not in git; a sync never deletes it): {change.label()}" for change in made]
        if comparison.deletions_unknown_because:
            advice.append(f"deletions not planned: {comparison.deletions_unknown_because}; a sync deletes nothing.")
    if not shown:
        heading += " (nothing differs)"
    return (markdown_report if markdown else text_report)(heading, shown, advice, towards_git=not drift)


def text_report(heading: str, shown: list[Change], advice: list[str], towards_git: bool) -> str:
    lines = [heading]
    marks = {"delete": "-", "create": "+", "update": "~", "only in Superset": "+"}
    for change in shown:
        lines.append(f"{marks[change.action]} {change.action} {change.label()}")
        lines.extend(f"    {line}" for line in change.diff(towards_git) if change.action == "update")
    lines.extend(advice)
    return "\n".join(lines) + "\n"


def markdown_report(heading: str, shown: list[Change], advice: list[str], towards_git: bool) -> str:
    lines = [f"### {heading}", ""]
    for change in shown:
        label = change.label().replace(change.file, f"`{change.file}`", 1) if change.file else change.label()
        if change.action != "update":
            lines.append(f"- **{change.action}** {label}")
            continue
        lines.extend(
            [
                f"<details><summary><b>update</b> {label}</summary>",
                "",
                "```diff",
                *change.diff(towards_git),
                "```",
                "</details>",
                "",
            ]
        )
    lines.extend(["", *(f"{line}  " for line in advice)] if advice else [])
    return "\n".join(lines).rstrip() + "\n"


def main(url: str | None, target: str, drift: bool, markdown: bool) -> int:
    """`pulse plan` / `pulse drift`: print the comparison; 0 when nothing differs, 2 when something does."""
    started = time.monotonic()
    url = (url or server.url()).rstrip("/")
    what = "Looking for drift in" if drift else "Planning a sync of the project's assets into"
    command = "drift" if drift else "plan"
    print(f"==> {what} {url} (read only)", file=sys.stderr, flush=True)
    check.before_sync(target, doing="compared: a sync would refuse them too", command=f"pulse {command}")
    comparison = compare(url, target, project.root())
    print(report(comparison, drift, markdown), end="")
    differs = comparison.of("update", "only in Superset") if drift else comparison.of("delete", "create", "update")
    print(f"{command}: compared in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return DIFFERS if differs else 0
