"""Typed rows, duplicates and time: the staged text becomes numbers (bdf_numbers), rows repeating an earlier row are
dropped (bdf_rows), test time is repaired or refused (bdf_time), and the test's start is found."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pulse_analytics.bdf.checks import number, within_limit
from pulse_analytics.bdf.files import Identity, file_stem, name_date, sidecar_path
from pulse_analytics.bdf.reading import Columns
from pulse_analytics.bdf.report import BdfError, Report
from pulse_analytics.bdf.vocabulary import INTEGERS, TEXT

STAGED_TEXT = {"step_id": "step_id_text", "step_type": "step_label"}  # staged names: no clash with pulse-telemetry's


def stage_numbers(connection: duckdb.DuckDBPyConnection, columns: Columns) -> list[str]:
    """bdf_numbers: line, every used quantity as a number and every auxiliary column as aux_<n>. Returns aux names."""
    selected = ["line"]
    for name, staged in columns.quantities.items():
        if name in TEXT:
            selected.append(f"nullif(trim({staged}), '') AS {STAGED_TEXT[name]}")
            continue
        kind = "BIGINT" if name in INTEGERS else "DOUBLE"
        value = within_limit(number(staged), name)  # unusable values of optional columns become empty (NULL)
        if staged in columns.factors:
            value = f"{value} * {columns.factors[staged]!r}"
        selected.append(f"CAST({value} AS {kind}) AS {name}")
    auxiliary = []
    for index, (key, staged) in enumerate(columns.auxiliary.items()):
        auxiliary.append(f"aux_{index}")
        selected.append(f"{within_limit(number(staged), key)} AS aux_{index}")
    connection.execute(f"CREATE OR REPLACE TEMP TABLE bdf_numbers AS SELECT {', '.join(selected)} FROM bdf_text")
    connection.execute("DROP VIEW bdf_text")
    connection.execute("DROP TABLE bdf_file")
    return auxiliary


def drop_duplicates(connection: duckdb.DuckDBPyConnection, report: Report) -> None:
    """bdf_rows: bdf_numbers without rows that repeat an earlier row in every column (the first one is kept)."""
    values = [row[0] for row in connection.execute("DESCRIBE bdf_numbers").fetchall() if row[0] != "line"]
    connection.execute(f"""
        CREATE OR REPLACE TEMP TABLE bdf_repeated AS
        SELECT {", ".join(values)}, min(line) AS original_line FROM bdf_numbers GROUP BY ALL HAVING count(*) > 1
    """)
    if connection.execute("SELECT count(*) FROM bdf_repeated").fetchone()[0] == 0:
        connection.execute("ALTER TABLE bdf_numbers RENAME TO bdf_rows")
        connection.execute("DROP TABLE bdf_repeated")
        return
    same = " AND ".join(f"numbers.{value} IS NOT DISTINCT FROM repeated.{value}" for value in values)
    connection.execute(f"""
        CREATE OR REPLACE TEMP TABLE bdf_numbered_copies AS
        SELECT numbers.*, repeated.original_line
        FROM bdf_numbers AS numbers LEFT JOIN bdf_repeated AS repeated ON {same}
    """)
    dropped, first, original = connection.execute("""
        SELECT count(*), min(line), arg_min(original_line, line) FROM bdf_numbered_copies WHERE line <> original_line
    """).fetchone()
    connection.execute("""
        CREATE OR REPLACE TEMP TABLE bdf_rows AS
        SELECT * EXCLUDE (original_line) FROM bdf_numbered_copies
        WHERE original_line IS NULL OR line = original_line
    """)
    for table in ("bdf_numbered_copies", "bdf_repeated", "bdf_numbers"):
        connection.execute(f"DROP TABLE {table}")
    report.repairs.append(
        f"duplicate-row: {dropped:,} rows repeat an earlier row in every column (first: line "
        f"{first} repeats line {original}): dropped, the first is kept"
    )


def repair_time(connection: duckdb.DuckDBPyConnection, path: Path, report: Report) -> None:
    """bdf_time: line -> elapsed seconds, test_time_second made non-decreasing by the three time rules (docs/bdf.md).

    time-spike: a row later than both its neighbours, where the two rows after it continue from the row before it
      (the next row lies between the two, the one after that below the spike): a single stamp far ahead, such as a
      unix time in a column of test time. Its time becomes the midpoint of its neighbours. (Near the end of the file,
      where that cannot be told, the row after it is read as a glitch.)
    time-glitch: a row earlier than the row before it, followed by a row back at or after that one: a single
      out-of-order stamp (the Neware time bug). Its time becomes the midpoint of its neighbours.
    time-restart: a row earlier than the row before it, followed by a row that is also earlier: the clock restarted.
      It and all later rows are shifted so the row continues at the previous row's time (no time is invented).
    A file whose time goes down more often than up is not in time order and is rejected.
    """
    refuse_reversed_time(connection, path)
    connection.execute("""
        CREATE OR REPLACE TEMP TABLE bdf_time AS
        WITH raw AS (
            SELECT line, test_time_second AS t, lag(test_time_second) OVER w AS previous,
                   lead(test_time_second) OVER w AS following, lead(test_time_second, 2) OVER w AS after_next
            FROM bdf_rows
            WINDOW w AS (ORDER BY line)
        ), flagged AS (
            SELECT *, coalesce(t > previous AND following < t AND following >= previous
                               AND after_next < t, false) AS spike
            FROM raw
        ), despiked AS (
            SELECT line, spike, CASE WHEN spike THEN (previous + following) / 2 ELSE t END AS t FROM flagged
        ), neighbours AS (
            SELECT line, spike, t, lag(t) OVER w AS previous, lead(t) OVER w AS following
            FROM despiked
            WINDOW w AS (ORDER BY line)
        ), classified AS (
            SELECT *,
                   CASE WHEN spike THEN 'spike'
                        WHEN t < previous AND (following IS NULL OR following >= previous) THEN 'glitch'
                        WHEN t < previous THEN 'restart' END AS fault
            FROM neighbours
        ), shifted AS (
            SELECT line, fault,
                   CASE WHEN fault = 'glitch' THEN coalesce((previous + following) / 2, previous) ELSE t END
                   + sum(CASE WHEN fault = 'restart' THEN previous - t ELSE 0 END) OVER (
                         ORDER BY line ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS elapsed
            FROM classified
        )
        -- the rules leave time non-decreasing; the running maximum only absorbs floating-point rounding of the sums
        SELECT line, fault, max(elapsed) OVER (ORDER BY line ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
                                AS elapsed
        FROM shifted
    """)
    faults = connection.execute("""
        SELECT fault, count(*), min(line) FROM bdf_time WHERE fault IS NOT NULL GROUP BY fault ORDER BY fault
    """).fetchall()
    for fault, count, first in faults:
        report.repairs.append(TIME_REPAIRS[fault].format(count=count, first=first))
    repeated, first_repeat = connection.execute("""
        SELECT count(*) FILTER (WHERE repeated), min(line) FILTER (WHERE repeated)
        FROM (SELECT line, fault IS NULL AND elapsed = lag(elapsed) OVER (ORDER BY line) AS repeated FROM bdf_time)
    """).fetchone()
    if repeated:
        report.repairs.append(
            f"repeated-time: {repeated:,} rows have the time of the row before (first: line "
            f"{first_repeat}): kept, with zero duration"
        )


TIME_REPAIRS = {
    "spike": "time-spike: test_time_second jumps ahead at {count:,} single rows (first: line {first}) and the rows "
    "after them continue from the row before: each such time set to the midpoint of its neighbours",
    "glitch": "time-glitch: test_time_second goes backwards at {count:,} single rows (first: line {first}) and "
    "resumes on the next row: each such time set to the midpoint of its neighbours",
    "restart": "time-restart: test_time_second restarts {count:,} times (first: line {first}): later rows shifted "
    "to continue from the row before",
}


def refuse_reversed_time(connection: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Reject a file whose rows are not in time order: its time goes down from one row to the next more often than
    it goes up (a file written newest first, or sorted by another column). Repairing that would invent an order."""
    down, up, first = connection.execute("""
        SELECT count(*) FILTER (WHERE t < previous), count(*) FILTER (WHERE t > previous),
               min(line) FILTER (WHERE t < previous)
        FROM (SELECT line, test_time_second AS t, lag(test_time_second) OVER (ORDER BY line) AS previous
              FROM bdf_rows)
    """).fetchone()
    if down > up:
        raise BdfError(
            f"{path}: column 'test_time_second' goes down on {down:,} rows and up on {up:,} (first "
            f"going down: line {first}): the rows are not in time order. Sort the file by test time "
            f"(oldest first) and import it again."
        )


MAX_TEST_YEARS = 10  # no cycling test runs longer: a longer span is a broken time column
CLOCK_SLACK_S = 86_400  # a record may be stamped up to a day ahead of this machine's clock (time zones, clock drift)


def check_time_span(connection: duckdb.DuckDBPyConnection, path: Path, start: float) -> None:
    """Reject times no real test can have: a test longer than MAX_TEST_YEARS, or records after now."""
    longest = MAX_TEST_YEARS * 365.25 * 86_400
    latest = time.time() + CLOCK_SLACK_S
    too_long, too_late = connection.execute(
        """
        SELECT min(line) FILTER (WHERE elapsed > $longest), min(line) FILTER (WHERE $start + elapsed > $latest)
        FROM bdf_time
    """,
        {"longest": longest, "start": start, "latest": latest},
    ).fetchone()
    if too_long is None and too_late is None:
        return
    line = min(line for line in (too_long, too_late) if line is not None)
    raw, elapsed = connection.execute(
        """
        SELECT test_time_second, elapsed FROM bdf_rows JOIN bdf_time USING (line) WHERE line = ?
    """,
        [line],
    ).fetchone()
    when = datetime.fromtimestamp(start + elapsed, UTC).strftime("%Y-%m-%d %H:%M UTC")
    start_text = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d %H:%M UTC")
    reason = (
        f"{elapsed / 86_400 / 365.25:.0f} years after the start, longer than any test runs "
        f"(at most {MAX_TEST_YEARS} years)"
        if line == too_long
        else "in the future"
    )
    raise BdfError(
        f"{path}: line {line}, column 'test_time_second': value {raw!r} puts the record at {when}, "
        f"{reason} (the test starts {start_text}). Check the time column (seconds since the test's "
        f"start, not a date) and the start time (--start-time, or start_time in "
        f"{sidecar_path(path).name}), then import it again."
    )


def start_time(
    connection: duckdb.DuckDBPyConnection, path: Path, identity: Identity, columns: Columns, report: Report
) -> float:
    """The test's start as epoch seconds: option/sidecar, else the first unix_time_second, else the file name date."""
    if identity.start_time is not None:
        start = identity.start_time.replace(tzinfo=UTC).timestamp()
        report.derivations.append(
            f"timestamps: start {identity.start_time.isoformat()} UTC from {identity.start_source}"
        )
        return start
    if "unix_time_second" in columns.quantities:
        first = connection.execute("""
            SELECT arg_min(unix_time_second - elapsed, line) FROM bdf_rows JOIN bdf_time USING (line)
            WHERE unix_time_second IS NOT NULL
        """).fetchone()[0]
        if first is not None:
            report.derivations.append("timestamps: start from the first unix_time_second, then + test_time_second")
            return float(first)
    from_name = name_date(file_stem(path))
    if from_name is None:
        raise BdfError(
            f"{path}: no start time: the file has no unix_time_second column and its name no date. "
            f"Give --start-time 2024-10-23T09:00:00 or start_time in {sidecar_path(path).name}"
        )
    report.derivations.append(
        f"timestamps: start {from_name.date()} 00:00 UTC from the date in the file name "
        f"(give --start-time for the exact time)"
    )
    return from_name.replace(tzinfo=UTC).timestamp()
