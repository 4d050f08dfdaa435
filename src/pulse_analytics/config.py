"""Every setting of the bundle: one environment variable each, with its default, in one place.

The names are those of the original pulse-analytics dbt job manifest, so a deployment can switch without renaming.
`pulse build` passes the resolved values to dbt (dbt/profiles.yml and dbt/models/sources/_sources.yml read them with
`env_var`), so dbt, Python and the docs all see the same defaults.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pulse_analytics import project

PREFIX = "PULSE_ANALYTICS_"


@dataclass(frozen=True)
class Variable:
    name: str  # without the PULSE_ANALYTICS_ prefix
    default: str
    description: str

    @property
    def env_name(self) -> str:
        return PREFIX + self.name


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "PROJECT_DIR",
        "",
        "Folder of the project `pulse` works on (`pulse --project-dir`; empty: the current "
        "folder or the nearest above it holding pulse_project.yml). Relative folders below are in the project.",
    ),
    Variable("WAREHOUSE_DIR", "./warehouse", "Folder of the embedded DuckDB warehouse (one .duckdb file per catalog)."),
    Variable("BDF_DIR", "", "Folder of Battery Data Format files `pulse demo` imports as real cells (empty: none)."),
    Variable("TELEMETRY_CATALOG", "telemetry", "Catalog of the pulse-telemetry tables (DuckDB: file stem)."),
    Variable("TELEMETRY_SCHEMA", "pulse", "Schema of the pulse-telemetry tables."),
    Variable("TELEMETRY_TABLE", "telemetry", "Table of individual telemetry records."),
    Variable("STATISTICS_STEP_TABLE", "statistics_step", "Table of per-step statistics."),
    Variable("STATISTICS_CYCLE_TABLE", "statistics_cycle", "Table of per-cycle statistics."),
    Variable("METADATA_CATALOG", "metadata", "Catalog of the lab metadata tables (DuckDB: file stem)."),
    Variable("METADATA_SCHEMA", "pulse", "Schema of the lab metadata tables."),
    Variable("DEVICE_METADATA_TABLE", "device_metadata", "One row per device (cycler channel), key device_id."),
    Variable("RECIPE_METADATA_TABLE", "recipe_metadata", "One row per recipe version, key recipe_id."),
    Variable("DEVICE_TEST_RECIPE_TABLE", "device_test_recipe", "Recipe of each test: device_id, test_id, recipe_id."),
    Variable("PART_METADATA_TABLE", "part_metadata", "One row per part (cell), key part_id."),
    Variable("DEVICE_TEST_PART_TABLE", "device_test_part", "Which part a test measured: device_id, test_id, part_id."),
    Variable("TARGET_CATALOG", "analytics", "Catalog dbt writes its views to (DuckDB: file stem)."),
    Variable("TARGET_SCHEMA", "pulse", "Schema dbt writes its views to."),
    Variable("TRINO_HOST", "localhost", "Trino coordinator host (target trino)."),
    Variable("TRINO_PORT", "8080", "Trino coordinator port (8080 for http, usually 8443 for https)."),
    Variable("TRINO_USER", "dbt", "Trino user dbt connects as; it must be able to write the target catalog."),
    Variable("TRINO_PASSWORD", "", "Trino password of TRINO_USER, with TRINO_AUTH_METHOD=ldap (never commit it)."),
    Variable(
        "TRINO_PASSWORDS_FILE",
        "",
        "JSON file of Trino users' passwords ({user: password}, mode 0600), read when TRINO_PASSWORD is empty: the "
        "bundle's stacks write one (the native stack's is printed by `pulse trino start`).",
    ),
    Variable(
        "TRINO_AUTH_METHOD",
        "none",
        "dbt-trino auth method: none (no password) or ldap (a password over https, checked by any of Trino's "
        "password authenticators: the bundle's stacks use its file authenticator).",
    ),
    Variable("TRINO_HTTP_SCHEME", "http", "http (no authentication) or https (the bundle's stacks, production)."),
    Variable(
        "TRINO_CA_FILE",
        "",
        "PEM file of the CA that signed Trino's certificate; clients verify Trino with it (empty: the public CAs "
        "of certifi, as requests does). The bundle's stacks make their own CA (state/trino/security/ca.pem).",
    ),
    Variable("TRINO_THREADS", "4", "Number of models dbt builds at once on Trino."),
    Variable("TRINO_HOME", "./.cache/trino", "Folder `make trino` installs the pinned Trino server into (gitignored)."),
    Variable("TRINO_JAVA_HOME", "", "JDK of the native Trino (empty: JAVA_HOME, else the newest in /usr/lib/jvm)."),
    Variable(
        "TRINO_WORKERS",
        "1",
        "Workers of the native Trino (`pulse trino start`): a coordinator that only schedules and this many worker "
        "processes (0: one process that does both).",
    ),
    Variable("TRINO_MEMORY", "4G", "Heap of each native Trino worker (or of the one process), a JVM size such as 4G."),
    Variable("TRINO_COORDINATOR_MEMORY", "2G", "Heap of the native Trino's coordinator when it has workers."),
    Variable(
        "TRINO_LOCAL_ROOT",
        "",
        "Folder Trino's Iceberg catalogs call local:// (their local.location), as this machine sees it: where "
        "`pulse load-trino` writes Parquet for them (the native stack's is printed by `pulse trino start`).",
    ),
    Variable("S3_ENDPOINT", "", "Object store of Trino's Iceberg catalogs (s3:// locations), e.g. http://minio:9000."),
    Variable("S3_REGION", "us-east-1", "Region of the object store."),
    Variable("S3_ACCESS_KEY", "", "Access key `pulse load-trino` writes Parquet into the object store with."),
    Variable("S3_SECRET_KEY", "", "Secret key of that access key (never commit it)."),
    Variable(
        "STATE_DIR",
        "./state",
        "Folder of what the bundle runs, one subfolder per service: superset/ (metadata, secret key, logs), trino/ "
        "(the native stack) (gitignored).",
    ),
    Variable("SUPERSET_PORT", "8088", "Port the local Superset listens on (http://localhost:<port>)."),
    Variable(
        "SUPERSET_CACHE_SECONDS",
        "86400",
        "How long the local Superset keeps a chart result (DuckDB or Trino); never past a write (0: none kept).",
    ),
    Variable("SUPERSET_ADMIN_USER", "admin", "Superset admin, created on first start; `pulse sync` logs in as it."),
    Variable("SUPERSET_ADMIN_PASSWORD", "admin", "Password of the Superset admin (demo default: set your own)."),
    Variable("SUPERSET_VIEWER_USER", "viewer", "Read-only user the local Superset creates (role Pulse Viewer)."),
    Variable("SUPERSET_VIEWER_PASSWORD", "viewer", "Password of the read-only user (demo default: set your own)."),
)

_BY_NAME = {variable.name: variable for variable in VARIABLES}


def get(name: str) -> str:
    """The value of PULSE_ANALYTICS_<name>, or its default when unset or empty."""
    variable = _BY_NAME[name]
    value = os.environ.get(variable.env_name, "")
    return value if value != "" else variable.default


def resolved_environment() -> dict[str, str]:
    """All PULSE_ANALYTICS_* variables with their values in force (defaults filled in), for child processes."""
    env = {variable.env_name: get(variable.name) for variable in VARIABLES}
    env[PREFIX + "WAREHOUSE_DIR"] = str(warehouse_dir())
    env[PREFIX + "STATE_DIR"] = str(state_dir())
    env[PREFIX + "TRINO_HOME"] = str(folder("TRINO_HOME"))
    env[PREFIX + "TRINO_CA_FILE"] = trino_ca_file()
    if get("TRINO_CA_FILE"):
        # dbt-trino and Superset's Trino driver verify with requests, which lets REQUESTS_CA_BUNDLE override the
        # CA they are given (psf/requests#3829): the CA file goes there too (the stacks' file holds certifi's CAs).
        env["REQUESTS_CA_BUNDLE"] = env[PREFIX + "TRINO_CA_FILE"]
    env[project.ENV_NAME] = str(project.root())
    return env


def with_trino_ca(env: dict[str, str]) -> dict[str, str]:
    """`env` with REQUESTS_CA_BUNDLE set to the Trino CA file it names, when it names one of its own (not certifi's
    default): dbt-trino and the trino client verify with requests, which prefers REQUESTS_CA_BUNDLE (often set by the
    machine to its system bundle) to the CA a client is given. For an environment whose CA setting was changed after
    it was resolved, e.g. pointed at another Trino stack."""
    given = env.get(PREFIX + "TRINO_CA_FILE", "")
    if not given:
        return env
    import certifi

    return env if given == certifi.where() else {**env, "REQUESTS_CA_BUNDLE": given}


def with_trino_password(env: dict[str, str]) -> dict[str, str]:
    """`env` with PULSE_ANALYTICS_TRINO_PASSWORD filled in for a child that reads only that variable (dbt's profile,
    the database template preset-cli renders): the password of the Trino user `env` names. Only for such a child: an
    environment that later changes PULSE_ANALYTICS_TRINO_USER must not carry the first user's password."""
    with overridden({name: value for name, value in env.items() if name.startswith(PREFIX)}):
        if get("TRINO_AUTH_METHOD") != "ldap":
            return env
        return {**env, PREFIX + "TRINO_PASSWORD": trino_password()}


