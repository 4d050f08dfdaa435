"""BioLogic EC-Lab .mpr files, read here: the maintained readers (galvani, yadg, eclabfiles) are GPL, which this
Apache-2.0 bundle does not take. Written from the format's public descriptions and checked, column by column,
against EC-Lab's own text exports (.mpt) of the same recordings (tests/integration/test_vendor_biologic.py).

The layout, as far as this reader relies on it:
  file      `BIO-LOGIC MODULAR FILE` + 0x1a, padded to 52 bytes; then modules, one after the other
  module    `MODULE`, a 10-byte short name and a 25-byte long name (`VMP data`, `VMP LOG`, ...), then either
            length (u32), version (u32) and an 8-byte date (EC-Lab before 11.50: 57 bytes), or 0xFFFFFFFF, length,
            version, a fourth u32 and the date (EC-Lab 11.50 and later: 65 bytes); then `length` bytes of body
  data      number of records (u32), number of columns (u8; u16 in the 65-byte layout), one u16 id per column; the
            records start at a fixed offset of the body (0x195 for version 2 and before, 0x196 for version 3, 0x3ef
            in the 65-byte layout) and fill the rest of it: per record one byte of flags (when any flag column is
            listed) and each other column's value, little-endian, in the listed order
  log       the time the acquisition started, an OLE date (days since 1899-12-30, the PC's local time), at 0x249
A file whose records do not fill its data module exactly, or that lists a column this reader does not know (whose
size it cannot know), is refused rather than read wrong.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy

from pulse_analytics.bdf.report import BdfError

MAGIC = b"BIO-LOGIC MODULAR FILE\x1a"
HEADER = 0x34
OLE_ZERO = datetime(1899, 12, 30)
LOG_START = 0x249  # offset of the acquisition's start in the LOG module's body
# flag columns, packed into one byte per record: id -> (EC-Lab's name, bit mask)
FLAGS = {
    1: ("mode", 0x03),
    2: ("ox/red", 0x04),
    3: ("error", 0x08),
    21: ("control changes", 0x10),
    31: ("Ns changes", 0x20),
    65: ("counter inc.", 0x80),
}
# value columns: id -> (EC-Lab's name, as its text export heads the column; numpy type)
COLUMNS = {
    4: ("time/s", "<f8"),
    5: ("control/V/mA", "<f4"),
    6: ("Ewe/V", "<f4"),
    7: ("dq/mA.h", "<f8"),
    8: ("I/mA", "<f4"),
    9: ("Ece/V", "<f4"),
    11: ("<I>/mA", "<f8"),
    13: ("(Q-Qo)/mA.h", "<f8"),
    16: ("Analog IN 1/V", "<f4"),
    19: ("control/V", "<f4"),
    20: ("control/mA", "<f4"),
    23: ("dQ/mA.h", "<f8"),
    24: ("cycle number", "<f8"),
    32: ("freq/Hz", "<f4"),
    33: ("|Ewe|/V", "<f4"),
    34: ("|I|/A", "<f4"),
    35: ("Phase(Z)/deg", "<f4"),
    36: ("|Z|/Ohm", "<f4"),
    37: ("Re(Z)/Ohm", "<f4"),
    38: ("-Im(Z)/Ohm", "<f4"),
    39: ("I Range", "<u2"),
    70: ("P/W", "<f4"),
    74: ("|Energy|/W.h", "<f8"),
    76: ("<I>/mA", "<f4"),
    77: ("<Ewe>/V", "<f4"),
    96: ("|Ece|/V", "<f4"),
    98: ("Phase(Zce)/deg", "<f4"),
    99: ("|Zce|/Ohm", "<f4"),
    100: ("Re(Zce)/Ohm", "<f4"),
    101: ("-Im(Zce)/Ohm", "<f4"),
    123: ("Energy charge/W.h", "<f8"),
    124: ("Energy discharge/W.h", "<f8"),
    125: ("Capacitance charge/µF", "<f8"),
    126: ("Capacitance discharge/µF", "<f8"),
    131: ("Ns", "<u2"),
    168: ("Rcmp/Ohm", "<f4"),
    174: ("<Ewe>/V", "<f4"),
    430: ("Phase(Zwe-ce)/deg", "<f4"),
    431: ("|Zwe-ce|/Ohm", "<f4"),
    432: ("Re(Zwe-ce)/Ohm", "<f4"),
    433: ("-Im(Zwe-ce)/Ohm", "<f4"),
    434: ("(Q-Qo)/C", "<f4"),
    435: ("dQ/C", "<f4"),
    441: ("<Ece>/V", "<f4"),
    462: ("Temperature/°C", "<f4"),
    467: ("Q charge/discharge/mA.h", "<f8"),
    468: ("half cycle", "<u4"),
    469: ("z cycle", "<u4"),
    471: ("<Ece>/V", "<f4"),
}


@dataclass(frozen=True)
class Module:
    name: str
    version: int
    wide: bool  # the 65-byte header of EC-Lab 11.50 and later
    body: bytes
    at: int  # where its body starts in the file


@dataclass(frozen=True)
class Mpr:
    columns: dict[str, numpy.ndarray]  # EC-Lab's column name -> one value per record
    started: datetime | None  # the acquisition's start, the PC's local time (no zone)


def read(path: Path) -> Mpr:
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise BdfError(f"{path}: not a BioLogic MPR file (it does not start with 'BIO-LOGIC MODULAR FILE')")
    try:
        modules = {module.name: module for module in modules_of(data)}
    except struct.error as error:
        raise BdfError(f"{path}: the file is cut short or damaged ({error})") from error
    if "VMP data" not in modules:
        raise BdfError(f"{path}: the file has no data module (modules: {', '.join(modules) or 'none'})")
    return Mpr(records(path, modules["VMP data"]), started(modules.get("VMP LOG")))


def modules_of(data: bytes) -> list[Module]:
    found, at = [], HEADER
    while data[at : at + 6] == b"MODULE":
        name = data[at + 16 : at + 41].decode("latin-1").strip()
        wide = struct.unpack_from("<I", data, at + 41)[0] == 0xFFFFFFFF
        length, version = struct.unpack_from("<II", data, at + (45 if wide else 41))
        start = at + (65 if wide else 57)
        if start + length > len(data):
            raise struct.error(f"module '{name}' at byte {at} needs {length} bytes, the file ends {len(data) - start}")
        found.append(Module(name, version, wide, data[start : start + length], start))
        at = start + length
    return found


def records(path: Path, module: Module) -> dict[str, numpy.ndarray]:
    """The data module's columns, by EC-Lab's names."""
    body = module.body
    count, width = struct.unpack_from("<IH" if module.wide else "<IB", body)
    ids = struct.unpack_from(f"<{width}H", body, 6 if module.wide else 5)
    unknown = [column for column in ids if column not in FLAGS and column not in COLUMNS]
    if unknown:
        raise BdfError(
            f"{path}: the data module lists column id(s) {', '.join(map(str, unknown))}, which pulse's MPR reader does "
            f"not know (it cannot tell their size); export the file from EC-Lab as text and convert it to BDF CSV"
        )
    fields = [("flags", "u1")] if any(column in FLAGS for column in ids) else []
    fields += [(f"c{column}", COLUMNS[column][1]) for column in ids if column in COLUMNS]
    row = numpy.dtype(fields)
    start = 0x3EF if module.wide else (0x195 if module.version <= 2 else 0x196)
    if start + count * row.itemsize != len(body):
        raise BdfError(
            f"{path}: the data module (version {module.version}) holds {len(body) - start} bytes of records where "
            f"{count} records of {row.itemsize} bytes need {count * row.itemsize}: a layout pulse's MPR reader does "
            f"not know, or a damaged file"
        )
    table = numpy.frombuffer(body, dtype=row, count=count, offset=start)
    columns = {}
    for column in ids:
        if column in FLAGS:
            name, mask = FLAGS[column]
            columns[name] = (table["flags"] & mask) >> (mask & -mask).bit_length() - 1
        else:
            columns.setdefault(COLUMNS[column][0], table[f"c{column}"])
    return columns


def started(log: Module | None) -> datetime | None:
    """The acquisition's start from the LOG module, where it holds a plausible date (1990 to 2100)."""
    if log is None or len(log.body) < LOG_START + 8:
        return None
    days = struct.unpack_from("<d", log.body, LOG_START)[0]
    if not 32874 <= days <= 73051:  # 1990-01-01 to 2100-01-01
        return None
    return OLE_ZERO + timedelta(days=days)
