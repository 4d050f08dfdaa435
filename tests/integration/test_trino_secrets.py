"""`pulse trino secrets FOLDER`, as the compose stack's trino-secrets job runs it: Trino's CA, a server certificate it
signed for the names clients use, bcrypt hashes of the users' passwords from the environment, all kept private."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import bcrypt
from cryptography import x509

from pulse_analytics import trino_security
from tests.conftest import pulse_env, run_pulse

PASSWORDS = {"loader": "pw-loader-1", "dbt": "pw-dbt-2", "superset": "pw-superset-3", "admin": "pw-admin-4"}
PASSWORDS |= {"cylindrical": "pw-team-5", "pouch": "pw-team-6"}  # the team users of access/teams.yaml


def secrets_env(tmp_path: Path, passwords: dict[str, str]) -> dict[str, str]:
    env = pulse_env(tmp_path / "warehouse")
    env.update({f"TRINO_{user.upper()}_PASSWORD": password for user, password in passwords.items()})
    return env


def hashes(files: trino_security.SecurityFiles) -> dict[str, str]:
    return dict(line.split(":", 1) for line in files.password_db.read_text().splitlines())


def test_the_passwords_of_the_environment_become_trinos_hashes_and_nothing_is_printed(tmp_path: Path) -> None:
    folder = tmp_path / "security"
    answer = run_pulse("trino", "secrets", str(folder), env=secrets_env(tmp_path, PASSWORDS))
    assert not any(password in answer.stdout + answer.stderr for password in PASSWORDS.values())
    files = trino_security.SecurityFiles(folder)
    stored = hashes(files)
    assert set(stored) == set(PASSWORDS) == set(trino_security.all_users())
    for user, password in PASSWORDS.items():
        assert stored[user].startswith("$2y$10$")  # the form htpasswd -B writes, which Trino reads
        assert bcrypt.checkpw(password.encode(), ("$2b$" + stored[user][4:]).encode())
        assert not bcrypt.checkpw(b"wrong", ("$2b$" + stored[user][4:]).encode())
    assert folder.stat().st_mode & 0o777 == 0o700
    for secret in (files.ca_key, files.server, files.users, files.password_db, files.shared_secret):
        assert secret.stat().st_mode & 0o777 == 0o600, secret
    rules = json.loads(files.rules.read_text())  # the base rules with the team rules first
    assert rules["tables"][0]["user"] == "cylindrical" and rules["tables"][0]["filter"] == "team IN ('cylindrical')"


def test_the_server_certificate_is_the_cas_and_names_what_clients_call_trino(tmp_path: Path) -> None:
    files = trino_security.ensure(tmp_path / "security")
    server = x509.load_pem_x509_certificates(files.server.read_bytes())[0]
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    server.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"localhost", "trino"} <= set(names.get_values_for_type(x509.DNSName))
    assert "127.0.0.1" in {str(address) for address in names.get_values_for_type(x509.IPAddress)}
    # The clients' file trusts it: the CA is in it (with certifi's public CAs for everything else).
    context = ssl.create_default_context(cafile=str(files.trusted))
    subjects = [dict(item[0] for item in entry["subject"]) for entry in context.get_ca_certs()]
    assert {"commonName": "Pulse Analytics local CA"} in subjects and len(subjects) > 10


def test_a_second_run_keeps_the_ca_and_takes_changed_passwords(tmp_path: Path) -> None:
    folder = tmp_path / "security"
    run_pulse("trino", "secrets", str(folder), env=secrets_env(tmp_path, PASSWORDS))
    files = trino_security.SecurityFiles(folder)
    ca, server, secret = files.ca.read_bytes(), files.server.read_bytes(), files.shared_secret.read_bytes()
    changed = {**PASSWORDS, "dbt": "a-new-dbt-password"}
    run_pulse("trino", "secrets", str(folder), env=secrets_env(tmp_path, changed))
    assert (files.ca.read_bytes(), files.server.read_bytes(), files.shared_secret.read_bytes()) == (ca, server, secret)
    assert bcrypt.checkpw(b"a-new-dbt-password", ("$2b$" + hashes(files)["dbt"][4:]).encode())


def test_secrets_without_a_folder_nor_a_native_stack_is_refused_saying_what_to_give(tmp_path: Path) -> None:
    answer = run_pulse("trino", "secrets", env=pulse_env(tmp_path, STATE_DIR=str(tmp_path / "state")), check=False)
    assert answer.returncode != 0 and "no native Trino stack" in answer.stderr
    assert "`pulse trino start`" in answer.stderr and "pulse trino secrets ./trino-x" in answer.stderr
