"""The backend's database: SQLite (embedded, the default) or PostgreSQL (many processes), chosen by one URL, with
numbered migrations per component.

``connect(url)``: a file path, ``:memory:`` or ``sqlite:///PATH`` opens SQLite (one file, WAL mode): the
``sqlite3`` connection itself, unchanged. ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?OPTIONS]`` (or
``postgres://``) opens PostgreSQL through psycopg 3, wrapped in :class:`PgConnection`, which takes the same calls
the backend makes on a ``sqlite3`` connection. Any other URL is an error (:class:`DatabaseURLError`): never a
silent fallback to SQLite.

The backend's SQL is written once, for both: portable statements (``INSERT … ON CONFLICT … DO NOTHING / DO
UPDATE``, ``RETURNING``, plain ``BEGIN``/``COMMIT``), with SQLite's ``?`` placeholders. :class:`PgConnection`
translates what cannot be written portably, in one place (``translate``):

* ``?`` placeholders become ``%s`` (and a literal ``%`` becomes ``%%``), outside quoted strings;
* ``BEGIN IMMEDIATE`` (SQLite's write lock, taken up front) becomes ``BEGIN`` (PostgreSQL locks rows as it writes);
* ``PRAGMA`` statements are skipped (SQLite settings);
* in ``CREATE TABLE`` and ``ALTER TABLE`` (the migrations), SQLite's storage classes become PostgreSQL types with
  the same range and behaviour: ``INTEGER`` → ``BIGINT`` (SQLite integers are 64-bit), ``REAL`` → ``DOUBLE
  PRECISION`` (SQLite REAL is 8 bytes), ``BLOB`` → ``BYTEA``, ``TEXT`` → ``TEXT COLLATE "C"`` (SQLite compares
  text byte by byte: the same ``ORDER BY`` whatever the database's locale);
* ``INSERT OR IGNORE`` / ``INSERT OR REPLACE`` are refused with a clear error: write ``ON CONFLICT`` instead.

Rows are :class:`Row` (by name, by index, ``keys()``, ``dict(row)``), like ``sqlite3.Row``; a cursor whose
``row_factory`` is set to None returns plain tuples, as with ``sqlite3``. The connection is in autocommit mode,
like ``sqlite3`` with ``isolation_level=None``: each statement commits unless inside an explicit ``BEGIN`` …
``COMMIT``. A connection lost outside a transaction (a server restart, an idle timeout) is reopened: a ``SELECT``
that meets the lost connection is run again on the new one, any other statement fails once (it may or may not have
been applied) and the next one reconnects. One lost inside a transaction fails that transaction (its ``ROLLBACK``
then succeeds, and the next statement reconnects).

``migrate(conn, component, migrations)`` applies the migrations not yet applied, each in its own transaction, and
records the version in ``schema_version``. Each step reads the version inside its transaction, under SQLite's write
lock or a PostgreSQL advisory lock, so several processes that start together (API processes, the indexer) apply
each migration exactly once. PostgreSQL runs DDL in transactions: a failed migration leaves nothing behind.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence, Union
from urllib.parse import urlsplit, urlunsplit

SQLITE = "sqlite"
POSTGRESQL = "postgresql"

# pg_advisory_xact_lock key of schema changes (any constant; "inferix" in ASCII)
MIGRATION_LOCK = 0x696E6665726978


class DatabaseURLError(ValueError):
    """A database URL this backend cannot use."""


@dataclass(frozen=True)
class DatabaseURL:
    dialect: str  # SQLITE or POSTGRESQL
    target: str  # SQLite: a file path or ":memory:"; PostgreSQL: a libpq connection URL (postgresql://...)

    def __str__(self) -> str:
        return redact(self.target) if self.dialect == POSTGRESQL else self.target


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_PG_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg3")


def parse_url(url: str | Path) -> DatabaseURL:
    """What ``url`` names: a ``Path`` or a plain path (SQLite), ``sqlite:///relative/path``, ``sqlite:////abs/path``,
    ``sqlite://`` or ``:memory:`` (an in-memory SQLite database), ``postgresql://…`` or ``postgres://…``."""
    if isinstance(url, Path):
        return DatabaseURL(SQLITE, str(url))
    if not isinstance(url, str) or not url.strip():
        raise DatabaseURLError(f"empty database URL {url!r}: give a file path, sqlite:///PATH or postgresql://...")
    text = url.strip()
    match = _SCHEME.match(text)
    if match is None:
        if re.match(r"^(sqlite|postgres(ql)?)(\+\w+)?:", text, re.IGNORECASE):
            raise DatabaseURLError(f"malformed database URL {redact(text)!r}: expected sqlite:///PATH or "
                                   "postgresql://USER@HOST:PORT/DBNAME")
        return DatabaseURL(SQLITE, text)  # a file path (or :memory:)
    scheme = match.group(1).lower()
    if scheme == "sqlite":
        parts = urlsplit(text)
        if parts.netloc or parts.query or parts.fragment:
            raise DatabaseURLError(f"malformed SQLite URL {text!r}: sqlite:///relative/path, sqlite:////absolute/path "
                                   "or sqlite:// (in memory)")
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        return DatabaseURL(SQLITE, path or ":memory:")
    if scheme in _PG_SCHEMES:
        parts = urlsplit(text)  # no host: libpq's default, the local Unix socket
        if not parts.path.strip("/"):
            raise DatabaseURLError(f"PostgreSQL URL {redact(text)!r} names no database: "
                                   "postgresql://USER@HOST:PORT/DBNAME")
        return DatabaseURL(POSTGRESQL, "postgresql" + text[len(scheme):])
    raise DatabaseURLError(f"unsupported database URL scheme {scheme!r} in {redact(text)!r}: the backend runs on "
                           "SQLite (a file path or sqlite:///PATH) or PostgreSQL (postgresql://...)")