@contextlib.contextmanager
def overridden(settings: dict[str, str]) -> Iterator[None]:
    """Environment variables set to `settings` (PULSE_ANALYTICS_* names) for the duration of the block."""
    before = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def trino_ca_file() -> str:
    """The CA bundle Trino's certificate is verified with: PULSE_ANALYTICS_TRINO_CA_FILE, else certifi's public CAs
    (a path either way, so that no client is ever told not to verify)."""
    given = get("TRINO_CA_FILE")
    if given:
        return str(Path(given).expanduser().resolve())
    import certifi

    return certifi.where()


def trino_password() -> str:
    """The password of PULSE_ANALYTICS_TRINO_USER: PULSE_ANALYTICS_TRINO_PASSWORD, else its entry in
    PULSE_ANALYTICS_TRINO_PASSWORDS_FILE, else empty."""
    if get("TRINO_PASSWORD") or not get("TRINO_PASSWORDS_FILE"):
        return get("TRINO_PASSWORD")
    from pulse_analytics import trino_security

    return trino_security.read_passwords(Path(get("TRINO_PASSWORDS_FILE")).expanduser()).get(get("TRINO_USER"), "")


def folder(name: str) -> Path:
    """A folder setting (WAREHOUSE_DIR, STATE_DIR, TRINO_HOME): absolute as given, or relative to the project root."""
    value = Path(get(name)).expanduser()
    return value.resolve() if value.is_absolute() else (project.root() / value).resolve()


