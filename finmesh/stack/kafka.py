"""A real Apache Kafka broker for the local stack and the test suite (KRaft combined mode).

The broker's jars come from Maven Central: :func:`ensure_kafka_jars` runs Maven once on
``deploy/kafka/pom.xml`` into a cache directory and reuses the result afterwards.
:class:`KafkaBroker` writes ``server.properties`` for a single node that is both broker and
controller, formats its storage once (the cluster id is kept beside the data), and starts
``java kafka.Kafka`` detached in its own process group with its output in a log file and its
PID in a pid file. The same data directory can be stopped and started again any number of
times, also on other ports.

Typical use::

    libs = ensure_kafka_jars(stack.cache_dir)
    broker = KafkaBroker(libs, stack.home / "data" / "kafka", port=9092, controller_port=9093,
                         log_file=stack.logs_dir / "kafka.log",
                         pid_file=stack.run_dir / "kafka.pid")
    broker.start()
    broker.wait_ready()
    create_topics(broker.bootstrap_servers, all_topics(), TOPIC_PARTITIONS)
    ...
    broker.stop()                       # or, from another process: stop_pid_file(pid_file)

Start-up takes about two seconds once a class-data-sharing archive exists: the first broker
that runs with a given JDK and jar set records one when it stops cleanly, and later starts map
it instead of loading every class again.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from finmesh.config import REPO_ROOT

__all__ = [
    "KAFKA_VERSION",
    "KafkaBroker",
    "KafkaSetupError",
    "create_topics",
    "ensure_kafka_jars",
    "pid_file_running",
    "stop_pid_file",
]

log = logging.getLogger(__name__)

#: The Apache Kafka version; keep in step with ``kafka.version`` in ``deploy/kafka/pom.xml``.
KAFKA_VERSION = "4.4.0"
#: The POM whose dependencies are the broker's jars.
POM_PATH = REPO_ROOT / "deploy" / "kafka" / "pom.xml"
#: Pinned so the resolution is reproducible (also pinned in the POM's pluginManagement).
_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
_MARKER = ".resolved"
_MAIN_CLASS = "kafka.Kafka"
_STORAGE_TOOL = "kafka.tools.StorageTool"
_LOG4J2 = """\
status = warn
shutdownHook = disable
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


class KafkaSetupError(RuntimeError):
    """Kafka could not be resolved, formatted, started or reached."""


# --------------------------------------------------------------------------------------------
# Jars


def ensure_kafka_jars(cache_dir: Path, *, pom: Path = POM_PATH) -> Path:
    """Resolve the broker's jars with Maven into ``cache_dir`` and return their directory.

    A no-op when they are already there (a marker file records the POM it was resolved from; a
    changed POM resolves again). Maven's own repository lives in ``cache_dir/m2`` so nothing is
    written to ``~/.m2``. Safe to call from several processes at once (a file lock serialises
    them).
    """
    cache_dir = cache_dir.resolve()
    pom_digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    home = cache_dir / f"kafka-{KAFKA_VERSION}"
    libs = home / "libs"
    marker = home / _MARKER
    if _marker_matches(marker, pom_digest):
        return libs
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _file_lock(cache_dir / "kafka-resolve.lock"):
        if _marker_matches(marker, pom_digest):  # another process resolved it meanwhile
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise KafkaSetupError(
                "Maven (`mvn`) is needed to fetch the Apache Kafka jars; install Maven 3.8+ "
                "or set KAFKA_BOOTSTRAP_SERVERS to use an existing broker"
            )
        print(
            f"resolving Apache Kafka {KAFKA_VERSION} jars with Maven into {home} (first run only)…",
            flush=True,
        )
        started = time.monotonic()
        staging = home / f"libs.{os.getpid()}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        cmd = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            f"-Dmaven.repo.local={cache_dir / 'm2'}",
            # Wagon retries a transfer cut off mid-body too (by default only unsent requests).
            "-Dmaven.wagon.http.retryHandler.count=5",
            "-Dmaven.wagon.http.retryHandler.requestSentEnabled=true",
            f"{_DEPENDENCY_PLUGIN}:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ]
        _run_maven(cmd, staging)
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
        marker.write_text(pom_digest + "\n")
        print(f"resolved Kafka jars in {time.monotonic() - started:.1f}s", flush=True)
    return libs


#: Pauses before each further Maven attempt: a reset connection to Maven Central is usually
#: gone a few seconds later, and what was downloaded before it stays in the local repository.
RESOLVE_RETRY_DELAYS = (5.0, 20.0, 60.0)


