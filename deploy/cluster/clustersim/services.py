"""The servers of the run, each on its own host: Redis and PostgreSQL on the data host (their own,
in the run's directory; the machine's own servers are never touched), the fake LLM, and the API.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import psycopg

from clustersim.options import Options
from clustersim.processes import Processes, Running
from clustersim.topology import Topology
from clustersim.waiting import http_ok, port_open, until

PG_BIN = Path("/usr/lib/postgresql/15/bin")
REDIS_PORT = 6379
PG_PORT = 5432
LLM_PORT = 8089
API_PORT = 8000
DATABASE = "labelwise"


@dataclass(frozen=True)
class Endpoints:
    """Where the services answer, as seen from any host (and from the driver on the bridge)."""

    redis_url: str
    database_url: str  # SQLAlchemy's form, for the services
    postgres_dsn: str  # psycopg's form, for the driver's checks
    llm_url: str
    api_url: str


def endpoints(topology: Topology) -> Endpoints:
    data, llm, api = (topology.host(n).address for n in ("data", "llm", "api"))
    return Endpoints(
        redis_url=f"redis://{data}:{REDIS_PORT}/0",
        database_url=f"postgresql+psycopg://postgres@{data}:{PG_PORT}/{DATABASE}",
        postgres_dsn=f"postgresql://postgres@{data}:{PG_PORT}/{DATABASE}",
        llm_url=f"http://{llm}:{LLM_PORT}/v1",
        api_url=f"http://{api}:{API_PORT}",
    )


def labelwise_environment(options: Options, where: Endpoints) -> dict[str, str]:
    """The settings every labelwise process gets. Shorter leases and reconcile passes than a
    deployment's so that breaks heal within the run; chunks of four rounds of calls, so work
    spreads over every worker of a phase instead of sitting in one worker's chunk."""
    return {
        "LABELWISE_DATABASE_URL": where.database_url,
        "LABELWISE_REDIS_URL": where.redis_url,
        "LABELWISE_OPENAI_BASE_URL": where.llm_url,
        "LABELWISE_OPENAI_API_KEY": "cluster-simulation",
        "LABELWISE_WORK_LEASE_SECONDS": f"{options.lease_seconds:g}",
        "LABELWISE_QUEUED_LEASE_SECONDS": f"{4 * options.lease_seconds:g}",
        "LABELWISE_RECONCILE_INTERVAL_SECONDS": f"{options.reconcile_seconds:g}",
        "LABELWISE_LLM_CONCURRENCY": str(options.concurrency),
        "LABELWISE_CHUNK_SIZE": str(4 * options.concurrency),
        "LABELWISE_LLM_TIMEOUT_SECONDS": "20",
        "LABELWISE_DB_POOL_SIZE": "5",
        "LABELWISE_DB_MAX_OVERFLOW": "10",
    }


class DataHost:
    """Redis (append-only, noeviction) and PostgreSQL (trust for the run's network only)."""

    def __init__(self, options: Options, topology: Topology, processes: Processes) -> None:
        self.host = topology.host("data")
        self.network = topology.network
        self.processes = processes
        self.redis_dir = options.run_dir / "redis"
        self.pg_dir = options.run_dir / "postgres"
        self.redis: Running | None = None

    def start(self) -> None:
        self._init_postgres()
        self.processes.start("postgres", self.host, self._postgres_argv(), user="postgres")
        self.start_redis()
        until(lambda: port_open(self.host.address, PG_PORT), what="postgres", timeout=60)
        until(self._create_database, what="database creation", timeout=30)

    def start_redis(self) -> None:
        self.redis_dir.mkdir(exist_ok=True)
        shutil.chown(self.redis_dir, "redis", "redis")
        argv = [
            "redis-server",
            "--bind", self.host.address,
            "--port", str(REDIS_PORT),
            "--dir", str(self.redis_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--maxmemory", "512mb",
            "--maxmemory-policy", "noeviction",
            "--protected-mode", "no",
        ]  # fmt: skip
        self.redis = self.processes.start("redis", self.host, argv, user="redis")
        until(lambda: port_open(self.host.address, REDIS_PORT), what="redis", timeout=30)

    def crash_redis(self) -> None:
        """SIGKILL: what is not yet in the append-only file is gone, as after a power cut."""
        if self.redis is not None:
            self.processes.kill(self.redis)
            self.redis = None

    def _init_postgres(self) -> None:
        self.pg_dir.mkdir()
        shutil.chown(self.pg_dir, "postgres", "postgres")
        initdb = [str(PG_BIN / "initdb"), "-D", str(self.pg_dir), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-sync"]  # fmt: skip
        self.processes.run_once("initdb", self.host, initdb, user="postgres")
        hba = f"local all all trust\nhost all all {self.network} trust\n"
        (self.pg_dir / "pg_hba.conf").write_text(hba)

    def _postgres_argv(self) -> list[str]:
        settings = {
            "listen_addresses": self.host.address,
            "port": str(PG_PORT),
            "unix_socket_directories": str(self.pg_dir),
            "max_connections": "300",
            "shared_buffers": "128MB",
        }
        argv = [str(PG_BIN / "postgres"), "-D", str(self.pg_dir)]
        for name, value in settings.items():
            argv += ["-c", f"{name}={value}"]
        return argv

    def _create_database(self) -> bool:
        dsn = f"postgresql://postgres@{self.host.address}:{PG_PORT}/postgres"
        with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                connection.execute(f"CREATE DATABASE {DATABASE}")
        return True


def start_llm(options: Options, topology: Topology, processes: Processes) -> str:
    """Start the fake LLM without waiting (it imports while the other servers start); the
    address to wait for with `wait_llm`."""
    host = topology.host("llm")
    argv = [str(options.python), "-m", "labelwise.testing.fake_llm", "--host", host.address,
            "--port", str(LLM_PORT), "--latency-ms", f"{options.llm_latency_ms:g}"]  # fmt: skip
    processes.start("fake-llm", host, argv)
    return host.address


def wait_llm(address: str) -> None:
    until(lambda: port_open(address, LLM_PORT), what="fake LLM", timeout=90)


def start_api(options: Options, topology: Topology, processes: Processes, where: Endpoints) -> str:
    """Migrate, serve, and issue an admin key while the API starts; the key."""
    host = topology.host("api")
    labelwise = [str(options.python), "-m", "labelwise"]
    processes.run_once("migrate", host, [*labelwise, "migrate"])
    serve = [*labelwise, "api", "--host", host.address, "--port", str(API_PORT)]
    processes.start("api", host, serve)
    output = processes.run_once(
        "keys-create", host, [*labelwise, "keys", "create", "--name", "cluster", "--role", "admin"]
    )
    key = output.strip().splitlines()[-1].strip()
    until(lambda: http_ok(f"{where.api_url}/readyz"), what="api", timeout=90)
    return key
