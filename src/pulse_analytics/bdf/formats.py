"""The file formats `pulse import` reads: one table, which the folder scan, the file names' stems, the choice of
reader, `pulse import --help`, the refusal of any other file and docs/bdf.md's format table all follow."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Format:
    name: str
    suffixes: tuple[str, ...]  # how a file's name ends, lower case; the first one is shown
    cycler: str
    reader: str  # the reader and its licence

    def matches(self, path: Path) -> bool:
        return path.name.lower().endswith(self.suffixes)


BDF_CSV = Format(
    "Battery Data Format CSV", (".csv", ".bdf", ".csv.gz", ".bdf.gz"), "any", "pulse, by DuckDB's CSV reader (MIT)"
)
BDF_PARQUET = Format("Battery Data Format Parquet", (".parquet",), "any", "pulse, by DuckDB's Parquet reader (MIT)")
NEWARE_NDA = Format("Neware NDA", (".nda",), "Neware (BTS 7 to 9)", "NewareNDA (BSD-3-Clause)")
NEWARE_NDAX = Format("Neware NDAX", (".ndax",), "Neware (BTS 8 and later)", "NewareNDA (BSD-3-Clause)")
ARBIN_RES = Format("Arbin RES", (".res",), "Arbin (MITS Pro)", "access-parser (Apache-2.0)")
BIOLOGIC_MPR = Format("BioLogic MPR", (".mpr",), "BioLogic (EC-Lab)", "pulse's MPR reader (bdf/mpr.py, Apache-2.0)")
FORMATS = (BDF_CSV, BDF_PARQUET, NEWARE_NDA, NEWARE_NDAX, ARBIN_RES, BIOLOGIC_MPR)
CYCLER_FORMATS = (NEWARE_NDA, NEWARE_NDAX, ARBIN_RES, BIOLOGIC_MPR)  # read by a reader, then imported as BDF

# Other cyclers' and tools' formats, recognised by name so that a user is told what the file is and what to do.
REFUSED = {
    ".mpt": "a BioLogic MPT text export",
    ".xlsx": "an Excel workbook",
    ".xls": "an Excel workbook",
    ".mat": "a MATLAB file",
    ".h5": "an HDF5 file",
}


def format_of(path: Path) -> Format | None:
    return next((found for found in FORMATS if found.matches(path)), None)


def listed() -> str:
    """Every format pulse reads, as `--help` and the refusal of another file name them."""
    return "; ".join(f"{found.name} ({', '.join(found.suffixes)})" for found in FORMATS)


def suffixes() -> tuple[str, ...]:
    """Every file name ending pulse reads, longest first (stripped from a name to give its stem)."""
    return tuple(sorted({suffix for found in FORMATS for suffix in found.suffixes}, key=len, reverse=True))
