"""Import Battery Data Format (BDF) CSV files into the telemetry catalog as pulse-telemetry rows.

One file is one test of one cell. The file is staged in DuckDB temp tables (which spill to disk, so memory stays
bounded), checked, repaired by the documented rules, and only then written: telemetry and its statistics in one
transaction, the metadata links in a second one (DuckDB writes one attached database per transaction). Every rule,
and what it reports, is listed in docs/bdf.md.

Pipeline (each step one function, each a query or two):
  read      the CSV as text, every cell VARCHAR, with its line number
  columns   map headers (`voltage_volt` or `Voltage / V`) to BDF quantities; other numeric columns -> auxiliary
  check     time, voltage and current present, numbers and within what a cycler measures, else reject naming line
            and column; optional columns with unusable values fall back (not used, or treated as empty cells)
  repair    drop exact duplicate rows; fix time out of order (one-row spike or glitch, clock restart); refuse time
            in reverse order, decades long or in the future; merge steps that draw current for 0 s
  derive    steps, step types, cycles, timestamps, capacities and energies
  write     telemetry rows, then statistics.summarise (the one statistics implementation), then metadata links
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml

from pulse_analytics import config, statistics, warehouse
from pulse_analytics.errors import PulseError
from pulse_analytics.progress import Progress

# Staging spills to a temporary folder beyond this much memory (DuckDB's buffer manager keeps the rest on disk).
MEMORY_LIMIT = "1GB"
# A record is at rest when |current| is at most this fraction of the file's largest |current|.
REST_FRACTION = 1e-3
STEP_IDS = {"Rest": 0, "Charge": 1, "Discharge": 2}  # pulse-telemetry's step_id of each step type
# Cyclers' own formats pulse reads (through vendor.READERS): suffix -> format.
NATIVE_FORMATS = {".nda": "Neware NDA", ".ndax": "Neware NDAX"}
FILE_SUFFIXES = (".gz", ".csv", ".bdf", *NATIVE_FORMATS)  # stripped from a file name to give its stem
DEFAULT_DEVICE = "bdf-import"
SIDECAR_TABLES = {"device": "device_metadata", "part": "part_metadata", "recipe": "recipe_metadata"}
SIDECAR_KEYS = {"device_id", "test_id", "part_id", "recipe_id", "start_time", "metadata", *SIDECAR_TABLES}

# BDF quantities: machine-readable name -> preferred label, as the BDF vocabulary (ontology 1.3.0) defines them.
# Units are fixed by the format. docs/bdf.md maps each to what it becomes, column by column.
QUANTITIES = {
    "test_time_second": "Test Time / s",
    "voltage_volt": "Voltage / V",
    "current_ampere": "Current / A",
    "unix_time_second": "Unix Time / s",
    "record_index": "Record Index / 1",
    "cycle_count": "Cycle Count / 1",
    "step_count": "Step Count / 1",
    "step_id": "Step ID",
    "step_record_index": "Step Record Index / 1",
    "step_type": "Step Type",
    "step_time_second": "Step Time / s",
    **{f"{scope}{kind}_{quantity}": f"{label_scope}{label_kind} {label} / {unit}"
       for scope, label_scope in (("", ""), ("step_", "Step "), ("cycle_", "Cycle "))
       for kind, label_kind in (("charging", "Charging"), ("discharging", "Discharging"), ("net", "Net"),
                                ("cumulative", "Cumulative"))
       for quantity, label, unit in (("capacity_ah", "Capacity", "Ah"), ("energy_wh", "Energy", "Wh"))},
    **{f"schedule_{kind}_{quantity}": f"Schedule {label_kind} {label} / {unit}"
       for kind, label_kind in (("charging", "Charging"), ("discharging", "Discharging"))
       for quantity, label, unit in (("capacity_ah", "Capacity", "Ah"), ("energy_wh", "Energy", "Wh"))},
    "power_watt": "Power / W",
    "internal_resistance_ohm": "Internal Resistance / ohm",
    "dc_internal_resistance_ohm": "DC Internal Resistance / ohm",
    "ac_internal_resistance_ohm": "AC Internal Resistance / ohm",
    "ambient_temperature_celsius": "Ambient Temperature / degC",
    "surface_temperature_celsius": "Surface Temperature / degC",
    **{f"temperature_t{n}_celsius": f"Temperature T{n} / degC" for n in range(1, 6)},
    "ambient_pressure_pa": "Ambient Pressure / Pa",
    "applied_pressure_pa": "Applied Pressure / Pa",
    "surface_pressure_pa": "Surface Pressure / Pa",
}
# Names of earlier BDF versions, still read where their meaning is unambiguous: label -> machine name.
LEGACY_LABELS = {
    "Step Index / 1": "step_index",  # program step or record within a step: decided per file (step_boundary)
    "Step Capacity / Ah": "step_capacity_ah",
    "Step Energy / Wh": "step_energy_wh",
    **{f"Surface Temperature T{n} / degC": f"temperature_t{n}_celsius" for n in range(1, 6)},
}
LEGACY_NAMES = {"step_index", "step_capacity_ah", "step_energy_wh"}
# Machine names of the first BDF draft that carry another unit: name -> (BDF name, factor to multiply by).
UNIT_VARIANTS = {
    "test_time_millisecond": ("test_time_second", 1e-3),
    "date_time_millisecond": ("unix_time_second", 1e-3),
    "unix_time_millisecond": ("unix_time_second", 1e-3),
    "step_time_millisecond": ("step_time_second", 1e-3),
    "cycle_dimensionless": ("cycle_count", 1.0),
    "step_dimensionless": ("step_count", 1.0),
}
REQUIRED = ("test_time_second", "voltage_volt", "current_ampere")
INTEGERS = ("cycle_count", "step_count", "step_index", "step_record_index")
TEXT = ("step_id", "step_type")  # identifiers and labels: kept as text
COUNTERS = {  # cumulative cycler counters -> the per-record telemetry column they feed
    "charging_capacity_ah": "capacity_charged",
    "discharging_capacity_ah": "capacity_discharged",
    "charging_energy_wh": "energy_charged",
    "discharging_energy_wh": "energy_discharged",
}
# Magnitudes beyond what any cycler measures (cells to packs): a value beyond its limit is not a reading. Required
# columns reject the file, optional ones treat it as unusable (docs/bdf.md); ANY_LIMIT bounds every other number.
LIMITS = {"voltage_volt": 2e3, "current_ampere": 1e4, "power_watt": 1e7, "charging_capacity_ah": 1e6,
          "discharging_capacity_ah": 1e6, "charging_energy_wh": 1e7, "discharging_energy_wh": 1e7}
ANY_LIMIT = 1e12
# Quantities the importer uses itself; every other numeric column goes into `auxiliary`, under these keys (the
# bundle's quantity__unit style; the first surface sensor is the cell temperature, like the demo's) or its header.
USED = (*REQUIRED, "unix_time_second", "power_watt", *COUNTERS)
AUXILIARY_KEYS = {
    "temperature_t1_celsius": "temperature__C",
    **{f"temperature_t{n}_celsius": f"temperature_t{n}__C" for n in range(2, 6)},
    "ambient_temperature_celsius": "ambient_temperature__C",
    "surface_temperature_celsius": "surface_temperature__C",
    "internal_resistance_ohm": "internal_resistance__Ohm",
    "dc_internal_resistance_ohm": "dc_internal_resistance__Ohm",
    "ac_internal_resistance_ohm": "ac_internal_resistance__Ohm",
    "ambient_pressure_pa": "ambient_pressure__Pa",
    "applied_pressure_pa": "applied_pressure__Pa",
    "surface_pressure_pa": "surface_pressure__Pa",
    "step_time_second": "step_time__s",
    "step_capacity_ah": "step_capacity__Ah",
    "step_energy_wh": "step_energy__Wh",
    **{f"{scope}{kind}_{quantity}": f"{scope}{kind}_{quantity.split('_')[0]}__{unit}"
       for scope in ("", "step_", "cycle_", "schedule_") for kind in ("charging", "discharging", "net", "cumulative")
       for quantity, unit in (("capacity_ah", "Ah"), ("energy_wh", "Wh"))},
}
# Step Type labels that say more than the current's sign: a label matching one of these (lower case) names the
# pulse-telemetry step type, checked in this order (discharge labels contain "charge").
STEP_TYPE_LABELS = (("Rest", r"rest|ocv|pause|wait|relax"), ("Discharge", r"dch|dis"), ("Charge", r"chg|charg"))
UNIT_SPELLINGS = {"°c": "degc", "celsius": "degc", "deg c": "degc", "ω": "ohm"}


class BdfError(PulseError):
    """A file that cannot be imported; the message names the file and, where there is one, the line and column."""


@dataclass(frozen=True)
class Options:
    """Identifiers and start time given on the command line (None: from the sidecar or the file name)."""

    device_id: str | None = None
    test_id: str | None = None
    part_id: str | None = None
    recipe_id: str | None = None
    start_time: datetime | None = None


@dataclass(frozen=True)
class Identity:
    device_id: str
    test_id: str
    part_id: str | None
    recipe_id: str | None
    start_time: datetime | None  # explicit start (option or sidecar), UTC
    start_source: str
    sources: str  # where the identifiers came from, for the report


@dataclass(frozen=True)
class Sidecar:
    """The small YAML file beside a BDF file: identifiers, start time, metadata rows and free-form metadata."""

    path: Path | None
    values: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        return self.values.get(key)


@dataclass
class Report:
    """What one import did: the numbers, the repairs (rule and rows) and the derivations used."""

    path: Path
    identity: Identity
    rows_read: int = 0
    records: int = 0
    steps: int = 0
    cycles: int = 0
    repairs: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # imported as they are, but unlikely to be true: check them
    derivations: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        who = self.identity
        part = f", part {who.part_id}" if who.part_id else ", no part"
        recipe = f", recipe {who.recipe_id}" if who.recipe_id else ", no recipe"
        lines = [f"imported {self.path.name}: test {who.test_id} on device {who.device_id}{part}{recipe} "
                 f"({who.sources}); {self.records:,} records of {self.rows_read:,} rows, {self.steps} steps, "
                 f"{self.cycles} cycles in {self.seconds:.1f} s"]  # fmt: skip
        lines += [f"  repaired: {repair}" for repair in self.repairs]
        lines += [f"  flagged:  {flag}" for flag in self.flags]
        lines += [f"  derived:  {derivation}" for derivation in self.derivations]
        return "\n".join(lines)


@dataclass
class Columns:
    """Where each quantity is in the staged text table (column0, column1, ...)."""

    headers: list[str]
    quantities: dict[str, str] = field(default_factory=dict)  # BDF name -> staged column
    auxiliary: dict[str, str] = field(default_factory=dict)  # auxiliary key -> staged column
    factors: dict[str, float] = field(default_factory=dict)  # staged column -> factor to BDF's unit (old names)

    def header_of(self, column: str) -> str:
        return self.headers[int(column.removeprefix("column"))]


# ----------------------------------------------------------------------------------------------------------------
# Files, identifiers and the sidecar


def file_stem(path: Path) -> str:
    """The file's name without its BDF suffixes: `A__B__2024-01-02__X.bdf.csv` -> `A__B__2024-01-02__X`."""
    name = path.name
    while (suffix := next((s for s in FILE_SUFFIXES if name.lower().endswith(s)), None)) and len(name) > len(suffix):
        name = name[: -len(suffix)]
    return name