def redact(url: str) -> str:
    """``url`` without its password (for logs and errors)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit((parts.scheme, netloc, *parts[2:]))
    except ValueError:
        return "<unparsable URL>"


def connect(url: str | Path) -> "Connection":
    """Open the database ``url`` names (see :func:`parse_url`), with the ``schema_version`` table."""
    target = parse_url(url)
    if target.dialect == POSTGRESQL:
        return PgConnection.open(target.target)
    path = target.target
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    for attempt in range(100):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            # a new file that another process is switching to WAL at this moment: SQLite answers at once, without
            # waiting for the busy timeout
            if "locked" not in str(exc) or attempt == 99:
                raise
            time.sleep(0.05)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    return conn


def dialect(conn: "Connection") -> str:
    return POSTGRESQL if isinstance(conn, PgConnection) else SQLITE


def migrate(conn: "Connection", component: str, migrations: list[str]) -> int:
    """Apply ``migrations[version:]`` for ``component``; returns the new version."""
    postgres = dialect(conn) == POSTGRESQL
    while True:
        conn.execute("BEGIN IMMEDIATE")  # SQLite: the write lock, so that the version read below stays true
        try:
            if postgres:
                conn.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            row = conn.execute("SELECT version FROM schema_version WHERE component = ?", (component,)).fetchone()
            version = row[0] if row else 0
            if version >= len(migrations):
                conn.execute("COMMIT")
                return len(migrations)
            for statement in filter(None, (s.strip() for s in migrations[version].split(";"))):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (component, version) VALUES (?, ?) "
                         "ON CONFLICT(component) DO UPDATE SET version = excluded.version", (component, version + 1))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


# ------------------------------------------------------------------ PostgreSQL

class UnsupportedSQL(ValueError):
    """SQLite-only SQL that has a portable form (the message says which)."""


_QUOTED = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*")""")
_BEGIN = re.compile(r"^BEGIN(\s+(IMMEDIATE|DEFERRED|EXCLUSIVE))?(\s+TRANSACTION)?$", re.IGNORECASE)
_END = re.compile(r"^(COMMIT|END|ROLLBACK)(\s+TRANSACTION)?$", re.IGNORECASE)
_PRAGMA = re.compile(r"^PRAGMA\b", re.IGNORECASE)
_DDL = re.compile(r"^(CREATE|ALTER)\s+TABLE\b", re.IGNORECASE)
_TYPES = {"INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION", "BLOB": "BYTEA", "TEXT": 'TEXT COLLATE "C"'}
_TYPE_WORD = re.compile(r"\b(INTEGER|REAL|BLOB|TEXT)\b", re.IGNORECASE)
_INSERT_OR = re.compile(r"\bINSERT\s+OR\s+(IGNORE|REPLACE|ABORT|FAIL|ROLLBACK)\b", re.IGNORECASE)
_SQLITE_ONLY = re.compile(r"\b(sqlite_master|sqlite_schema|rowid|AUTOINCREMENT|GROUP_CONCAT)\b", re.IGNORECASE)


