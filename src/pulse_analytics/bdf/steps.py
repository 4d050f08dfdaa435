"""Steps and cycles: where a step starts, its type (from the step_type label, else the current), steps of 0 s merged,
and cycle numbers (bdf_records: one row per record; bdf_steps: one row per step)."""

from __future__ import annotations

import duckdb

from pulse_analytics.bdf.reading import Columns
from pulse_analytics.bdf.report import Report

# A record is at rest when |current| is at most this fraction of the file's largest |current|.
REST_FRACTION = 1e-3
# Step Type labels that say more than the current's sign: a label matching one of these (lower case) names the
# pulse-telemetry step type, checked in this order (discharge labels contain "charge").
STEP_TYPE_LABELS = (("Rest", r"rest|ocv|pause|wait|relax"), ("Discharge", r"dch|dis"), ("Charge", r"chg|charg"))


def step_boundary(connection: duckdb.DuckDBPyConnection, columns: Columns, report: Report) -> tuple[str, str]:
    """SQL that is true on the first row of a step, and the rule's description. A step starts where the step count,
    the program's step (step_id) or the step type label changes, or where the record index within the step does not
    count up; without any of them, where the current changes between charge, discharge and rest."""
    changes, rules = [], []
    for name, column in (("step_count", "step_count"), ("step_id", "step_id_text"), ("step_type", "step_label")):
        if name in columns.quantities:
            changes.append(f"{column} IS DISTINCT FROM lag({column}) OVER w")
            rules.append(f"{name} changes")
    within = "step_record_index" if "step_record_index" in columns.quantities else None
    if "step_index" in columns.quantities:
        if legacy_step_index_counts_records(connection, report):
            within = within or "step_index"
        else:
            changes.append("step_index IS DISTINCT FROM lag(step_index) OVER w")
            rules.append("step_index (the program's step) changes")
    if within:
        changes.append(f"{within} <= lag({within}) OVER w")
        rules.append(f"{within} (the record within the step) does not count up")
    if not changes:
        changes.append("mode IS DISTINCT FROM lag(mode) OVER w")
        rule = "steps: no step column; a new step where the current changes between charge, discharge and rest"
    else:
        rule = f"steps: a new step where {' or '.join(rules)}"
    if "cycle_count" in columns.quantities:
        changes.append("cycle_count IS DISTINCT FROM lag(cycle_count) OVER w")
        rule += " (or cycle_count changes)"
    return f"(lag(line) OVER w IS NULL OR {' OR '.join(changes)})", rule


def legacy_step_index_counts_records(connection: duckdb.DuckDBPyConnection, report: Report) -> bool:
    """Earlier BDF versions wrote `step_index` for either the program's step (now step_id) or the record within a
    step (now step_record_index). The data says which: a record counter counts up by one on (almost) every row and
    restarts only at its lowest value; a program step keeps its value over a step's records. The reading taken is
    reported."""
    counting, keeping, restarts, odd_restarts, rows = connection.execute("""
        WITH pairs AS (
            SELECT step_index, lag(step_index) OVER (ORDER BY line) AS previous, min(step_index) OVER () AS lowest
            FROM bdf_rows
        )
        SELECT count(*) FILTER (WHERE step_index = previous + 1), count(*) FILTER (WHERE step_index = previous),
               count(*) FILTER (WHERE step_index < previous),
               count(*) FILTER (WHERE step_index < previous AND step_index <> lowest), count(*)
        FROM pairs
    """).fetchone()
    counts_records = keeping <= rows // 100 and restarts > 0 and odd_restarts == 0 and counting >= rows // 2
    reading = (
        "the record within a step (step_record_index in BDF 1.3)"
        if counts_records
        else "the program's step (step_id in BDF 1.3)"
    )
    report.derivations.append(
        f"step_index read as {reading}: in {rows:,} rows it counts up by one {counting:,} "
        f"times, keeps its value {keeping:,} times and goes down {restarts:,} times "
        f"({odd_restarts:,} of them not to its lowest value)"
    )
    return counts_records


