"""Files, identifiers and the sidecar: which files a folder holds, a file's stem and sidecar (the YAML file beside it),
and the test's identifiers and start time from the command line, the sidecar or the file name (docs/bdf.md,
"Identifiers and the sidecar")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from pulse_analytics.bdf.formats import FORMATS, suffixes
from pulse_analytics.bdf.report import BdfError

DEFAULT_DEVICE = "bdf-import"
SIDECAR_TABLES = {"device": "device_metadata", "part": "part_metadata", "recipe": "recipe_metadata"}
SIDECAR_KEYS = {"device_id", "test_id", "part_id", "recipe_id", "start_time", "metadata", *SIDECAR_TABLES}


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


def file_stem(path: Path) -> str:
    """The file's name without its format's suffixes: `A__B__2024-01-02__X.bdf.csv` -> `A__B__2024-01-02__X`."""
    name = path.name
    while (suffix := next((s for s in suffixes() if name.lower().endswith(s)), None)) and len(name) > len(suffix):
        name = name[: -len(suffix)]
    return name


def sidecar_path(path: Path) -> Path:
    return path.with_name(file_stem(path) + ".yaml")


def bdf_files(folder: Path) -> list[Path]:
    """The files of a folder (not its subfolders) pulse imports, by name: every format of formats.FORMATS."""
    return sorted(path for path in folder.iterdir() if path.is_file() and any(found.matches(path) for found in FORMATS))


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
        raise BdfError(
            f"{location}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(SIDECAR_KEYS))}"
        )
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
            raise BdfError(
                f"{where}: start time '{value}' is not an ISO 8601 time such as 2024-10-23T09:30:00+02:00"
            ) from error
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
    return Identity(
        device_id=str(chosen["device_id"]),
        test_id=str(chosen["test_id"]),
        part_id=chosen["part_id"],
        recipe_id=chosen["recipe_id"],
        start_time=start,
        start_source=start_source,
        sources=", ".join(origins),
    )
