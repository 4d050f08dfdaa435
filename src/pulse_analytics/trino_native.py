"""The production stack without Docker: PostgreSQL and Trino as native processes, from the same `trino_catalogs/` files
the compose stack mounts (docs/trino.md, "Native stack").

`pulse trino install` fetches the pinned Trino server from Maven Central once (with Maven, into the git-ignored
PULSE_ANALYTICS_TRINO_HOME) and keeps the plugins the catalogs use. `pulse trino start` then runs, in the folder
PULSE_ANALYTICS_STATE_DIR/trino (kept between starts, like the compose stack's volumes):
  - PostgreSQL from Debian's packages, on 127.0.0.1 only, initialised by compose/postgres/init.sh (the databases
    `lab`, `iceberg` and `superset`, each with its own owner and a random password kept in secrets.json, mode 0600);
  - Trino, bound to 127.0.0.1, with trino_catalogs/catalog/ as its catalog folder and trino_catalogs/
    access-control.properties, rules.json and password-authenticator.properties as they are. The only difference
    from compose is in environment values: the Iceberg files go to a local folder (ICEBERG_WAREHOUSE=local://) instead
    of MinIO.
Clients reach the coordinator over https only, with a password each (trino_security: a local CA, users.json, bcrypt
hashes); the nodes talk to each other over http on 127.0.0.1, every request signed with the stack's shared secret.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pulse_analytics import config, project, trino_connection, trino_security
from pulse_analytics import state as state_folder
from pulse_analytics.errors import PulseError
from pulse_analytics.progress import step

# The one place the Trino version is pinned; docker-compose.yml's trinodb/trino image has the same (a test checks).
TRINO_VERSION = "476"
TRINO_ARTIFACT = f"io.trino:trino-server:{TRINO_VERSION}:tar.gz"
# The connectors the catalogs use (the PostgreSQL connector also needs the geospatial plugin's Geometry type) and
# the file password authenticator clients log in with.
PLUGINS = ("iceberg", "postgresql", "geospatial", "password-authenticators")
JAVA_MAJOR = 24  # Trino 476 runs on Java 24 or newer
START_TIMEOUT_S = 180
STOP_TIMEOUT_S = 60


class NativeStackError(PulseError):
    """Something the native stack needs is missing or failed; the message says what to do."""


# --- installing Trino -------------------------------------------------------------------------------------------


def trino_home() -> Path:
    return config.folder("TRINO_HOME") / f"trino-server-{TRINO_VERSION}"


def installed() -> bool:
    return (trino_home() / "bin" / "launcher").exists() and all((trino_home() / "plugin" / p).is_dir() for p in PLUGINS)


def install() -> Path:
    """Fetch Trino once with Maven (progress shown), keep its core and the catalogs' plugins. Returns its folder."""
    home = trino_home()
    if installed():
        print(f"Trino {TRINO_VERSION} already installed in {home}")
        return home
    if shutil.which("mvn") is None:
        raise NativeStackError(
            "Maven (`mvn`) is not installed: install it (Debian: apt-get install maven), then run `make trino` again."
        )
    home.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home.parent, prefix=".download-") as download:
        step(f"Fetching {TRINO_ARTIFACT} from Maven Central (about 820 MB, once; Maven keeps a copy in ~/.m2)")
        maven = subprocess.run(
            [
                "mvn",
                "--batch-mode",
                "--no-transfer-progress",
                "dependency:copy",
                f"-Dartifact={TRINO_ARTIFACT}",
                f"-DoutputDirectory={download}",
            ],
            capture_output=True,
            text=True,
        )
        archive = Path(download) / f"trino-server-{TRINO_VERSION}.tar.gz"
        if maven.returncode != 0 or not archive.exists():
            reason = "\n".join([line for line in maven.stdout.splitlines() if "ERROR" in line][:5])
            raise NativeStackError(
                f"could not fetch {TRINO_ARTIFACT} from Maven Central with `mvn dependency:copy` "
                f"(exit {maven.returncode}):\n{reason}\nCheck that Maven Central is reachable "
                "(mvn's settings, proxy), then run `make trino` again."
            )
        step(f"Unpacking Trino {TRINO_VERSION}: its core and the plugins {', '.join(PLUGINS)}")
        unpack(archive, Path(download) / "unpacked")
        unpacked = Path(download) / "unpacked" / f"trino-server-{TRINO_VERSION}"
        for plugin in sorted((unpacked / "plugin").iterdir()):
            if plugin.name not in PLUGINS:
                shutil.rmtree(plugin)
        missing = [plugin for plugin in PLUGINS if not (unpacked / "plugin" / plugin).is_dir()]
        if missing:
            raise NativeStackError(
                f"{TRINO_ARTIFACT} has no plugin {', '.join(missing)}: the pinned version does not "
                "fit trino_catalogs/; pin another TRINO_VERSION."
            )
        if home.exists():
            shutil.rmtree(home)  # a half-installed folder from an interrupted run
        unpacked.rename(home)
    print(f"Trino {TRINO_VERSION} installed in {home}")
    return home


