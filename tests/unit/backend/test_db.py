"""The database URL (SQLite or PostgreSQL, never a silent fallback) and the PostgreSQL translation of the backend's
SQL (``backend.db``); tests/integration/backend/test_postgres.py runs it on a real server."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from backend.db import (POSTGRESQL, SQLITE, DatabaseURL, DatabaseURLError, UnsupportedSQL, connect, migrate,
                        parse_url, redact, translate)
from backend.indexer import INDEXER_MIGRATIONS
from backend.settings import BackendSettings
from backend.state import APP_MIGRATIONS


@pytest.mark.parametrize("url,expected", [
    (Path("data/backend.sqlite"), DatabaseURL(SQLITE, "data/backend.sqlite")),
    ("data/backend.sqlite", DatabaseURL(SQLITE, "data/backend.sqlite")),
    ("/var/lib/inferix/backend.sqlite", DatabaseURL(SQLITE, "/var/lib/inferix/backend.sqlite")),
    (":memory:", DatabaseURL(SQLITE, ":memory:")),
    ("sqlite:///data/backend.sqlite", DatabaseURL(SQLITE, "data/backend.sqlite")),
    ("sqlite:////var/lib/backend.sqlite", DatabaseURL(SQLITE, "/var/lib/backend.sqlite")),
    ("sqlite://", DatabaseURL(SQLITE, ":memory:")),
    ("sqlite:///:memory:", DatabaseURL(SQLITE, ":memory:")),
    ("postgresql://inferix:pw@db.internal:5432/inferix",
     DatabaseURL(POSTGRESQL, "postgresql://inferix:pw@db.internal:5432/inferix")),
    ("postgres://inferix@10.0.0.5/index?sslmode=require",
     DatabaseURL(POSTGRESQL, "postgresql://inferix@10.0.0.5/index?sslmode=require")),
    ("postgresql+psycopg://u@h/db", DatabaseURL(POSTGRESQL, "postgresql://u@h/db")),
    ("postgresql:///db?host=/run/postgresql", DatabaseURL(POSTGRESQL, "postgresql:///db?host=/run/postgresql")),
    ("postgresql:///inferix", DatabaseURL(POSTGRESQL, "postgresql:///inferix")),  # the local Unix socket
])
def test_urls_name_the_database(url, expected):
    assert parse_url(url) == expected


@pytest.mark.parametrize("url,reason", [
    ("mysql://u@h/db", "unsupported database URL scheme 'mysql'"),
    ("http://example.com/db", "unsupported database URL scheme 'http'"),
    ("", "empty database URL"),
    ("   ", "empty database URL"),
    ("postgresql:db", "malformed database URL"),
    ("sqlite:data.db", "malformed database URL"),
    ("sqlite://host/data.db", "malformed SQLite URL"),
    ("postgresql://user@host", "names no database"),
    ("postgres://user@host:5432/", "names no database"),
])
def test_bad_urls_are_refused_with_the_reason(url, reason):
    with pytest.raises(DatabaseURLError, match=reason):
        parse_url(url)
    with pytest.raises(DatabaseURLError, match=reason):
        connect(url)  # never a silent fallback to a SQLite file


def test_the_setting_chooses_the_database_and_refuses_a_bad_url(tmp_path, monkeypatch):
    monkeypatch.delenv("INFERIX_DATABASE_URL", raising=False)
    assert BackendSettings(database=tmp_path / "a.sqlite").database_location == tmp_path / "a.sqlite"
    monkeypatch.setenv("INFERIX_DATABASE_URL", "postgresql://inferix@db:5432/inferix")
    assert BackendSettings(database=tmp_path / "a.sqlite").database_location == "postgresql://inferix@db:5432/inferix"
    monkeypatch.setenv("INFERIX_DATABASE_URL", "mongodb://db/inferix")
    with pytest.raises(ValidationError, match="unsupported database URL scheme 'mongodb'"):
        BackendSettings()


def test_passwords_stay_out_of_messages():
    assert redact("postgresql://inferix:s3cret@db:5432/x") == "postgresql://inferix:***@db:5432/x"
    assert "s3cret" not in str(parse_url("postgres://inferix:s3cret@db/x"))
    with pytest.raises(DatabaseURLError) as caught:
        parse_url("mysql://inferix:s3cret@db/x")
    assert "s3cret" not in str(caught.value)


def test_sqlite_urls_open_sqlite(tmp_path):
    conn = connect(f"sqlite:///{tmp_path}/via-url.sqlite")  # sqlite:/// + an absolute path
    assert migrate(conn, "indexer", INDEXER_MIGRATIONS) == len(INDEXER_MIGRATIONS)
    conn.close()
    assert (tmp_path / "via-url.sqlite").exists()


@pytest.mark.parametrize("sql,expected", [
    ("SELECT * FROM jobs WHERE job_id = ? AND status = ?", "SELECT * FROM jobs WHERE job_id = %s AND status = %s"),
    # placeholders and percent signs: only outside quotes is ? a parameter; % is always escaped for psycopg
    ("SELECT '?', \"a?b\", ? FROM t WHERE x LIKE '50%'", "SELECT '?', \"a?b\", %s FROM t WHERE x LIKE '50%%'"),
    ("SELECT 'it''s ?' || ?", "SELECT 'it''s ?' || %s"),
    ("BEGIN IMMEDIATE", "BEGIN"), ("begin", "BEGIN"), ("BEGIN DEFERRED TRANSACTION", "BEGIN"),
    ("COMMIT", "COMMIT"), ("END", "COMMIT"), ("ROLLBACK", "ROLLBACK"),
    ("PRAGMA journal_mode=WAL", None), ("pragma foreign_keys=ON", None),
    ("INSERT INTO events (block) VALUES (?) ON CONFLICT DO NOTHING",
     "INSERT INTO events (block) VALUES (%s) ON CONFLICT DO NOTHING"),
    # the migrations: SQLite's storage classes as PostgreSQL types of the same range, text compared bytewise
    ("CREATE TABLE t (id INTEGER PRIMARY KEY, x REAL NOT NULL, b BLOB, s TEXT NOT NULL DEFAULT 'TEXT INTEGER')",
     "CREATE TABLE t (id BIGINT PRIMARY KEY, x DOUBLE PRECISION NOT NULL, b BYTEA, "
     "s TEXT COLLATE \"C\" NOT NULL DEFAULT 'TEXT INTEGER')"),
    ("ALTER TABLE jobs ADD COLUMN benchmark integer NOT NULL DEFAULT 0",
     "ALTER TABLE jobs ADD COLUMN benchmark BIGINT NOT NULL DEFAULT 0"),
    ("ALTER TABLE workers RENAME COLUMN fee_usd TO fees", "ALTER TABLE workers RENAME COLUMN fee_usd TO fees"),
    ("SELECT CAST(x AS INTEGER) FROM t", "SELECT CAST(x AS INTEGER) FROM t"),  # types change in DDL only
])
def test_postgresql_translation(sql, expected):
    assert translate(sql) == expected


@pytest.mark.parametrize("sql", ["INSERT OR IGNORE INTO t (a) VALUES (?)", "insert or replace into t values (1)",
                                 "SELECT name FROM sqlite_master", "SELECT rowid FROM t",
                                 "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT)"])
def test_sqlite_only_sql_is_refused_on_postgresql(sql):
    with pytest.raises(UnsupportedSQL, match="SQLite-only"):
        translate(sql)


def test_every_migration_translates():
    """The shared migrations use no SQLite-only form (the statements of the indexer, the read API and the manager
    run on a real server in tests/integration/backend)."""
    for migrations in (INDEXER_MIGRATIONS, APP_MIGRATIONS):
        for migration in migrations:
            for statement in filter(None, (s.strip() for s in migration.split(";"))):
                assert translate(statement), statement
