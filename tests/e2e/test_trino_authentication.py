"""Who may talk to the bundle's Trino, from the real server's answers: https only, every client with its own password,
Trino's certificate verified with the bundle's CA (trino_security; docs/trino.md, "Who gets in").

What each authenticated user may then do is test_trino_access.py's; that the load, build and Superset tests pass at all
shows every client of the bundle (pulse, dbt-trino, Superset's driver) works over TLS with a password.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import certifi
import pytest
import requests

from pulse_analytics import config, trino_connection, trino_security
from pulse_analytics.errors import PulseError

pytestmark = pytest.mark.trino_only


@pytest.fixture(autouse=True)
def live_trino(trino_stack: dict[str, str]) -> None:
    if os.environ.get("PULSE_E2E_COMPOSE"):
        pytest.skip("the native stack's security files (ports, modes); compose's Trino is reached through its clients")


def security() -> trino_security.SecurityFiles:
    return trino_security.SecurityFiles(Path(config.get("TRINO_PASSWORDS_FILE")).parent)


def passwords() -> dict[str, str]:
    return trino_security.read_passwords(security().users)


def statement(user: str, password: str | None, url: str | None = None, verify: str | None = None) -> int:
    """The HTTP status Trino answers `select 1` with, as `user` with `password` (None: no credentials)."""
    url = url or f"https://{config.get('TRINO_HOST')}:{config.get('TRINO_PORT')}/v1/statement"
    answer = requests.post(
        url,
        data="select 1",
        headers={"X-Trino-User": user},
        auth=(user, password) if password is not None else None,
        verify=verify or str(security().ca),
        timeout=30,
    )
    return answer.status_code


def test_each_bundle_user_gets_in_with_its_own_password() -> None:
    assert set(passwords()) == set(trino_security.all_users())  # the bundle's and access/teams.yaml's
    for user, password in passwords().items():
        assert statement(user, password) == 200, user


@pytest.mark.parametrize(
    "who",
    ["no password", "a wrong password", "another user's password", "a user that does not exist"],
)
def test_a_client_that_cannot_prove_who_it_is_is_refused(who: str) -> None:
    known = passwords()
    user, password = {
        "no password": ("dbt", None),
        "a wrong password": ("dbt", known["dbt"] + "x"),
        "another user's password": ("dbt", known["superset"]),
        "a user that does not exist": ("nobody", known["superset"]),
    }[who]
    assert statement(user, password) == 401


def test_plain_http_takes_no_client_even_with_a_right_password() -> None:
    stack = json.loads((security().root.parent / "secrets.json").read_text())
    internal = f"http://127.0.0.1:{stack['internal_port']}/v1/statement"  # the port the nodes talk on
    assert statement("admin", passwords()["admin"], url=internal) == 403
    with pytest.raises(requests.exceptions.ConnectionError):  # and the clients' port speaks TLS only
        statement(
            "admin", passwords()["admin"], url=internal.replace(str(stack["internal_port"]), config.get("TRINO_PORT"))
        )


def test_the_web_ui_asks_for_a_login() -> None:
    base = f"https://{config.get('TRINO_HOST')}:{config.get('TRINO_PORT')}"
    answer = requests.get(f"{base}/ui/", verify=str(security().ca), allow_redirects=False, timeout=30)
    assert answer.status_code in (302, 303) and "login" in answer.headers["Location"]


def test_a_certificate_not_of_the_bundles_ca_is_refused_by_the_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        statement("admin", passwords()["admin"], verify=certifi.where())
    monkeypatch.setenv(config.PREFIX + "TRINO_CA_FILE", certifi.where())  # the public CAs only
    assert_pulse_refused_as_superset("certificate no CA in .* signed")


def test_pulse_names_the_user_whose_password_trino_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.PREFIX + "TRINO_PASSWORD", "not-the-password")
    assert_pulse_refused_as_superset("did not accept the password of user superset")


def assert_pulse_refused_as_superset(message: str) -> None:
    """`select 1` through pulse's own client, as user superset, fails with a PulseError matching `message`."""
    with config.overridden({config.PREFIX + "TRINO_USER": "superset"}):
        connection = trino_connection.connect()
        try:
            with pytest.raises(PulseError, match=message):
                trino_connection.run(connection.cursor(), "select 1")
        finally:
            connection.close()


def test_passwords_and_keys_are_readable_by_their_owner_only() -> None:
    files = security()
    assert files.root.stat().st_mode & 0o777 == 0o700
    for secret in (files.ca_key, files.server, files.users, files.password_db, files.shared_secret):
        assert secret.stat().st_mode & 0o777 == 0o600, secret
