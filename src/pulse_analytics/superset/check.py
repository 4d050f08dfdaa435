"""`pulse check`: find everything that would break a dashboard before preset-cli syncs it, offline, in one run.

Checks, each reported as `file: what is wrong, and what it refers to`:
- every file parses, renders for every supported environment with no unset variable (rendering.py), and has the
  keys its asset type needs and no key Superset's import would refuse;
- every uuid is unique; every dataset's database, chart's dataset and dashboard's chart exists; every chart is on a
  dashboard; each dashboard's layout is one tree from ROOT_ID whose chart nodes name their chart by its title;
- every column, metric and filter a chart or native filter uses exists in its dataset, and every dataset column
  exists in the dbt model it reads (check_columns.py), under its lower-case name;
- every dataset column the dbt model documents, and the README's table of column definitions, carry the description
  of the dbt docs, as dbt's manifest gives it (descriptions.py; `--normalize` writes them);
- no secret is committed: passwords, tokens and keys come only from the environment;
- files are in the normal form `pulse export` writes, so a later export changes only what changed.
"""

from __future__ import annotations

import contextlib
import re
import sys
import time
import uuid as uuid_module
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import ArgumentError

from pulse_analytics import config, project, teams
from pulse_analytics.errors import PulseError
from pulse_analytics.superset import assets, check_columns, descriptions, layout, model_columns, rendering
from pulse_analytics.superset.bundle import KINDS, Asset, Bundle, Problem, names, parse