def sidecar_path(path: Path) -> Path:
    return path.with_name(file_stem(path) + ".yaml")


def bdf_files(folder: Path) -> list[Path]:
    """The files of a folder (not its subfolders) pulse imports: *.csv, *.bdf and their .gz forms, and the cyclers'
    formats it reads (*.nda, *.ndax), by name."""
    patterns = ("*.csv", "*.bdf", "*.csv.gz", "*.bdf.gz", *(f"*{suffix}" for suffix in NATIVE_FORMATS))
    return sorted({path for pattern in patterns for path in folder.glob(pattern) if path.is_file()})


def read_sidecar(path: Path) -> Sidecar:
    """The sidecar of a BDF file, if there is one; reject unknown keys and malformed sections."""
    location = sidecar_path(path)
    if not location.exists():
        return Sidecar(None)
    try:
        values = yaml.safe_load(location.read_text()) or {}
    except yaml.YAMLError as error:
        raise BdfError(f"{location}: not valid YAML: {error}") from error
    if not isinstance(values, dict):
        raise BdfError(f"{location}: expected a mapping of keys (device_id, part_id, part: ...), got {type(values)}")
    unknown = sorted(set(values) - SIDECAR_KEYS)
    if unknown:
        raise BdfError(f"{location}: unknown key(s) {', '.join(unknown)}; "
                       f"known keys: {', '.join(sorted(SIDECAR_KEYS))}")
    for section in (*SIDECAR_TABLES, "metadata"):
        if values.get(section) is not None and not isinstance(values[section], dict):
            raise BdfError(f"{location}: '{section}' must be a mapping of column: value")
    return Sidecar(location, values)