def unpack(archive: Path, destination: Path) -> None:
    """Extract the whole archive (plugins share files through hard links), printing progress every 10 %."""
    destination.mkdir()
    size = archive.stat().st_size
    shown = 0
    with archive.open("rb") as raw, tarfile.open(fileobj=raw, mode="r:gz") as tar:
        for member in tar:
            tar.extract(member, destination, filter="tar")
            done = int(10 * raw.tell() / size)
            if done > shown:
                shown = done
                print(f"[unpack] {10 * done} %", file=sys.stderr, flush=True)


def java_home() -> Path:
    """A JDK that runs this Trino: PULSE_ANALYTICS_TRINO_JAVA_HOME, JAVA_HOME, or the newest under /usr/lib/jvm."""
    candidates = [config.get("TRINO_JAVA_HOME"), os.environ.get("JAVA_HOME", "")]
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        candidates += [str(path) for path in sorted(jvm.iterdir(), key=java_major, reverse=True)]
    for candidate in filter(None, candidates):
        if java_major(Path(candidate)) >= JAVA_MAJOR:
            return Path(candidate)
    raise NativeStackError(
        f"Trino {TRINO_VERSION} needs Java {JAVA_MAJOR} or newer, and none was found (looked at "
        "PULSE_ANALYTICS_TRINO_JAVA_HOME, JAVA_HOME and /usr/lib/jvm): install a JDK of version "
        f"{JAVA_MAJOR}+ and set PULSE_ANALYTICS_TRINO_JAVA_HOME to it."
    )


def java_major(home: Path) -> int:
    release = home / "release"
    if not (home / "bin" / "java").exists() or not release.exists():
        return 0
    found = re.search(r'JAVA_VERSION="(\d+)', release.read_text())
    return int(found.group(1)) if found else 0


# --- PostgreSQL ---------------------------------------------------------------------------------------------------


def postgres_bin() -> Path:
    """The folder of Debian's PostgreSQL server programs (initdb, pg_ctl), newest version first."""
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True):
        if (folder / "initdb").exists():
            return folder
    raise NativeStackError(
        "PostgreSQL's server is not installed: run `make postgresql` (Debian's postgresql package), then start again."
    )


def as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its programs as Debian's `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def check_postgres_can_enter(folder: Path) -> None:
    """As root, PostgreSQL runs as the `postgres` account: every folder on the way to the stack's must let it in.
    Asked of the account itself (runuser), so ACLs and group memberships count as the kernel counts them."""
    if os.geteuid() != 0:
        return
    way = [str(path) for path in reversed([folder, *folder.parents])]
    probe = 'for d; do [ -x "$d" ] || { echo "$d"; exit 1; }; done'
    answer = subprocess.run(as_postgres(["sh", "-c", probe, "sh", *way]), capture_output=True, text=True)
    if answer.returncode == 0:
        return
    blocked = Path(answer.stdout.strip() or way[0])
    mode = oct(blocked.stat().st_mode & 0o777) if blocked.exists() else "unknown"
    raise NativeStackError(
        f"PostgreSQL runs as the system account `postgres`, which cannot enter {blocked} (mode {mode}) on the way to "
        f"the native stack's folder {folder}. Let it through (`chmod o+x {blocked}`), or set "
        "PULSE_ANALYTICS_STATE_DIR to a folder it can reach (e.g. under /var/tmp), then start again."
    )