# The keys Superset 6.1's import schemas require (ImportV1*Schema, required=True), and those this bundle needs besides.
REQUIRED: dict[str, tuple[str, ...]] = {
    "databases": ("database_name", "sqlalchemy_uri", "uuid", "version"),
    "datasets": ("table_name", "uuid", "version", "database_uuid", "columns"),
    "charts": ("slice_name", "viz_type", "uuid", "version", "dataset_uuid", "params"),
    "dashboards": ("dashboard_title", "uuid", "version", "position"),
}
# Every key those schemas accept: Superset's import refuses a file with any other key (e.g. a misspelt one).
ALLOWED: dict[str, frozenset[str]] = {
    "databases": names(
        "database_name sqlalchemy_uri password encrypted_extra masked_encrypted_extra cache_timeout "
        "expose_in_sqllab allow_run_async allow_ctas allow_cvas allow_dml allow_csv_upload "
        "impersonate_user extra uuid version is_managed_externally external_url ssh_tunnel "
        "configuration_method"
    ),
    "datasets": names(
        "table_name main_dttm_col currency_code_column description default_endpoint offset "
        "cache_timeout schema catalog sql source_db_engine params template_params "
        "filter_select_enabled fetch_values_predicate extra uuid columns metrics version "
        "database_uuid data is_managed_externally external_url normalize_columns "
        "always_filter_main_dttm folders data_file"
    ),
    "charts": names(
        "slice_name description certified_by certification_details viz_type params query_context "
        "cache_timeout uuid version dataset_uuid is_managed_externally external_url tags"
    ),
    "dashboards": names(
        "dashboard_title description css slug uuid position metadata version "
        "is_managed_externally external_url certified_by certification_details published tags "
        "theme_uuid theme_id"
    ),
}
# The shape of what the checks read: (path, type); `*` is every item of a list or value of a mapping.
NATIVE_FILTER = "metadata.native_filter_configuration.*"
SHAPES: dict[str, tuple[tuple[str, type], ...]] = {
    "databases": (("database_name", str), ("sqlalchemy_uri", str), ("extra", dict)),
    "datasets": (
        ("table_name", str),
        ("schema", str),
        ("sql", str),
        ("main_dttm_col", str),
        ("columns", list),
        ("columns.*", dict),
        ("columns.*.column_name", str),
        ("columns.*.expression", str),
        ("metrics", list),
        ("metrics.*", dict),
        ("metrics.*.metric_name", str),
        ("metrics.*.expression", str),
    ),
    "charts": (
        ("slice_name", str),
        ("viz_type", str),
        ("params", dict),
        ("params.adhoc_filters", list),
        ("params.adhoc_filters.*", dict),
        ("params.orderby", list),
        ("params.order_by_cols", list),
        ("params.column_config", dict),
    ),
    "dashboards": (
        ("dashboard_title", str),
        ("slug", str),
        ("position", dict),
        ("position.*", dict),
        ("position.*.children", list),
        ("position.*.children.*", str),
        ("position.*.parents", list),
        ("position.*.meta", dict),
        ("position.*.meta.chartId", int),
        ("position.*.meta.uuid", str),
        ("position.*.meta.sliceName", str),
        ("position.*.meta.text", str),
        ("metadata", dict),
        ("metadata.native_filter_configuration", list),
        (NATIVE_FILTER, dict),
        (f"{NATIVE_FILTER}.id", str),
        (f"{NATIVE_FILTER}.name", str),
        (f"{NATIVE_FILTER}.filterType", str),
        (f"{NATIVE_FILTER}.sortMetric", str),
        (f"{NATIVE_FILTER}.cascadeParentIds.*", str),
        (f"{NATIVE_FILTER}.scope.excluded.*", int),
        (f"{NATIVE_FILTER}.targets.*.datasetUuid", str),
        (f"{NATIVE_FILTER}.targets.*.column.name", str),
        (f"{NATIVE_FILTER}.targets", list),
        (f"{NATIVE_FILTER}.targets.*", dict),
        (f"{NATIVE_FILTER}.targets.*.column", dict),
        (f"{NATIVE_FILTER}.scope", dict),
        (f"{NATIVE_FILTER}.scope.excluded", list),
        (f"{NATIVE_FILTER}.cascadeParentIds", list),
        (f"{NATIVE_FILTER}.scope.rootPath", list),
        (f"{NATIVE_FILTER}.scope.rootPath.*", str),
        (f"{NATIVE_FILTER}.chartsInScope", list),
        (f"{NATIVE_FILTER}.tabsInScope", list),
        (f"{NATIVE_FILTER}.tabsInScope.*", str),
        (f"{NATIVE_FILTER}.adhoc_filters", list),
        (f"{NATIVE_FILTER}.defaultDataMask", dict),
        (f"{NATIVE_FILTER}.defaultDataMask.extraFormData", dict),
        (f"{NATIVE_FILTER}.defaultDataMask.extraFormData.filters", list),
        ("metadata.chart_configuration", dict),
        ("metadata.chart_configuration.*", dict),
        ("metadata.global_chart_configuration", dict),
        ("metadata.timed_refresh_immune_slices", list),
        ("metadata.expanded_slices", dict),
        ("metadata.filter_scopes", dict),
    ),
}
TYPE_NAMES = {dict: "a mapping", list: "a list", str: "a string", int: "an integer"}
SECRET_KEY = re.compile(
    r"password|passwd|secret|token|api_?key|private_?key|credential|access_?key|encrypted_extra", re.IGNORECASE
)
JINJA = re.compile(r"{{.*?}}|{%.*?%}", re.DOTALL)
PASSWORD_MASK = "X" * 10  # what Superset writes in place of a password it does not export


def run(
    root: Path | None = None, warehouse_dir: Path | None = None, environments: list[rendering.Environment] | None = None
) -> list[Problem]:
    """Every problem of the project under root (default: the project `pulse` works on). Dataset columns are checked
    against its dbt project's declared columns, or against the views built in warehouse_dir when given; their
    descriptions against the dbt project's manifest."""
    root = root or project.root()
    bundle = parse(root, environments or rendering.supported_environments(root))
    check_structure(bundle)
    check_uuids(bundle)
    check_references(bundle)
    for dashboard in bundle.assets["dashboards"]:
        check_layout(bundle, dashboard)
    check_secrets(bundle)
    check_database_uris(bundle)
    check_normal_form(bundle)
    models = (
        model_columns.built_columns(warehouse_dir) if warehouse_dir else model_columns.declared_columns(root / "dbt")
    )
    source = f"the views built in {warehouse_dir}" if warehouse_dir else "the dbt docs and metadata tables"
    check_columns.check(bundle, models, source)
    descriptions.check(bundle, descriptions.read(root / "dbt"))
    check_teams(bundle, root / "access" / "teams.yaml")
    return bundle.problems