def _run_maven(cmd: list[str], staging: Path) -> None:
    """Run the copy-dependencies ``cmd`` until it leaves the broker jar in ``staging``.

    Retries with :data:`RESOLVE_RETRY_DELAYS` between attempts (each says why on stdout); raises
    :class:`KafkaSetupError` with Maven's own words when the last attempt fails too.
    """
    attempts = len(RESOLVE_RETRY_DELAYS) + 1
    for attempt in range(1, attempts + 1):
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode == 0 and any(staging.glob("kafka_2.13-*.jar")):
            return
        shutil.rmtree(staging, ignore_errors=True)
        output = _tail(proc.stdout + proc.stderr)
        if attempt == attempts:
            raise KafkaSetupError(
                f"Maven could not resolve the Kafka jars after {attempts} attempts "
                f"(exit {proc.returncode}):\n{output}"
            )
        delay = RESOLVE_RETRY_DELAYS[attempt - 1]
        print(
            f"Maven attempt {attempt}/{attempts} failed (exit {proc.returncode}); "
            f"retrying in {delay:.0f}s:\n{_tail(output, 5)}",
            flush=True,
        )
        time.sleep(delay)


def _marker_matches(marker: Path, digest: str) -> bool:
    try:
        return marker.read_text().strip() == digest
    except FileNotFoundError:
        return False


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --------------------------------------------------------------------------------------------
# Broker


