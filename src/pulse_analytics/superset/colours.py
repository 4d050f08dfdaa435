"""Series colours that stay put: each cell, recipe and device has one colour, on every dashboard and every page load.

Superset 6.1 colours a chart's series by its label. A dashboard page first applies its json_metadata's
`map_label_colors` (label -> colour) and `label_colors` (colours set by hand, which win); a label in neither gets the
next colour of the scheme in the order the charts' data arrive, so it changes from one page load to the next. The
labels that name lab data (cells, recipes, devices) cannot be written in git, so after every import `pulse sync` asks
the warehouse (through Superset, on whatever engine it reads) which there are, and writes one `map_label_colors` to
every dashboard: each kind sorted in natural order (cell-2 before cell-10) takes PALETTE's colours in turn. The same
labels give the same colours on any Superset; a new label sorting last changes no other label's colour.

Series named after our own metrics are coloured in git instead, by the dashboard's `label_colors` (docs/superset.md).
"""

from __future__ import annotations

import json
import re
from typing import Any

from pulse_analytics.errors import PulseError
from pulse_analytics.superset import assets
from pulse_analytics.superset.api import SupersetApi, SupersetError

LABEL_DATASET = "test_overview"  # one row per test, with its device, recipe and part
LABEL_COLUMNS = ("part_id", "recipe_id", "device_id")  # cells, recipes, devices: what charts draw a series per
ROW_LIMIT = 100_000

# Superset's own scheme (supersetColors), reordered so neighbours differ in hue; without its red (#E04355), which
# marks the 80 % end-of-life line. Past the 19th label of a kind the colours repeat.
PALETTE = (
    "#1FA8C9",
    "#FF7F44",
    "#5AC189",
    "#A868B7",
    "#FCC700",
    "#454E7C",
    "#A38F79",
    "#3CCCCB",
    "#666666",
    "#EFA1AA",
    "#8FD3E4",
    "#FEC0A1",
    "#ACE1C4",
    "#D3B3DA",
    "#FDE380",
    "#A1A6BD",
    "#D1C6BC",
    "#9EE5E5",
    "#B2B2B2",
)


def apply(api: SupersetApi) -> tuple[int, int]:
    """Write the label colours to every dashboard in git that does not hold them yet, leaving its modification time
    alone (so the next `pulse sync` still finds nothing changed). Returns (labels coloured, dashboards written)."""
    colours = label_colours(warehouse_labels(api))
    written = 0
    for dashboard_id in dashboard_ids(api):
        metadata = json.loads(api.get(f"/api/v1/dashboard/{dashboard_id}")["result"]["json_metadata"] or "{}")
        if metadata.get("map_label_colors") != colours:
            api.put(f"/api/v1/dashboard/{dashboard_id}/colors?mark_updated=false", {"map_label_colors": colours})
            written += 1
    return len(colours), written


def label_colours(labels: dict[str, list[str]]) -> dict[str, str]:
    """Label -> colour: each kind's labels in natural order take PALETTE's colours in turn (a label of two kinds
    keeps the colour of the first kind in LABEL_COLUMNS)."""
    colours: dict[str, str] = {}
    for column in LABEL_COLUMNS:
        for index, label in enumerate(sorted(labels.get(column, []), key=natural_key)):
            colours.setdefault(label, PALETTE[index % len(PALETTE)])
    return dict(sorted(colours.items()))


def natural_key(label: str) -> list[Any]:
    """Sort key putting the numbers in a label in numeric order: cell-2 before cell-10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", label)]


def warehouse_labels(api: SupersetApi) -> dict[str, list[str]]:
    """Each label column's distinct values in the warehouse, read through Superset's chart-data API."""
    datasets = [item for item in api.list_all("/api/v1/dataset/") if item.get("table_name") == LABEL_DATASET]
    if not datasets:
        raise PulseError(
            f"Superset at {api.url} has no dataset {LABEL_DATASET}, which the series colours are read "
            "from; run `pulse sync` again (it imports the datasets)."
        )
    query = {
        "columns": list(LABEL_COLUMNS),
        "row_limit": ROW_LIMIT,
        "metrics": [{"expressionType": "SQL", "sqlExpression": "count(*)", "label": "tests"}],
    }
    payload = {
        "datasource": {"id": datasets[0]["id"], "type": "table"},
        "queries": [query],
        "result_format": "json",
        "result_type": "full",
    }
    try:
        rows = api.post("/api/v1/chart/data", payload)["result"][0]["data"]
    except SupersetError as error:
        raise PulseError(
            f"could not read the cells, recipes and devices (dataset {LABEL_DATASET}) that the series "
            f"colours are made from: {error}. Check that the warehouse is built (`pulse build`), then "
            "run `pulse sync` again."
        ) from error
    return {column: sorted({str(row[column]) for row in rows if row[column] is not None}) for column in LABEL_COLUMNS}


def dashboard_ids(api: SupersetApi) -> list[int]:
    """Superset's ids of the dashboards in git."""
    in_git = {str(assets.load(path)["uuid"]) for path in assets.files("dashboards")}
    return sorted(item["id"] for item in api.list_all("/api/v1/dashboard/") if str(item.get("uuid")) in in_git)
