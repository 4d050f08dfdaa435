"""Settings: one place for defaults, documented in the README, honoured by every reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulse_analytics import config, dbt

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.mark.parametrize("variable", config.VARIABLES, ids=lambda variable: variable.env_name)
def test_every_variable_is_documented_with_its_default(variable: config.Variable) -> None:
    default = f"`{variable.default}`" if variable.default else "(empty)"
    assert f"| `{variable.env_name}` | {default} |" in README


def test_empty_value_means_default_and_a_set_value_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_ANALYTICS_TELEMETRY_TABLE", "")
    assert config.get("TELEMETRY_TABLE") == "telemetry"
    monkeypatch.setenv("PULSE_ANALYTICS_TELEMETRY_TABLE", "cycler_records")
    assert config.get("TELEMETRY_TABLE") == "cycler_records"
    assert config.resolved_environment()["PULSE_ANALYTICS_TELEMETRY_TABLE"] == "cycler_records"
    telemetry = next(table for table in config.source_tables() if table.name == "telemetry")
    assert telemetry.qualified == "telemetry.pulse.cycler_records"


def test_dbt_verifies_trino_with_the_ca_it_is_given_over_the_machines_bundle(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """requests (dbt-trino's and the trino client's) prefers REQUESTS_CA_BUNDLE to the CA a client is given; a machine
    often sets it to its system bundle. A Trino CA given to dbt afterwards (the benchmark's own stack) must win."""
    ca_file = tmp_path / "trino-ca.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.delenv(config.PREFIX + "TRINO_CA_FILE", raising=False)
    env = dbt.dbt_environment({config.PREFIX + "TRINO_CA_FILE": str(ca_file)})
    assert env["REQUESTS_CA_BUNDLE"] == str(ca_file)
    assert dbt.dbt_environment()["REQUESTS_CA_BUNDLE"] == "/etc/ssl/certs/ca-certificates.crt"  # none given: kept
