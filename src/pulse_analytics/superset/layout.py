"""A dashboard's layout (`position`) and the chart ids its metadata refers to.

In an exported dashboard, `position` is a tree of nodes (ROOT_ID -> GRID_ID -> ROW -> CHART ..., or with top-level
tabs ROOT_ID -> TABS -> TAB -> ROW -> CHART ...), each CHART node naming its chart by uuid and by `chartId`. The
chartIds are only local labels: on import Superset replaces them with its own ids and maps every id in the metadata
(native filter scopes, cross-filter configuration, ...) through them. The normal form numbers them 1, 2, ... in
layout order, so the files do not depend on which Superset exported them.

Superset renders the charts of a tab only when the tab is first shown (`charts_per_tab`).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

ROOT = "ROOT_ID"
GRID = "GRID_ID"
NON_NODE_KEYS = {"DASHBOARD_VERSION_KEY"}

ChartIdMap = Callable[[int, str], "int | None"]  # (old id, where it is used) -> new id, or None to drop the reference


def nodes(position: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The layout's nodes by id (the version key left out)."""
    return {key: node for key, node in position.items() if key not in NON_NODE_KEYS and isinstance(node, dict)}


def is_spare_grid(node_id: str, node: dict[str, Any]) -> bool:
    """Whether the node is the empty GRID_ID that Superset keeps outside the tree when top-level tabs hold the layout
    (ROOT_ID -> TABS -> TAB -> ROW): its editor moves the charts back into it when the tabs are removed."""
    return node_id == GRID and not node.get("children")


def tree_order(position: dict[str, Any]) -> list[str]:
    """Node ids reachable from ROOT_ID, depth first in children order (each once)."""
    layout = nodes(position)
    order: list[str] = []
    stack = [ROOT] if ROOT in layout else []
    while stack:
        node_id = stack.pop()
        if node_id in order or node_id not in layout:
            continue
        order.append(node_id)
        stack.extend(reversed([child for child in layout[node_id].get("children") or [] if isinstance(child, str)]))
    return order


def chart_nodes(position: dict[str, Any]) -> list[dict[str, Any]]:
    """CHART nodes in layout order; nodes not reachable from ROOT_ID come last, in key order."""
    layout = nodes(position)
    reachable = tree_order(position)
    ordered = reachable + sorted(set(layout) - set(reachable))
    return [layout[node_id] for node_id in ordered if layout[node_id].get("type") == "CHART"]


def chart_uuid(node: dict[str, Any]) -> str | None:
    meta = node.get("meta")
    return str(meta["uuid"]) if isinstance(meta, dict) and meta.get("uuid") else None


def map_chart_ids(metadata: dict[str, Any], new_id: ChartIdMap) -> dict[str, Any]:
    """A copy of the dashboard metadata with every chart id reference mapped; references mapped to None are dropped."""
    fixed = copy.deepcopy(metadata)

    def mapped_list(ids: Any, where: str) -> Any:
        if not isinstance(ids, list):
            return ids
        return [new for old in ids if (new := _mapped(new_id, old, where)) is not None]

    def mapped_keys(mapping: Any, where: str) -> Any:
        if not isinstance(mapping, dict):
            return mapping
        return {
            str(new): value
            for old, value in mapping.items()
            if (new := _mapped(new_id, old, f"{where}.{old}")) is not None
        }

    if "timed_refresh_immune_slices" in fixed:
        fixed["timed_refresh_immune_slices"] = mapped_list(
            fixed["timed_refresh_immune_slices"], "metadata.timed_refresh_immune_slices"
        )
    if "expanded_slices" in fixed:
        fixed["expanded_slices"] = mapped_keys(fixed["expanded_slices"], "metadata.expanded_slices")
    if isinstance(fixed.get("filter_scopes"), dict):
        fixed["filter_scopes"] = mapped_keys(fixed["filter_scopes"], "metadata.filter_scopes")
        for chart_id, columns in fixed["filter_scopes"].items():
            for column, attributes in (columns or {}).items():
                where = f"metadata.filter_scopes.{chart_id}.{column}.immune"
                attributes["immune"] = mapped_list(attributes.get("immune", []), where)
    if isinstance(fixed.get("default_filters"), str) and fixed["default_filters"].strip():
        filters = json.loads(fixed["default_filters"])
        fixed["default_filters"] = json.dumps(mapped_keys(filters, "metadata.default_filters"))
    for index, native_filter in enumerate(fixed.get("native_filter_configuration") or []):
        where = f"metadata.native_filter_configuration[{index}]"
        _map_scope(native_filter, where, mapped_list)
    for chart_id, configuration in list((fixed.get("chart_configuration") or {}).items()):
        where = f"metadata.chart_configuration.{chart_id}"
        new = _mapped(new_id, chart_id, where)
        del fixed["chart_configuration"][chart_id]
        if new is None or not isinstance(configuration, dict):
            continue
        if "id" in configuration:
            configuration["id"] = new
        _map_scope(configuration.get("crossFilters") or {}, f"{where}.crossFilters", mapped_list)
        fixed["chart_configuration"][str(new)] = configuration
    if isinstance(fixed.get("global_chart_configuration"), dict):
        _map_scope(fixed["global_chart_configuration"], "metadata.global_chart_configuration", mapped_list)
    return fixed


def _map_scope(holder: dict[str, Any], where: str, mapped_list: Callable[[Any, str], Any]) -> None:
    scope = holder.get("scope")
    if isinstance(scope, dict) and "excluded" in scope:
        scope["excluded"] = _id_set(mapped_list(scope["excluded"], f"{where}.scope.excluded"))
    if "chartsInScope" in holder:
        holder["chartsInScope"] = _id_set(mapped_list(holder["chartsInScope"], f"{where}.chartsInScope"))


