"""A throwaway PostgreSQL server for the tests (and benchmarks): ``initdb`` into a temporary directory, started on
127.0.0.1 at a free port (and a Unix socket in that directory), one fresh database per caller, stopped and deleted
at the end. The server refuses to run as root: as root, it runs as the ``postgres`` user (``runuser``).

The binaries are Debian's ``postgresql`` package (``make system`` installs it), found under
``/usr/lib/postgresql/<version>/bin``, on PATH, or in ``INFERIX_PG_BINDIR``. Durability is off (``fsync``,
``synchronous_commit``, ``full_page_writes``): these databases live for one test session.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def find_bindir() -> Path | None:
    """The directory of ``initdb``/``pg_ctl``, or None."""
    configured = os.environ.get("INFERIX_PG_BINDIR")
    if configured:
        return Path(configured) if (Path(configured) / "initdb").exists() else None
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if versions:
        return versions[-1].parent
    initdb = shutil.which("initdb")
    return Path(os.path.realpath(initdb)).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalPostgres:
    """``start()``, then ``create_database()`` (a URL per new database), ``drop_database(url)``, ``stop()``."""

    def __init__(self, bindir: Path | None = None, user: str = "postgres") -> None:
        self.bindir = bindir or find_bindir()
        self.user = user  # the database superuser (trust authentication: no password)
        self.root: Path | None = None
        self.port: int | None = None
        self._admin = None
        self._as_postgres = os.geteuid() == 0

    # ------------------------------------------------------------ server
    def _run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = [str(self.bindir / argv[0]), *argv[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            path = self.root / "log" if self.root else None
            log = path.read_text(errors="replace")[-1500:] if path and path.exists() else ""
            raise PostgresUnavailable(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()[-1500:]}\n{log}")
        return done

    def start(self, attempts: int = 3) -> "LocalPostgres":
        if self.bindir is None:
            raise PostgresUnavailable("PostgreSQL's server binaries (initdb, pg_ctl) were not found: `make system` "
                                      "installs Debian's postgresql package (or set INFERIX_PG_BINDIR)")
        if self._as_postgres:
            try:
                import pwd

                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root, but there is no `postgres` user to run the server "
                                          "(PostgreSQL refuses root): install Debian's postgresql package") from None
        self.root = Path(tempfile.mkdtemp(prefix="inferix-pg-"))
        if self._as_postgres:
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self._run("initdb", "-D", str(self.root / "data"), "-A", "trust", "-U", self.user, "-E", "UTF8", "--no-sync")
        for attempt in range(attempts):
            self.port = _free_port()
            options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            try:
                self._run("pg_ctl", "-D", str(self.root / "data"), "-o", options, "-l", str(self.root / "log"),
                          "-w", "-t", "60", "start", timeout=90)
                return self
            except PostgresUnavailable:
                if attempt == attempts - 1:  # a port taken between the probe and the start: try another
                    self.stop()
                    raise
        return self

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self.root is None:
            return
        if (self.root / "data" / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop", timeout=60)
            except (PostgresUnavailable, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> "LocalPostgres":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ databases
    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def _execute(self, sql: str) -> None:
        import psycopg

        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(self.url(), autocommit=True)
        self._admin.execute(sql)

    def create_database(self, prefix: str = "inferix") -> str:
        """A new, empty database; returns its URL."""
        name = f"{re.sub(r'[^a-z0-9_]', '_', prefix.lower())[:40]}_{secrets.token_hex(4)}"
        self._execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database`, closing whatever connections are still open to it."""
        name = url.rsplit("/", 1)[-1]
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