# --- the stack ----------------------------------------------------------------------------------------------------


@dataclass
class Stack:
    """One native stack: its folder, ports and the database passwords (secrets.json). Trino runs as a coordinator,
    serving clients over https on trino_port and its workers over http on internal_port, and one worker per entry of
    worker_ports (none: the coordinator does the work itself)."""

    root: str
    trino_port: int
    postgres_port: int
    passwords: dict[str, str]
    worker_ports: list[int] = field(default_factory=list)
    internal_port: int = 0

    @property
    def folder(self) -> Path:
        return Path(self.root)

    @property
    def url(self) -> str:
        return f"https://localhost:{self.trino_port}"

    @property
    def security(self) -> trino_security.SecurityFiles:
        return trino_security.SecurityFiles(Paths(self.folder).security)

    @property
    def workers(self) -> int:
        return len(self.worker_ports)


@dataclass(frozen=True)
class Node:
    """One Trino process of a stack: its node id and its folder (etc/, data/, launcher.log)."""

    node_id: str
    folder: Path

    @property
    def etc(self) -> Path:
        return self.folder / "etc"

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.data / "var" / "log" / "server.log"

    @property
    def launcher_log(self) -> Path:
        return self.folder / "launcher.log"

    @property
    def is_coordinator(self) -> bool:
        return self.node_id == COORDINATOR


COORDINATOR = "pulse-coordinator"


class Paths:
    """Where each part of a stack lives inside its folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.secrets = root / "secrets.json"
        self.postgres = root / "postgres"  # owned by the postgres user when run as root
        self.postgres_data = self.postgres / "data"
        self.postgres_log = self.postgres / "postgres.log"
        self.coordinator = Node(COORDINATOR, root / "trino")
        self.iceberg = root / "iceberg"
        self.security = root / "security"  # CA, server certificate, users' passwords, shared secret (mode 0700)

    def worker(self, number: int) -> Node:
        """Worker `number` (1, 2, ...): its own node id, data folder and port; the same catalogs and storage."""
        return Node(f"pulse-worker-{number}", self.root / f"trino-worker-{number}")

    def nodes(self, stack: Stack) -> list[Node]:
        """The coordinator and the stack's workers."""
        return [self.coordinator, *(self.worker(number) for number in range(1, stack.workers + 1))]

    def every_node(self) -> list[Node]:
        """The coordinator and every worker that has a folder (that ever ran)."""
        workers = sorted(self.root.glob("trino-worker-*"), key=lambda path: int(path.name.rsplit("-", 1)[1]))
        return [self.coordinator, *(self.worker(int(path.name.rsplit("-", 1)[1])) for path in workers)]


def stack_dir() -> Path:
    return state_folder.service_dir(state_folder.TRINO)


def workers_setting() -> int:
    value = config.get("TRINO_WORKERS")
    if not value.isdigit():
        raise NativeStackError(f"PULSE_ANALYTICS_TRINO_WORKERS is {value!r}: give a number of workers, e.g. 1.")
    return int(value)


