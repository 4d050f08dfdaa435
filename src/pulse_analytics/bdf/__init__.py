"""Import Battery Data Format (BDF) files, CSV or Parquet, and cyclers' own files into the telemetry catalog as
pulse-telemetry rows (and export a test as a BDF file: export.py).

One file is one test of one cell. The file is staged in DuckDB temp tables (which spill to disk, so memory stays
bounded), checked, repaired by the documented rules, and only then written: telemetry and its statistics in one
transaction, the metadata links in a second one (DuckDB writes one attached database per transaction). Every rule,
and what it reports, is listed in docs/bdf.md.

Pipeline (each step one function, each a query or two):
  read      the CSV (or Parquet) file as text, every cell VARCHAR, with its line (row) number
  columns   map headers (`voltage_volt` or `Voltage / V`) to BDF quantities; other numeric columns -> auxiliary
  check     time, voltage and current present, numbers and within what a cycler measures, else reject naming line
            and column; optional columns with unusable values fall back (not used, or treated as empty cells)
  repair    drop exact duplicate rows; fix time out of order (one-row spike or glitch, clock restart); refuse time
            in reverse order, decades long or in the future; merge steps that draw current for 0 s
  derive    steps, step types, cycles, timestamps, capacities and energies
  write     telemetry rows, then statistics.summarise (the one statistics implementation), then metadata links

Modules, in pipeline order:
  vocabulary  BDF's quantities (names, labels, units), earlier versions' names, the quantities the importer uses and
              the auxiliary key of every other one
  formats     the formats pulse reads, one table: names, cyclers, readers (docs/bdf.md, "Formats")
  files       which files are imported, file stems, the sidecar, identifiers and start time (Options, Identity)
  report      BdfError (a file refused) and Report (what one import did)
  vendor      cyclers' files: read by their reader, written as BDF Parquet, imported as it; the reader's messages
  neware      Neware .nda / .ndax through NewareNDA       (each loaded only when such a file is imported)
  arbin       Arbin .res through access-parser
  biologic    BioLogic .mpr through mpr, pulse's own MPR reader
  mpr         the BioLogic .mpr layout, read here (the readers that exist are GPL)
  reading     read: format check, header (CSV or Parquet), every cell staged as text; columns: headers -> quantities
  checks      check: what is rejected or falls back; the limits of what a cycler measures
  rows        repair: numbers, duplicate rows, test time; the test's start
  steps       derive and repair: steps, step types, 0 s steps merged, cycles
  telemetry   derive and write: capacities, energies, the telemetry rows and their statistics
  metadata    write: the sidecar's metadata rows and the test's links
  staging     the DuckDB connection files are staged in: memory limit, spill folder
  importer    one file, many files, a folder: import_files, import_folder
  export      a test of the telemetry catalog written back out as a BDF file and its sidecar (`pulse export-bdf`)

The names below are what the rest of pulse uses.
"""

from __future__ import annotations

from pulse_analytics.bdf.files import Options, parse_start_time
from pulse_analytics.bdf.importer import import_files, import_folder
from pulse_analytics.bdf.report import BdfError, Report

__all__ = ["BdfError", "Options", "Report", "import_files", "import_folder", "parse_start_time"]
