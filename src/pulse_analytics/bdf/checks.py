"""Checks: reject what cannot be repaired, naming file, line and column; stop using, or treat as empty, what an
optional column holds that the importer cannot use (docs/bdf.md, "Bad and odd input"). Also the SQL that reads a
staged cell as a number within what a cycler measures."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pulse_analytics.bdf.reading import Columns
from pulse_analytics.bdf.report import BdfError, Report
from pulse_analytics.bdf.vocabulary import COUNTERS, INTEGERS, REQUIRED, TEXT

# Magnitudes beyond what any cycler measures (cells to packs): a value beyond its limit is not a reading. Required
# columns reject the file, optional ones treat it as unusable (docs/bdf.md); ANY_LIMIT bounds every other number.
LIMITS = {
    "voltage_volt": 2e3,
    "current_ampere": 1e4,
    "power_watt": 1e7,
    "charging_capacity_ah": 1e6,
    "discharging_capacity_ah": 1e6,
    "charging_energy_wh": 1e7,
    "discharging_energy_wh": 1e7,
}
ANY_LIMIT = 1e12


def number(column: str) -> str:
    return f"try_cast(trim({column}) AS DOUBLE)"


def is_blank(column: str) -> str:
    return f"({column} IS NULL OR trim({column}) = '')"


def not_a_number(column: str) -> str:
    return f"(NOT {is_blank(column)} AND NOT coalesce(isfinite({number(column)}), false))"


def out_of_range(column: str, name: str) -> str:
    """A number whose magnitude no cycler measures (1e308 would overflow every sum of it)."""
    return f"coalesce(abs({number(column)}) > {limit(name)!r}, false)"


def limit(name: str) -> float:
    return LIMITS.get(name, ANY_LIMIT)


def within_limit(value: str, name: str) -> str:
    """SQL: the value where its magnitude is within the quantity's limit, else NULL."""
    return f"CASE WHEN abs({value}) <= {limit(name)!r} THEN {value} END"


Problem = tuple[str, str, str]  # staged column, SQL condition, complaint


def survey(connection: duckdb.DuckDBPyConnection, conditions: list[str]) -> list[tuple[int, int | None]]:
    """One pass over bdf_text: for each condition, how many rows meet it and the first such line."""
    if not conditions:
        return []
    measures = ", ".join(
        f"count(*) FILTER (WHERE {condition}), min(line) FILTER (WHERE {condition})" for condition in conditions
    )
    found = connection.execute(f"SELECT {measures} FROM bdf_text").fetchone()
    return [(found[2 * index], found[2 * index + 1]) for index in range(len(conditions))]


def value_at(connection: duckdb.DuckDBPyConnection, staged: str, line: int) -> str | None:
    return connection.execute(f"SELECT {staged} FROM bdf_text WHERE line = ?", [line]).fetchone()[0]


BLANK_RULES = {
    "power_watt": "power = voltage x current on those rows",
    "unix_time_second": "only the first row with a value is used",
    **{name: "the counter keeps its previous value" for name in COUNTERS},
}


def required_problems(name: str, staged: str) -> list[Problem]:
    """What makes a file unusable in a required column (time, voltage, current)."""
    problems = [
        (staged, not_a_number(staged), "is not a number (use . as decimal separator)"),
        (staged, is_blank(staged), f"is empty; every row needs a value of {name}"),
        (staged, out_of_range(staged, name), f"is beyond what a cycler measures (|{name}| up to {limit(name):g})"),
    ]
    if name == "test_time_second":
        problems.append((staged, f"{number(staged)} < 0", "is negative: test time counts from the test's start"))
    return problems


def unusable(name: str, staged: str) -> str:
    """SQL: a value of an optional column the importer cannot use (not a number, not whole where it must be, or out of
    range). Empty cells are not unusable: each optional column has its rule for them."""
    bad = f"{not_a_number(staged)} OR {out_of_range(staged, name)}"
    if name in INTEGERS:
        bad += f" OR {is_blank(staged)} OR {number(staged)} <> round({number(staged)})"
    return f"({bad})"


