"""`pulse export`: bring dashboards edited in Superset back into git, in the repository's normal form.

Superset's export (the same zip its UI downloads) holds the dashboards, their charts, datasets and database. Each
asset is matched to its file in git by uuid, then normalized so that only real edits show up in `git diff`:
- volatile fields go: ids (params.datasource, slice_id, dashboards; layout chartIds are renumbered 1, 2, ... in
  layout order, with every chart id in the dashboard metadata mapped the same way), query_context (a cache of the
  chart's query, with ids), label colours Superset derives from the data;
- a key the git file does not have is left out while it holds Superset's default (so files stay as short as written);
- where the git file is a template, a value whose rendering equals Superset's value keeps its template text
  (`schema: '{{ schema }}'`), and a virtual dataset's SQL gets `{{ schema }}.` back for the target schema;
- dataset columns and metrics keep the order of the git file (new ones follow, by name); layout nodes name each chart
  by its current title; a chart added to the dashboard outside its layout goes into a new row of the first tab (or
  of the grid), where Superset's dashboard page shows it;
- keys are sorted and the YAML is written by assets.normal_yaml; a file whose content did not change is not touched.
Databases are never written: their file is a template with a URI per environment and no password; an export only
says when Superset has a database git does not. New assets get file names from their titles.
"""

from __future__ import annotations

import copy
import io
import os
import re
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pulse_analytics import project, teams
from pulse_analytics.errors import PulseError
from pulse_analytics.superset import assets, check, layout, rendering, server
from pulse_analytics.superset.api import SupersetApi
from pulse_analytics.superset.bundle import KINDS, Asset, Bundle, parse

MISSING = object()
Defaults = dict[str, tuple[Any, ...]]  # key -> the values Superset gives it when an imported file leaves it out

TOP_DEFAULTS: dict[str, Defaults] = {
    "charts": {
        "description": (None,),
        "certified_by": (None,),
        "certification_details": (None,),
        "cache_timeout": (None,),
        "query_context": (None,),
        "tags": ([],),
    },
    "datasets": {
        "main_dttm_col": (None,),
        "currency_code_column": (None,),
        "description": (None,),
        "default_endpoint": (None,),
        "offset": (0,),
        "cache_timeout": (None,),
        "schema": (None,),
        "catalog": (None,),
        "sql": (None, ""),
        "params": (None, {}),
        "template_params": (None, {}),
        "filter_select_enabled": (True,),
        "fetch_values_predicate": (None,),
        "extra": (None, {}),
        "normalize_columns": (False,),
        "always_filter_main_dttm": (False,),
        "folders": (None,),
    },
    "dashboards": {
        "description": (None,),
        "css": (None, ""),
        "slug": (None,),
        "certified_by": (None,),
        "certification_details": (None,),
        "published": (False,),
        "tags": ([],),
        "theme_uuid": (None,),
        "metadata": ({},),
    },
}
COLUMN_DEFAULTS: Defaults = {
    "verbose_name": (None,),
    "is_dttm": (False,),
    "is_active": (True,),
    "type": (None,),
    "advanced_data_type": (None,),
    "groupby": (True,),
    "filterable": (True,),
    "expression": (None, ""),
    "description": (None,),
    "python_date_format": (None,),
    "datetime_format": (None,),
    "extra": (None, {}),
}
METRIC_DEFAULTS: Defaults = {
    "verbose_name": (None,),
    "metric_type": (None,),
    "description": (None,),
    "d3format": (None,),
    "currency": (None,),
    "extra": (None, {}),
    "warning_text": (None,),
}
PARAM_DEFAULTS: Defaults = {"annotation_layers": ([],)}  # Superset's chart import adds it
VOLATILE_PARAMS = ("datasource", "slice_id", "dashboards")  # ids of this Superset
DERIVED_METADATA = ("map_label_colors", "shared_label_colors", "color_scheme_domain")  # recomputed from the data
LEGACY_DATASET_PARAMS = ("remote_id", "database_name", "import_time")  # written by old imports, ids and timestamps