@dataclass(frozen=True)
class _Query:
    sql: str | None  # None: nothing to run on PostgreSQL (a PRAGMA)
    control: str | None = None  # "begin", "end" (COMMIT/ROLLBACK) or None
    rollback: bool = False
    read: bool = False  # a SELECT: safe to run again on a new connection


@functools.lru_cache(maxsize=2048)
def _translate(sql: str) -> _Query:
    text = sql.strip().rstrip(";").strip()
    if _PRAGMA.match(text):
        return _Query(None)
    if _BEGIN.match(text):
        return _Query("BEGIN", "begin")
    end = _END.match(text)
    if end:
        word = end.group(1).upper()
        return _Query("ROLLBACK" if word == "ROLLBACK" else "COMMIT", "end", word == "ROLLBACK")
    ddl = bool(_DDL.match(text))
    out = []
    for i, part in enumerate(_QUOTED.split(text)):
        if i % 2:  # a quoted string or identifier: only psycopg's % needs escaping
            out.append(part.replace("%", "%%"))
            continue
        found = _INSERT_OR.search(part)
        if found:
            portable = "ON CONFLICT DO NOTHING" if found.group(1).upper() == "IGNORE" else \
                "ON CONFLICT (key) DO UPDATE SET column = excluded.column"
            raise UnsupportedSQL(f"{found.group(0)} is SQLite-only: write INSERT ... {portable} (portable): {sql!r}")
        found = _SQLITE_ONLY.search(part)
        if found:
            raise UnsupportedSQL(f"{found.group(0)} is SQLite-only; keep the backend's SQL portable: {sql!r}")
        part = part.replace("%", "%%").replace("?", "%s")
        if ddl:
            part = _TYPE_WORD.sub(lambda m: _TYPES[m.group(1).upper()], part)
        out.append(part)
    return _Query("".join(out), read=text[:6].upper() == "SELECT")


def translate(sql: str) -> str | None:
    """The PostgreSQL form of one backend statement (None: nothing to run); see the module's docstring."""
    return _translate(sql).sql


def _params(params: Any) -> tuple:
    if params is None:
        return ()
    if isinstance(params, dict):
        raise TypeError("named parameters are not supported: use ? placeholders")
    # sqlite3 stores a bool as 0/1: so do the INTEGER (BIGINT) columns here
    return tuple(int(p) if p is True or p is False else p for p in params)


class Row:
    """A result row like ``sqlite3.Row``: ``row[0]``, ``row["name"]``, ``keys()``, ``dict(row)``, unpacking."""

    __slots__ = ("_values", "_index")

    def __init__(self, values: Sequence, index: dict[str, int]) -> None:
        self._values = tuple(values)
        self._index = index

    def __getitem__(self, key):
        if isinstance(key, str):
            try:
                return self._values[self._index[key]]
            except KeyError:
                lowered = key.lower()  # sqlite3.Row matches names case-insensitively
                for name, i in self._index.items():
                    if name.lower() == lowered:
                        return self._values[i]
                raise IndexError(f"no such column: {key}") from None
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator:
        return iter(self._values)

    def __eq__(self, other) -> bool:
        if isinstance(other, Row):
            return self._values == other._values and self.keys() == other.keys()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values)

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values))!r})"


def _row_factory(cursor):
    index = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: Row(values, index)


