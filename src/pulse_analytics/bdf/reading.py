"""Reading and column mapping: refuse a file pulse does not read, read its header (a CSV file's first line, a Parquet
file's column names), stage every cell as text with its line number (temp view bdf_text), and map the headers to BDF
quantities (Columns)."""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pulse_analytics.bdf.formats import BDF_CSV, BDF_PARQUET, CYCLER_FORMATS, REFUSED, format_of, listed
from pulse_analytics.bdf.report import BdfError
from pulse_analytics.bdf.vocabulary import (
    AUXILIARY_KEYS,
    INTEGERS,
    LEGACY_LABELS,
    LEGACY_NAMES,
    QUANTITIES,
    REQUIRED,
    TEXT,
    UNIT_SPELLINGS,
    UNIT_VARIANTS,
    USED,
)


@dataclass
class Columns:
    """Where each quantity is in the staged text table (column0, column1, ...)."""

    headers: list[str]
    quantities: dict[str, str] = field(default_factory=dict)  # BDF name -> staged column
    auxiliary: dict[str, str] = field(default_factory=dict)  # auxiliary key -> staged column
    factors: dict[str, float] = field(default_factory=dict)  # staged column -> factor to BDF's unit (old names)

    def header_of(self, column: str) -> str:
        return self.headers[int(column.removeprefix("column"))]


def normalised_label(text: str) -> str:
    label = " ".join(text.strip().lower().split())
    label = re.sub(r"\s*/\s*", " / ", label)
    base, _, unit = label.partition(" / ")
    return f"{base} / {UNIT_SPELLINGS.get(unit, unit)}" if unit else base


LABELS = {
    normalised_label(label): name
    for name, label in (*QUANTITIES.items(), *((n, label) for label, n in LEGACY_LABELS.items()))
}
BASES = {label.partition(" / ")[0]: name for label, name in LABELS.items() if " / " in label}
KNOWN = {*QUANTITIES, *LEGACY_NAMES}


def check_format(path: Path) -> None:
    """Refuse, naming the format, a file pulse does not read: another format, or a binary file named as CSV."""
    found = format_of(path)
    kind = REFUSED.get(path.suffix.lower(), "a file of a format pulse does not read")
    if found is BDF_PARQUET or found in CYCLER_FORMATS:
        return
    if found is BDF_CSV:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        try:
            with opener(path, "rb") as handle:
                start = handle.read(4096)
        except (OSError, EOFError) as error:
            raise BdfError(f"{path}: cannot be read: {error}") from error
        if b"\0" not in start:
            return
        kind = "a binary file (or text not in UTF-8), not a Battery Data Format CSV file"
    raise BdfError(
        f"{path}: {kind}. pulse imports {listed()} (docs/bdf.md); export or convert the file to one "
        f"of them (the cycler's software exports CSV), then import that"
    )


@dataclass(frozen=True)
class Layout:
    """How a file's cells are read: its header and its delimiter (None: a Parquet file, whose columns are typed)."""

    headers: list[str]
    delimiter: str | None


def read_header(connection: duckdb.DuckDBPyConnection, path: Path) -> Layout:
    """A CSV file's header and delimiter; a Parquet file's column names."""
    if format_of(path) is BDF_PARQUET:
        try:
            names = connection.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_path(path)})").fetchall()
        except duckdb.Error as error:
            raise BdfError(f"{path}: not a readable Parquet file ({str(error).splitlines()[0]})") from error
        return Layout([row[0] for row in names], None)
    return Layout(*read_csv_header(path))


def sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_csv_header(path: Path) -> tuple[list[str], str]:
    """The header cells and the delimiter (`,`, `;` or tab: the most frequent in the header line)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            first = handle.readline()
    except UnicodeDecodeError as error:
        raise BdfError(f"{path}: line 1 is not UTF-8 text; save the file as UTF-8") from error
    except (OSError, EOFError) as error:
        raise BdfError(f"{path}: cannot be read: {error}") from error
    if not first.strip():
        raise BdfError(
            f"{path}: the file is empty (no header line); a BDF file starts with a header such as "
            f"test_time_second,voltage_volt,current_ampere"
        )
    delimiter = max((",", ";", "\t"), key=first.count)
    return next(csv.reader(io.StringIO(first), delimiter=delimiter)), delimiter


def read_text(connection: duckdb.DuckDBPyConnection, path: Path, layout: Layout) -> int:
    """Stage every cell as text in temp table bdf_text, with its line number (a Parquet file's row number). Returns
    the number of data rows."""
    columns = {f"column{index}": header for index, header in enumerate(layout.headers)}
    try:
        if layout.delimiter is None:
            cells = ", ".join(f"CAST({quoted(header)} AS VARCHAR) AS {staged}" for staged, header in columns.items())
            connection.execute(
                f"CREATE OR REPLACE TEMP TABLE bdf_file AS SELECT {cells} FROM read_parquet({sql_path(path)})"
            )
        else:
            types = "{" + ", ".join(f"'{staged}': 'VARCHAR'" for staged in columns) + "}"
            separator = "\\t" if layout.delimiter == "\t" else layout.delimiter
            connection.execute(f"""
                CREATE OR REPLACE TEMP TABLE bdf_file AS
                SELECT * FROM read_csv({sql_path(path)}, header = true, delim = E'{separator}', quote = '"',
                                       escape = '"', auto_detect = false, columns = {types})
            """)
    except duckdb.Error as error:
        raise BdfError(f"{path}: {csv_problem(error)}") from error
    first = 1 if layout.delimiter is None else 2  # a CSV file's line 1 is its header
    connection.execute(f"CREATE OR REPLACE TEMP VIEW bdf_text AS SELECT rowid + {first} AS line, * FROM bdf_file")
    rows = connection.execute("SELECT count(*) FROM bdf_text").fetchone()[0]
    if rows == 0:
        raise BdfError(f"{path}: the file has a header but no data rows")
    return rows


def csv_problem(error: duckdb.Error) -> str:
    """The useful lines of a DuckDB CSV error: where, the line, and what was expected."""
    lines = []
    for line in str(error).splitlines():
        if line.startswith("Possible fixes") or not line.strip():
            break
        lines.append(line.replace("Invalid Input Error: ", "").strip())
    text = "; ".join(lines)
    if "Expected Number of Columns" in text:
        text += ". Every row must have as many cells as the header"
    elif "unicode" in text.lower() or "utf" in text.lower():
        text += " (save the file as UTF-8)"
    return text


def map_columns(path: Path, headers: list[str]) -> Columns:
    """Match headers to BDF quantities by machine-readable name or label; the rest become auxiliary candidates."""
    columns = Columns(headers)
    seen: dict[str, str] = {}
    for index, header in enumerate(headers):
        staged = f"column{index}"
        label = normalised_label(header)
        name = header.strip() if header.strip() in KNOWN else LABELS.get(label)
        if header.strip() in UNIT_VARIANTS:
            name, columns.factors[staged] = UNIT_VARIANTS[header.strip()]
        base = label.partition(" / ")[0]
        if name is None and " / " in label and base in BASES:
            quantity = BASES[base]
            raise BdfError(
                f"{path}: column '{header}': the Battery Data Format fixes {QUANTITIES[quantity]} "
                f"(`{quantity}`); convert the column to that unit or rename it"
            )
        key = name or header.strip() or f"column_{index + 1}"
        if key in seen:
            raise BdfError(f"{path}: columns '{seen[key]}' and '{header}' are both {key}; keep one of them")
        seen[key] = header
        if name in USED or name in INTEGERS or name in TEXT:
            columns.quantities[name] = staged
            continue
        auxiliary_key = AUXILIARY_KEYS.get(name, key)
        if auxiliary_key in columns.auxiliary:
            other = columns.header_of(columns.auxiliary[auxiliary_key])
            raise BdfError(
                f"{path}: columns '{other}' and '{header}' would both be auxiliary['{auxiliary_key}']; "
                f"rename one of them"
            )
        columns.auxiliary[auxiliary_key] = staged
    missing = [name for name in REQUIRED if name not in columns.quantities]
    if missing:
        labels = ", ".join(repr(QUANTITIES[name]) for name in missing)
        raise BdfError(
            f"{path}: required column(s) {', '.join(missing)} missing (or labelled {labels}); "
            f"the header has: {', '.join(headers)}"
        )
    for name in INTEGERS:  # program counters are kept in auxiliary too, as the cycler wrote them
        if name in columns.quantities:
            columns.auxiliary[name] = columns.quantities[name]
    return columns