def start(root: Path | None = None, trino_port: int | None = None, workers: int | None = None) -> Stack:
    """Start PostgreSQL, Trino's coordinator and `workers` workers (default PULSE_ANALYTICS_TRINO_WORKERS), or find
    them running (starting workers that are missing), and wait until every node answers."""
    if not installed():
        raise NativeStackError(
            f"Trino {TRINO_VERSION} is not installed in {trino_home()}: run `make trino` (or "
            "`pulse trino install`) first."
        )
    workers = workers_setting() if workers is None else workers
    if workers < 0:
        raise NativeStackError(f"--workers is {workers}: give 0 (one process) or more workers.")
    paths = Paths((root or stack_dir()).resolve())
    if (stack := running(paths.root)) is not None:
        rejoin_workers(paths, stack, workers)
        print(f"Trino already running at {stack.url} with {stack.workers} worker(s) (folder {paths.root})")
        return stack
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.root.chmod(0o755)  # the postgres user must reach its folder inside
    check_postgres_can_enter(paths.root)
    stack = load_or_create(paths, trino_port, workers)
    trino_security.ensure(paths.security)
    step(f"Starting PostgreSQL on 127.0.0.1:{stack.postgres_port} ({paths.postgres})")
    start_postgres(paths, stack)
    shape = f"a coordinator and {workers} worker(s)" if workers else "one node (coordinator and worker in one)"
    step(f"Starting Trino {TRINO_VERSION}, {shape}, on {stack.url} (catalogs: trino_catalogs/catalog)")
    try:
        start_trino(paths, stack)
    except BaseException:
        stop(paths.root)
        raise
    return stack


def load_or_create(paths: Paths, trino_port: int | None, workers: int) -> Stack:
    """The stack's ports and passwords: kept from an earlier start, or new (free ports, random passwords)."""
    port = trino_port or int(config.get("TRINO_PORT"))
    if paths.secrets.exists():
        stack = Stack(**json.loads(paths.secrets.read_text()))
        stack.trino_port = port
        if not port_free(stack.postgres_port):
            stack.postgres_port = free_port()
    else:
        names = ("postgres", "lab", "iceberg", "superset")
        stack = Stack(str(paths.root), port, free_port(), {name: secrets.token_hex(16) for name in names})
    if not port_free(stack.trino_port):
        raise NativeStackError(
            f"port {stack.trino_port} on 127.0.0.1 is taken: stop what listens there, or set "
            "PULSE_ANALYTICS_TRINO_PORT to a free port."
        )
    kept = [port for port in stack.worker_ports[:workers] if port_free(port) and port != stack.trino_port]
    stack.worker_ports = kept + [free_port() for _ in range(workers - len(kept))]
    if not stack.internal_port or not port_free(stack.internal_port) or stack.internal_port in stack.worker_ports:
        stack.internal_port = free_port()
    stack.root = str(paths.root)
    save(paths, stack)
    return stack


def save(paths: Paths, stack: Stack) -> None:
    paths.secrets.touch(mode=0o600)
    paths.secrets.write_text(json.dumps(asdict(stack), indent=2))


def start_postgres(paths: Paths, stack: Stack) -> None:
    binaries = postgres_bin()
    new = not (paths.postgres_data / "PG_VERSION").exists()
    if new:
        if paths.postgres.exists():
            shutil.rmtree(paths.postgres)  # an initdb that did not finish
        paths.postgres.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(paths.postgres, "postgres", "postgres")
        run_checked(
            as_postgres(
                [
                    str(binaries / "initdb"),
                    "--pgdata",
                    str(paths.postgres_data),
                    "--username",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ]
            ),
            "initdb",
        )
    options = (
        f"-p {stack.postgres_port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={paths.postgres} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    run_checked(
        as_postgres(
            [
                str(binaries / "pg_ctl"),
                "--pgdata",
                str(paths.postgres_data),
                "--log",
                str(paths.postgres_log),
                "--options",
                options,
                "--wait",
                "start",
            ]
        ),
        f"PostgreSQL (log: {paths.postgres_log})",
    )
    if new:
        env = {
            **os.environ,
            "PGHOST": str(paths.postgres),
            "PGPORT": str(stack.postgres_port),
            "POSTGRES_USER": "postgres",
            "METADATA_DB_PASSWORD": stack.passwords["lab"],
            "ICEBERG_CATALOG_PASSWORD": stack.passwords["iceberg"],
            "SUPERSET_DB_PASSWORD": stack.passwords["superset"],
        }
        run_checked(["sh", str(project.path("compose", "postgres", "init.sh"))], "compose/postgres/init.sh", env=env)