def check_teams(bundle: Bundle, path: Path) -> None:
    """access/teams.yaml reads, and every dataset is filtered by its column (so has it: the dataset's columns are
    checked against the dbt models above), open or closed."""
    try:
        found = teams.load(path)
    except PulseError as error:
        bundle.report(path, str(error).removeprefix(f"{path}: "))
        return
    columns = {
        str(asset.data.get("table_name")): [str(item.get("column_name")) for item in asset.data.get("columns") or []]
        for asset in bundle.assets["datasets"]
    }
    for message in teams.problems(found, columns):
        bundle.report(path, message)


def check_structure(bundle: Bundle) -> None:
    for kind, found in bundle.assets.items():
        for asset in found:
            missing = [key for key in REQUIRED[kind] if asset.data.get(key) in (None, "", [], {})]
            if missing:
                bundle.report(asset, f"lacks {', '.join(missing)}, which every {kind[:-1]} needs")
            unknown = sorted(set(asset.data) - ALLOWED[kind])
            if unknown:
                bundle.report(
                    asset,
                    f"has key(s) {', '.join(unknown)} that Superset's {kind[:-1]} import refuses "
                    f"(misspelt? known keys: {', '.join(sorted(ALLOWED[kind]))})",
                )
            for path, expected in SHAPES[kind]:
                check_shape(bundle, asset, asset.data, path.split("."), expected, [])


def check_shape(bundle: Bundle, asset: Asset, holder: Any, path: list[str], expected: type, where: list[str]) -> None:
    """Report a value of the wrong type at path (and put an empty one in its place, so later checks can read on)."""
    if isinstance(holder, list):
        keys: list[Any] = list(range(len(holder))) if path[0] == "*" else []
    elif isinstance(holder, dict):
        keys = [key for key in holder if key not in layout.NON_NODE_KEYS] if path[0] == "*" else [path[0]]
    else:
        return
    for key in keys:
        if isinstance(holder, dict) and key not in holder:
            continue
        value = holder[key]
        if len(path) > 1:
            check_shape(bundle, asset, value, path[1:], expected, [*where, str(key)])
        elif value is None:
            holder[key] = expected()
        elif not isinstance(value, expected):
            bundle.report(
                asset,
                f"{'.'.join([*where, str(key)])} is {type(value).__name__} {value!r:.40}, not {TYPE_NAMES[expected]}",
            )
            holder[key] = expected()


def check_uuids(bundle: Bundle) -> None:
    seen: dict[str, Asset] = {}
    for kind in bundle.assets:
        for asset in bundle.assets[kind]:
            if "uuid" not in asset.data:
                continue
            try:
                uuid_module.UUID(asset.uuid)
            except ValueError:
                bundle.report(
                    asset,
                    f"uuid '{asset.uuid}' is not a UUID (write one with `python -c 'import uuid; "
                    "print(uuid.uuid4())'`)",
                )
                continue
            if asset.uuid in seen:
                bundle.report(
                    asset,
                    f"uuid {asset.uuid} is also the uuid of {bundle.name(seen[asset.uuid].path)}; "
                    "each asset needs its own (copied file?)",
                )
            else:
                seen[asset.uuid] = asset


def check_references(bundle: Bundle) -> None:
    for dataset in bundle.assets["datasets"]:
        database = dataset.data.get("database_uuid")
        if database and not bundle.known("databases", database):
            bundle.report(
                dataset,
                f"database_uuid {database} is not the uuid of any database in "
                f"{bundle.name(assets.folder('databases', bundle.root))}",
            )
    for chart in bundle.assets["charts"]:
        dataset = chart.data.get("dataset_uuid")
        if dataset and not bundle.known("datasets", dataset):
            bundle.report(
                chart,
                f"dataset_uuid {dataset} is not the uuid of any dataset in "
                f"{bundle.name(assets.folder('datasets', bundle.root))} (deleted or renamed dataset?)",
            )
    placed: set[str] = set()
    for dashboard in bundle.assets["dashboards"]:
        for node in layout.chart_nodes(dashboard.data.get("position") or {}):
            chart_uuid = layout.chart_uuid(node)
            placed.add(str(chart_uuid))
            if chart_uuid is None:
                bundle.report(dashboard, f"layout node {node.get('id')} is a chart without meta.uuid")
            elif not bundle.known("charts", chart_uuid):
                bundle.report(
                    dashboard,
                    f"layout node {node.get('id')} shows chart {chart_uuid} "
                    f"('{node['meta'].get('sliceName')}'), which is not the uuid of any chart in "
                    f"{bundle.name(assets.folder('charts', bundle.root))}",
                )
    for chart in bundle.assets["charts"]:
        if chart.uuid not in placed:
            bundle.report(
                chart,
                f"chart '{chart.data.get('slice_name')}' is on no dashboard; add it to a dashboard's "
                "position or delete the file",
            )