class KafkaBroker:
    """One local Kafka node (broker + KRaft controller) on loopback.

    ``data_dir`` holds the generated configuration, the cluster id and the log segments; keep it
    to keep the topics and their messages across restarts. ``log_file`` and ``pid_file`` default
    to files inside ``data_dir``.
    """

    def __init__(
        self,
        libs_dir: Path,
        data_dir: Path,
        *,
        port: int,
        controller_port: int,
        log_file: Path | None = None,
        pid_file: Path | None = None,
        heap: str = "512m",
        host: str = "127.0.0.1",
    ) -> None:
        self.libs_dir = libs_dir.resolve()
        self.data_dir = data_dir.resolve()
        self.port = port
        self.controller_port = controller_port
        self.host = host
        self.heap = heap
        self.log_file = (log_file or self.data_dir / "kafka.log").resolve()
        self.pid_file = (pid_file or self.data_dir / "kafka.pid").resolve()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def config_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log_dirs(self) -> Path:
        return self.data_dir / "kraft-logs"

    # ---- lifecycle ------------------------------------------------------------------------

    def is_running(self) -> bool:
        """True while the broker process recorded in the pid file is alive."""
        if self._proc is not None and self._proc.poll() is not None:
            self._proc = None
        return pid_file_running(self.pid_file)

    def start(self) -> None:
        """Start the broker in the background; returns at once (see :meth:`wait_ready`).

        Does nothing if the pid file names a live broker. Formats the storage on first use.
        """
        if self.is_running():
            log.info("kafka already running (pid file %s)", self.pid_file)
            return
        java = _java()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self._write_config()
        classpath = _classpath(self.libs_dir)
        self._format_storage(java, classpath)

        cds_flags, pending = _cds_flags(java, self.libs_dir, classpath)
        cmd = [
            java,
            "-Xms128m",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-Djava.awt.headless=true",
            *cds_flags,
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.log_file.parent}",
            "-cp",
            classpath,
            _MAIN_CLASS,
            str(self.config_file),
        ]
        with self.log_file.open("ab") as out:
            out.write(f"\n==== finmesh: starting Kafka {KAFKA_VERSION} ====\n".encode())
            out.flush()
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
            )
        _write_atomic(self.pid_file, f"{self._proc.pid}\n")
        _cds_pending_file(self.pid_file).unlink(missing_ok=True)
        if pending is not None:
            _write_atomic(_cds_pending_file(self.pid_file), f"{pending[0]}\n{pending[1]}\n")
        log.info("kafka starting, pid %s, log %s", self._proc.pid, self.log_file)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the broker answers a metadata request and its group coordinator is
        loaded (so the first consumer group joins at once), or raise :class:`KafkaSetupError`.
        """
        deadline = time.monotonic() + timeout
        admin = AdminClient(_quiet_client_config(self.bootstrap_servers))
        while not self._answers_metadata(admin):
            self._check_alive_before(deadline, timeout)
            time.sleep(0.1)
        # The first FindCoordinator creates __consumer_offsets; wait until it is loaded.
        while not _group_coordinator_ready(admin):
            self._check_alive_before(deadline, timeout)
            time.sleep(0.1)

    def _answers_metadata(self, admin: AdminClient) -> bool:
        try:
            return bool(admin.list_topics(timeout=1.0).brokers)
        except KafkaException:
            return False

    def _check_alive_before(self, deadline: float, timeout: float) -> None:
        if not self.is_running():
            raise KafkaSetupError(
                f"Kafka exited during start-up; the end of {self.log_file}:\n"
                f"{_tail(_read_tail(self.log_file))}"
            )
        if time.monotonic() > deadline:
            raise KafkaSetupError(
                f"Kafka was not ready on {self.bootstrap_servers} within {timeout:.0f}s; "
                f"see {self.log_file}"
            )

    def stop(self, grace: float = 30.0) -> bool:
        """Stop the broker: SIGTERM to its process group, SIGKILL after ``grace`` seconds.

        Returns True if a running broker was stopped. The data stays.
        """
        proc, self._proc = self._proc, None
        return stop_pid_file(self.pid_file, grace=grace, proc=proc)

    # ---- files ----------------------------------------------------------------------------

    def _write_config(self) -> None:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "log.dirs": str(self.log_dirs),
            "num.partitions": "3",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "10",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "auto.create.topics.enable": "false",
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "4",
        }
        text = "# generated by finmesh/stack/kafka.py; edits are overwritten on start\n"
        text += "".join(f"{k}={v}\n" for k, v in props.items())
        _write_atomic(self.config_file, text)
        _write_atomic(self.data_dir / "log4j2.properties", _LOG4J2)

    def _format_storage(self, java: str, classpath: str) -> None:
        if (self.log_dirs / "meta.properties").exists():
            return
        id_file = self.data_dir / "cluster.id"
        if not id_file.exists():
            _write_atomic(id_file, _random_cluster_id() + "\n")
        cluster_id = id_file.read_text().strip()
        cmd = [
            java,
            "-Xmx256m",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            "-cp",
            classpath,
            _STORAGE_TOOL,
            "format",
            "--ignore-formatted",
            f"--cluster-id={cluster_id}",
            f"--config={self.config_file}",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise KafkaSetupError(
                f"formatting Kafka storage in {self.log_dirs} failed (exit {proc.returncode}):\n"
                f"{_tail(proc.stdout + proc.stderr)}"
            )


def pid_file_running(pid_file: Path) -> bool:
    """True if ``pid_file`` names a live Kafka broker process."""
    pid = _read_pid(pid_file)
    return pid is not None and _is_kafka_process(pid)


def stop_pid_file(
    pid_file: Path, *, grace: float = 30.0, proc: subprocess.Popen[bytes] | None = None
) -> bool:
    """Stop the broker named by ``pid_file`` (for ``make down``); True if one was running.

    ``proc`` is the :class:`subprocess.Popen` when the caller started it, so it is reaped.
    """
    pid = _read_pid(pid_file)
    if pid is None or not _is_kafka_process(pid):
        if proc is not None:
            proc.wait()
        pid_file.unlink(missing_ok=True)
        _cds_pending_file(pid_file).unlink(missing_ok=True)
        return False
    _signal_group(pid, signal.SIGTERM)
    clean = _wait_exit(pid, grace, proc)
    if not clean:
        log.warning("kafka (pid %s) ignored SIGTERM for %.0fs; sending SIGKILL", pid, grace)
        _signal_group(pid, signal.SIGKILL)
        _wait_exit(pid, 10.0, proc)
    _finish_cds(pid_file, keep=clean)
    pid_file.unlink(missing_ok=True)
    return True


def _read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def _is_kafka_process(pid: int) -> bool:
    """Alive, not a zombie, and really ``kafka.Kafka`` (a recycled pid is not ours)."""
    proc_dir = Path("/proc") / str(pid)
    if Path("/proc/self").exists():
        try:
            cmdline = (proc_dir / "cmdline").read_bytes()
            stat = (proc_dir / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            return False
        state = stat.rsplit(")", 1)[-1].split()[0]
        return state not in {"Z", "X"} and _MAIN_CLASS.encode() in cmdline.split(b"\0")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        with suppress(ProcessLookupError):
            os.kill(pid, sig)


def _wait_exit(pid: int, timeout: float, proc: subprocess.Popen[bytes] | None) -> bool:
    if proc is not None:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout
    while _is_kafka_process(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# --------------------------------------------------------------------------------------------
# Class-data sharing: the first clean run records the loaded classes; later runs map them.


def _cds_pending_file(pid_file: Path) -> Path:
    return pid_file.with_name(pid_file.name + ".cds")


def _cds_flags(
    java: str, libs_dir: Path, classpath: str
) -> tuple[list[str], tuple[Path, Path] | None]:
    java_real = Path(java).resolve()
    try:
        java_stamp = str(java_real.stat().st_mtime_ns)
    except OSError:
        return [], None
    key = hashlib.sha256(f"{java_real}\0{java_stamp}\0{classpath}".encode()).hexdigest()[:16]
    cds_dir = libs_dir.parent / "cds"
    archive = cds_dir / f"broker-{key}.jsa"
    if archive.exists():
        return [f"-XX:SharedArchiveFile={archive}", "-Xshare:auto", "-Xlog:cds=off"], None
    cds_dir.mkdir(parents=True, exist_ok=True)
    staging = cds_dir / f"broker-{key}.{uuid.uuid4().hex[:8]}.tmp"
    return [f"-XX:ArchiveClassesAtExit={staging}", "-Xlog:cds=off"], (staging, archive)


def _finish_cds(pid_file: Path, *, keep: bool) -> None:
    pending = _cds_pending_file(pid_file)
    try:
        staging_s, archive_s = pending.read_text().split()
    except (FileNotFoundError, ValueError):
        return
    staging = Path(staging_s)
    pending.unlink(missing_ok=True)
    if keep and staging.exists() and staging.stat().st_size > 0:
        os.replace(staging, Path(archive_s))
    else:
        staging.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# Topics


def create_topics(
    bootstrap: str,
    topics: Iterable[str],
    partitions: int,
    *,
    replication_factor: int = 1,
    timeout: float = 30.0,
) -> None:
    """Create ``topics`` (idempotent: existing topics are left as they are) and wait until
    every one of them has a leader for every partition."""
    wanted = list(dict.fromkeys(topics))
    if not wanted:
        return
    admin = AdminClient(_quiet_client_config(bootstrap))
    futures = admin.create_topics(
        [
            NewTopic(t, num_partitions=partitions, replication_factor=replication_factor)
            for t in wanted
        ],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    for topic, future in futures.items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if not (isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS):
                raise KafkaSetupError(f"could not create topic {topic!r}: {exc}") from exc
    deadline = time.monotonic() + timeout
    while True:
        metadata = admin.list_topics(timeout=timeout)
        missing = [t for t in wanted if not _topic_ready(metadata.topics.get(t))]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise KafkaSetupError(f"topics not ready after {timeout:.0f}s: {missing}")
        time.sleep(0.1)


def _group_coordinator_ready(admin: AdminClient) -> bool:
    futures = admin.describe_consumer_groups(["finmesh-readiness-probe"], request_timeout=2.0)
    try:
        for future in futures.values():
            future.result()
    except KafkaException:
        return False
    return True


def _topic_ready(topic: Any) -> bool:
    if topic is None or topic.error is not None or not topic.partitions:
        return False
    return all(p.leader >= 0 for p in topic.partitions.values())


# --------------------------------------------------------------------------------------------
# Helpers


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise KafkaSetupError("Kafka needs Java 17+ (`java` not found; set JAVA_HOME)")
    return java


def _classpath(libs_dir: Path) -> str:
    jars = sorted(libs_dir.glob("*.jar"))
    if not jars:
        raise KafkaSetupError(f"no Kafka jars in {libs_dir}; run ensure_kafka_jars() first")
    return os.pathsep.join(str(j) for j in jars)


def _random_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding.

    Like Kafka's own ``Uuid.randomUuid()``, never one starting with ``-``, which a command
    line would take for an option.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _quiet_client_config(bootstrap: str) -> dict[str, Any]:
    """Admin client settings for polling a broker that may not be up yet, without stderr noise."""
    return {
        "bootstrap.servers": bootstrap,
        "socket.connection.setup.timeout.ms": 1000,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 250,
        "logger": logging.getLogger("finmesh.kafka.librdkafka"),
        "error_cb": _ignore_error,
    }


def _ignore_error(err: KafkaError) -> None:
    log.debug("kafka admin client: %s", err)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _read_tail(path: Path, size: int = 8192) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - size))
            return fh.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


if __name__ == "__main__":  # pragma: no cover - manual smoke run
    logging.basicConfig(level=logging.INFO)
    print(
        ensure_kafka_jars(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT / ".finmesh/cache")
    )
