"""Series colours: the labels of lab data get their colour from colours.py, our metric series from the dashboards'
label_colors in git (docs/superset.md, "Series colours")."""

from __future__ import annotations

import colorsys
from typing import Any

from pulse_analytics.superset import assets, colours


def by_uuid(kind: str) -> dict[str, dict[str, Any]]:
    return {str(asset["uuid"]): asset for asset in map(assets.load, assets.files(kind))}


def hue_apart(first: str, second: str) -> float:
    """How far apart two colours' hues are, in degrees (0 to 180)."""
    hues = [
        colorsys.rgb_to_hsv(*(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)))[0] * 360
        for colour in (first, second)
    ]
    apart = abs(hues[0] - hues[1])
    return min(apart, 360 - apart)


def colour_keys(metric: str, dataset: dict[str, Any]) -> set[str]:
    """The labels Superset 6.1 may colour a metric's series by: the metric's name, or the name of a column with the
    same verbose name (the series is named by the verbose name, and the page maps that name back through the
    dataset's verbose map, where a column listed after the metric takes the name over)."""
    verbose = next(item.get("verbose_name") for item in dataset["metrics"] if item["metric_name"] == metric)
    return {metric} | {
        column["column_name"] for column in dataset["columns"] if verbose and column.get("verbose_name") == verbose
    }


def metric_series(dashboard: dict[str, Any]) -> dict[str, set[str]]:
    """Per metric drawn as a series of its own (a chart with metrics and no groupby): its colour keys."""
    charts, datasets = by_uuid("charts"), by_uuid("datasets")
    found: dict[str, set[str]] = {}
    for uuid in assets.chart_uuids(dashboard):
        params = charts[uuid]["params"]
        if params.get("viz_type", "").startswith("echarts") and not params.get("groupby") and params.get("metrics"):
            for metric in params["metrics"]:
                found[metric] = colour_keys(metric, datasets[charts[uuid]["dataset_uuid"]])
    return found


def test_each_kind_of_label_takes_the_palette_in_natural_order() -> None:
    result = colours.label_colours(
        {"part_id": ["cell-10", "cell-2", "cell-1"], "recipe_id": ["b", "a"], "device_id": ["cell-2", "ch-1"]}
    )
    palette = colours.PALETTE
    assert result == {
        "cell-1": palette[0],
        "cell-2": palette[1],
        "cell-10": palette[2],
        "a": palette[0],
        "b": palette[1],
        "ch-1": palette[1],
    }


def test_a_new_label_sorting_last_changes_no_other_colour_and_the_palette_repeats_past_its_end() -> None:
    cells = [f"cell-{number}" for number in range(1, len(colours.PALETTE) + 1)]
    before = colours.label_colours({"part_id": cells})
    after = colours.label_colours({"part_id": [*cells, f"cell-{len(cells) + 1}"]})
    assert {label: after[label] for label in before} == before
    assert after[f"cell-{len(cells) + 1}"] == colours.PALETTE[0]
    assert len(set(before.values())) == len(cells)


def test_the_palette_leaves_the_end_of_life_line_its_own_colour() -> None:
    line_colours = {
        layer["color"] for chart in by_uuid("charts").values() for layer in chart["params"].get("annotation_layers", [])
    }
    assert line_colours and not line_colours & set(colours.PALETTE)
    assert len(set(colours.PALETTE)) == len(colours.PALETTE)


def test_label_colors_in_git_name_metric_series_of_their_dashboard_and_colour_all_their_keys() -> None:
    for path in assets.files("dashboards"):
        dashboard = assets.load(path)
        set_by_hand = dashboard["metadata"].get("label_colors") or {}
        series = metric_series(dashboard)
        drawn = set().union(*series.values()) if series else set()
        assert set(set_by_hand) <= drawn, f"{path.name}: label_colors for series it does not draw"
        for metric, keys in series.items():
            if keys & set(set_by_hand):
                assert len({set_by_hand.get(key) for key in keys}) == 1, f"{path.name}: {metric} needs {sorted(keys)}"


def test_charge_and_discharge_series_have_colours_far_apart() -> None:
    """Superset's first two colours are two blues (#1FA8C9, #454E7C); charge and discharge must not look alike."""
    dashboard = assets.load(assets.folder("dashboards") / "test_explorer.yaml")
    set_by_hand = dashboard["metadata"]["label_colors"]
    for charge, discharge in (("charge_capacity", "discharge_capacity"), ("charge_resistance", "discharge_resistance")):
        assert charge in metric_series(dashboard) and discharge in metric_series(dashboard)
        assert hue_apart(set_by_hand[charge], set_by_hand[discharge]) >= 90


def test_curves_per_cycle_go_from_the_scales_first_colour_to_its_last_charge_and_discharge_alike() -> None:
    found = colours.cycle_colours([999, 1, 10, 100, 10])
    assert set(found) == {
        f"{cycle}, {direction}" for cycle in (1, 10, 100, 999) for direction in ("charge", "discharge")
    }
    assert found["1, charge"] == found["1, discharge"] == colours.CYCLE_SCALE[0]
    assert found["999, charge"] == found["999, discharge"] == colours.CYCLE_SCALE[-1]
    assert found["10, charge"] == colours.scale_colour(1 / 3) and found["100, charge"] == colours.scale_colour(2 / 3)
    assert colours.cycle_colours([]) == {} and colours.cycle_colours([7]) == {
        "7, charge": colours.CYCLE_SCALE[0],
        "7, discharge": colours.CYCLE_SCALE[0],
    }


def test_the_scale_passes_through_its_stops_and_mixes_between_them() -> None:
    stops = colours.CYCLE_SCALE
    assert [colours.scale_colour(index / (len(stops) - 1)) for index in range(len(stops))] == list(stops)
    assert colours.mix("#000000", "#FFFFFF", 0.5) == "#808080"
    assert colours.scale_colour(-1) == stops[0] and colours.scale_colour(2) == stops[-1]


def test_a_cells_first_and_last_curves_take_its_colour_the_first_paler() -> None:
    labels = {"cell-1": "#1FA8C9", "cell-2": "#FF7F44"}
    found = colours.cell_curve_colours([("cell-1", 1), ("cell-1", 812), ("cell-2", 3), ("cell-2", 40)], labels)
    assert found["cell-1, 812"] == "#1FA8C9" and found["cell-2, 40"] == "#FF7F44"
    assert found["cell-1, 1"] == colours.mix("#1FA8C9", "#FFFFFF", 0.55) != "#1FA8C9"
    assert colours.cell_curve_colours([("cell-9", 1)], labels) == {}