def check_layout(bundle: Bundle, dashboard: Asset) -> None:
    """The layout is one tree from ROOT_ID: children exist, each node's parents are its path, nothing is cut off;
    chart nodes carry their chart's title; the metadata refers only to charts in the layout."""
    position = dashboard.data.get("position") or {}
    nodes = layout.nodes(position)
    if layout.ROOT not in nodes:
        bundle.report(dashboard, "position has no ROOT_ID node; the layout must be a tree from ROOT_ID")
        return
    for key, node in nodes.items():
        if node.get("id") != key:
            bundle.report(dashboard, f"layout node {key} has id '{node.get('id')}'; a node's id is its key")
    paths: dict[str, list[str]] = {layout.ROOT: []}
    for parent, child in layout.walk_children(position):
        if child not in nodes:
            bundle.report(dashboard, f"layout node {parent} has child {child}, which is not a node of the layout")
    for node_id in layout.tree_order(position):
        for child in nodes[node_id].get("children") or []:
            if child in nodes and child not in paths:
                paths[child] = paths[node_id] + [node_id]
    for node_id, node in nodes.items():
        if node_id == layout.ROOT or node.get("type") == "HEADER" or layout.is_spare_grid(node_id, node):
            continue
        if node_id not in paths:
            bundle.report(
                dashboard,
                f"layout node {node_id} ({node.get('type')}) is not under ROOT_ID: no node has it "
                "as a child, so the dashboard does not show it",
            )
        elif node.get("parents") is not None and node.get("parents") != paths[node_id]:
            bundle.report(
                dashboard,
                f"layout node {node_id} lists parents {node.get('parents')}, but its place in the "
                f"tree is {paths[node_id]}",
            )
    check_tabs(bundle, dashboard)
    check_chart_titles(bundle, dashboard)
    check_chart_ids(bundle, dashboard)
    check_scope_nodes(bundle, dashboard)


def check_tabs(bundle: Bundle, dashboard: Asset) -> None:
    """A TABS node holds TAB nodes only, each with a title of its own: the browser code finds a tab by its title and
    names its screenshot after it."""
    position = dashboard.data.get("position") or {}
    nodes = layout.nodes(position)
    for parent, child in layout.walk_children(position):
        kinds = (nodes[parent].get("type"), nodes.get(child, {}).get("type"))
        if child in nodes and (kinds[0] == "TABS") != (kinds[1] == "TAB"):
            bundle.report(
                dashboard,
                f"layout node {child} ({kinds[1]}) is a child of {parent} ({kinds[0]}); a TABS node holds TAB "
                "nodes and a TAB node is only ever in a TABS node",
            )
    for node_id in (node_id for node_id, node in nodes.items() if node.get("type") == "TABS"):
        titles = [layout.tab_title(nodes[tab]).strip() for tab in layout.tab_ids(nodes, node_id)]
        for title in sorted({title for title in titles if titles.count(title) > 1 or not title}):
            problem = f"two tabs titled {title!r}" if title else "a tab without a title"
            bundle.report(dashboard, f"tabs {node_id} has {problem}; give each tab its own title (meta.text)")