def parse_start_time(value: Any, where: str) -> datetime:
    """An ISO 8601 date or time as naive UTC (a time without offset is taken as UTC)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError as error:
            raise BdfError(f"{where}: start time '{value}' is not an ISO 8601 time such as 2024-10-23T09:30:00+02:00"
                           ) from error  # fmt: skip
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def name_date(stem: str) -> datetime | None:
    """The first YYYY-MM-DD or YYYYMMDD field of a BDF file name (fields are separated by `__`)."""
    for part in stem.split("__"):
        match = re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})", part)
        if match:
            try:
                return datetime(*(int(group) for group in match.groups()))
            except ValueError:
                continue
    return None


def resolve_identity(path: Path, options: Options, sidecar: Sidecar) -> Identity:
    """Identifiers: the command line's, else the sidecar's, else defaults from the file name (docs/bdf.md)."""
    stem = file_stem(path)
    fields = stem.split("__")
    defaults = {
        "device_id": f"{fields[0]}-{fields[-1]}" if len(fields) >= 3 else DEFAULT_DEVICE,
        "test_id": stem,
        "part_id": fields[1] if len(fields) >= 2 else stem,
        "recipe_id": None,
    }
    chosen: dict[str, str | None] = {}
    origins = []
    for key, default in defaults.items():
        value, origin = getattr(options, key), "option"
        if value is None and sidecar.get(key) is not None:
            value, origin = str(sidecar.get(key)), "sidecar"
        if value is None:
            value, origin = default, "file name"
        if value is not None and not str(value).strip():
            raise BdfError(f"{path}: {key} is empty ({origin}); give a non-empty identifier")
        chosen[key] = value
        if value is not None:
            origins.append(f"{key.removesuffix('_id')} from {origin}")
    start, start_source = options.start_time, "--start-time"
    if start is None and sidecar.get("start_time") is not None:
        start, start_source = parse_start_time(sidecar.get("start_time"), str(sidecar.path)), f"{sidecar.path}"
    return Identity(device_id=str(chosen["device_id"]), test_id=str(chosen["test_id"]), part_id=chosen["part_id"],
                    recipe_id=chosen["recipe_id"], start_time=start, start_source=start_source,
                    sources=", ".join(origins))  # fmt: skip


# ----------------------------------------------------------------------------------------------------------------
# Reading and column mapping


def normalised_label(text: str) -> str:
    label = " ".join(text.strip().lower().split())
    label = re.sub(r"\s*/\s*", " / ", label)
    base, _, unit = label.partition(" / ")
    return f"{base} / {UNIT_SPELLINGS.get(unit, unit)}" if unit else base


LABELS = {normalised_label(label): name for name, label in (*QUANTITIES.items(),
                                                             *((n, label) for label, n in LEGACY_LABELS.items()))}
BASES = {label.partition(" / ")[0]: name for label, name in LABELS.items() if " / " in label}
KNOWN = {*QUANTITIES, *LEGACY_NAMES}


# Cyclers' own file formats, recognised by suffix so that a user is told what to do instead of a parser error.
VENDOR_FORMATS = {  # (.nda and .ndax are read: vendor.READERS)
    ".mpr": "a BioLogic MPR file",
    ".mpt": "a BioLogic MPT export", ".res": "an Arbin RES file", ".xlsx": "an Excel workbook",
    ".xls": "an Excel workbook", ".mat": "a MATLAB file", ".parquet": "a Parquet file", ".h5": "an HDF5 file",
}  # fmt: skip
SUPPORTED = ("Battery Data Format CSV files (*.csv, *.bdf, and their .gz forms) and Neware .nda / .ndax files "
             "(docs/bdf.md)")


def check_format(path: Path) -> None:
    """Refuse, naming the format, a file that is not BDF text: a cycler's own format, or any binary file."""
    kind = VENDOR_FORMATS.get(path.suffix.lower())
    if kind is None:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        try:
            with opener(path, "rb") as handle:
                start = handle.read(4096)
        except (OSError, EOFError) as error:
            raise BdfError(f"{path}: cannot be read: {error}") from error
        if b"\0" not in start:
            return
        kind = "a binary file (or text not in UTF-8)"
    raise BdfError(f"{path}: {kind}, not a Battery Data Format CSV file. pulse imports {SUPPORTED}; convert the "
                   f"file to BDF first (the cycler's software exports CSV; the BDF maintainers' `batterydf` package "
                   f"reads several cyclers' formats), then import the .bdf.csv")


def read_header(path: Path) -> tuple[list[str], str]:
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
        raise BdfError(f"{path}: the file is empty (no header line); a BDF file starts with a header such as "
                       f"test_time_second,voltage_volt,current_ampere")  # fmt: skip
    delimiter = max((",", ";", "\t"), key=first.count)
    return next(csv.reader(io.StringIO(first), delimiter=delimiter)), delimiter


def read_text(connection: duckdb.DuckDBPyConnection, path: Path, headers: list[str], delimiter: str) -> int:
    """Stage every cell as text in temp table bdf_text, with its line number. Returns the number of data rows."""
    columns = "{" + ", ".join(f"'column{index}': 'VARCHAR'" for index in range(len(headers))) + "}"
    location = str(path).replace("'", "''")
    separator = "\\t" if delimiter == "\t" else delimiter
    try:
        connection.execute(f"""
            CREATE OR REPLACE TEMP TABLE bdf_file AS
            SELECT * FROM read_csv('{location}', header = true, delim = E'{separator}', quote = '"', escape = '"',
                                   auto_detect = false, columns = {columns})
        """)  # fmt: skip
    except duckdb.Error as error:
        raise BdfError(f"{path}: {csv_problem(error)}") from error
    connection.execute("CREATE OR REPLACE TEMP VIEW bdf_text AS SELECT rowid + 2 AS line, * FROM bdf_file")
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
            raise BdfError(f"{path}: column '{header}': the Battery Data Format fixes {QUANTITIES[quantity]} "
                           f"(`{quantity}`); convert the column to that unit or rename it")  # fmt: skip
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
            raise BdfError(f"{path}: columns '{other}' and '{header}' would both be auxiliary['{auxiliary_key}']; "
                           f"rename one of them")  # fmt: skip
        columns.auxiliary[auxiliary_key] = staged
    missing = [name for name in REQUIRED if name not in columns.quantities]
    if missing:
        labels = ", ".join(repr(QUANTITIES[name]) for name in missing)
        raise BdfError(f"{path}: required column(s) {', '.join(missing)} missing (or labelled {labels}); "
                       f"the header has: {', '.join(headers)}")
    for name in INTEGERS:  # program counters are kept in auxiliary too, as the cycler wrote them
        if name in columns.quantities:
            columns.auxiliary[name] = columns.quantities[name]
    return columns


