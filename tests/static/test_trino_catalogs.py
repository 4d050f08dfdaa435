"""Every Trino catalog file parses and uses only properties Trino 476 knows, with values it accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pulse_analytics import config
from tests.static import trino_properties as known

REPO = Path(__file__).resolve().parents[2]
CATALOG_DIR = REPO / "trino_catalogs" / "catalog"
EXAMPLES_DIR = REPO / "trino_catalogs" / "examples"
CATALOG_FILES = sorted(CATALOG_DIR.glob("*.properties")) + sorted(EXAMPLES_DIR.glob("*.properties"))
ENV_REFERENCE = re.compile(r"\$\{ENV:([A-Za-z][A-Za-z0-9_-]*)\}")


def parse_properties(path: Path) -> dict[str, str]:
    """A Java .properties file as Trino reads it (key=value lines, # or ! comments); strict about what we write."""
    properties: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        if line.endswith("\\"):
            raise AssertionError(f"{path.name}:{number}: line continuations are not used here: {raw!r}")
        key, separator, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not separator or not key or re.search(r"\s", key):
            raise AssertionError(f"{path.name}:{number}: not a `key=value` line: {raw!r}")
        if key in properties:
            raise AssertionError(f"{path.name}:{number}: {key} is set twice")
        properties[key] = value
    return properties


def test_the_three_catalogs_exist_under_their_default_names() -> None:
    names = {path.stem for path in CATALOG_DIR.glob("*.properties")}
    assert names == {config.get("TELEMETRY_CATALOG"), config.get("METADATA_CATALOG"), config.get("TARGET_CATALOG")}


@pytest.mark.parametrize("path", CATALOG_FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_catalog_file_uses_known_properties(path: Path) -> None:
    properties = parse_properties(path)
    connector = properties.get("connector.name")
    assert connector in known.KNOWN, f"{path.name}: connector.name {connector!r} is not one of {sorted(known.KNOWN)}"
    unknown = set(properties) - known.KNOWN[connector]
    version = known.TRINO_VERSION
    assert not unknown, f"{path.name}: properties Trino {version}'s {connector} connector does not know: {unknown}"
    missing = known.REQUIRED[connector] - set(properties)
    if connector == "iceberg":
        missing |= known.REQUIRED_ICEBERG_CATALOG.get(properties["iceberg.catalog.type"], set()) - set(properties)
    assert not missing, f"{path.name}: required properties missing: {missing}"
    for key, value in properties.items():
        if key in known.CHOICES:
            assert value in known.CHOICES[key], f"{path.name}: {key}={value} is not one of {known.CHOICES[key]}"
        if key in known.BOOLEANS:
            assert value in ("true", "false"), f"{path.name}: {key}={value} is not true or false"


@pytest.mark.parametrize("path", CATALOG_FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_secrets_come_from_the_environment(path: Path) -> None:
    for key, value in parse_properties(path).items():
        if "password" in key or "secret" in key or key.endswith("credentials-key"):
            assert ENV_REFERENCE.fullmatch(value), f"{path.name}: {key} must be ${{ENV:...}}, not a literal value"


def test_analytics_catalog_keeps_views() -> None:
    properties = parse_properties(CATALOG_DIR / f"{config.get('TARGET_CATALOG')}.properties")
    assert properties["connector.name"] == "iceberg"
    assert properties["iceberg.catalog.type"] in known.ICEBERG_CATALOGS_WITH_VIEWS
    if properties["iceberg.catalog.type"] == "jdbc":
        assert properties.get("iceberg.jdbc-catalog.schema-version", "V1") == "V1"


def test_iceberg_catalogs_sharing_a_database_have_distinct_names() -> None:
    iceberg = [parse_properties(path) for path in CATALOG_DIR.glob("*.properties")]
    names = [p["iceberg.jdbc-catalog.catalog-name"] for p in iceberg if p.get("iceberg.catalog.type") == "jdbc"]
    assert len(names) == len(set(names)) >= 2


def test_access_control_file_reads_the_rules_where_the_environment_says() -> None:
    # each stack writes its rules (trino_catalogs/rules.json and the team rules) beside its passwords (teams.py),
    # and Trino re-reads them (an edit of access/teams.yaml without a restart: tests/e2e/test_trino_teams.py).
    properties = parse_properties(REPO / "trino_catalogs" / "access-control.properties")
    assert properties == {
        "access-control.name": "file",
        "security.config-file": "${ENV:TRINO_RULES_FILE}",
        "security.refresh-period": "5s",
    }


def test_environment_references_are_named_like_variables() -> None:
    for path in CATALOG_FILES:
        text = path.read_text()
        assert text.count("${") == len(ENV_REFERENCE.findall(text)), f"{path.name}: malformed ${{ENV:...}} reference"
