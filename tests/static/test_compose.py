"""docker-compose.yml is a valid Compose file (checked by Docker Compose itself) that starts in order on its own."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
ONE_SHOT_JOBS = {"minio-init", "trino-secrets", "seed", "dbt-build", "superset-init", "superset-sync"}


def docker_compose(*args: str, env_file: Path = ENV_EXAMPLE) -> subprocess.CompletedProcess[str]:
    """Docker Compose's own `config`: validates the file against its schema, interpolates variables, checks links."""
    executable = shutil.which("docker-compose")
    if executable is None:
        pytest.fail(
            "docker-compose is not installed: `make test` installs Debian's package (make compose-tools); "
            "it validates the file without a Docker engine."
        )
    env = {
        key: value
        for key, value in os.environ.items()
        if key.isupper()
        and "PASSWORD" not in key
        and not key.startswith(("S3_", "SUPERSET_", "POSTGRES_", "METADATA_", "ICEBERG_"))
    }
    return subprocess.run(
        [executable, "--project-directory", str(REPO), "--file", str(COMPOSE_FILE), "--env-file", str(env_file), *args],
        capture_output=True,
        text=True,
        env=env,
    )


@pytest.fixture(scope="module")
def resolved() -> dict:
    process = docker_compose("config")
    assert process.returncode == 0, f"docker-compose config rejected docker-compose.yml:\n{process.stderr}"
    return yaml.safe_load(process.stdout)


def test_compose_file_is_valid(resolved: dict) -> None:
    assert set(resolved["services"]) == {
        "postgres",
        "minio",
        "minio-init",
        "trino-secrets",
        "trino",
        "trino-worker",
        "seed",
        "dbt-build",
        "superset-init",
        "superset",
        "superset-sync",
    }


def test_compose_file_follows_the_compose_specification() -> None:
    """Compose v2 reads the Compose Specification; Debian's docker-compose is v1: check the spec's schema too."""
    validator = Path(sys.executable).with_name("check-jsonschema")
    process = subprocess.run(
        [str(validator), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)], capture_output=True, text=True
    )
    assert process.returncode == 0, process.stdout + process.stderr


def test_a_missing_secret_stops_compose_naming_it(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "\n".join(line for line in ENV_EXAMPLE.read_text().splitlines() if not line.startswith("POSTGRES_PASSWORD="))
    )
    process = docker_compose("config", env_file=env_file)
    assert process.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in process.stderr


def test_images_are_pinned(resolved: dict) -> None:
    for name, service in resolved["services"].items():
        image = service.get("image", "")
        tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else ""
        assert tag and tag != "latest", f"service {name}: image {image!r} is not pinned to a version"
    for dockerfile in (REPO / "Dockerfile", REPO / "compose" / "superset" / "Dockerfile"):
        for base in re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), flags=re.MULTILINE):
            assert re.search(r":\d", base), f"{dockerfile.relative_to(REPO)}: base image {base} is not pinned"


def test_services_start_in_order_on_their_own(resolved: dict) -> None:
    services = resolved["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            expected = "service_completed_successfully" if dependency in ONE_SHOT_JOBS else "service_healthy"
            assert condition["condition"] == expected, f"{name} waits for {dependency} with {condition}"
            if expected == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck for {name} to wait on"
    for job in ONE_SHOT_JOBS:
        assert services[job]["restart"] == "no", job
    for name in set(services) - ONE_SHOT_JOBS:
        assert services[name]["restart"] == "unless-stopped", name
    assert order_of(services).index("dbt-build") > order_of(services).index("seed") > order_of(services).index("trino")
    assert set(services["superset-sync"]["depends_on"]) == {"dbt-build", "superset"}


def order_of(services: dict) -> list[str]:
    """A start order respecting every depends_on (fails on a cycle)."""
    order: list[str] = []
    while len(order) < len(services):
        ready = [
            name
            for name, service in services.items()
            if name not in order and set(service.get("depends_on", {})) <= set(order)
        ]
        assert ready, f"depends_on has a cycle among {set(services) - set(order)}"
        order.extend(sorted(ready))
    return order


def mounts(service: dict) -> list[dict]:
    """The service's volumes in Compose's long syntax (`config` prints the short one in some versions)."""
    result = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target, *mode = volume.split(":")
            kind = "bind" if source.startswith(("/", ".")) else "volume"
            volume = {"type": kind, "source": source, "target": target, "read_only": mode == ["ro"]}
        result.append(volume)
    return result


def published_ports(service: dict) -> list[dict]:
    result = []
    for port in service.get("ports", []):
        if isinstance(port, str):
            host_ip, published, target = port.split("/")[0].rsplit(":", 2)
            port = {"host_ip": host_ip, "published": published, "target": int(target)}
        result.append(port)
    return result


def test_state_lives_in_named_volumes(resolved: dict) -> None:
    targets = {
        (name, volume["target"])
        for name, service in resolved["services"].items()
        for volume in mounts(service)
        if volume["type"] == "volume"
    }
    assert {("postgres", "/var/lib/postgresql/data"), ("minio", "/data"), ("seed", "/data/warehouse")} <= targets
    assert set(resolved["volumes"]) == {"postgres-data", "minio-data", "pulse-warehouse", "trino-security", "trino-ca"}


def test_bind_mounts_exist_in_the_repository(resolved: dict) -> None:
    for name, service in resolved["services"].items():
        for volume in mounts(service):
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), f"service {name} mounts missing {volume['source']}"
                assert volume.get("read_only"), f"service {name} mounts {volume['source']} writable"