def trino_environment(paths: Paths, stack: Stack) -> dict[str, str]:
    """The values trino_catalogs/ reads with ${ENV:...}: the compose stack's, but Iceberg files in a local folder."""
    jdbc = f"jdbc:postgresql://127.0.0.1:{stack.postgres_port}"
    java = java_home()
    return {
        **os.environ,
        "JAVA_HOME": str(java),
        "PATH": f"{java / 'bin'}:{os.environ.get('PATH', '')}",
        "ICEBERG_CATALOG_JDBC_URL": f"{jdbc}/iceberg",
        "ICEBERG_CATALOG_USER": "iceberg",
        "ICEBERG_CATALOG_PASSWORD": stack.passwords["iceberg"],
        "ICEBERG_WAREHOUSE": "local://",
        "ICEBERG_LOCAL_ROOT": str(paths.iceberg),
        # No object storage here: the S3 settings are required by the catalog files but never used.
        "S3_ENDPOINT": "http://127.0.0.1:9",
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY": "unused",
        "S3_SECRET_KEY": "unused",
        "METADATA_JDBC_URL": f"{jdbc}/lab",
        "METADATA_DB_USER": "lab",
        "METADATA_DB_PASSWORD": stack.passwords["lab"],
        "TRINO_RULES_FILE": str(stack.security.rules),
        "TRINO_TLS_KEYSTORE": str(stack.security.server),
        "TRINO_PASSWORD_DB": str(stack.security.password_db),
        "TRINO_SHARED_SECRET": stack.security.shared_secret.read_text().strip(),
    }


def heap_of(node: Node, stack: Stack) -> str:
    """A worker's heap is PULSE_ANALYTICS_TRINO_MEMORY; so is a coordinator's that works alone, and one that only
    schedules has PULSE_ANALYTICS_TRINO_COORDINATOR_MEMORY."""
    if node.is_coordinator and stack.workers:
        return config.get("TRINO_COORDINATOR_MEMORY")
    return config.get("TRINO_MEMORY")


def write_node_config(paths: Paths, stack: Stack, node: Node, port: int) -> None:
    """etc/ of one node: its id, data folder and port; the stack's catalogs and access rules; its memory."""
    node.etc.mkdir(parents=True, exist_ok=True)
    paths.iceberg.mkdir(parents=True, exist_ok=True)
    heap = heap_of(node, stack)
    (node.etc / "node.properties").write_text(
        f"node.environment=pulse\nnode.id={node.node_id}\nnode.data-dir={node.data}\nnode.bind-ip=127.0.0.1\n"
        "node.internal-address=127.0.0.1\n"
    )
    (node.etc / "jvm.config").write_text(
        "\n".join(
            [
                "-server",
                f"-Xmx{heap}",
                "-XX:+UseG1GC",
                "-XX:+ExitOnOutOfMemoryError",
                "-XX:+HeapDumpOnOutOfMemoryError",
                f"-XX:HeapDumpPath={node.data}",
                "-Djdk.attach.allowAttachSelf=true",
                "-Dfile.encoding=UTF-8",
                "",
            ]
        )
    )
    catalogs = project.path("trino_catalogs")
    worker_memory = query_memory_mb(config.get("TRINO_MEMORY"))
    role = (
        [
            "coordinator=true",
            f"node-scheduler.include-coordinator={'false' if stack.workers else 'true'}",
            f"http-server.http.port={stack.internal_port}",
            # Clients: https only, each with its password (plain http takes no client: Trino refuses to
            # authenticate over it); the key, the password hashes and the secret come from the environment.
            "http-server.https.enabled=true",
            f"http-server.https.port={port}",
            "http-server.https.keystore.path=${ENV:TRINO_TLS_KEYSTORE}",
            "http-server.authentication.type=PASSWORD",
            f"password-authenticator.config-files={catalogs / 'password-authenticator.properties'}",
        ]
        if node.is_coordinator
        else ["coordinator=false", f"http-server.http.port={port}"]
    )
    (node.etc / "config.properties").write_text(
        "\n".join(
            [
                *role,
                f"discovery.uri=http://127.0.0.1:{stack.internal_port}",
                "internal-communication.shared-secret=${ENV:TRINO_SHARED_SECRET}",
                f"catalog.config-dir={catalogs / 'catalog'}",
                f"access-control.config-files={catalogs / 'access-control.properties'}",
                f"query.max-memory={worker_memory * max(stack.workers, 1)}MB",
                f"query.max-memory-per-node={min(worker_memory, query_memory_mb(heap))}MB",
                # A node that stops answering fails the queries it served after 10 s (Trino's default: 1 minute):
                # on one machine, a worker that does not answer is gone, not slow.
                "exchange.max-error-duration=10s",
                # A query that needs more memory than its share spills joins, aggregations and sorts to disk
                # instead of failing (dbt's data tests at 10M rows, four at once, did: CLUSTER_OUT_OF_MEMORY).
                "spill-enabled=true",
                f"spiller-spill-path={node.data / 'spill'}",
                "",
            ]
        )
    )
    (node.etc / "log.properties").write_text("io.trino=INFO\n")