# ----------------------------------------------------------------------------------------------------------------
# Checks: reject what cannot be repaired, naming file, line and column


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
    measures = ", ".join(f"count(*) FILTER (WHERE {condition}), min(line) FILTER (WHERE {condition})"
                         for condition in conditions)  # fmt: skip
    found = connection.execute(f"SELECT {measures} FROM bdf_text").fetchone()
    return [(found[2 * index], found[2 * index + 1]) for index in range(len(conditions))]


def value_at(connection: duckdb.DuckDBPyConnection, staged: str, line: int) -> str | None:
    return connection.execute(f"SELECT {staged} FROM bdf_text WHERE line = ?", [line]).fetchone()[0]


BLANK_RULES = {"power_watt": "power = voltage x current on those rows",
               "unix_time_second": "only the first row with a value is used",
               **{name: "the counter keeps its previous value" for name in COUNTERS}}  # fmt: skip


def required_problems(name: str, staged: str) -> list[Problem]:
    """What makes a file unusable in a required column (time, voltage, current)."""
    problems = [(staged, not_a_number(staged), "is not a number (use . as decimal separator)"),
                (staged, is_blank(staged), f"is empty; every row needs a value of {name}"),
                (staged, out_of_range(staged, name), f"is beyond what a cycler measures (|{name}| up to "
                                                     f"{limit(name):g})")]  # fmt: skip
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
    conditions += [c for key, staged in auxiliary
                   for c in (not_a_number(staged), f"NOT {is_blank(staged)}", out_of_range(staged, key))]
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
            report.repairs.append(f"text-column: column '{header}' is not numeric (line {first_bad}: "
                                  f"{value_at(connection, staged, first_bad)!r}, {bad:,} rows): not imported "
                                  f"(auxiliary holds numbers only)")  # fmt: skip
        else:
            if huge:
                report.repairs.append(f"out-of-range: {huge:,} values of column '{header}' are beyond "
                                      f"{limit(key):g} (first: line {first_huge}, "
                                      f"{value_at(connection, staged, first_huge)!r}): left out of auxiliary")
            continue
        del columns.auxiliary[key]
    for name, _ in blanks:
        empty, first = next(found)
        if empty and name in columns.quantities:
            report.repairs.append(f"empty-cell: {empty:,} empty cells in {name} (first: line {first}): "
                                  f"{BLANK_RULES[name]}")  # fmt: skip


def report_unusable(connection: duckdb.DuckDBPyConnection, columns: Columns, report: Report, name: str,
                    staged: str, bad: int, first: int) -> None:  # fmt: skip
    """An optional column with values the importer cannot use: a step or cycle column is not used (what it would
    give is derived); in the others such a value counts as an empty cell (BLANK_RULES)."""
    value = value_at(connection, staged, first)
    what = (f"{bad:,} values of column '{columns.header_of(staged)}' cannot be used (first: line {first}, "
            f"{value!r}: {'empty, ' if name in INTEGERS else ''}not a number{', not whole' if name in INTEGERS else ''}"
            f" or beyond {limit(name):g})")
    if name in INTEGERS:
        del columns.quantities[name]
        report.repairs.append(f"unusable-column: {what}: {name} not used; steps and cycles are derived from the "
                              f"other columns (the column stays in auxiliary where it is numeric)")
    else:
        report.repairs.append(f"unusable-value: {what}: treated as empty cells: {BLANK_RULES[name]}")


def reject_first_problem(connection: duckdb.DuckDBPyConnection, path: Path, columns: Columns,
                         problems: list[Problem], found: list[tuple[int, int | None]]) -> None:  # fmt: skip
    """Raise for the earliest line with a problem (naming file, line, column, value and how many more there are)."""
    failures = [(first, count, problem) for (count, first), problem in zip(found, problems, strict=True) if count]
    if not failures:
        return
    line, count, (staged, _, complaint) = min(failures, key=lambda failure: failure[0])
    more = f" ({count - 1:,} more rows like this)" if count > 1 else ""
    raise BdfError(f"{path}: line {line}, column '{columns.header_of(staged)}': value "
                   f"{value_at(connection, staged, line)!r} {complaint}{more}. Fix the file and import it again.")


# ----------------------------------------------------------------------------------------------------------------
# Typed rows, duplicates and time


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
        SELECT {', '.join(values)}, min(line) AS original_line FROM bdf_numbers GROUP BY ALL HAVING count(*) > 1
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
    report.repairs.append(f"duplicate-row: {dropped:,} rows repeat an earlier row in every column (first: line "
                          f"{first} repeats line {original}): dropped, the first is kept")  # fmt: skip


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
        report.repairs.append(f"repeated-time: {repeated:,} rows have the time of the row before (first: line "
                              f"{first_repeat}): kept, with zero duration")  # fmt: skip


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
        raise BdfError(f"{path}: column 'test_time_second' goes down on {down:,} rows and up on {up:,} (first "
                       f"going down: line {first}): the rows are not in time order. Sort the file by test time "
                       f"(oldest first) and import it again.")


MAX_TEST_YEARS = 10  # no cycling test runs longer: a longer span is a broken time column
CLOCK_SLACK_S = 86_400  # a record may be stamped up to a day ahead of this machine's clock (time zones, clock drift)


def check_time_span(connection: duckdb.DuckDBPyConnection, path: Path, start: float) -> None:
    """Reject times no real test can have: a test longer than MAX_TEST_YEARS, or records after now."""
    longest = MAX_TEST_YEARS * 365.25 * 86_400
    latest = time.time() + CLOCK_SLACK_S
    too_long, too_late = connection.execute("""
        SELECT min(line) FILTER (WHERE elapsed > $longest), min(line) FILTER (WHERE $start + elapsed > $latest)
        FROM bdf_time
    """, {"longest": longest, "start": start, "latest": latest}).fetchone()  # fmt: skip
    if too_long is None and too_late is None:
        return
    line = min(line for line in (too_long, too_late) if line is not None)
    raw, elapsed = connection.execute("""
        SELECT test_time_second, elapsed FROM bdf_rows JOIN bdf_time USING (line) WHERE line = ?
    """, [line]).fetchone()  # fmt: skip
    when = datetime.fromtimestamp(start + elapsed, UTC).strftime("%Y-%m-%d %H:%M UTC")
    start_text = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d %H:%M UTC")
    reason = (f"{elapsed / 86_400 / 365.25:.0f} years after the start, longer than any test runs "
              f"(at most {MAX_TEST_YEARS} years)" if line == too_long else "in the future")
    raise BdfError(f"{path}: line {line}, column 'test_time_second': value {raw!r} puts the record at {when}, "
                   f"{reason} (the test starts {start_text}). Check the time column (seconds since the test's "
                   f"start, not a date) and the start time (--start-time, or start_time in "
                   f"{sidecar_path(path).name}), then import it again.")


