"""A node's durable state in SQLite: event cursors and per-task records, so that a restart resumes
exactly where the node stopped and never repeats a transaction it already sent.

One file per node; WAL mode so a reader (status command) never blocks the daemon.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS cursor (name TEXT PRIMARY KEY, block INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS task (
    task_id INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    updated REAL NOT NULL DEFAULT (julianday('now')),
    PRIMARY KEY (task_id, attempt)
);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batch (
    batch_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    updated REAL NOT NULL DEFAULT (julianday('now'))
);
"""


class NodeDB:
    def __init__(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    # ------------------------------------------------------------ cursors
    def cursor(self, name: str, default: int) -> int:
        row = self._conn.execute("SELECT block FROM cursor WHERE name = ?", (name,)).fetchone()
        return row[0] if row else default

    def set_cursor(self, name: str, block: int) -> None:
        with self._lock:
            self._conn.execute("INSERT INTO cursor (name, block) VALUES (?, ?) "
                               "ON CONFLICT(name) DO UPDATE SET block = excluded.block", (name, block))

    # ------------------------------------------------------------ tasks
    def task(self, task_id: int, attempt: int) -> tuple[str, dict[str, Any]] | None:
        row = self._conn.execute("SELECT status, data FROM task WHERE task_id = ? AND attempt = ?",
                                 (task_id, attempt)).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def set_task(self, task_id: int, attempt: int, status: str, **data: Any) -> None:
        """Upsert; ``data`` is merged into what is stored."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._conn.execute("SELECT data FROM task WHERE task_id = ? AND attempt = ?",
                                         (task_id, attempt)).fetchone()
                merged = {**(json.loads(row[0]) if row else {}), **data}
                self._conn.execute(
                    "INSERT INTO task (task_id, attempt, status, data) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(task_id, attempt) DO UPDATE SET status = excluded.status, data = excluded.data, "
                    "updated = julianday('now')", (task_id, attempt, status, json.dumps(merged)))
                self._conn.execute("COMMIT")
            except Exception:
                self._conn.execute("ROLLBACK")
                raise

    # ------------------------------------------------------------ batches (the lane: one record per batch id)
    def batch(self, batch_id: bytes) -> tuple[str, dict[str, Any]] | None:
        row = self._conn.execute("SELECT status, data FROM batch WHERE batch_id = ?", (batch_id.hex(),)).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def set_batch(self, batch_id: bytes, status: str, **data: Any) -> None:
        """Upsert; ``data`` is merged into what is stored."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._conn.execute("SELECT data FROM batch WHERE batch_id = ?", (batch_id.hex(),)).fetchone()
                merged = {**(json.loads(row[0]) if row else {}), **data}
                self._conn.execute(
                    "INSERT INTO batch (batch_id, status, data) VALUES (?, ?, ?) ON CONFLICT(batch_id) DO UPDATE "
                    "SET status = excluded.status, data = excluded.data, updated = julianday('now')",
                    (batch_id.hex(), status, json.dumps(merged)))
                self._conn.execute("COMMIT")
            except Exception:
                self._conn.execute("ROLLBACK")
                raise

    def batches(self, *statuses: str) -> list[tuple[bytes, str, dict[str, Any]]]:
        marks = ",".join("?" * len(statuses))
        rows = self._conn.execute(f"SELECT batch_id, status, data FROM batch WHERE status IN ({marks}) "
                                  "ORDER BY updated", statuses).fetchall()
        return [(bytes.fromhex(r[0]), r[1], json.loads(r[2])) for r in rows]

    def tasks(self, *statuses: str) -> list[tuple[int, int, str, dict[str, Any]]]:
        marks = ",".join("?" * len(statuses))
        rows = self._conn.execute(f"SELECT task_id, attempt, status, data FROM task WHERE status IN ({marks}) "
                                  "ORDER BY task_id, attempt", statuses).fetchall()
        return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    # ------------------------------------------------------------ key-value
    def get(self, key: str, default: Any = None) -> Any:
        row = self._conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._conn.execute("INSERT INTO kv (key, value) VALUES (?, ?) "
                               "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, json.dumps(value)))
