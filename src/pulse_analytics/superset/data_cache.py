"""Superset's data cache: chart results kept on disk, each under the version of the data it was computed from, so no
chart ever shows a result older than the data it reads.

The version depends on where the bundle's database (datasets/databases, "Pulse warehouse") points:
  - the embedded DuckDB warehouse: the modification time and size of every DuckDB file of it (the three catalogs and
    their write-ahead logs): any committed write, by `pulse` or any other process, changes at least one of them.
    Reads change nothing (Superset opens the files read-only).
  - Trino: the rows of the view source_versions that dbt builds beside the marts (dbt/models/utilities), read through
    the database's own connection: each telemetry table's current Iceberg snapshot, each metadata table's row count
    and checksum, and the id of the build that made the views. A commit to any table (by `pulse` or a lab's own
    producer), an edited metadata row or a new build changes them. Where a version cannot be had (a source that is
    not Iceberg, the view missing, Trino not answering), nothing is kept or served from the cache.
A result is filed under the version seen when its query was looked up (before the query ran), so a write landing
while the query runs files the result under the old version, where it is never found again.

Configured as Superset's DATA_CACHE_CONFIG (superset_config.py).
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from flask_caching.backends.filesystemcache import FileSystemCache

from pulse_analytics import config, warehouse
from pulse_analytics.superset import assets

VERSIONS_VIEW = "source_versions"


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


def trino_version(connection: Any) -> str | None:
    """The version of what the Trino database's views read (source_versions), or None when it cannot be had."""
    view = f"{config.get('TARGET_CATALOG')}.{config.get('TARGET_SCHEMA')}.{VERSIONS_VIEW}"
    try:
        cursor = connection.cursor()
        cursor.execute(f"select source_table, version from {view} order by source_table")
        rows = cursor.fetchall()
    except Exception:  # no view (not built yet), Trino down: no version, so nothing is cached
        return None
    if not rows or any(version is None for _, version in rows):
        return None
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


class TrinoConnection:
    """A DB-API connection to Trino with the Superset database's own settings (user, password, TLS), kept by the
    process: the version is asked once at a time per process (SharedLookup), and a connection made through Superset's
    engine for each lookup cost three times the query (about 0.9 s against 0.3 s)."""

    def __init__(self) -> None:
        self.settings: tuple[str, str] | None = None
        self.connection: Any = None

    def of(self, database: Any) -> Any:
        settings = (database.sqlalchemy_uri_decrypted, database.extra or "")
        if settings != self.settings:
            self.connection, self.settings = self.connect(database), settings
        return self.connection

    @staticmethod
    def connect(database: Any) -> Any:
        import trino
        from sqlalchemy.engine.url import make_url

        url = make_url(database.sqlalchemy_uri_decrypted)
        connect_args = database.get_extra().get("engine_params", {}).get("connect_args", {})
        from pulse_analytics import trino_connection

        auth = trino.auth.BasicAuthentication(url.username, url.password) if url.password else None
        verify = connect_args.get("verify", True)
        return trino.dbapi.connect(
            host=url.host,
            port=url.port or 8080,
            user=url.username,
            auth=auth,
            http_scheme=connect_args.get("http_scheme", "http"),
            **({"http_session": trino_connection.verifying_session(verify)} if isinstance(verify, str) else {}),
        )


TRINO_CONNECTION = TrinoConnection()


class SharedLookup:
    """One version query at a time per process, shared by every lookup that began before it started: a dashboard's
    burst of chart requests asks Trino twice at most (the query running when they arrive cannot serve them: it may
    have read the tables before a write they must see), not once per chart."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.started = 0  # how many queries have started, in order
        self.running = False
        self.done, self.answer = 0, None  # the newest finished query's number, and its version

    def version(self, ask: Any) -> str | None:
        """The version from a query that started after this call began (`ask()` runs it)."""
        with self.changed:
            wanted = self.started + 1  # any query numbered this or later started after now
            while self.done < wanted:
                if not self.running:
                    self.started += 1
                    number, self.running = self.started, True
                    break
                self.changed.wait()
            else:
                return self.answer
        answer = None
        try:
            answer = ask()
        finally:
            with self.changed:
                self.done, self.answer, self.running = number, answer, False
                self.changed.notify_all()
        return answer


TRINO_LOOKUPS = SharedLookup()


def pulse_database(uuid: str) -> Any:
    """The bundle's database as Superset holds it, or None before a sync."""
    from superset import db
    from superset.models.core import Database

    return db.session.query(Database).filter_by(uuid=uuid).one_or_none()


class WarehouseVersionedCache(FileSystemCache):
    """A FileSystemCache whose keys carry the data version (see the module's docstring); with no version, it keeps
    and serves nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.warehouse_dir = config.warehouse_dir()  # Superset runs with the bundle's settings (server.py)
        self.database_uuid = assets.load(assets.files("databases")[0])["uuid"]  # the one of datasets/databases
        self.looked_up = threading.local()  # per request thread: key -> version seen at its lookup
        super().__init__(*args, **kwargs)

    def current_version(self) -> str | None:
        database = pulse_database(self.database_uuid)
        if database is not None and database.backend == "trino":
            return TRINO_LOOKUPS.version(lambda: trino_version(TRINO_CONNECTION.of(database)))
        return data_version(self.warehouse_dir)

    def versioned(self, key: str, lookup: bool = False) -> str | None:
        if key == self._fs_count_file:  # the cache's own count of its files, not a result
            return key
        seen: dict[str, str | None] = self.looked_up.__dict__.setdefault("versions", {})
        if lookup or key not in seen:
            seen[key] = self.current_version()
        return None if seen[key] is None else f"{seen[key]}:{key}"

    def forget(self, key: str) -> None:
        self.looked_up.__dict__.get("versions", {}).pop(key, None)

    def get(self, key: str) -> Any:
        versioned = self.versioned(key, lookup=True)
        found = None if versioned is None else super().get(versioned)
        if found is not None:  # a hit is not followed by a set: its version is not needed any more
            self.forget(key)
        return found

    def has(self, key: str) -> bool:
        versioned = self.versioned(key, lookup=True)
        return versioned is not None and super().has(versioned)

    def set(self, key: str, value: Any, timeout: int | None = None, mgmt_element: bool = False) -> bool:
        versioned = self.versioned(key)
        self.forget(key)
        return versioned is not None and super().set(versioned, value, timeout, mgmt_element)

    def add(self, key: str, value: Any, timeout: int | None = None) -> bool:
        versioned = self.versioned(key)
        return versioned is not None and super().add(versioned, value, timeout)

    def delete(self, key: str, mgmt_element: bool = False) -> bool:
        versioned = self.versioned(key, lookup=True)
        return versioned is not None and super().delete(versioned, mgmt_element)
