"""SQLite for the backend: one file, WAL mode, and numbered migrations per component.

Each component (``app``, ``indexer``) owns an ordered list of SQL migrations; ``migrate`` applies the ones
not yet applied, each in its own transaction, and records the version in ``schema_version``. Production
deployments that need many backend processes move this to PostgreSQL (the SQL is kept portable).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect(path: Path | str) -> sqlite3.Connection:
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    return conn


def migrate(conn: sqlite3.Connection, component: str, migrations: list[str]) -> int:
    """Apply ``migrations[version:]`` for ``component``; returns the new version."""
    row = conn.execute("SELECT version FROM schema_version WHERE component = ?", (component,)).fetchone()
    version = row[0] if row else 0
    for number, sql in enumerate(migrations[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in filter(None, (s.strip() for s in sql.split(";"))):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (component, version) VALUES (?, ?) "
                         "ON CONFLICT(component) DO UPDATE SET version = excluded.version", (component, number))
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
    return len(migrations)
