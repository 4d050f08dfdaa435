"""Superset's data cache for the embedded warehouse: chart results kept on disk, each under the version of the data it
was computed from, so no chart ever shows a result older than the warehouse.

The version is the modification time and size of every DuckDB file of the warehouse (the three catalogs and their
write-ahead logs): any committed write, by `pulse` or any other process, changes at least one of them, so a result kept
before it is never found again. Reads change nothing (Superset opens the files read-only). A result is filed under
the version seen when its query was looked up (before the query ran), so a write landing while the query runs files
the result under the old version, where it is never found either.

Configured as Superset's DATA_CACHE_CONFIG (superset_config.py). Only the DuckDB warehouse has files to version: the
Trino database is never cached (its cache timeout is -1 in datasets/databases), since its writers are out of sight.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from flask_caching.backends.filesystemcache import FileSystemCache

from pulse_analytics import config, warehouse


def data_version(warehouse_dir: Path) -> str:
    """A short fingerprint of the warehouse's files: changes with every write to any catalog."""
    parts = []
    for catalog in (*warehouse.source_catalogs(), config.get("TARGET_CATALOG")):
        path = warehouse.catalog_path(catalog, warehouse_dir)
        for file in (path, path.with_name(path.name + ".wal")):
            try:
                status = file.stat()
            except FileNotFoundError:
                parts.append(f"{file.name}:-")
                continue
            parts.append(f"{file.name}:{status.st_mtime_ns}:{status.st_size}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


class WarehouseVersionedCache(FileSystemCache):
    """A FileSystemCache whose keys carry the warehouse's data version (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.warehouse_dir = config.warehouse_dir()  # Superset runs with the bundle's settings (server.py)
        self.looked_up = threading.local()  # per request thread: key -> version seen at its lookup
        super().__init__(*args, **kwargs)

    def versioned(self, key: str, lookup: bool = False) -> str:
        if key == self._fs_count_file:  # the cache's own count of its files, not a result
            return key
        seen: dict[str, str] = self.looked_up.__dict__.setdefault("versions", {})
        if lookup or key not in seen:
            seen[key] = data_version(self.warehouse_dir)
        return f"{seen[key]}:{key}"

    def get(self, key: str) -> Any:
        found = super().get(self.versioned(key, lookup=True))
        if found is not None:  # a hit is not followed by a set: its version is not needed any more
            self.looked_up.__dict__.get("versions", {}).pop(key, None)
        return found

    def has(self, key: str) -> bool:
        return super().has(self.versioned(key, lookup=True))

    def set(self, key: str, value: Any, timeout: int | None = None, mgmt_element: bool = False) -> bool:
        stored = super().set(self.versioned(key), value, timeout, mgmt_element)
        self.looked_up.__dict__.get("versions", {}).pop(key, None)
        return stored

    def add(self, key: str, value: Any, timeout: int | None = None) -> bool:
        return super().add(self.versioned(key), value, timeout)

    def delete(self, key: str, mgmt_element: bool = False) -> bool:
        return super().delete(self.versioned(key, lookup=True), mgmt_element)