def start_time(connection: duckdb.DuckDBPyConnection, path: Path, identity: Identity, columns: Columns,
               report: Report) -> float:  # fmt: skip
    """The test's start as epoch seconds: option/sidecar, else the first unix_time_second, else the file name date."""
    if identity.start_time is not None:
        start = identity.start_time.replace(tzinfo=UTC).timestamp()
        report.derivations.append(f"timestamps: start {identity.start_time.isoformat()} UTC from "
                                  f"{identity.start_source}")
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
        raise BdfError(f"{path}: no start time: the file has no unix_time_second column and its name no date. "
                       f"Give --start-time 2024-10-23T09:00:00 or start_time in {sidecar_path(path).name}")  # fmt: skip
    report.derivations.append(f"timestamps: start {from_name.date()} 00:00 UTC from the date in the file name "
                              f"(give --start-time for the exact time)")  # fmt: skip
    return from_name.replace(tzinfo=UTC).timestamp()


# ----------------------------------------------------------------------------------------------------------------
# Steps and cycles


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
    reading = ("the record within a step (step_record_index in BDF 1.3)" if counts_records
               else "the program's step (step_id in BDF 1.3)")  # fmt: skip
    report.derivations.append(f"step_index read as {reading}: in {rows:,} rows it counts up by one {counting:,} "
                              f"times, keeps its value {keeping:,} times and goes down {restarts:,} times "
                              f"({odd_restarts:,} of them not to its lowest value)")  # fmt: skip
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
    """)  # fmt: skip
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
    """)  # fmt: skip
    connection.execute("DROP TABLE bdf_time")
    report.derivations.append(rule)
    by_current = (f"Rest where every |current| <= {threshold:.3g} A ({REST_FRACTION:.1%} of the largest |current|), "
                  f"else Charge or Discharge by the sign of the step's net charge")  # fmt: skip
    if labelled:
        named, total = connection.execute(
            "SELECT count(labelled_type), count(*) FROM bdf_steps").fetchone()  # fmt: skip
        report.derivations.append(f"step types: from the step_type label where it names a rest, charge or "
                                  f"discharge ({named} of {total} steps; the label is kept in each record's "
                                  f"metadata), else {by_current}")  # fmt: skip
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
    report.repairs.append(f"instant-step: {instant:,} steps draw current for 0 s (every record at the time of the "
                          f"one before; first: line {first}): each merged into the step after it (the last into the "
                          f"step before)")


def label_step_type(label: str) -> str:
    """SQL: the pulse-telemetry step type a step_type label names (CC_CHG, CV_DCH, REST, OCV, ...), else NULL."""
    cases = " ".join(f"WHEN regexp_matches(lower({label}), '{pattern}') THEN '{kind}'"
                     for kind, pattern in STEP_TYPE_LABELS)  # fmt: skip
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
    sequence = (f"a cycle starts at each {opening.lower()} step that follows a "
                f"{'discharge' if opening == 'Charge' else 'charge'} step; rests stay in the cycle before them"
                if opening else "no charge or discharge step: one cycle")  # fmt: skip
    use_file = "cycle_count" in columns.quantities
    if use_file and decreases:
        use_file = False
        report.repairs.append(f"cycle-decreasing: cycle_count goes down {decreases:,} times (first: line "
                              f"{first_decrease}): cycles derived from the step sequence instead; "
                              f"{sequence}")  # fmt: skip
    elif use_file and distinct == 1 and derived > 1:
        use_file = False
        report.repairs.append(f"cycle-constant: cycle_count has one value on every row but the steps hold "
                              f"{derived} charge/discharge cycles: cycles derived from the step sequence; "
                              f"{sequence}")  # fmt: skip
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


# ----------------------------------------------------------------------------------------------------------------
# Capacities, energies and the telemetry rows


COUNTER_ROUNDING = 1e-9  # a counter falling by less than this fraction of its value is rounding, not a reset


def counter_increment(counter: str) -> str:
    """Per-record increment of a cumulative counter: the change since its last value; a drop means the counter was
    reset (to zero) in between, so the increment is the new value. An empty cell, and the file's first row, add 0;
    so does a drop within COUNTER_ROUNDING of the value (a sum written with rounding)."""
    before = f"previous_{counter}"
    return f"""CASE WHEN {counter} IS NULL OR {before} IS NULL THEN 0
                    WHEN {counter} >= {before} THEN {counter} - {before}
                    WHEN {counter} >= {before} - {COUNTER_ROUNDING!r} * abs({before}) THEN 0 ELSE {counter} END"""


def interval_mean(quantity: str) -> str:
    """Mean of a quantity over the interval before each record: trapezoidal within a step; the first record of a
    step counts its own value over the gap since the last one."""
    own, before = quantity, f"previous_{quantity}"
    return f"CASE WHEN same_step THEN ({own} + {before}) / 2 ELSE {own} END"


def increments_sql(columns: Columns, report: Report) -> tuple[str, str, str]:
    """SELECT items: the counters' previous values (a window over record order), the per-record capacity increments
    and the energy increments (projections of those).

    Capacity: the cycler's counter where the file has one, else current integrated over time. Energy: the cycler's
    counter, else the capacity increment times the interval's mean voltage (so energy agrees with capacity).
    """
    previous, capacities, energies, described = [], [], [], []
    for counter, target in COUNTERS.items():
        if counter in columns.quantities:
            previous.append(f", last_value({counter} IGNORE NULLS) OVER before AS previous_{counter}")
            increment = counter_increment(counter)
            described.append(f"{target.replace('_', ' ')} from the cycler's {counter} (per-record increments; "
                             f"a drop is a reset)")  # fmt: skip
        elif target.startswith("capacity"):
            sign = -1 if "discharged" in target else 1
            # sample-and-hold on the right: each record's current over the interval before it, the rule that
            # reproduces cyclers' own counters best (docs/bdf.md, "Capacity from current: which rule, measured")
            increment = f"duration / 3600 * greatest({sign} * current_ampere, 0)"
            described.append(f"{target.replace('_', ' ')} integrated from current (each record's current over "
                             f"the interval before it)")
        else:
            capacity = target.replace("energy", "capacity")
            increment = f"{capacity} * {interval_mean('voltage_volt')}"
            described.append(f"{target.replace('_', ' ')} = {capacity.replace('_', ' ')} x mean voltage")
        (capacities if target.startswith("capacity") else energies).append(f"{increment} AS {target}")
    power = "power_watt (else voltage x current)" if "power_watt" in columns.quantities else "voltage x current"
    report.derivations.append(f"capacities and energies: {'; '.join(described)}; power from {power}")
    return "".join(previous), ", ".join(capacities), ", ".join(energies)


