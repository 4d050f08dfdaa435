"""Settings: one place for defaults, documented in the README, honoured by every reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulse_analytics import config

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