def check_chart_titles(bundle: Bundle, dashboard: Asset) -> None:
    charts = bundle.by_uuid("charts")
    for node in layout.chart_nodes(dashboard.data.get("position") or {}):
        chart = charts.get(str(layout.chart_uuid(node)))
        shown = node.get("meta", {}).get("sliceName")
        if chart is not None and shown != chart.data.get("slice_name"):
            bundle.report(
                dashboard,
                f"layout node {node.get('id')} names chart {bundle.name(chart.path)} "
                f"'{shown}', but its title is '{chart.data.get('slice_name')}'",
            )


def check_chart_ids(bundle: Bundle, dashboard: Asset) -> None:
    """Metadata refers to charts by their layout chartId (native filter scopes, cross filters, ...)."""
    known = {
        node["meta"].get("chartId")
        for node in layout.chart_nodes(dashboard.data.get("position") or {})
        if isinstance(node.get("meta"), dict)
    }

    def verify(old: int, where: str) -> int | None:
        if old not in known:
            bundle.report(
                dashboard,
                f"{where} refers to chart id {old}, which no chart node of the layout has "
                f"(chartIds: {sorted(i for i in known if isinstance(i, int))})",
            )
        return old

    layout.map_chart_ids(dashboard.data.get("metadata") or {}, verify)


def check_scope_nodes(bundle: Bundle, dashboard: Asset) -> None:
    """Filter scopes name layout nodes: rootPath the roots of the scope (ROOT_ID or a tab), tabsInScope tabs."""
    nodes = layout.nodes(dashboard.data.get("position") or {})
    metadata = dashboard.data.get("metadata") or {}
    for index, native_filter in enumerate(metadata.get("native_filter_configuration") or []):
        where = f"metadata.native_filter_configuration[{index}]"
        scope = native_filter.get("scope") if isinstance(native_filter.get("scope"), dict) else {}
        for key, node_ids, types in (
            ("scope.rootPath", scope.get("rootPath") or [], ("ROOT", "TAB")),
            ("tabsInScope", native_filter.get("tabsInScope") or [], ("TAB",)),
        ):
            for node_id in node_ids:
                if nodes.get(node_id, {}).get("type") not in types:
                    bundle.report(
                        dashboard,
                        f"{where}.{key} names {node_id!r}, which is no {' or '.join(types)} node of the layout",
                    )


def check_secrets(bundle: Bundle) -> None:
    """No password, token or key is written in an asset: such values may only be templates reading the environment."""
    for found in bundle.assets.values():
        for asset in found:
            for where, _value in secret_values(asset.raw):
                bundle.report(
                    asset,
                    f"{where} holds a literal secret; commit none: take it from the environment, "
                    "e.g. \"{{ env['PULSE_ANALYTICS_TRINO_PASSWORD'] }}\"",
                )