def auxiliary_sql(columns: Columns, auxiliary: list[str]) -> str:
    if not auxiliary:
        return "NULL::MAP(VARCHAR, DOUBLE)"
    entries = ", ".join(f"{{'key': {sql_string(key)}, 'value': {column}}}"
                        for key, column in zip(columns.auxiliary, auxiliary, strict=True))  # fmt: skip
    return f"map_from_entries(list_filter([{entries}], entry -> entry.value IS NOT NULL))"


def metadata_sql(columns: Columns) -> str:
    """Each record's metadata: the file's (source, file name, the sidecar's metadata), with the record's step_type
    label where the file has one (so a step's statistics keep the cycler's own name of it)."""
    if "step_type" not in columns.quantities:
        return "$metadata"
    return ("CASE WHEN step_label IS NULL THEN $metadata "
            "ELSE CAST(json_merge_patch($metadata, json_object('step_type', step_label)) AS VARCHAR) END")


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def telemetry_sql(columns: Columns, auxiliary: list[str], report: Report) -> str:
    """SELECT of the telemetry rows of the staged file (parameters: device_id, test_id, start, metadata, now).

    Two passes over the records: one window in record order (every previous value), one per step (running sums).
    """
    previous, capacities, energies = increments_sql(columns, report)
    power = "voltage_volt * current_ampere"
    if "power_watt" in columns.quantities:
        power = f"coalesce(power_watt, {power})"
    step_ids = " ".join(f"WHEN '{name}' THEN {code}" for name, code in STEP_IDS.items())
    return f"""
    WITH joined AS (
        SELECT bdf_records.*, bdf_steps.step_type, bdf_steps.cycle_number, {power} AS power
        FROM bdf_records JOIN bdf_steps USING (step_number)
    ), previous AS (
        SELECT *, lag(voltage_volt) OVER w AS previous_voltage_volt,
               lag(current_ampere) OVER w AS previous_current_ampere,
               lag(power) OVER w AS previous_power,
               coalesce(lag(step_number) OVER w = step_number, false) AS same_step{previous}
        FROM joined
        WINDOW w AS (ORDER BY record_number),
               before AS (ORDER BY record_number ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
    ), capacities AS (
        SELECT *, {capacities} FROM previous
    ), energies AS (
        SELECT *, {energies} FROM capacities
    )
    SELECT
        $device_id AS device_id, $test_id AS test_id, cycle_number, step_number, step_type,
        CASE step_type {step_ids} END AS step_id,
        record_number,
        make_timestamp(CAST(round(($start + elapsed) * 1e6) AS BIGINT)) AS "timestamp",
        voltage_volt AS "voltage__V",
        current_ampere AS "current__A",
        power AS "power__W",
        duration AS "duration__s",
        voltage_volt - previous_voltage_volt AS "voltage_delta__V",
        current_ampere - previous_current_ampere AS "current_delta__A",
        power - previous_power AS "power_delta__W",
        capacity_charged AS "capacity_charged__Ah",
        capacity_discharged AS "capacity_discharged__Ah",
        CASE WHEN capacity_charged > 0 AND voltage_volt <> previous_voltage_volt
             THEN capacity_charged / (voltage_volt - previous_voltage_volt) END
            AS "differential_capacity_charged__Ah_V",
        CASE WHEN capacity_discharged > 0 AND voltage_volt <> previous_voltage_volt
             THEN capacity_discharged / (voltage_volt - previous_voltage_volt) END
            AS "differential_capacity_discharged__Ah_V",
        sum(duration) OVER so_far AS "step_duration__s",
        sum(capacity_charged) OVER so_far AS "step_capacity_charged__Ah",
        sum(capacity_discharged) OVER so_far AS "step_capacity_discharged__Ah",
        sum(energy_charged) OVER so_far AS "step_energy_charged__Wh",
        sum(energy_discharged) OVER so_far AS "step_energy_discharged__Wh",
        {auxiliary_sql(columns, auxiliary)} AS auxiliary,
        {metadata_sql(columns)} AS metadata,
        $now AS update_ts
    FROM energies
    WINDOW so_far AS (PARTITION BY step_number ORDER BY record_number ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    """


# ----------------------------------------------------------------------------------------------------------------
# Metadata rows from the sidecar


def metadata_rows(connection: duckdb.DuckDBPyConnection, identity: Identity, sidecar: Sidecar
                  ) -> dict[str, tuple[str, list[str], list[Any]]]:  # fmt: skip
    """Sidecar sections as rows of the metadata tables: table -> (key column, columns, values), each value checked
    against the column's type now, before anything is written."""
    tables = {table.name: table for table in config.source_tables()}
    rows = {}
    for section, name in SIDECAR_TABLES.items():
        values = sidecar.get(section)
        if values is None:
            continue
        key = tables[name].key[0]
        owner = {"device": identity.device_id, "part": identity.part_id, "recipe": identity.recipe_id}[section]
        if owner is None:
            raise BdfError(f"{sidecar.path}: section '{section}' given, but the test has no {key}; add {key}")
        described = f"SELECT column_name, column_type FROM (DESCRIBE {warehouse.quoted(tables[name])})"
        types = dict(connection.execute(described).fetchall())
        if key in values and str(values[key]) != owner:
            raise BdfError(f"{sidecar.path}: {section}.{key} is {values[key]!r} but the test's {key} is {owner!r}; "
                           f"leave {key} out of the section or make them agree")  # fmt: skip
        unknown = sorted(set(values) - set(types) - {key})
        if unknown:
            raise BdfError(f"{sidecar.path}: {section}: unknown column(s) {', '.join(unknown)}; {name} has "
                           f"{', '.join(column for column in types if column != key)}")  # fmt: skip
        for column, value in values.items():
            try:
                connection.execute(f"SELECT CAST(? AS {types[column]})", [value])
            except duckdb.Error as error:
                raise BdfError(f"{sidecar.path}: {section}.{column}: {value!r} is not a {types[column]} "
                               f"({str(error).splitlines()[0]})") from error  # fmt: skip
        names = [key, *(column for column in values if column != key)]
        rows[name] = (key, names, [owner, *(values[column] for column in names[1:])])
    return rows