def warehouse_dir() -> Path:
    return folder("WAREHOUSE_DIR")


def state_dir() -> Path:
    return folder("STATE_DIR")


@dataclass(frozen=True)
class SourceTable:
    """One source table of the bundle, where it lives and which columns identify a row."""

    name: str  # the source view's name in dbt
    catalog: str
    schema: str
    table: str
    key: tuple[str, ...]

    @property
    def qualified(self) -> str:
        return f"{self.catalog}.{self.schema}.{self.table}"


def source_tables() -> list[SourceTable]:
    telemetry = (get("TELEMETRY_CATALOG"), get("TELEMETRY_SCHEMA"))
    metadata = (get("METADATA_CATALOG"), get("METADATA_SCHEMA"))
    return [
        SourceTable(
            "telemetry",
            *telemetry,
            get("TELEMETRY_TABLE"),
            ("device_id", "test_id", "cycle_number", "step_number", "record_number"),
        ),
        SourceTable(
            "statistics_step",
            *telemetry,
            get("STATISTICS_STEP_TABLE"),
            ("device_id", "test_id", "cycle_number", "step_number"),
        ),
        SourceTable(
            "statistics_cycle", *telemetry, get("STATISTICS_CYCLE_TABLE"), ("device_id", "test_id", "cycle_number")
        ),
        SourceTable("device_metadata", *metadata, get("DEVICE_METADATA_TABLE"), ("device_id",)),
        SourceTable("recipe_metadata", *metadata, get("RECIPE_METADATA_TABLE"), ("recipe_id",)),
        SourceTable("device_test_recipe", *metadata, get("DEVICE_TEST_RECIPE_TABLE"), ("device_id", "test_id")),
        SourceTable("part_metadata", *metadata, get("PART_METADATA_TABLE"), ("part_id",)),
        SourceTable("device_test_part", *metadata, get("DEVICE_TEST_PART_TABLE"), ("device_id", "test_id")),
    ]