def _id_set(ids: Any) -> Any:
    """A scope is a set of chart ids: sorted, so that charts moved to other places in the layout (renumbered) leave
    the same scope written the same way."""
    return sorted(ids) if isinstance(ids, list) and all(isinstance(chart_id, int) for chart_id in ids) else ids


def _mapped(new_id: ChartIdMap, old: Any, where: str) -> int | None:
    try:
        return new_id(int(old), where)
    except (TypeError, ValueError):
        return new_id(-1, where)


def renumbered(dashboard: dict[str, Any]) -> dict[str, Any]:
    """A copy of the dashboard whose chartIds are 1, 2, ... in layout order (one per chart uuid), with every id in its
    metadata mapped the same way; references to charts that are not in the layout are dropped, as Superset's import
    drops them."""
    fixed = copy.deepcopy(dashboard)
    position = fixed.get("position") or {}
    numbers: dict[str, int] = {}
    old_to_new: dict[int, int] = {}
    for node in chart_nodes(position):
        uuid = chart_uuid(node)
        if uuid is None:
            continue
        number = numbers.setdefault(uuid, len(numbers) + 1)
        old = node["meta"].get("chartId")
        if isinstance(old, int):
            old_to_new.setdefault(old, number)
        node["meta"]["chartId"] = number
    if isinstance(fixed.get("metadata"), dict):
        fixed["metadata"] = map_chart_ids(fixed["metadata"], lambda old, _where: old_to_new.get(old))
    return fixed


def attach_orphan_charts(position: dict[str, Any]) -> dict[str, Any]:
    """A copy of the layout with the CHART nodes no node holds (charts added to the dashboard outside its layout, e.g.
    through the REST API) put in a new row at the end of the first container, where Superset's dashboard page shows
    them: GRID_ID, or the first tab of top-level tabs. Superset's export does so itself only for a grid layout."""
    fixed = copy.deepcopy(position)
    layout = nodes(fixed)
    held = {child for _, child in walk_children(fixed)}
    orphans = sorted(node_id for node_id, node in layout.items() if node.get("type") == "CHART" and node_id not in held)
    first = next(iter(layout.get(ROOT, {}).get("children") or []), None)
    if not orphans or first not in layout:
        return fixed
    container = [ROOT, first]
    if layout[first].get("type") == "TABS" and tab_ids(layout, first):
        container.append(tab_ids(layout, first)[0])
    row = f"ROW-{orphans[0].removeprefix('CHART-')}"
    fixed[row] = {
        "children": orphans,
        "id": row,
        "meta": {"background": "BACKGROUND_TRANSPARENT"},
        "parents": container,
        "type": "ROW",
    }
    layout[container[-1]].setdefault("children", []).append(row)
    for chart in orphans:
        layout[chart]["parents"] = [*container, row]
    return fixed


def walk_children(position: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(parent id, child id) for every child reference in the layout."""
    for node_id, node in nodes(position).items():
        for child in node.get("children") or []:
            yield node_id, child


def charts_per_tab(dashboard: dict[str, Any]) -> list[tuple[str | None, int]]:
    """(title, number of charts shown) of each tab of the dashboard's outermost tabs, in order; [(None, number of
    charts)] for a dashboard without tabs. Superset renders a tab's charts only when the tab is first shown, so these
    are the charts a view of each tab waits for: the first entry is the first view of the dashboard. Charts outside
    the tabs show on every tab; tabs nested in a tab count with their first tab, the one shown."""
    position = dashboard.get("position") or {}
    layout = nodes(position)
    tabs = outer_tabs(position)
    if tabs is None:
        return [(None, _shown_charts(layout, ROOT, skip=None))]
    everywhere = _shown_charts(layout, ROOT, skip=tabs)
    return [
        (tab_title(layout[tab]), everywhere + _shown_charts(layout, tab, skip=None)) for tab in tab_ids(layout, tabs)
    ]


def outer_tabs(position: dict[str, Any]) -> str | None:
    """The id of the outermost TABS node (the first in layout order), None for a dashboard without tabs."""
    layout = nodes(position)
    return next((node_id for node_id in tree_order(position) if layout[node_id].get("type") == "TABS"), None)


def tab_ids(layout: dict[str, dict[str, Any]], tabs: str) -> list[str]:
    """The TAB nodes among the children of a TABS node, in order."""
    children = [child for child in layout[tabs].get("children") or [] if isinstance(child, str)]
    return [child for child in children if layout.get(child, {}).get("type") == "TAB"]


def tab_title(node: dict[str, Any]) -> str:
    meta = node.get("meta")
    return str(meta.get("text") or "") if isinstance(meta, dict) else ""


def _shown_charts(
    layout: dict[str, dict[str, Any]], node_id: str, skip: str | None, seen: set[str] | None = None
) -> int:
    """The CHART nodes shown under node_id: of a TABS node only its first tab's, nothing under `skip`, each node once
    (a malformed layout may loop; `pulse check` reports it)."""
    seen = set() if seen is None else seen
    node = layout.get(node_id)
    if node is None or node_id == skip or node_id in seen:
        return 0
    seen.add(node_id)
    if node.get("type") == "CHART":
        return 1
    children = [child for child in node.get("children") or [] if isinstance(child, str)]
    if node.get("type") == "TABS":
        children = children[:1]
    return sum(_shown_charts(layout, child, skip, seen) for child in children)