def secret_values(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if SECRET_KEY.search(str(key)) and isinstance(item, str | int | float) and is_literal(str(item)):
                yield path, str(item)
            else:
                yield from secret_values(item, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from secret_values(item, f"{where}[{index}]")


def is_literal(text: str) -> bool:
    """True when the value is more than templates (and Superset's mask): something written down, not read."""
    remainder = JINJA.sub("", text).strip()
    return remainder not in ("", PASSWORD_MASK)


def check_database_uris(bundle: Bundle) -> None:
    """In every environment the URI renders to that environment's engine and carries no password of its own."""
    environments = {environment.name: environment for environment in bundle.environments}
    for database in bundle.assets["databases"]:
        for name, data in database.rendered.items():
            environment = environments[name]
            try:
                url = make_url(str(data.get("sqlalchemy_uri", "")))
            except ArgumentError as error:
                bundle.report(database, f"sqlalchemy_uri does not render to a database URL for {name}: {error}")
                continue
            if url.get_backend_name() != environment.target:
                bundle.report(
                    database,
                    f"sqlalchemy_uri renders to a {url.get_backend_name()} URL for {name}, "
                    f"which needs {environment.target}: "
                    f"{url.render_as_string(hide_password=True)}",
                )
            if url.password and url.password != PASSWORD_MASK and url.password not in environment.env.values():
                bundle.report(
                    database,
                    f"sqlalchemy_uri holds a literal password ({name}); commit none: pass it "
                    "in the password key from the environment",
                )


def normal_form(kind: str, raw: Any, renumber: bool = True) -> str:
    """The one text of an asset, as `pulse export` writes it: normal YAML, and a dashboard's chartIds 1, 2, ... in
    layout order (layout.renumbered), unless the layout is malformed (the layout checks report that)."""
    if renumber and kind == "dashboards" and isinstance(raw, dict):
        with contextlib.suppress(AttributeError, KeyError, TypeError, ValueError):
            raw = layout.renumbered(raw)
    return assets.normal_yaml(raw)


def check_normal_form(bundle: Bundle) -> None:
    """Files without Jinja statements are in normal form, so `pulse export` rewrites only what changed. A file with
    a problem already reported is compared without renumbering its chartIds: the fix of that problem comes first."""
    reported = {problem.file for problem in bundle.problems}
    for found in bundle.assets.values():
        for asset in found:
            if "{%" in asset.text:
                continue  # a template with statements (the database) keeps its own layout and comments
            renumber = bundle.name(asset.path) not in reported
            if normal_form(asset.kind, asset.raw, renumber) != asset.text:
                bundle.report(
                    asset,
                    "is not in normal form (keys sorted, block style, 120 columns, chartIds 1, 2, ... "
                    "in layout order), so the next `pulse export` would rewrite all of it: run "
                    "`pulse check --normalize`",
                )


def normalize(root: Path) -> list[Path]:
    """Rewrite the asset files without Jinja statements in normal form (same content), the dataset columns the dbt
    models document with the dbt docs' descriptions, and the README's tables of column definitions from the same docs.
    Returns the files changed."""
    docs = descriptions.read(root / "dbt")
    changed = []
    for kind in KINDS:
        directory = assets.folder(kind, root)
        for path in assets.files(kind, directory):
            text = path.read_text(encoding="utf-8")
            if "{%" in text:
                continue
            try:
                raw = rendering.parse_yaml(text)
            except yaml.YAMLError:
                continue  # `pulse check` reports it
            if kind == "datasets":
                descriptions.describe(raw, docs)
            normal = normal_form(kind, raw)
            if normal != text:
                path.write_text(normal, encoding="utf-8")
                changed.append(path)
    readme = descriptions.write_readme(root, docs)
    return changed + ([readme] if readme else [])


def report(problems: list[Problem], seconds: float, stream: Any = None) -> None:
    stream = stream or sys.stderr
    for problem in problems:
        print(problem, file=stream)
    files = len({problem.file for problem in problems})
    summary = f"{len(problems)} problem(s) in {files} file(s)" if problems else "no problems"
    print(f"check: {summary} ({seconds:.1f} s)", file=stream)


def main(warehouse: bool = False, fix_format: bool = False) -> int:
    """`pulse check [--warehouse] [--normalize]`: exit 1 when any problem is found."""
    started = time.monotonic()
    root = project.root()
    if fix_format:
        for path in normalize(root):
            print(f"normalized {path.relative_to(root)}", file=sys.stderr)
    warehouse_dir = None
    if warehouse:
        warehouse_dir = config.warehouse_dir()
        if not model_columns.warehouse_is_built(warehouse_dir):
            raise PulseError(
                f"no built warehouse in {warehouse_dir}; run `pulse build` first, or drop "
                "--warehouse to check against the dbt docs."
            )
    problems = run(root, warehouse_dir=warehouse_dir)
    report(problems, time.monotonic() - started, stream=sys.stdout)
    return 1 if problems else 0


def before_sync(target: str, doing: str = "synced", command: str = "pulse sync") -> None:
    """Refuse to sync (or plan) a broken bundle. Columns are checked against the built warehouse when Superset reads
    it."""
    started = time.monotonic()
    warehouse_dir = config.warehouse_dir()
    built = target == "duckdb" and model_columns.warehouse_is_built(warehouse_dir)
    problems = run(warehouse_dir=warehouse_dir if built else None)
    report(problems, time.monotonic() - started)
    if problems:
        raise PulseError(
            f"{len(problems)} problem(s) in the assets (listed above); nothing was {doing}. "
            f"Fix them, then run `{command}` again (`pulse check` lists them without syncing)."
        )