def query_memory_mb(heap: str) -> int:
    """Memory one query may use on a node: 60 % of its heap, as Trino wants it below the heap minus its 30 % headroom
    (a fixed 2 GB kept Trino from starting with a 2G heap)."""
    found = re.fullmatch(r"(\d+)([kmgt]?)", heap.strip().lower())
    if not found:
        raise NativeStackError(f"a Trino heap is {heap!r}: give a JVM size such as 4G or 2048M.")
    mb = int(found.group(1)) * {"": 1 / 2**20, "k": 1 / 2**10, "m": 1, "g": 2**10, "t": 2**20}[found.group(2)]
    return max(int(mb * 0.6), 1)


def launch(paths: Paths, stack: Stack, node: Node, port: int) -> None:
    write_node_config(paths, stack, node, port)
    run_checked(
        launcher_command(node, "start"), f"Trino's launcher ({node.node_id})", env=trino_environment(paths, stack)
    )


def launcher_command(node: Node, action: str) -> list[str]:
    return [
        str(trino_home() / "bin" / "launcher"),
        action,
        "--etc-dir",
        str(node.etc),
        "--data-dir",
        str(node.data),
        "--launcher-log-file",
        str(node.launcher_log),
    ]


def start_trino(paths: Paths, stack: Stack) -> None:
    """The coordinator, then every worker; ready once all of them answer (waits START_TIMEOUT_S at most)."""
    launch(paths, stack, paths.coordinator, stack.trino_port)
    for number, port in enumerate(stack.worker_ports, start=1):
        launch(paths, stack, paths.worker(number), port)
    wait_until_ready(paths, stack)


def rejoin_workers(paths: Paths, stack: Stack, workers: int) -> None:
    """On a running stack: `workers` workers. Those beyond it stop; those missing or not active (stopped, killed)
    start, and the coordinator is waited for until all of them have joined."""
    stopped = []
    while stack.workers > workers:
        node = paths.worker(stack.workers)
        step(f"Stopping Trino worker {stack.workers}")
        run_stop(launcher_command(node, "stop"))
        stack.worker_ports.pop()
        stopped.append(node.node_id)
    while stack.workers < workers:
        stack.worker_ports.append(free_port())
    save(paths, stack)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while stopped and set(stopped) & active_node_ids(stack) and time.monotonic() < deadline:
        time.sleep(0.5)  # until the coordinator no longer schedules work on them
    active = active_node_ids(stack)
    missing = [number for number in range(1, stack.workers + 1) if paths.worker(number).node_id not in active]
    for number in missing:
        step(f"Starting Trino worker {number} on port {stack.worker_ports[number - 1]}")
        launch(paths, stack, paths.worker(number), stack.worker_ports[number - 1])
    if missing:
        wait_until_ready(paths, stack)