class PgCursor:
    """A cursor of :class:`PgConnection`, with the ``sqlite3.Cursor`` calls the backend uses."""

    def __init__(self, owner: "PgConnection") -> None:
        self._owner = owner
        self._cur = None  # psycopg's cursor, made at the first execute (on the connection open then)
        self._factory: Any = Row
        self._has_rows = False

    @property
    def row_factory(self):
        return self._factory

    @row_factory.setter
    def row_factory(self, factory) -> None:
        # None: plain tuples (the read handlers' fast path); anything else: Row, as sqlite3.Row
        self._factory = factory
        if self._cur is not None:
            self._cur.row_factory = self._psycopg_rows()

    def _psycopg_rows(self):
        return self._owner.errors.rows.tuple_row if self._factory is None else _row_factory

    def execute(self, sql: str, params: Any = ()) -> "PgCursor":
        query = _translate(sql)
        self._has_rows = False
        if query.sql is None:
            return self
        owner = self._owner
        if query.rollback and owner.raw.broken:
            owner.in_transaction = False  # the server ended it with the connection; the next statement reconnects
            return self
        params = _params(params)
        if self._cur is None:
            self._cur = owner.raw.cursor(row_factory=self._psycopg_rows())
        try:
            self._cur.execute(query.sql, params)
        except owner.errors.OperationalError:
            if not (query.read and owner.raw.broken and not owner.in_transaction):
                raise
            owner.reconnect()  # a read that met a lost connection: once more on a new one
            self._cur = owner.raw.cursor(row_factory=self._psycopg_rows())
            self._cur.execute(query.sql, params)
        if query.control is not None:
            owner.in_transaction = query.control == "begin"
        # whether the statement returned rows: the result's status (reading `description` would build a Column
        # object per column, a third of this wrapper's CPU on the read API's hot path)
        result = self._cur.pgresult
        self._has_rows = result is not None and result.status == owner.errors.pq.ExecStatus.TUPLES_OK
        return self

    def executemany(self, sql: str, seq: Iterable[Any]) -> "PgCursor":
        query = _translate(sql)
        self._has_rows = False
        if query.sql is not None:
            if self._cur is None:
                self._cur = self._owner.raw.cursor(row_factory=self._psycopg_rows())
            self._cur.executemany(query.sql, [_params(p) for p in seq])
        return self

    def fetchone(self):
        return self._cur.fetchone() if self._has_rows else None

    def fetchall(self) -> list:
        return self._cur.fetchall() if self._has_rows else []

    def fetchmany(self, size: int = 1) -> list:
        return self._cur.fetchmany(size) if self._has_rows else []

    def __iter__(self) -> Iterator:
        return iter(self._cur) if self._has_rows else iter(())

    @property
    def rowcount(self) -> int:
        return -1 if self._cur is None else self._cur.rowcount

    @property
    def description(self):
        return None if self._cur is None else self._cur.description

    @property
    def lastrowid(self) -> None:
        return None  # the backend's tables have natural keys (no AUTOINCREMENT)

    def close(self) -> None:
        if self._cur is not None:
            self._cur.close()


class PgConnection:
    """A psycopg 3 connection (autocommit) that takes the calls the backend makes on a ``sqlite3`` connection:
    ``execute``, ``executemany``, ``cursor``, ``commit``, ``rollback``, ``close``. See the module's docstring."""

    dialect = POSTGRESQL

    def __init__(self, conninfo: str, raw) -> None:
        import psycopg
        import psycopg.pq
        import psycopg.rows

        self.conninfo = conninfo
        self.raw = raw
        self.errors = psycopg  # the module: its exception classes and row factories
        self.in_transaction = False
        self._closed = False

    @classmethod
    def open(cls, conninfo: str) -> "PgConnection":
        conn = cls(conninfo, cls._connect(conninfo))
        if conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()[0]:
            return conn
        conn.execute("BEGIN")
        try:
            conn.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))  # concurrent CREATEs would collide
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version "
                         "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return conn

    @staticmethod
    def _connect(conninfo: str):
        try:
            import psycopg
        except ImportError:  # pragma: no cover - psycopg is a dependency of the project
            raise RuntimeError("a postgresql:// database needs psycopg 3: pip install 'psycopg[binary]'") from None
        kwargs = {} if "connect_timeout" in conninfo else {"connect_timeout": 10}
        try:
            return psycopg.connect(conninfo, autocommit=True, application_name="inferix-backend", **kwargs)
        except psycopg.OperationalError as exc:
            raise psycopg.OperationalError(f"cannot connect to PostgreSQL at {redact(conninfo)}: {exc}") from None

    def reconnect(self) -> None:
        self.raw = self._connect(self.conninfo)
        self.in_transaction = False

    def cursor(self) -> PgCursor:
        if self.raw.broken and not self.in_transaction and not self._closed:
            self.reconnect()  # lost between transactions (a server restart): reopen
        return PgCursor(self)

    def execute(self, sql: str, params: Any = ()) -> PgCursor:
        return self.cursor().execute(sql, params)

    def executemany(self, sql: str, seq: Iterable[Any]) -> PgCursor:
        return self.cursor().executemany(sql, seq)

    def commit(self) -> None:
        if self.in_transaction:
            self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.execute("ROLLBACK")

    def close(self) -> None:
        self._closed = True
        self.raw.close()

    def __enter__(self) -> "PgConnection":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        # as sqlite3: the context commits (or rolls back) an open transaction; it does not close the connection
        if kind is None:
            self.commit()
        else:
            self.rollback()


Connection = Union[sqlite3.Connection, PgConnection]
AnyRow = Union[sqlite3.Row, Row]
