"""Superset's configuration for Pulse Analytics: loaded by Superset itself through SUPERSET_CONFIG_PATH.

`pulse superset start` sets SUPERSET_CONFIG_PATH to this file and PULSE_ANALYTICS_STATE_DIR to the state folder;
everything Superset writes (metadata database, secret key, logs) lives in its subfolder superset/. Nothing here is a
secret: the SECRET_KEY is generated on first start into <state>/superset/secret_key and read from there.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from superset.config import THEME_DARK, THEME_DEFAULT  # Superset's own, defined before it reads this file
from superset.utils.log import DBEventLogger

from pulse_analytics import warehouse
from pulse_analytics.superset import server

SUPERSET_DIR = server.state().folder
SECRET_KEY_FILE = SUPERSET_DIR / "secret_key"
if not SECRET_KEY_FILE.exists():
    raise RuntimeError(f"{SECRET_KEY_FILE} does not exist: start Superset with `pulse superset start`, which makes it.")

SECRET_KEY = SECRET_KEY_FILE.read_text().strip()
DATA_DIR = str(SUPERSET_DIR)
# check_same_thread=false as in Superset's own default: Superset's Trino engine runs each SQL Lab statement in a
# thread of its own and, when Trino refuses it, reads the Query's database in that thread through the request's
# session. Without it the user sees SQLite's "objects created in a thread can only be used in that same thread", or
# "Failed at getting query", instead of Trino's error.
SQLALCHEMY_DATABASE_URI = f"sqlite:///{SUPERSET_DIR / 'superset.db'}?check_same_thread=false"
APP_NAME = "Pulse Analytics"

# Logins are throttled per client address: a password cannot be guessed at speed. Superset turns its rate limiter on
# only with SUPERSET_ENV=production; here it is on, for the login forms and API only (no application-wide limit, which
# would throttle a dashboard's burst of chart requests). The counts live in each worker's memory (no Redis in this
# bundle), so the limit holds per worker.
RATELIMIT_ENABLED = True
RATELIMIT_APPLICATION = None
AUTH_RATE_LIMITED = True
AUTH_RATE_LIMIT = "20 per minute"
RATELIMIT_STORAGE_URI = "memory://"

FEATURE_FLAGS = {
    # The dashboards are small: render every chart at once, so a screenshot or a smoke test sees the whole page.
    "DASHBOARD_VIRTUALIZATION": False,
}

# Charts draw at once: ECharts animates a chart's first draw (about 0.7 s) and every redraw, which on a dashboard of
# eight charts keeps the browser busy well after the data has arrived (bench/README.md). Set on Superset's own default
# and dark themes, so a theme an admin picks in the UI may turn it back on.
NO_CHART_ANIMATION = {"echartsOptionsOverrides": {"animation": False}}
THEME_DEFAULT = {**THEME_DEFAULT, **NO_CHART_ANIMATION}
THEME_DARK = {**THEME_DARK, **NO_CHART_ANIMATION} if THEME_DARK else None


class EventLoggerWithoutChartData(DBEventLogger):
    """Superset's event log in its metadata database, less the events of the chart-data API itself.

    Superset writes three rows for every chart-data request (the request, its data and its JSON), committed before the
    answer leaves: with the SQLite metadata database that is 40 % of a cached chart request (profiled, bench/README.md),
    and a dashboard sends eight to fourteen of them at once. The browser's own events (action "log": dashboards and
    charts loaded, with their timings, which Superset's recent activity reads) and every other API call are kept."""

    def log_with_context(self, action: str, *args: Any, **kwargs: Any) -> None:
        from flask import has_request_context, request

        if has_request_context() and request.path == "/api/v1/chart/data":
            return
        super().log_with_context(action, *args, **kwargs)


EVENT_LOGGER = EventLoggerWithoutChartData()

# How long a chart waits for its data before showing a timeout (Superset's default is 60 s). On the native Trino stack
# of a 2-core machine, a dashboard's 6 charts and its filters' queries run at once, and each needs Trino's planning and
# scheduling of the nested views (part_statistics_cycle: 13 scans, 24 stages, 0.15 s of CPU): 4 s alone, 25-30 s
# each when 6 run together on a loaded machine, where Recipe comparison's charts hit 60 s. gunicorn's --timeout
# (120 s) does not cut a gthread worker's long request; this lets the chart wait as long.
SUPERSET_WEBSERVER_TIMEOUT = 120


def answer_anonymous_event_logs_quietly(app: Any) -> None:
    """Superset's pages post their usage events to /superset/log/, the login page too, as its form is submitted. Sent
    without a login, that request is refused with a redirect whose response writes the session cookie (an "access
    denied" message): when it arrives after the login's own response, it replaces the new login's cookie and the
    user is logged out at once. Answered here, before any other hook, with 204 and no cookie: there is nothing to
    log for a visitor who is not logged in. The compose stack's Superset has the same hook (a test keeps them equal)."""
    from flask import request, session

    def answer_quietly() -> tuple[str, int] | None:
        if request.path == "/superset/log/" and "_user_id" not in session:
            return "", 204
        return None

    app.before_request_funcs.setdefault(None, []).insert(0, answer_quietly)


def throttle_api_logins(app: Any) -> None:
    """Superset throttles its login form (AUTH_RATE_LIMIT) but not the login of its REST API, which takes the same
    passwords: the same limit is put on it here."""
    endpoint = "SecurityApi.login"
    limiter = app.appbuilder.sm.limiter
    limit = app.config["AUTH_RATE_LIMIT"]
    app.view_functions[endpoint] = limiter.limit(limit, methods=["POST"])(app.view_functions[endpoint])


def adapt_app(app: Any) -> None:
    answer_anonymous_event_logs_quietly(app)
    throttle_api_logins(app)