def wait_until_ready(paths: Paths, stack: Stack) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    started = time.monotonic()
    first_answer: float | None = None
    while time.monotonic() < deadline:
        if trino_ready(stack):
            first_answer = first_answer or time.monotonic()
            if time.monotonic() - first_answer >= NODE_REFRESH_S:
                print(
                    f"Trino ready after {time.monotonic() - started:.0f} s: {stack.url}, "
                    f"{stack.workers + 1} node(s) active",
                    file=sys.stderr,
                    flush=True,
                )
                return
        else:
            first_answer = None
        if stopped := [node for node in paths.nodes(stack) if not launcher_running(node)]:
            node = stopped[0]
            raise NativeStackError(
                f"Trino's {node.node_id} stopped while starting; its log ({node.log}) says:\n"
                f"{first_error(node.log) or tail(node.launcher_log)}"
            )
        time.sleep(1)
    coordinator = paths.coordinator
    raise NativeStackError(
        f"Trino did not start within {START_TIMEOUT_S} s ({stack.workers + 1} node(s) expected); the coordinator's "
        f"log ({coordinator.log}) says:\n{first_error(coordinator.log) or tail(coordinator.launcher_log)}"
    )


# Trino's coordinator answers queries a moment before it schedules work on its catalogs: until its node manager's next
# refresh, a query that scans a catalog can fail with NO_NODES_AVAILABLE (trinodb/trino#2214). Ready means answering
# queries, without a break, for this long (the node refresh runs every 5 s).
NODE_REFRESH_S = 6


def trino_ready(stack: Stack) -> bool:
    """True once Trino runs queries on all its nodes. /v1/info saying "not starting" is not enough: for a moment after
    it, the coordinator has not yet counted its workers and every query fails with NO_NODES_AVAILABLE."""
    expected = {COORDINATOR, *(f"pulse-worker-{number}" for number in range(1, stack.workers + 1))}
    return expected <= active_node_ids(stack)


def active_node_ids(stack: Stack) -> set[str]:
    """The nodes the coordinator counts as active (none when it does not answer or is still starting)."""
    import trino  # installed with dbt-trino

    security = stack.security
    try:
        tls = ssl.create_default_context(cafile=security.ca)
        with urllib.request.urlopen(f"{stack.url}/v1/info", timeout=2, context=tls) as answer:
            if json.load(answer).get("starting") is not False:
                return set()
    except (OSError, ValueError):
        return set()
    connection = trino.dbapi.connect(
        host="localhost",
        port=stack.trino_port,
        user="admin",
        auth=trino.auth.BasicAuthentication("admin", trino_security.read_passwords(security.users)["admin"]),
        http_scheme="https",
        http_session=trino_connection.verifying_session(str(security.ca)),
        request_timeout=10,
    )
    try:
        cursor = connection.cursor()
        cursor.execute("select node_id from system.runtime.nodes where state = 'active'")
        return {row[0] for row in cursor.fetchall()}
    except (OSError, trino.exceptions.Error, trino.exceptions.HttpError):
        return set()
    finally:
        connection.close()


def launcher_running(node: Node) -> bool:
    if not node.etc.exists():
        return False
    status = subprocess.run(launcher_command(node, "status"), capture_output=True, text=True)
    return status.returncode == 0


def running(root: Path | None = None) -> Stack | None:
    """The stack of `root` if its coordinator answers, else None (`start` brings back a worker that is not active)."""
    paths = Paths((root or stack_dir()).resolve())
    if not paths.secrets.exists():
        return None
    stack = Stack(**json.loads(paths.secrets.read_text()))
    return stack if COORDINATOR in active_node_ids(stack) else None


