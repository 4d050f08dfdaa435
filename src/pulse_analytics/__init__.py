"""Pulse Analytics: battery-test analytics over telemetry and lab metadata."""