FLASK_APP_MUTATOR = adapt_app

# Chart results are kept in superset/cache (one folder for all the workers) for PULSE_ANALYTICS_SUPERSET_CACHE_SECONDS
# (a day by default; 0: none kept, every chart queries the warehouse), each filed under the version of the data it was
# computed from (data_cache.py: the DuckDB warehouse's files, or Trino's table snapshots, metadata checksums and views):
# a write, by `pulse` or anything else, makes every kept result unreachable, so a chart never shows data older than
# the warehouse. `pulse seed`, `import`, `load-trino` and `build` also empty the folder, and warm it again when this
# Superset runs (`pulse superset warm`). Measured in bench/README.md.
CACHE_SECONDS = server.cache_seconds()
if CACHE_SECONDS:
    DATA_CACHE_CONFIG = {
        "CACHE_TYPE": "pulse_analytics.superset.data_cache.WarehouseVersionedCache",
        "CACHE_DIR": str(server.state().cache),
        "CACHE_DEFAULT_TIMEOUT": CACHE_SECONDS,
        "CACHE_THRESHOLD": 1000,  # results of earlier versions are pruned, oldest first, past this many
    }
    CACHE_DEFAULT_TIMEOUT = CACHE_SECONDS  # what Superset files a result for when no chart or dataset says otherwise
else:
    DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}

# Minute grains, so a chart an analyst buckets by them in Explore runs on either warehouse (the dashboards' time
# charts plot every record and use none). DuckDB's engine has none of them. Trino's has
# 5, 10 and 15 minutes but not 30 (its half-hour expression, PT0.5H, is not among the grains Superset 6.1 offers, so
# a chart asking for it is refused): added as Superset writes Trino's 15 minutes. The compose stack's Superset has the
# same Trino addon (compose/superset/superset_config.py; a test keeps them equal); any Superset on Trino needs it.
TIME_GRAIN_ADDON_EXPRESSIONS = {
    "duckdb": {
        grain: f"time_bucket(INTERVAL '{minutes} minutes', {{col}})"
        for grain, minutes in (("PT5M", 5), ("PT10M", 10), ("PT15M", 15), ("PT30M", 30))
    },
    "trino": {
        "PT30M": "date_trunc('minute', CAST({col} AS TIMESTAMP)) "
        "- interval '1' minute * (minute(CAST({col} AS TIMESTAMP)) % 30)",
    },
}


INSTANCE_SETUP = threading.Lock()


@event.listens_for(Engine, "connect")
def attach_source_catalogs(dbapi_connection: Any, _connection_record: Any) -> None:
    """On every new DuckDB connection, attach the telemetry and metadata files beside the analytics file (read-only),
    then lock the connection down: it reads the three catalogs and nothing else on the host (no file reads or writes,
    no ATTACH, no extensions, settings locked), whatever SQL Lab sends.

    The dbt views read the source catalogs by name, and DuckDB forgets attachments when a connection closes. Superset
    opens a new connection per query (NullPool), so the analytics file is never held open between queries. Connections
    to other engines are left alone.

    DuckDB shares one database instance between the connections a process has open on the same file at once (a
    dashboard's charts, in one worker's threads), and attachments and settings belong to the instance: a connection
    that finds the instance already locked down has everything already, and the lock makes sure only one thread sets
    up a new instance.
    """
    if type(dbapi_connection).__module__.split(".")[0] != "duckdb_engine":
        return
    row = dbapi_connection.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    if not row or not row[0]:
        return  # an in-memory database: nothing to attach beside it
    with INSTANCE_SETUP:
        if dbapi_connection.execute("select current_setting('lock_configuration')").fetchone()[0]:
            return
        for statement in warehouse.reader_statements(Path(row[0]).parent):
            dbapi_connection.execute(statement)


@event.listens_for(Engine, "connect")
def write_ahead_log_for_the_metadata_database(dbapi_connection: Any, _connection_record: Any) -> None:
    """Superset's SQLite metadata database (superset.db) in write-ahead-log mode, synced at checkpoints only:
    its readers (every request reads users, permissions, charts) no longer wait for a writer (the event log, filter
    states, SQL Lab's queries), and a commit no longer waits for the disk. A crash of the machine may lose the last
    commits of Superset's own bookkeeping, never the database file: SQLite's documented trade-off for synchronous=NORMAL
    in WAL mode. Other databases are left alone."""
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    files = [row[2] for row in dbapi_connection.execute("pragma database_list").fetchall() if row[1] == "main"]
    if files != [str(SUPERSET_DIR / "superset.db")]:
        return
    dbapi_connection.execute("pragma journal_mode = wal")
    dbapi_connection.execute("pragma synchronous = normal")


def refuse_attach_and_detach(sql: str, database: Any = None, **_kwargs: Any) -> str:
    """SQL Lab's statements on the DuckDB warehouse may not ATTACH or DETACH a database: the connection's lockdown
    already stops ATTACH of any file, and DETACH would only drop a catalog from a connection used for one query, but
    neither has a place in reading the warehouse, so both are refused by name. Other SQL passes unchanged."""
    if database is None or database.backend != "duckdb":
        return sql
    import sqlglot
    from sqlglot import exp

    try:
        statements = sqlglot.parse(sql, read="duckdb")
    except sqlglot.errors.ParseError:
        return sql  # DuckDB itself answers with the syntax error
    for statement in statements:
        if isinstance(statement, (exp.Attach, exp.Detach)):
            keyword = type(statement).__name__.upper()
            raise ValueError(
                f"{keyword} is not allowed on the Pulse warehouse: it reads the telemetry, metadata and "
                "analytics catalogs only."
            )
    return sql


SQL_QUERY_MUTATOR = refuse_attach_and_detach
