"""Who may talk to the bundle's Trino: TLS, a password per user, a shared secret between its nodes.

The native stack (`pulse trino start`) and the compose stack (`pulse trino secrets`, run by its `trino-secrets` job)
get the same pieces, written once and kept:
  - a local certificate authority and a server certificate signed by it for localhost, 127.0.0.1 and the compose
    service name `trino`; every client of the bundle verifies Trino's certificate with that CA (trusted.pem, which
    PULSE_ANALYTICS_TRINO_CA_FILE points at: the CA beside certifi's public ones), never with verification off;
  - a password for each of the bundle's Trino users (USERS), random unless given, kept in a JSON file of mode 0600
    (`users.json`, what PULSE_ANALYTICS_TRINO_PASSWORDS_FILE points at) and given to Trino as bcrypt hashes in the
    file password authenticator's `password.db`;
  - a shared secret the nodes sign their internal requests with (Trino requires one once clients authenticate).
Nothing here prints a password or a key.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pulse_analytics import teams

# The bundle's Trino users and what rules.json lets them do: loader writes telemetry and metadata, dbt builds the
# views, superset reads them, admin may do anything (and see every query).
USERS = ("loader", "dbt", "superset", "admin")
# The names Trino's certificate holds: clients on this machine, and the compose service other containers call.
SERVER_NAMES = ("localhost", "trino")
SERVER_ADDRESSES = ("127.0.0.1",)
CERTIFICATE_DAYS = 825  # the longest validity browsers and most TLS clients accept for a server certificate
BCRYPT_COST = 10  # Trino's file authenticator accepts cost 8 or more


@dataclass(frozen=True)
class SecurityFiles:
    """The files of one stack's security, in its folder `root` (mode 0700: keys and passwords)."""

    root: Path

    @property
    def ca(self) -> Path:
        return self.root / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca-key.pem"

    @property
    def server(self) -> Path:
        """The server's key and certificate chain in one PEM file, as Trino's https keystore takes it."""
        return self.root / "server.pem"

    @property
    def trusted(self) -> Path:
        """What clients verify Trino with: the stack's CA and certifi's public CAs in one file, so that a process
        given it as REQUESTS_CA_BUNDLE (dbt, Superset) still reaches every other https server."""
        return self.root / "trusted.pem"

    @property
    def users(self) -> Path:
        return self.root / "users.json"

    @property
    def password_db(self) -> Path:
        return self.root / "password.db"

    @property
    def shared_secret(self) -> Path:
        return self.root / "shared-secret"

    @property
    def rules(self) -> Path:
        """Trino's access rules: trino_catalogs/rules.json with the team rules of access/teams.yaml (teams.py)."""
        return self.root / "rules.json"


def ensure(root: Path, given_passwords: dict[str, str] | None = None) -> SecurityFiles:
    """Every file of SecurityFiles under `root`, made where missing; passwords given (compose: from .env) replace
    the kept ones, the others are kept or made. Returns where they are."""
    files = SecurityFiles(root)
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    if not files.ca.exists() or not files.ca_key.exists():
        write_certificate_authority(files)
    if not files.server.exists():
        write_server_certificate(files)
    write_trusted(files)
    passwords = {**kept_passwords(files), **(given_passwords or {})}
    passwords = {user: passwords.get(user) or secrets.token_urlsafe(18) for user in all_users()}
    write_private(files.users, json.dumps(passwords, indent=2) + "\n")
    write_private(files.password_db, password_db(passwords))
    if not files.shared_secret.exists():
        write_private(files.shared_secret, secrets.token_urlsafe(48) + "\n")
    teams.write_trino_rules(files.rules)
    return files


def all_users() -> tuple[str, ...]:
    """The bundle's users and the team users of access/teams.yaml (who read their teams' rows only)."""
    return USERS + tuple(user for user in teams.trino_users() if user not in USERS)


def write_trusted(files: SecurityFiles) -> None:
    import certifi

    files.trusted.write_bytes(files.ca.read_bytes() + b"\n" + Path(certifi.where()).read_bytes())
    files.trusted.chmod(0o644)


def kept_passwords(files: SecurityFiles) -> dict[str, str]:
    try:
        kept = json.loads(files.users.read_text())
    except (OSError, ValueError):
        return {}
    return {user: value for user, value in kept.items() if isinstance(value, str) and value}


def write_private(path: Path, text: str | bytes) -> None:
    """Write a file only its owner can read (it is made with mode 0600, never readable for a moment)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(text.encode() if isinstance(text, str) else text)
    path.chmod(0o600)


def password_db(passwords: dict[str, str]) -> str:
    """Trino's file authenticator format: one `user:bcrypt hash` per line ($2y$, as htpasswd -B writes it)."""
    import bcrypt

    lines = []
    for user, password in passwords.items():
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_COST)).decode()
        lines.append(f"{user}:$2y${hashed[4:]}")
    return "\n".join(lines) + "\n"


def write_certificate_authority(files: SecurityFiles) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Pulse Analytics local CA")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=10 * 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(files.ca_key, private_pem(key))
    files.ca.write_bytes(certificate_pem(certificate))
    files.ca.chmod(0o644)
    files.server.unlink(missing_ok=True)  # a server certificate of another CA is worthless now


def write_server_certificate(files: SecurityFiles) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName(name) for name in SERVER_NAMES] + [
        x509.IPAddress(ipaddress.ip_address(address)) for address in SERVER_ADDRESSES
    ]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAMES[0])]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERTIFICATE_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    write_private(files.server, private_pem(key) + certificate_pem(certificate) + certificate_pem(ca))


def private_pem(key: object) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def certificate_pem(certificate: object) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return certificate.public_bytes(serialization.Encoding.PEM)  # type: ignore[attr-defined]


def read_passwords(path: Path) -> dict[str, str]:
    """The users' passwords of a users.json (PULSE_ANALYTICS_TRINO_PASSWORDS_FILE); an error names the file."""
    from pulse_analytics.errors import PulseError

    try:
        passwords = json.loads(path.read_text())
    except OSError as error:
        raise PulseError(
            f"cannot read the Trino passwords file {path} ({error.strerror}): start the native stack "
            "(`pulse trino start`) or set PULSE_ANALYTICS_TRINO_PASSWORD instead."
        ) from error
    except ValueError as error:
        raise PulseError(
            f"the Trino passwords file {path} is not JSON ({error}); expected {{user: password}}."
        ) from error
    if not isinstance(passwords, dict):
        raise PulseError(f"the Trino passwords file {path} is not a JSON object; expected {{user: password}}.")
    return {str(user): str(password) for user, password in passwords.items()}
