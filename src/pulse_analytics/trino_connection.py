"""Connections to the Trino of the `trino` target, from the PULSE_ANALYTICS_TRINO_* settings (the ones dbt uses)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pulse_analytics import config
from pulse_analytics.errors import PulseError

AUTH_METHODS = ("none", "ldap")
HTTP_SCHEMES = ("http", "https")


def check_settings() -> None:
    """Fail with what to change when the Trino settings cannot work together."""
    method, scheme = config.get("TRINO_AUTH_METHOD"), config.get("TRINO_HTTP_SCHEME")
    if method not in AUTH_METHODS:
        raise PulseError(
            f"PULSE_ANALYTICS_TRINO_AUTH_METHOD is '{method}'; choose one of "
            f"{', '.join(AUTH_METHODS)} (none: no password, e.g. the compose stack; ldap: a password)."
        )
    if scheme not in HTTP_SCHEMES:
        raise PulseError(f"PULSE_ANALYTICS_TRINO_HTTP_SCHEME is '{scheme}'; choose http or https.")
    if method == "ldap" and scheme != "https":
        raise PulseError(
            "PULSE_ANALYTICS_TRINO_AUTH_METHOD=ldap sends a password, which Trino accepts over "
            "https only: set PULSE_ANALYTICS_TRINO_HTTP_SCHEME=https (and the https port, usually 8443)."
        )
    if method == "ldap" and not config.trino_password():
        where = config.get("TRINO_PASSWORDS_FILE")
        raise PulseError(
            f"PULSE_ANALYTICS_TRINO_AUTH_METHOD=ldap needs a password for Trino user {config.get('TRINO_USER')}: "
            "set PULSE_ANALYTICS_TRINO_PASSWORD"
            + (f" (the passwords file {where} has none for this user)." if where else ".")
        )
    ca_file = config.get("TRINO_CA_FILE")
    if ca_file and not Path(ca_file).expanduser().is_file():
        raise PulseError(
            f"PULSE_ANALYTICS_TRINO_CA_FILE is {ca_file}, which is not a file: give the PEM file of the CA that "
            "signed Trino's certificate (the native stack's is printed by `pulse trino start`)."
        )
    port = config.get("TRINO_PORT")
    if not port.isdigit():
        raise PulseError(f"PULSE_ANALYTICS_TRINO_PORT is '{port}'; it must be a port number, e.g. 8080.")


def address() -> str:
    return f"{config.get('TRINO_HTTP_SCHEME')}://{config.get('TRINO_HOST')}:{config.get('TRINO_PORT')}"


def connect(catalog: str | None = None, schema: str | None = None) -> Any:
    """A DB-API connection to Trino as PULSE_ANALYTICS_TRINO_USER (on https, Trino's certificate verified with
    PULSE_ANALYTICS_TRINO_CA_FILE)."""
    import trino  # installed with dbt-trino

    check_settings()
    auth = None
    if config.get("TRINO_AUTH_METHOD") == "ldap":
        auth = trino.auth.BasicAuthentication(config.get("TRINO_USER"), config.trino_password())
    return trino.dbapi.connect(
        host=config.get("TRINO_HOST"),
        port=int(config.get("TRINO_PORT")),
        user=config.get("TRINO_USER"),
        http_scheme=config.get("TRINO_HTTP_SCHEME"),
        auth=auth,
        catalog=catalog,
        schema=schema,
        http_session=verifying_session(config.trino_ca_file()),
    )


def verifying_session(ca_file: str) -> Any:
    """A requests session for the Trino client that verifies Trino's certificate with `ca_file`, whatever
    REQUESTS_CA_BUNDLE says: requests lets that variable override a session's own `verify` (psf/requests#3829), so a
    machine that sets it to the system's CAs would otherwise refuse the bundle's own CA."""
    import requests

    class VerifyingSession(requests.Session):
        def merge_environment_settings(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            settings = super().merge_environment_settings(*args, **kwargs)
            settings["verify"] = self.verify
            return settings

    session = VerifyingSession()
    session.verify = ca_file
    return session


def run(cursor: Any, sql: str) -> list[tuple]:
    """Run one statement to completion and return its rows; say what failed, and where, when it does."""
    import requests
    import trino

    try:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]
    except (requests.exceptions.ConnectionError, trino.exceptions.TrinoConnectionError) as error:
        if "CERTIFICATE_VERIFY_FAILED" in str(error):
            raise PulseError(
                f"Trino at {address()} has a certificate no CA in {config.trino_ca_file()} signed: set "
                "PULSE_ANALYTICS_TRINO_CA_FILE to the CA of that Trino (the native stack's is printed by "
                "`pulse trino start`); verification is never turned off."
            ) from error
        raise PulseError(
            f"cannot reach Trino at {address()} ({error.__class__.__name__}). Start it "
            "(`docker compose up -d trino`) or set PULSE_ANALYTICS_TRINO_HOST / _PORT."
        ) from error
    except trino.exceptions.HttpError as error:
        if str(error).startswith("error 401"):
            raise PulseError(
                f"Trino at {address()} did not accept the password of user {config.get('TRINO_USER')}: set "
                "PULSE_ANALYTICS_TRINO_PASSWORD (or PULSE_ANALYTICS_TRINO_PASSWORDS_FILE) to that user's."
            ) from error
        raise PulseError(f"Trino at {address()} answered {error}") from error
    except trino.exceptions.TrinoQueryError as error:
        statement = sql.strip().splitlines()[0][:200]
        raise PulseError(
            f"Trino at {address()} refused `{statement}` as user {config.get('TRINO_USER')}: "
            f"{error.error_name}: {error.message}"
        ) from error


def quote(*names: str) -> str:
    """A Trino identifier, each part in double quotes: quote('telemetry', 'pulse', 'x') -> "telemetry"."pulse"."x"."""
    return ".".join('"' + name.replace('"', '""') + '"' for name in names)
