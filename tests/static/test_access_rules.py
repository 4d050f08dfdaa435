"""Trino's access rules (trino_catalogs/rules.json) give each user exactly what the README promises.

The rules are evaluated here the way Trino's file-based system access control documents it: in each section the first
rule whose `user`, `catalog`, `schema` and `table` patterns all match (whole-string regular expressions, `.*` when
absent) decides; no matching rule denies. tests/e2e/test_trino_stack.py checks the same promises on a live Trino.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pulse_analytics import config

RULES = json.loads((Path(__file__).resolve().parents[2] / "trino_catalogs" / "rules.json").read_text())
FIELDS = {
    "catalogs": {"user", "role", "group", "catalog", "allow"},
    "schemas": {"user", "role", "group", "catalog", "schema", "owner"},
    "tables": {"user", "role", "group", "catalog", "schema", "table", "privileges", "columns", "filter",
               "filter_environment"},
    "queries": {"user", "role", "group", "queryOwner", "allow"},
}  # fmt: skip
WRITE = {"INSERT", "DELETE", "UPDATE", "OWNERSHIP"}
TELEMETRY, METADATA, ANALYTICS = (config.get(name) for name in ("TELEMETRY_CATALOG", "METADATA_CATALOG",
                                                                   "TARGET_CATALOG"))
SOURCES = (TELEMETRY, METADATA, "lab_sheets")  # a source catalog added later needs no new rule


def first_match(section: str, **subject: str) -> dict | None:
    for rule in RULES[section]:
        if all(re.fullmatch(rule.get(field, ".*"), value) for field, value in subject.items()):
            return rule
    return None


def catalog_access(user: str, catalog: str) -> str:
    rule = first_match("catalogs", user=user, catalog=catalog)
    return rule["allow"] if rule else "none"


def table_privileges(user: str, catalog: str, table: str = "any_table") -> set[str]:
    if catalog_access(user, catalog) == "none":
        return set()
    rule = first_match("tables", user=user, catalog=catalog, schema="pulse", table=table)
    privileges = set(rule["privileges"]) if rule else set()
    return privileges - WRITE if catalog_access(user, catalog) == "read-only" else privileges


def schema_owner(user: str, catalog: str) -> bool:
    rule = first_match("schemas", user=user, catalog=catalog, schema="pulse")
    return bool(rule and rule["owner"]) and catalog_access(user, catalog) == "all"


@pytest.mark.parametrize("section", list(FIELDS))
def test_rules_use_documented_fields_only(section: str) -> None:
    for rule in RULES[section]:
        assert set(rule) <= FIELDS[section], f"{section}: unknown fields {set(rule) - FIELDS[section]} in {rule}"
    assert set(RULES) <= set(FIELDS)


def test_dbt_reads_sources_and_writes_only_analytics() -> None:
    for catalog in SOURCES:
        assert table_privileges("dbt", catalog) == {"SELECT", "GRANT_SELECT"}, catalog
        assert not schema_owner("dbt", catalog), catalog
    assert {"SELECT", "OWNERSHIP", "GRANT_SELECT"} <= table_privileges("dbt", ANALYTICS)
    assert schema_owner("dbt", ANALYTICS)


def test_dbt_can_own_definer_views_over_the_sources() -> None:
    # Trino lets another user read through a SECURITY DEFINER view only if the view's owner has catalog access `all`
    # and GRANT_SELECT on every table the view reads (FileBasedSystemAccessControl.checkCanCreateViewWithSelect...).
    for catalog in (*SOURCES, ANALYTICS):
        assert catalog_access("dbt", catalog) == "all", catalog
        assert "GRANT_SELECT" in table_privileges("dbt", catalog), catalog


def test_superset_reads_only_analytics() -> None:
    assert catalog_access("superset", ANALYTICS) == "read-only"
    assert table_privileges("superset", ANALYTICS) == {"SELECT"}
    assert not schema_owner("superset", ANALYTICS)
    for catalog in SOURCES:
        assert catalog_access("superset", catalog) == "none", catalog


def test_loader_writes_sources_but_not_analytics() -> None:
    for catalog in (TELEMETRY, METADATA):
        assert table_privileges("loader", catalog) >= WRITE
        assert schema_owner("loader", catalog)
    assert catalog_access("loader", ANALYTICS) == "none"


def test_anyone_else_gets_nothing_but_the_system_catalog() -> None:
    for catalog in (*SOURCES, ANALYTICS):
        assert catalog_access("guest", catalog) == "none", catalog
    assert catalog_access("guest", "system") == "read-only"
    assert table_privileges("guest", "system") == {"SELECT"}


def test_only_admin_sees_or_kills_other_users_queries() -> None:
    assert set(first_match("queries", user="admin")["allow"]) == {"execute", "view", "kill"}
    for user in ("dbt", "superset", "loader", "guest"):
        assert first_match("queries", user=user)["allow"] == ["execute"], user