def write_metadata(connection: duckdb.DuckDBPyConnection, identity: Identity,
                   rows: dict[str, tuple[str, list[str], list[Any]]]) -> None:  # fmt: skip
    """The test's links (device_test_part, device_test_recipe) and the sidecar's metadata rows, replacing old ones."""
    tables = {table.name: warehouse.quoted(table) for table in config.source_tables()}
    test = [identity.device_id, identity.test_id]
    for name, linked in (("device_test_part", identity.part_id), ("device_test_recipe", identity.recipe_id)):
        connection.execute(f"DELETE FROM {tables[name]} WHERE device_id = ? AND test_id = ?", test)
        if linked is not None:
            column = "part_id" if name == "device_test_part" else "recipe_id"
            connection.execute(f"INSERT INTO {tables[name]} (device_id, test_id, {column}) VALUES (?, ?, ?)",
                               [*test, linked])  # fmt: skip
    for name, (key, names, values) in rows.items():
        connection.execute(f"DELETE FROM {tables[name]} WHERE {key} = ?", [values[0]])
        quoted_names = ", ".join(f'"{column}"' for column in names)
        marks = ", ".join("?" * len(names))
        connection.execute(f"INSERT INTO {tables[name]} ({quoted_names}) VALUES ({marks})", values)


# ----------------------------------------------------------------------------------------------------------------
# One file, many files, a folder


SPILL_FOLDER = ".import-spill"  # in the warehouse folder: one subfolder per importing process, named by its pid