def derive_steps(connection: duckdb.DuckDBPyConnection, columns: Columns, report: Report) -> float:
    """bdf_records (one row per record, with step_number) and bdf_steps (one row per step, with step_type).

    Returns the rest threshold in A.
    """
    largest = connection.execute("SELECT max(abs(current_ampere)) FROM bdf_rows").fetchone()[0] or 0.0
    threshold = largest * REST_FRACTION
    boundary, rule = step_boundary(connection, columns, report)
    cycle = "cycle_count" if "cycle_count" in columns.quantities else "NULL::BIGINT"
    connection.execute(f"""
        CREATE OR REPLACE TEMP TABLE bdf_records AS
        WITH moded AS (
            SELECT bdf_rows.*, bdf_time.elapsed,
                   CASE WHEN current_ampere > {threshold!r} THEN 1 WHEN current_ampere < -{threshold!r} THEN -1
                        ELSE 0 END AS mode
            FROM bdf_rows JOIN bdf_time USING (line)
        ), bounded AS (
            SELECT *, CASE WHEN {boundary} THEN 1 ELSE 0 END AS starts_step FROM moded WINDOW w AS (ORDER BY line)
        )
        SELECT * EXCLUDE (starts_step),
               row_number() OVER (ORDER BY line) AS record_number,
               sum(starts_step) OVER (ORDER BY line ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS step_number,
               coalesce(elapsed - lag(elapsed) OVER (ORDER BY line), 0) AS duration
        FROM bounded
    """)
    merge_instant_steps(connection, report)
    labelled = "step_type" in columns.quantities
    # the current held over the step's time: a record of 0 s (merged into the step) holds none
    held_current = "coalesce(max(abs(current_ampere)) FILTER (WHERE duration > 0), max(abs(current_ampere)))"
    from_label = label_step_type("arg_min(step_label, line)") if labelled else "NULL"
    connection.execute(f"""
        CREATE OR REPLACE TEMP TABLE bdf_steps AS
        SELECT step_number, min(line) AS first_line, min({cycle}) AS cycle_count,
               {from_label} AS labelled_type,
               coalesce({from_label},
                        CASE WHEN {held_current} <= {threshold!r} THEN 'Rest'
                             WHEN sum(current_ampere * duration) > 0 THEN 'Charge'
                             WHEN sum(current_ampere * duration) < 0 THEN 'Discharge'
                             WHEN avg(current_ampere) >= 0 THEN 'Charge' ELSE 'Discharge' END) AS step_type
        FROM bdf_records GROUP BY step_number
    """)
    connection.execute("DROP TABLE bdf_time")
    report.derivations.append(rule)
    by_current = (
        f"Rest where every |current| <= {threshold:.3g} A ({REST_FRACTION:.1%} of the largest |current|), "
        f"else Charge or Discharge by the sign of the step's net charge"
    )
    if labelled:
        named, total = connection.execute("SELECT count(labelled_type), count(*) FROM bdf_steps").fetchone()
        report.derivations.append(
            f"step types: from the step_type label where it names a rest, charge or "
            f"discharge ({named} of {total} steps; the label is kept in each record's "
            f"metadata), else {by_current}"
        )
    else:
        report.derivations.append(f"step types: {by_current}")
    return threshold


def merge_instant_steps(connection: duckdb.DuckDBPyConnection, report: Report) -> None:
    """A step that draws current but lasts 0 s (every record at the time of the one before, or the file's first
    record alone) cannot be a charge or discharge: it is a record written at a step change. Each is merged into the
    step after it (the last one into the step before), so it never opens a cycle or carries a step's charge. A 0 s
    step at rest stays: it moves no charge."""
    instant, first, total = connection.execute("""
        SELECT count(*) FILTER (WHERE seconds = 0), min(first_line) FILTER (WHERE seconds = 0), count(*)
        FROM (SELECT step_number, CASE WHEN max(abs(mode)) > 0 THEN sum(duration) END AS seconds,
                     min(line) AS first_line
              FROM bdf_records GROUP BY 1)
    """).fetchone()
    if instant == 0 or instant == total:
        return
    connection.execute("""
        CREATE OR REPLACE TEMP TABLE bdf_records AS
        WITH spans AS (
            SELECT step_number, sum(duration) > 0 OR max(abs(mode)) = 0 AS lasts FROM bdf_records GROUP BY 1
        ), merged AS (
            SELECT step_number,
                   CASE WHEN lasts THEN step_number
                        ELSE coalesce(min(CASE WHEN lasts THEN step_number END) OVER (
                                          ORDER BY step_number ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING),
                                      max(CASE WHEN lasts THEN step_number END) OVER (
                                          ORDER BY step_number ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING))
                   END AS into_step
            FROM spans
        )
        SELECT bdf_records.* REPLACE (dense_rank() OVER (ORDER BY merged.into_step) AS step_number)
        FROM bdf_records JOIN merged USING (step_number)
    """)
    report.repairs.append(
        f"instant-step: {instant:,} steps draw current for 0 s (every record at the time of the "
        f"one before; first: line {first}): each merged into the step after it (the last into the "
        f"step before)"
    )


