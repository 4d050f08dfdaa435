"""Which rule integrates current into capacity closest to a cycler's own counters? Per step of the real recordings
that carry counters: trapezoid, left and right sample-and-hold against the counter (docs/bdf.md, "Capacity from
current: which rule, measured"). Run: .venv/bin/python bench/capacity_rules.py"""

from __future__ import annotations

from pathlib import Path

import NewareNDA
import numpy
import pandas

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def rules(time_s: numpy.ndarray, current_a: numpy.ndarray) -> dict[str, float]:
    """Charge in Ah over one step by each rule."""
    interval = numpy.diff(time_s)
    return {"trapezoid": float(numpy.sum(interval * (current_a[1:] + current_a[:-1]) / 2) / 3600),
            "left": float(numpy.sum(interval * current_a[:-1]) / 3600),
            "right": float(numpy.sum(interval * current_a[1:]) / 3600)}  # fmt: skip


def neware_steps(path: Path) -> list[tuple[str, float, dict[str, float]]]:
    frame = NewareNDA.read(str(path))
    found = []
    for step, records in frame.groupby("Step"):
        counter = (records["Charge_Capacity(mAh)"].max() - records["Discharge_Capacity(mAh)"].max()) / 1000
        if counter:
            found.append(
                (
                    f"{path.name} step {step} {records['Status'].iloc[0]}",
                    float(counter),
                    rules(records["Time"].to_numpy("float64"), records["Current(mA)"].to_numpy("float64") / 1e3),
                )
            )
    return found


def landt_steps(path: Path) -> list[tuple[str, float, dict[str, float]]]:
    frame = pandas.read_csv(path)
    frame["step"] = (frame["step_index"] != frame["step_index"].shift()).cumsum()
    found = []
    for step, records in frame.groupby("step"):
        counter = records["charging_capacity_ah"].max() - records["discharging_capacity_ah"].max()
        if counter:
            found.append((f"{path.name[:24]} step {step}", float(counter),
                          rules(records["test_time_second"].to_numpy("float64"),
                                records["current_ampere"].to_numpy("float64"))))  # fmt: skip
    return found


def main() -> None:
    steps = [*neware_steps(EXAMPLES / "vendor/neware/test.nda"), *neware_steps(EXAMPLES / "vendor/neware/test.ndax"),
             *landt_steps(EXAMPLES / "bdf/SINTEF__LiGrR2032__2024-04-30__25degC__Landt.bdf.csv")]  # fmt: skip
    for name, counter, by_rule in steps:
        deviations = "  ".join(f"{rule} {(value / counter - 1) * 100:+.2f} %" for rule, value in by_rule.items())
        print(f"{name:40s} counter {counter:+.4e} Ah  {deviations}")


if __name__ == "__main__":
    main()
