"""Series colours that stay put: each cell, recipe and device has one colour, on every dashboard and every page load.

Superset 6.1 colours a chart's series by its label. A dashboard page first applies its json_metadata's
`map_label_colors` (label -> colour) and `label_colors` (colours set by hand, which win); a label in neither gets the
next colour of the scheme in the order the charts' data arrive, so it changes from one page load to the next. The
labels that name lab data (cells, recipes, devices) cannot be written in git, so after every import `pulse sync` asks
the warehouse (through Superset, on whatever engine it reads) which there are, and writes one `map_label_colors` to
every dashboard: each kind sorted in natural order (cell-2 before cell-10) takes PALETTE's colours in turn. The same
labels give the same colours on any Superset; a new label sorting last changes no other label's colour.

Curves per cycle are coloured the same way: on Test explorer a curve is labelled "<cycle number>, charge" (or
discharge) and takes its colour from a sequential scale by cycle number (the cycle numbers the overlay draws, in
order, spread evenly from dark violet to yellow, so a short test spreads over the scale too), its charge and
discharge in one colour; on Cycle life a cell's first and last cycle ("<cell>, <cycle>") are its cell's colour, the
first one paler.

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
# The cycles drawn as curves: Test explorer's (a test's cycles, overlaid) and Cycle life's (each cell's first and last).
TEST_CURVES = ("test_statistics_cycle", ("cycle_number",), ["first and last", "sampled"])
PART_CURVES = ("part_statistics_cycle", ("part_id", "part_cycle_number"), ["first and last"])
DIRECTIONS = ("charge", "discharge")
# Cycle number -> colour: viridis (perceptually even, readable by colour-blind readers), first cycle to last.
CYCLE_SCALE = (
    "#440154",
    "#482878",
    "#3E4A89",
    "#31688E",
    "#26828E",
    "#1F9E89",
    "#35B779",
    "#6DCD59",
    "#B4DE2C",
    "#FDE725",
)

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
    datasets = dataset_ids(api)
    labels = label_colours(warehouse_labels(api, datasets))
    test_cycles = [int(cycle) for (cycle,) in distinct_rows(api, datasets, *TEST_CURVES) if cycle is not None]
    part_cycles = [
        (str(part), int(cycle))
        for part, cycle in distinct_rows(api, datasets, *PART_CURVES)
        if None not in (part, cycle)
    ]
    colours = {**labels, **cycle_colours(test_cycles), **cell_curve_colours(part_cycles, labels)}
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


def cycle_colours(cycles: list[int]) -> dict[str, str]:
    """ "<cycle>, charge" and "<cycle>, discharge" -> the cycle's colour: the cycle numbers drawn, in order, spread
    evenly over CYCLE_SCALE (the lowest its first colour, the highest its last)."""
    drawn = sorted(set(cycles))
    found = {}
    for rank, cycle in enumerate(drawn):
        colour = scale_colour(rank / max(len(drawn) - 1, 1))
        found.update({f"{cycle}, {direction}": colour for direction in DIRECTIONS})
    return found


def scale_colour(position: float) -> str:
    """The colour at position (0 to 1) of CYCLE_SCALE, interpolated between its stops."""
    place = min(max(position, 0.0), 1.0) * (len(CYCLE_SCALE) - 1)
    low = min(int(place), len(CYCLE_SCALE) - 2)
    return mix(CYCLE_SCALE[low], CYCLE_SCALE[low + 1], place - low)


def mix(first: str, second: str, share: float) -> str:
    """The colour `share` of the way from first to second (hex #RRGGBB)."""
    channels = [round(int(first[i : i + 2], 16) * (1 - share) + int(second[i : i + 2], 16) * share) for i in (1, 3, 5)]
    return "#" + "".join(f"{channel:02X}" for channel in channels)


def cell_curve_colours(curves: list[tuple[str, int]], labels: dict[str, str]) -> dict[str, str]:
    """ "<cell>, <cycle>" of each cell's first and last curve -> the cell's colour, the first cycle's paler."""
    firsts: dict[str, int] = {}
    for part, cycle in curves:
        firsts[part] = min(cycle, firsts.get(part, cycle))
    return {
        f"{part}, {cycle}": mix(labels[part], "#FFFFFF", 0.55) if cycle == firsts[part] else labels[part]
        for part, cycle in curves
        if part in labels
    }


def natural_key(label: str) -> list[Any]:
    """Sort key putting the numbers in a label in numeric order: cell-2 before cell-10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", label)]


def warehouse_labels(api: SupersetApi, datasets: dict[str, int]) -> dict[str, list[str]]:
    """Each label column's distinct values in the warehouse, read through Superset's chart-data API."""
    rows = distinct_rows(api, datasets, LABEL_DATASET, LABEL_COLUMNS)
    return {
        column: sorted({str(row[index]) for row in rows if row[index] is not None})
        for index, column in enumerate(LABEL_COLUMNS)
    }


def dataset_ids(api: SupersetApi) -> dict[str, int]:
    """Superset's id of each dataset, by the name of the view it reads."""
    return {str(item.get("table_name")): item["id"] for item in api.list_all("/api/v1/dataset/")}


def distinct_rows(
    api: SupersetApi,
    datasets: dict[str, int],
    dataset: str,
    columns: tuple[str, ...],
    overlay: list[str] | None = None,
) -> list[tuple[Any, ...]]:
    """The distinct values of columns in a dataset (only rows whose curve_overlay is one of `overlay`, when given),
    read through Superset's chart-data API, so on whatever engine Superset reads."""
    if dataset not in datasets:
        raise PulseError(
            f"Superset at {api.url} has no dataset {dataset}, which the series colours are read "
            "from; run `pulse sync` again (it imports the datasets)."
        )
    query: dict[str, Any] = {
        "columns": list(columns),
        "row_limit": ROW_LIMIT,
        "metrics": [{"expressionType": "SQL", "sqlExpression": "count(*)", "label": "rows"}],
    }
    if overlay is not None:
        query["filters"] = [{"col": "curve_overlay", "op": "IN", "val": overlay}]
    payload = {
        "datasource": {"id": datasets[dataset], "type": "table"},
        "queries": [query],
        "result_format": "json",
        "result_type": "full",
    }
    try:
        rows = api.post("/api/v1/chart/data", payload)["result"][0]["data"]
    except SupersetError as error:
        raise PulseError(
            f"could not read {', '.join(columns)} of dataset {dataset}, which the series colours are made "
            f"from: {error}. Check that the warehouse is built (`pulse build`), then run `pulse sync` again."
        ) from error
    return [tuple(row[column] for column in columns) for row in rows]


def dashboard_ids(api: SupersetApi) -> list[int]:
    """Superset's ids of the dashboards in git."""
    in_git = {str(assets.load(path)["uuid"]) for path in assets.files("dashboards")}
    return sorted(item["id"] for item in api.list_all("/api/v1/dashboard/") if str(item.get("uuid")) in in_git)