def test_every_variable_is_documented_in_env_example() -> None:
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE_FILE.read_text()))
    documented = ENV_EXAMPLE.read_text()
    for variable in used:
        assert re.search(rf"^{variable}=", documented, flags=re.MULTILINE), f"{variable} is not in .env.example"
    lines = documented.splitlines()
    for index, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            assert lines[index - 1].startswith("#") or "=" in lines[index - 1], f"{line} has no explanation above it"


def test_trino_is_the_version_the_native_stack_runs(resolved: dict) -> None:
    from pulse_analytics import trino_native

    assert resolved["services"]["trino"]["image"] == f"trinodb/trino:{trino_native.TRINO_VERSION}"


def test_trino_gets_every_variable_its_catalog_files_use(resolved: dict) -> None:
    environment = resolved["services"]["trino"]["environment"]
    config_files = [
        *(REPO / "trino_catalogs" / "catalog").glob("*.properties"),
        REPO / "trino_catalogs" / "access-control.properties",
        REPO / "trino_catalogs" / "password-authenticator.properties",
        REPO / "compose" / "trino" / "coordinator.properties",
        REPO / "compose" / "trino" / "worker.properties",
    ]
    for path in config_files:
        for variable in re.findall(r"\$\{ENV:([A-Za-z0-9_-]+)\}", path.read_text()):
            assert environment.get(variable), f"{path.name} reads {variable}, which the trino service does not set"


def test_trino_is_a_coordinator_and_workers_with_the_same_catalogs(resolved: dict) -> None:
    coordinator, worker = resolved["services"]["trino"], resolved["services"]["trino-worker"]
    assert worker["image"] == coordinator["image"] and worker["environment"] == coordinator["environment"]
    configs = {}
    for name, service in (("coordinator", coordinator), ("worker", worker)):
        by_target = {volume["target"]: volume["source"] for volume in mounts(service)}
        assert by_target["/etc/trino/catalog"].endswith("trino_catalogs/catalog")
        assert by_target["/etc/trino-security"] == "trino-security"  # the rules trino-secrets writes, among others
        assert service["environment"]["TRINO_RULES_FILE"] == "/etc/trino-security/rules.json"
        lines = Path(by_target["/etc/trino/config.properties"]).read_text().splitlines()
        configs[name] = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert configs["coordinator"]["coordinator"] == "true"
    assert configs["coordinator"]["node-scheduler.include-coordinator"] == "false"  # the work runs on the workers
    assert configs["worker"] == {
        "coordinator": "false",
        "http-server.http.port": "8080",
        "discovery.uri": "http://trino:8080",  # the coordinator's service name
        "internal-communication.shared-secret": "${ENV:TRINO_SHARED_SECRET}",
    }
    # Workers start with the coordinator, which is healthy (runs a query) only once one of them has joined.
    assert worker["depends_on"].keys() >= {"postgres", "minio-init"} and "trino" not in worker["depends_on"]
    assert worker["deploy"]["replicas"] >= 1


def test_jobs_act_as_the_trino_users_the_rules_define(resolved: dict) -> None:
    users = {
        name: service["environment"].get("PULSE_ANALYTICS_TRINO_USER")
        for name, service in resolved["services"].items()
        if name in ("seed", "dbt-build", "superset-sync")
    }
    assert users == {"seed": "loader", "dbt-build": "dbt", "superset-sync": "superset"}


def test_ports_are_published_on_localhost_only(resolved: dict) -> None:
    published = {name: published_ports(service) for name, service in resolved["services"].items()}
    assert {name for name, ports in published.items() if ports} == {"trino", "superset", "minio"}
    for name, ports in published.items():
        for port in ports:
            assert port["host_ip"] == "127.0.0.1", f"{name} publishes {port} beyond this machine"


def test_trino_takes_clients_over_https_with_a_password_each(resolved: dict) -> None:
    services = resolved["services"]
    coordinator = services["trino"]
    lines = (REPO / "compose" / "trino" / "coordinator.properties").read_text().splitlines()
    settings = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert settings["http-server.https.enabled"] == "true" and settings["http-server.authentication.type"] == "PASSWORD"
    assert [port["target"] for port in published_ports(coordinator)] == [int(settings["http-server.https.port"])]
    by_target = {volume["target"]: volume["source"] for volume in mounts(coordinator)}
    assert by_target["/etc/trino/password-authenticator.properties"].endswith("password-authenticator.properties")
    passwords = {}
    for name in ("seed", "dbt-build", "superset-sync"):
        environment = services[name]["environment"]
        assert environment["PULSE_ANALYTICS_TRINO_HTTP_SCHEME"] == "https", name
        assert environment["PULSE_ANALYTICS_TRINO_AUTH_METHOD"] == "ldap", name
        assert environment["PULSE_ANALYTICS_TRINO_PORT"] == settings["http-server.https.port"], name
        ca = environment["PULSE_ANALYTICS_TRINO_CA_FILE"]
        assert any(ca.startswith(volume["target"]) for volume in mounts(services[name])), f"{name} lacks {ca}"
        passwords[name] = environment["PULSE_ANALYTICS_TRINO_PASSWORD"]
    assert len(set(passwords.values())) == 3, "each job logs in with its own user's password"
    secrets_job = services["trino-secrets"]["environment"]
    assert {f"TRINO_{user.upper()}_PASSWORD" for user in ("loader", "dbt", "superset", "admin")} <= set(secrets_job)