def stop(root: Path | None = None) -> bool:
    """Stop every Trino node and PostgreSQL of the stack in `root`. True if something was running; a process that did
    not stop is an error naming it (and what its stop command said), never reported as stopped."""
    paths = Paths((root or stack_dir()).resolve())
    stopped, failures = False, []
    if (trino_home() / "bin" / "launcher").exists():
        for node in reversed(paths.every_node()):  # workers first: the coordinator sees them leave
            if launcher_running(node):
                stopped = True
                answer = run_stop(launcher_command(node, "stop"))
                if launcher_running(node):
                    failures.append(f"Trino's {node.node_id} ({node.data}) still runs after `launcher stop`: {answer}")
    if (pid := postmaster_pid(paths)) is not None:
        stopped = True
        pg_ctl = [str(postgres_bin() / "pg_ctl"), "--pgdata", str(paths.postgres_data), "--mode=fast", "--wait", "stop"]
        answer = run_stop(as_postgres(pg_ctl))
        if not gone_within(pid, seconds=10):  # pg_ctl returns once the pid file is gone, a moment before the exit
            failures.append(f"PostgreSQL (pid {pid}, {paths.postgres_data}) still runs after `pg_ctl stop`: {answer}")
    if failures:
        raise NativeStackError(
            "the native stack did not stop:\n  "
            + "\n  ".join(failures)
            + "\nStop what is left by its pid (`kill -INT <pid>` stops PostgreSQL), then run `pulse trino stop` again."
        )
    return stopped


def run_stop(command: list[str]) -> str:
    """Run a stop command; what it said (its exit code and last lines), for the error when the process lives on."""
    try:
        answer = subprocess.run(command, capture_output=True, text=True, timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"no answer within {STOP_TIMEOUT_S} s"
    said = (answer.stdout + answer.stderr).strip().splitlines()[-3:]
    return f"exit {answer.returncode}" + (f", {' '.join(said)}" if said else "")


def postmaster_pid(paths: Paths) -> int | None:
    """The pid of the stack's PostgreSQL while it runs (the first line of postmaster.pid), else None."""
    try:
        pid = int((paths.postgres_data / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if process_alive(pid) else None


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def process_alive(pid: int) -> bool:
    """True while the process runs (a zombie, exited but not yet reaped, does not count)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] != "Z"


def status(root: Path | None = None) -> str:
    stack = running(root)
    if stack is None:
        return f"Trino (native stack in {(root or stack_dir()).resolve()}) is not running."
    active = sorted(active_node_ids(stack))
    return (
        f"Trino {TRINO_VERSION} running at {stack.url}, {len(active)} node(s) active ({', '.join(active)}; "
        f"{stack.workers} worker(s) configured); PostgreSQL on 127.0.0.1:{stack.postgres_port}; folder {stack.root}"
    )


def client_environment(stack: Stack) -> dict[str, str]:
    """PULSE_ANALYTICS_* values that point `pulse load-trino`, `build --target trino` and `sync` at this stack: https,
    its CA, and its users' passwords file (each client picks the password of its PULSE_ANALYTICS_TRINO_USER)."""
    return {
        config.PREFIX + "TRINO_HOST": "localhost",
        config.PREFIX + "TRINO_PORT": str(stack.trino_port),
        config.PREFIX + "TRINO_HTTP_SCHEME": "https",
        config.PREFIX + "TRINO_AUTH_METHOD": "ldap",
        config.PREFIX + "TRINO_CA_FILE": str(stack.security.trusted),
        config.PREFIX + "TRINO_PASSWORDS_FILE": str(stack.security.users),
        config.PREFIX + "TRINO_LOCAL_ROOT": str(Paths(Path(stack.root)).iceberg),
    }


# --- helpers ------------------------------------------------------------------------------------------------------


def run_checked(command: list[str], what: str, env: dict[str, str] | None = None) -> None:
    process = subprocess.run(command, capture_output=True, text=True, env=env)
    if process.returncode != 0:
        output = (process.stdout + process.stderr).strip()[-3000:]
        raise NativeStackError(f"{what} failed (exit {process.returncode}):\n{output}")


def tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def first_error(path: Path, lines: int = 5) -> str:
    """The first ERROR of a Trino log and the lines after it (the end of the log is Guice's class legend)."""
    text = path.read_text(errors="replace").splitlines() if path.exists() else []
    start = next((number for number, line in enumerate(text) if "\tERROR\t" in line), None)
    return "\n".join(text[start : start + lines]) if start is not None else tail(path)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_free(port: int) -> bool:
    """True if a server could listen on the port. Like servers (Trino too), the probe sets SO_REUSEADDR: connections
    of a just-stopped Trino in TIME_WAIT do not keep the port from being used again."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
