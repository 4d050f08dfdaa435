"""Cyclers' own file formats: read by a reader (formats.CYCLER_FORMATS), written as a BDF Parquet file, imported as one.

The reading is the reader's; the modules neware, arbin and biologic only map its columns to the Battery Data Format
(docs/bdf.md, "Cyclers' own formats"), so that every check, repair and derivation of the BDF importer applies
unchanged. What a reader logs, warns or prints while it reads is collected here and told as the reader's: in the
report when the file is read, in the refusal when it is not. A format is listed only when real files of it are tested
(tests/integration/test_vendor_files.py, examples/vendor/).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import shutil
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas

from pulse_analytics.bdf.files import file_stem, sidecar_path
from pulse_analytics.bdf.formats import ARBIN_RES, BIOLOGIC_MPR, NEWARE_NDA, NEWARE_NDAX, format_of
from pulse_analytics.bdf.report import BdfError

T = TypeVar("T")


@dataclass
class Recording:
    """What a reader gives, mapped to BDF: the columns, the reader's name and version, what every record's metadata
    gets (the cycler's UTC offset, ...) and lines for the report."""

    frame: pandas.DataFrame
    reader: str
    metadata: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Converted:
    path: Path  # the BDF Parquet file
    recording: Recording


# Format -> the module of pulse_analytics.bdf whose read() reads it (loaded, with its reader library, only when such a
# file is imported).
READERS = {NEWARE_NDA: "neware", NEWARE_NDAX: "neware", ARBIN_RES: "arbin", BIOLOGIC_MPR: "biologic"}


def reads(path: Path) -> bool:
    return format_of(path) in READERS


class ReaderFailed(Exception):
    """A reader library's own failure (its exception is the cause): refused as the reader's, with its reason."""


def call(function: Callable[..., T], *arguments: Any, **keywords: Any) -> T:
    """Call a reader library: an exception it raises is its failure, not pulse's (ReaderFailed)."""
    try:
        return function(*arguments, **keywords)
    except Exception as error:
        raise ReaderFailed() from error


class Said(logging.Handler):
    """Collects what a reader logs (warnings and worse) instead of letting it print as pulse's own output."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextlib.contextmanager
def collected() -> Iterator[list[str]]:
    """Everything a reader logs, warns or prints while it reads, as lines (complete also when it fails)."""
    said, printed = Said(), io.StringIO()
    root = logging.getLogger()
    root.addHandler(said)
    try:
        with (
            warnings.catch_warnings(record=True) as warned,
            contextlib.redirect_stdout(printed),
            contextlib.redirect_stderr(printed),
        ):
            warnings.simplefilter("always")
            try:
                yield said.lines
            finally:
                said.lines += [str(warning.message) for warning in warned] + printed.getvalue().splitlines()
    finally:
        root.removeHandler(said)


def read(path: Path) -> Recording:
    """The file read by its reader, or a refusal naming the file, the format and the reader's own reason."""
    found = format_of(path)
    assert found is not None and reads(path)
    reader = found.reader.partition(" (")[0]
    lines: list[str] = []
    try:
        with collected() as lines:
            module = importlib.import_module(f"pulse_analytics.bdf.{READERS[found]}")
            recording = module.read(path)
    except ReaderFailed as failed:  # the reader's own failure: its reason, told as the reader's
        error = failed.__cause__
        reason = str(error).strip().rstrip(".")
        if not any(character.isalpha() for character in reason):  # KeyError(8192): say what it is
            reason = f"{type(error).__name__} {reason}".strip()
        said = "; ".join(
            dict.fromkeys(line.strip() for line in lines if line.strip() and line.strip().rstrip(".") != reason)
        )
        raise BdfError(
            f"{path}: {reader} cannot read this {found.name} file: {reason}"
            + (f" ({reader} also said: {said})" if said else "")
            + "; check that the file is complete and not damaged, or export it from the cycler's software as CSV"
        ) from None
    if recording.frame.empty:
        raise BdfError(f"{path}: {reader} read no records from this {found.name} file")
    recording.notes += [f"{reader} said: {line}" for line in dict.fromkeys(lines) if line.strip()]
    return recording


@contextlib.contextmanager
def as_bdf(path: Path, folder: Path) -> Iterator[Converted]:
    """The file converted to `<folder>/<stem>.bdf.parquet` (with its sidecar, if it has one, beside it); removed
    afterwards."""
    recording = read(path)
    converted = folder / f"{file_stem(path)}.bdf.parquet"
    recording.frame.to_parquet(converted, index=False)
    if sidecar_path(path).exists():
        shutil.copyfile(sidecar_path(path), sidecar_path(converted))
    try:
        yield Converted(converted, recording)
    finally:
        converted.unlink(missing_ok=True)
        sidecar_path(converted).unlink(missing_ok=True)