class ExportError(PulseError):
    """The export cannot go on; the message says why and what to do."""


@dataclass
class Result:
    written: list[Path] = field(default_factory=list)
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)


def export(url: str, target: str, selectors: list[str], root: Path) -> Result:
    """Export the chosen dashboards (all when none is chosen) from the Superset at url into the bundle under root."""
    environment = rendering.sync_environment(target, url)
    git = parse(root, [environment])
    if git.problems:
        listed = "\n".join(str(problem) for problem in git.problems)
        raise ExportError(
            f"the assets under {root} cannot all be read, so an export could overwrite them:\n{listed}\n"
            "Fix these files (see `pulse check`), then export again."
        )
    api = server.admin_api(url)
    exported = held(api, selectors)
    result = write(git, exported, environment.schema, complete=not selectors)
    teams_file = root / "access" / "teams.yaml"
    if not selectors and teams_file.exists() and teams.write(teams.exported(api, teams.load(teams_file)), teams_file):
        result.written.append(teams_file)  # the teams of each role, from its row-level security filter
    return result


def held(api: SupersetApi, selectors: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """What Superset holds of the chosen dashboards (all when none is chosen, and then every dataset too, including
    those no chart uses yet), as {kind: {uuid: asset}} from its export zips."""
    exported = download(api, "dashboard", [item["id"] for item in choose_dashboards(api, selectors)])
    if not selectors:
        for kind, found in download(api, "dataset", [item["id"] for item in api.list_all("/api/v1/dataset/")]).items():
            exported[kind].update(found)
    for dataset in exported["datasets"].values():
        unfold_inherited_cache_timeout(dataset, exported["databases"])
    return exported


def chart_titles(git: Bundle, exported: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Each chart's title by uuid, Superset's where it has the chart (layout nodes name charts by their title)."""
    titles = {uuid: chart.data.get("slice_name") for uuid, chart in git.by_uuid("charts").items()}
    titles.update({uuid: chart.get("slice_name") for uuid, chart in exported["charts"].items()})
    return titles


def choose_dashboards(api: SupersetApi, selectors: list[str]) -> list[dict[str, Any]]:
    """The dashboards named by title, slug or uuid (all of them when none is named)."""
    dashboards = api.list_all("/api/v1/dashboard/")
    if not selectors:
        return dashboards
    chosen: list[dict[str, Any]] = []
    unknown: list[str] = []
    for selector in selectors:
        matches = [
            item
            for item in dashboards
            if selector.casefold()
            in (str(item.get("dashboard_title")).casefold(), str(item.get("slug")).casefold(), str(item["uuid"]))
        ]
        chosen.extend(matches)
        if not matches:
            unknown.append(selector)
    if unknown:
        titles = ", ".join(sorted(f"'{item['dashboard_title']}'" for item in dashboards)) or "none"
        raise ExportError(
            f"no dashboard in {api.url} has the title, slug or uuid {', '.join(map(repr, unknown))}; "
            f"its dashboards: {titles}"
        )
    return list({item["id"]: item for item in chosen}.values())


def download(api: SupersetApi, resource: str, ids: list[int]) -> dict[str, dict[str, dict[str, Any]]]:
    """Superset's export zip of those dashboards or datasets (with everything they use), as {kind: {uuid: asset}}."""
    found: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
    if not ids:
        return found
    response = api.session.get(
        f"{api.url}/api/v1/{resource}/export/", params={"q": f"!({','.join(map(str, ids))})"}, timeout=300
    )
    if response.status_code != 200:
        raise ExportError(
            f"Superset answered the export of {resource}s with HTTP {response.status_code}: {response.text[:500]}"
        )
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        for name in archive.namelist():
            parts = PurePosixPath(name).parts
            if len(parts) >= 3 and parts[1] in found and name.endswith((".yaml", ".yml")):
                asset = rendering.parse_yaml(archive.read(name).decode("utf-8"))
                found[parts[1]][str(asset["uuid"])] = asset
    return found


def write(git: Bundle, exported: dict[str, dict[str, dict[str, Any]]], schema: str, complete: bool) -> Result:
    result = Result()
    in_git = {kind: git.by_uuid(kind) for kind in KINDS}
    for uuid, database in exported["databases"].items():
        if uuid not in in_git["databases"]:
            templates = git.name(assets.folder("databases", git.root))
            result.notes.append(
                f"Superset's database '{database.get('database_name')}' ({uuid}) is not in git: add "
                f"its template to {templates} by hand (no password)"
            )
    titles = chart_titles(git, exported)
    for kind in ("datasets", "charts", "dashboards"):
        for uuid, asset in sorted(exported[kind].items()):
            existing = in_git[kind].get(uuid)
            data = normalized(kind, asset, existing, titles, schema)
            if existing is not None and data == existing.raw:
                result.unchanged += 1
                continue
            path = existing.path if existing else new_path(git, kind, data)
            write_file(path, assets.normal_yaml(data))
            result.written.append(path)
        if complete and kind != "datasets":
            for uuid, existing in in_git[kind].items():
                if uuid not in exported[kind]:
                    where = "on no dashboard in Superset" if kind == "charts" else "not in Superset"
                    result.notes.append(
                        f"{git.name(existing.path)} is {where} (deleted there?); left as is: "
                        "`git rm` it if it should go"
                    )
    return result


def write_file(path: Path, text: str) -> None:
    """Replace the file in one step: an interrupted export leaves each file whole, old or new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def unfold_inherited_cache_timeout(dataset: dict[str, Any], databases: dict[str, dict[str, Any]]) -> None:
    """Superset exports a dataset's cache timeout as its database's when the dataset sets none (SqlaTable's
    cache_timeout property falls back to the database's, e.g. -1 on Trino): that value is the database's, not the
    dataset's, so it is exported as unset."""
    database = databases.get(str(dataset.get("database_uuid")), {})
    inherited = database.get("cache_timeout")
    if inherited is not None and dataset.get("cache_timeout") == inherited:
        dataset["cache_timeout"] = None


def normalized(
    kind: str, exported: dict[str, Any], git: Asset | None, titles: dict[str, Any], schema: str
) -> dict[str, Any]:
    """The exported asset in the repository's normal form, given its file in git (None for a new asset)."""
    data = copy.deepcopy(exported)
    if kind == "charts":
        params = data.get("params") if isinstance(data.get("params"), dict) else {}
        for key in VOLATILE_PARAMS:
            params.pop(key, None)
        data["query_context"] = None
        drop_defaults(params, git_value(git, "params"), PARAM_DEFAULTS)
    elif kind == "dashboards":
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        for key in DERIVED_METADATA:
            metadata.pop(key, None)
        data["position"] = layout.attach_orphan_charts(data.get("position") or {})
        for node in layout.chart_nodes(data["position"]):
            if layout.chart_uuid(node) in titles:
                node["meta"]["sliceName"] = titles[layout.chart_uuid(node)]
        data = layout.renumbered(data)
    elif kind == "datasets":
        normalize_dataset(data, git, schema)
    drop_defaults(data, git.data if git else {}, TOP_DEFAULTS[kind])
    return merged(git.raw, git.data, data) if git else data


def normalize_dataset(data: dict[str, Any], git: Asset | None, schema: str) -> None:
    if isinstance(data.get("params"), dict):
        for key in LEGACY_DATASET_PARAMS:
            data["params"].pop(key, None)
    for key, name_key, defaults in (
        ("columns", "column_name", COLUMN_DEFAULTS),
        ("metrics", "metric_name", METRIC_DEFAULTS),
    ):
        git_entries = {entry.get(name_key): entry for entry in git_value(git, key) or [] if isinstance(entry, dict)}
        order = list(git_entries)
        entries = sorted(
            data.get(key) or [],
            key=lambda entry: (
                order.index(entry[name_key]) if entry.get(name_key) in order else len(order),
                str(entry.get(name_key)),
            ),
        )
        for entry in entries:
            drop_defaults(entry, git_entries.get(entry.get(name_key), {}), defaults)
        data[key] = entries
    raw_sql = git.raw.get("sql") if git and isinstance(git.raw, dict) else None
    if isinstance(raw_sql, str) and "{{ schema }}" in raw_sql and isinstance(data.get("sql"), str):
        data["sql"] = re.sub(rf"\b{re.escape(schema)}\.", "{{ schema }}.", data["sql"])


def git_value(git: Asset | None, key: str) -> Any:
    return git.data.get(key) if git is not None else None


def drop_defaults(data: dict[str, Any], git: Any, defaults: Defaults) -> None:
    """Leave out the keys the git version does not have, while they hold Superset's default."""
    present = git if isinstance(git, dict) else {}
    for key, values in defaults.items():
        if key in data and key not in present and data[key] in values:
            del data[key]


def merged(raw: Any, rendered: Any, exported: Any) -> Any:
    """The exported value, keeping the git file's own text wherever it renders to the same value (templates)."""
    if exported == rendered:
        return raw
    if isinstance(exported, dict) and isinstance(rendered, dict) and isinstance(raw, dict):
        return {
            key: merged(raw[key], rendered[key], value) if key in rendered and key in raw else value
            for key, value in exported.items()
        }
    if (
        isinstance(exported, list)
        and isinstance(rendered, list)
        and isinstance(raw, list)
        and len(exported) == len(rendered) == len(raw)
    ):
        return [merged(*values) for values in zip(raw, rendered, exported, strict=True)]
    return exported


def new_path(git: Bundle, kind: str, data: dict[str, Any]) -> Path:
    """A file name from the asset's title, unique in its folder."""
    title = {"charts": "slice_name", "dashboards": "dashboard_title", "datasets": "table_name"}[kind]
    directory = assets.folder(kind, git.root)
    if kind == "datasets":
        directory = directory / database_folder(git, str(data.get("database_uuid")))
    stem = slug(str(data.get(title) or kind[:-1]))
    path, number = directory / f"{stem}.yaml", 1
    while path.exists():
        number += 1
        path = directory / f"{stem}_{number}.yaml"
    return path


def database_folder(git: Bundle, database_uuid: str) -> str:
    """The folder of the datasets of a database: where git keeps them already, else its name."""
    for dataset in git.assets["datasets"]:
        if str(dataset.data.get("database_uuid")) == database_uuid:
            return dataset.path.parent.name
    database = git.by_uuid("databases").get(database_uuid)
    return slug(str(database.data.get("database_name"))) if database else "other_database"


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.casefold()).strip("_") or "untitled"


def main(url: str | None, target: str, selectors: list[str]) -> int:
    """`pulse export [--dashboard TITLE-or-UUID ...]` into the project; then its assets are checked, as before a
    sync."""
    started = time.monotonic()
    root = project.root()
    url = (url or server.url()).rstrip("/")
    chosen = ", ".join(selectors) if selectors else "all dashboards and datasets"
    print(f"==> Exporting {chosen} from {url} into {root}", file=sys.stderr, flush=True)
    result = export(url, target, selectors, root)
    for path in result.written:
        print(f"wrote {path.relative_to(root)}")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(
        f"export: {len(result.written)} file(s) written, {result.unchanged} unchanged "
        f"({time.monotonic() - started:.1f} s); review with `git diff`",
        file=sys.stderr,
    )
    problems = check.run(root)
    if problems:
        check.report(problems, time.monotonic() - started)
        print("The exported bundle fails `pulse check` (above): fix it before committing.", file=sys.stderr)
        return 1
    return 0