def check_text(connection: duckdb.DuckDBPyConnection, path: Path, columns: Columns, report: Report) -> None:
    """Check every cell in one pass (docs/bdf.md, "Bad and odd input"). Reject the file at the first line of a
    required column holding a value the importer cannot use; stop using an optional step or cycle column with such
    values (steps and cycles are then derived), and treat such values of the other optional columns as empty cells;
    leave out (and report) auxiliary columns that are not numeric and auxiliary values out of range."""
    problems: list[Problem] = []
    optional: list[tuple[str, str]] = []
    for name, staged in sorted(columns.quantities.items(), key=lambda item: int(item[1][6:])):
        if name in REQUIRED:
            problems += required_problems(name, staged)
        elif name not in TEXT:
            optional.append((name, staged))
    auxiliary = list(columns.auxiliary.items())
    blanks = [(name, staged) for name, staged in columns.quantities.items() if name in BLANK_RULES]
    conditions = [condition for _, condition, _ in problems]
    conditions += [unusable(name, staged) for name, staged in optional]
    conditions += [
        c
        for key, staged in auxiliary
        for c in (not_a_number(staged), f"NOT {is_blank(staged)}", out_of_range(staged, key))
    ]
    conditions += [is_blank(staged) for _, staged in blanks]
    found = iter(survey(connection, conditions))
    reject_first_problem(connection, path, columns, problems, [next(found) for _ in problems])
    for name, staged in optional:
        bad, first = next(found)
        if bad:
            report_unusable(connection, columns, report, name, staged, bad, first)
    for key, staged in auxiliary:
        (bad, first_bad), (filled, _), (huge, first_huge) = next(found), next(found), next(found)
        header = columns.header_of(staged)
        if filled == 0:
            report.repairs.append(f"empty-column: column '{header}' is empty: not imported")
        elif bad:
            report.repairs.append(
                f"text-column: column '{header}' is not numeric (line {first_bad}: "
                f"{value_at(connection, staged, first_bad)!r}, {bad:,} rows): not imported "
                f"(auxiliary holds numbers only)"
            )
        else:
            if huge:
                report.repairs.append(
                    f"out-of-range: {huge:,} values of column '{header}' are beyond "
                    f"{limit(key):g} (first: line {first_huge}, "
                    f"{value_at(connection, staged, first_huge)!r}): left out of auxiliary"
                )
            continue
        del columns.auxiliary[key]
    for name, _ in blanks:
        empty, first = next(found)
        if empty and name in columns.quantities:
            report.repairs.append(
                f"empty-cell: {empty:,} empty cells in {name} (first: line {first}): {BLANK_RULES[name]}"
            )


def report_unusable(
    connection: duckdb.DuckDBPyConnection,
    columns: Columns,
    report: Report,
    name: str,
    staged: str,
    bad: int,
    first: int,
) -> None:
    """An optional column with values the importer cannot use: a step or cycle column is not used (what it would
    give is derived); in the others such a value counts as an empty cell (BLANK_RULES)."""
    value = value_at(connection, staged, first)
    what = (
        f"{bad:,} values of column '{columns.header_of(staged)}' cannot be used (first: line {first}, "
        f"{value!r}: {'empty, ' if name in INTEGERS else ''}not a number{', not whole' if name in INTEGERS else ''}"
        f" or beyond {limit(name):g})"
    )
    if name in INTEGERS:
        del columns.quantities[name]
        report.repairs.append(
            f"unusable-column: {what}: {name} not used; steps and cycles are derived from the "
            f"other columns (the column stays in auxiliary where it is numeric)"
        )
    else:
        report.repairs.append(f"unusable-value: {what}: treated as empty cells: {BLANK_RULES[name]}")


def reject_first_problem(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    columns: Columns,
    problems: list[Problem],
    found: list[tuple[int, int | None]],
) -> None:
    """Raise for the earliest line with a problem (naming file, line, column, value and how many more there are)."""
    failures = [(first, count, problem) for (count, first), problem in zip(found, problems, strict=True) if count]
    if not failures:
        return
    line, count, (staged, _, complaint) = min(failures, key=lambda failure: failure[0])
    more = f" ({count - 1:,} more rows like this)" if count > 1 else ""
    raise BdfError(
        f"{path}: line {line}, column '{columns.header_of(staged)}': value "
        f"{value_at(connection, staged, line)!r} {complaint}{more}. Fix the file and import it again."
    )