@contextmanager
def staging_connection(warehouse_dir: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse's source catalogs, attached read-write, with staging that spills to <warehouse>/.import-spill/
    <pid>, removed afterwards; what a killed import left there is removed by the next one."""
    spills = (warehouse_dir or config.warehouse_dir()) / SPILL_FOLDER
    remove_abandoned_spills(spills)
    try:
        connection = warehouse.connect_sources(warehouse_dir)
    except duckdb.IOException as error:
        raise BdfError(f"cannot open the warehouse for writing: {str(error).splitlines()[0]}. Close the "
                       f"program holding it (another pulse command, Superset, a duckdb shell) and run again."
                       ) from error  # fmt: skip
    spill = spills / str(os.getpid())
    try:
        spill.mkdir(parents=True, exist_ok=True)
        connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        connection.execute(f"SET temp_directory = '{spill}'")
        warehouse.create_source_tables(connection)
        yield connection
    finally:
        connection.close()
        shutil.rmtree(spill, ignore_errors=True)


def remove_abandoned_spills(spills: Path) -> None:
    """Remove the spill folders of imports whose process is gone (killed with SIGKILL, or the machine stopped)."""
    if not spills.is_dir():
        return
    for folder in spills.iterdir():
        if folder.name.isdigit() and not process_alive(int(folder.name)):
            size = sum(file.stat().st_size for file in folder.rglob("*") if file.is_file())
            shutil.rmtree(folder, ignore_errors=True)
            print(f"removed {folder} ({size / 1e6:.0f} MB), left by an import that was stopped", file=sys.stderr)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stage(connection: duckdb.DuckDBPyConnection, path: Path, report: Report, progress: Progress
          ) -> tuple[Columns, list[str]]:  # fmt: skip
    """Read, check and repair the file into bdf_rows / bdf_time. Returns the columns and the auxiliary names."""
    check_format(path)
    headers, delimiter = read_header(path)
    columns = map_columns(path, headers)
    report.rows_read = read_text(connection, path, headers, delimiter)
    progress.advance(f"read {report.rows_read:,} rows, {len(headers)} columns")
    check_text(connection, path, columns, report)
    auxiliary = stage_numbers(connection, columns)
    progress.advance("checked every value")
    drop_duplicates(connection, report)
    repair_time(connection, path, report)
    progress.advance("repaired duplicates and time")
    return columns, auxiliary


STAGING_TABLES = ("bdf_file", "bdf_numbers", "bdf_repeated", "bdf_numbered_copies", "bdf_rows", "bdf_time",
                  "bdf_records", "bdf_steps", "bdf_step_cycles")  # fmt: skip


def import_any(connection: duckdb.DuckDBPyConnection, path: Path, options: Options) -> Report:
    """A BDF file as it is; a file in a cycler's own format that pulse reads (vendor.READERS) converted to BDF first,
    its report and errors naming the user's file."""
    from pulse_analytics import vendor  # the reader libraries load only when such a file is imported

    if not vendor.reads(path):
        return import_file(connection, path, options)
    with tempfile.TemporaryDirectory(prefix="pulse-vendor-") as folder, vendor.as_bdf(path, Path(folder)) as (
            converted, how):  # fmt: skip
        try:
            report = import_file(connection, converted, options, source_file=path.name)
        except BdfError as error:
            raise BdfError(str(error).replace(str(converted), f"{path} (as converted to BDF, whose line N holds "
                                              f"the file's record N-1)")) from error  # fmt: skip
    report.path = path
    report.derivations.insert(0, how)
    return report


def import_file(connection: duckdb.DuckDBPyConnection, path: Path, options: Options,
                source_file: str | None = None) -> Report:  # fmt: skip
    """Import one BDF file: all checks first, then telemetry + statistics (one transaction), then metadata links."""
    try:
        return import_staged(connection, path, options, source_file or path.name)
    finally:
        connection.execute("DROP VIEW IF EXISTS bdf_text")
        for table in STAGING_TABLES:
            connection.execute(f"DROP TABLE IF EXISTS {table}")


def import_staged(connection: duckdb.DuckDBPyConnection, path: Path, options: Options, source_file: str) -> Report:
    started = time.monotonic()
    sidecar = read_sidecar(path)
    identity = resolve_identity(path, options, sidecar)
    report = Report(path, identity)
    progress = Progress(f"import {path.name}", total=6)
    columns, auxiliary = stage(connection, path, report, progress)
    start = start_time(connection, path, identity, columns, report)
    check_time_span(connection, path, start)
    derive_steps(connection, columns, report)
    number_cycles(connection, columns, report)
    metadata = metadata_rows(connection, identity, sidecar)
    select = telemetry_sql(columns, auxiliary, report)
    report.records, report.steps, report.cycles = connection.execute(
        "SELECT (SELECT count(*) FROM bdf_records), count(*), count(DISTINCT cycle_number) FROM bdf_steps"
    ).fetchone()
    progress.advance("derived steps, cycles and timestamps")
    source = json.dumps({"source": "bdf", "file": source_file, **(sidecar.get("metadata") or {})}, default=str)
    write_telemetry(connection, identity, select, {"start": start, "metadata": source})
    flag_capacity_beyond_nominal(connection, identity, metadata, report)
    progress.advance("wrote telemetry and statistics")
    try:
        with warehouse.transaction(connection):
            write_metadata(connection, identity, metadata)
    except duckdb.Error as error:
        raise BdfError(f"{path}: telemetry was imported but the metadata links could not be written ({error}); "
                       f"run the same import again to complete it") from error  # fmt: skip
    progress.advance("wrote metadata links")
    report.seconds = time.monotonic() - started
    return report


def write_telemetry(connection: duckdb.DuckDBPyConnection, identity: Identity, select: str,
                    parameters: dict[str, Any]) -> None:  # fmt: skip
    """Replace the test's telemetry and statistics in one transaction: all of it is written, or none."""
    telemetry = warehouse.quoted(next(table for table in config.source_tables() if table.name == "telemetry"))
    test = {"device_id": identity.device_id, "test_id": identity.test_id}
    now = datetime.now(UTC).replace(tzinfo=None)
    with warehouse.transaction(connection):
        connection.execute(f"DELETE FROM {telemetry} WHERE device_id = $device_id AND test_id = $test_id", test)
        connection.execute(f"INSERT INTO {telemetry} BY NAME {select}", {**test, **parameters, "now": now})
        statistics.summarise(connection, [(identity.device_id, identity.test_id)])


NOMINAL_FACTOR = 5  # a step moving more charge than this many times the cell's nominal capacity is flagged


def flag_capacity_beyond_nominal(connection: duckdb.DuckDBPyConnection, identity: Identity,
                                 metadata: dict[str, tuple[str, list[str], list[Any]]], report: Report) -> None:
    """Flag the steps that charge or discharge more than NOMINAL_FACTOR times the part's nominal capacity (from the
    sidecar's part section, else the part's existing part_metadata row); without a nominal capacity, nothing."""
    nominal = nominal_capacity(connection, identity, metadata)
    if not nominal:
        return
    tables = {table.name: warehouse.quoted(table) for table in config.source_tables()}
    found = connection.execute(f"""
        SELECT step_number, "charge_capacity__Ah", "discharge_capacity__Ah",
               (SELECT min(line) FROM bdf_records WHERE bdf_records.step_number = steps.step_number) AS first_line
        FROM {tables["statistics_step"]} AS steps
        WHERE device_id = ? AND test_id = ?
          AND greatest("charge_capacity__Ah", "discharge_capacity__Ah") > ? * ?
        ORDER BY step_number
    """, [identity.device_id, identity.test_id, NOMINAL_FACTOR, nominal]).fetchall()  # fmt: skip
    if not found:
        return
    step, charged, discharged, line = found[0]
    moved = max(charged or 0.0, discharged or 0.0)
    report.flags.append(f"capacity-beyond-nominal: {len(found):,} steps move more than {NOMINAL_FACTOR} times the "
                        f"part's nominal capacity of {nominal:g} Ah (first: step {step} from line {line}, "
                        f"{moved:.4g} Ah, {moved / nominal:.0f} times): imported as written; check column "
                        f"'current_ampere' (milliamperes written as amperes?), the capacity counters and the "
                        f"part's nominal_capacity__ah")


def nominal_capacity(connection: duckdb.DuckDBPyConnection, identity: Identity,
                     metadata: dict[str, tuple[str, list[str], list[Any]]]) -> float | None:
    if "part_metadata" in metadata:
        _, names, values = metadata["part_metadata"]
        value = dict(zip(names, values, strict=True)).get("nominal_capacity__ah")
        return float(value) if value is not None else None
    if identity.part_id is None:
        return None
    part = warehouse.quoted(next(table for table in config.source_tables() if table.name == "part_metadata"))
    try:
        return connection.execute(f"SELECT max(nominal_capacity__ah) FROM {part} WHERE part_id = ?",
                                  [identity.part_id]).fetchone()[0]  # fmt: skip
    except duckdb.BinderException:  # a lab's own part_metadata without the column
        return None


def check_distinct_tests(paths: list[Path], options: Options) -> None:
    """Refuse, before importing anything, files that would overwrite each other (same device and test).

    Files whose identity cannot be resolved (missing file, bad sidecar) are left to fail on their own.
    """
    seen: dict[tuple[str, str], Path] = {}
    for path in paths:
        try:
            identity = resolve_identity(path, options, read_sidecar(path))
        except BdfError:
            continue
        key = (identity.device_id, identity.test_id)
        if key in seen:
            raise BdfError(f"{seen[key]} and {path} would both be test {key[1]} on device {key[0]}; give each file "
                           f"its own test id (one file per --test-id, or a test_id in each sidecar)")  # fmt: skip
        seen[key] = path


def import_files(paths: Iterable[Path], options: Options = Options(), warehouse_dir: Path | None = None
                 ) -> tuple[list[Report], list[str]]:  # fmt: skip
    """Import each file on its own: a file that fails leaves the catalog as it was and the others still import.

    Prints each file's report (stdout) or error (stderr). Returns the reports and the error messages.
    """
    paths = list(paths)
    check_distinct_tests(paths, options)
    reports, errors = [], []
    with staging_connection(warehouse_dir) as connection:
        for path in paths:
            try:
                if not path.is_file():
                    raise BdfError(f"{path}: no such file")
                report = import_any(connection, path, options)
            except (BdfError, duckdb.Error) as error:
                message = str(error) if isinstance(error, BdfError) else f"{path}: {error}"
                errors.append(message)
                print(f"error: {message}", file=sys.stderr, flush=True)
                continue
            reports.append(report)
            print(report.summary(), flush=True)
    return reports, errors


def import_folder(folder: Path, warehouse_dir: Path | None = None) -> tuple[list[Report], list[str]]:
    """Import every BDF file of a folder (the demo's PULSE_ANALYTICS_BDF_DIR), each with its sidecar."""
    if not folder.is_dir():
        raise BdfError(f"{folder} is not a folder (PULSE_ANALYTICS_BDF_DIR); point it at the folder of BDF files")
    files = bdf_files(folder)
    if not files:
        print(f"no BDF files (*.csv, *.bdf, *.gz) in {folder}: nothing to import")
        return [], []
    return import_files(files, Options(), warehouse_dir)