def label_step_type(label: str) -> str:
    """SQL: the pulse-telemetry step type a step_type label names (CC_CHG, CV_DCH, REST, OCV, ...), else NULL."""
    cases = " ".join(
        f"WHEN regexp_matches(lower({label}), '{pattern}') THEN '{kind}'" for kind, pattern in STEP_TYPE_LABELS
    )
    return f"CASE {cases} END"


def number_cycles(connection: duckdb.DuckDBPyConnection, columns: Columns, report: Report) -> None:
    """Add cycle_number to bdf_steps: the cycler's cycle_count where it is usable, else from the step sequence."""
    connection.execute("""
        CREATE OR REPLACE TEMP TABLE bdf_step_cycles AS
        WITH typed AS (
            SELECT *, first_value(CASE WHEN step_type <> 'Rest' THEN step_type END IGNORE NULLS) OVER (
                          ORDER BY step_number ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS opening,
                      last_value(CASE WHEN step_type <> 'Rest' THEN step_type END IGNORE NULLS) OVER (
                          ORDER BY step_number ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_active
            FROM bdf_steps
        )
        SELECT *, 1 + sum(CASE WHEN step_type = opening AND previous_active IS NOT NULL
                               AND previous_active <> opening THEN 1 ELSE 0 END) OVER (
                      ORDER BY step_number ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS derived_cycle,
               cycle_count < lag(cycle_count) OVER (ORDER BY step_number) AS cycle_decreases
        FROM typed
    """)
    derived, distinct, decreases, first_decrease, opening = connection.execute("""
        SELECT max(derived_cycle), count(DISTINCT cycle_count), count(*) FILTER (WHERE cycle_decreases),
               min(first_line) FILTER (WHERE cycle_decreases), any_value(opening)
        FROM bdf_step_cycles
    """).fetchone()
    sequence = (
        f"a cycle starts at each {opening.lower()} step that follows a "
        f"{'discharge' if opening == 'Charge' else 'charge'} step; rests stay in the cycle before them"
        if opening
        else "no charge or discharge step: one cycle"
    )
    use_file = "cycle_count" in columns.quantities
    if use_file and decreases:
        use_file = False
        report.repairs.append(
            f"cycle-decreasing: cycle_count goes down {decreases:,} times (first: line "
            f"{first_decrease}): cycles derived from the step sequence instead; "
            f"{sequence}"
        )
    elif use_file and distinct == 1 and derived > 1:
        use_file = False
        report.repairs.append(
            f"cycle-constant: cycle_count has one value on every row but the steps hold "
            f"{derived} charge/discharge cycles: cycles derived from the step sequence; "
            f"{sequence}"
        )
    elif use_file:
        report.derivations.append("cycles: cycle_count as written by the cycler")
    else:
        report.derivations.append(f"cycles: no cycle_count column; derived from the step sequence: {sequence}")
    chosen = "cycle_count" if use_file else "derived_cycle"
    connection.execute(f"""
        CREATE OR REPLACE TEMP TABLE bdf_steps AS
        SELECT step_number, step_type, CAST({chosen} AS INTEGER) AS cycle_number FROM bdf_step_cycles
    """)
    connection.execute("DROP TABLE bdf_step_cycles")
