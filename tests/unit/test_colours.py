"""Series colours: the labels of lab data get their colour from colours.py (docs/superset.md, "Series colours")."""

from __future__ import annotations

from typing import Any

from pulse_analytics.superset import assets, colours


def by_uuid(kind: str) -> dict[str, dict[str, Any]]:
    return {str(asset["uuid"]): asset for asset in map(assets.load, assets.files(kind))}


def test_each_kind_of_label_takes_the_palette_in_natural_order() -> None:
    result = colours.label_colours({"part_id": ["cell-10", "cell-2", "cell-1"], "recipe_id": ["b", "a"],
                                    "device_id": ["cell-2", "ch-1"]})  # fmt: skip
    palette = colours.PALETTE
    assert result == {"cell-1": palette[0], "cell-2": palette[1], "cell-10": palette[2], "a": palette[0],
                      "b": palette[1], "ch-1": palette[1]}  # fmt: skip


def test_a_new_label_sorting_last_changes_no_other_colour_and_the_palette_repeats_past_its_end() -> None:
    cells = [f"cell-{number}" for number in range(1, len(colours.PALETTE) + 1)]
    before = colours.label_colours({"part_id": cells})
    after = colours.label_colours({"part_id": [*cells, f"cell-{len(cells) + 1}"]})
    assert {label: after[label] for label in before} == before
    assert after[f"cell-{len(cells) + 1}"] == colours.PALETTE[0]
    assert len(set(before.values())) == len(cells)


def test_the_palette_leaves_the_end_of_life_line_its_own_colour() -> None:
    line_colours = {layer["color"] for chart in by_uuid("charts").values()
                    for layer in chart["params"].get("annotation_layers", [])}  # fmt: skip
    assert line_colours and not line_colours & set(colours.PALETTE)
    assert len(set(colours.PALETTE)) == len(colours.PALETTE)
