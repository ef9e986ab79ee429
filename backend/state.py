"""The backend's own state: its tables (component ``app``: sign-in nonces, sessions, uploaded scenes, quotes, and
the manager's task seeds, encrypted at rest) and where it keeps scenes on disk."""

from __future__ import annotations

from pathlib import Path

APP_MIGRATIONS: list[str] = [
    # 1: sign-in and uploads
    """
    CREATE TABLE nonces (nonce TEXT PRIMARY KEY, expires_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, address TEXT NOT NULL, expires_at REAL NOT NULL);
    CREATE INDEX sessions_address ON sessions (address);
    CREATE TABLE scenes (
        cid TEXT NOT NULL, owner TEXT NOT NULL, filename TEXT NOT NULL, size INTEGER NOT NULL,
        kind TEXT NOT NULL, metadata TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (cid, owner)
    );
    CREATE TABLE quotes (
        id TEXT PRIMARY KEY, owner TEXT NOT NULL, scene_cid TEXT NOT NULL, body TEXT NOT NULL, created_at REAL NOT NULL
    );
    """,
    # 2: the manager's work on jobs
    """
    CREATE TABLE prepared_jobs (
        job_id INTEGER PRIMARY KEY, status TEXT NOT NULL, error TEXT, updated_at REAL NOT NULL
    );
    CREATE TABLE seeds (
        key_commit TEXT PRIMARY KEY, job_id INTEGER NOT NULL, task_index INTEGER NOT NULL,
        task_id INTEGER, sealed_seed BLOB NOT NULL, package_cid TEXT NOT NULL, ibm INTEGER NOT NULL,
        frame_start INTEGER NOT NULL, frame_end INTEGER NOT NULL, revealed INTEGER NOT NULL DEFAULT 0,
        UNIQUE (job_id, task_index)
    );
    CREATE TABLE manager_cursor (name TEXT PRIMARY KEY, block INTEGER NOT NULL);
    CREATE TABLE worker_record (address TEXT PRIMARY KEY, failures INTEGER NOT NULL DEFAULT 0,
                                completed INTEGER NOT NULL DEFAULT 0, last_failure REAL);
    """,
    # 3: what the manager reads from its own event cursor instead of re-scanning the chain
    """
    ALTER TABLE prepared_jobs ADD COLUMN event TEXT;
    ALTER TABLE seeds ADD COLUMN result_cid TEXT;
    CREATE TABLE known_workers (address TEXT PRIMARY KEY);
    """,
    # 4: benchmark tasks the manager pays for, one per worker without an attested IB
    """
    CREATE TABLE benchmarks (
        worker TEXT PRIMARY KEY, quote_id TEXT, job_id INTEGER, created_at REAL NOT NULL
    );
    CREATE TABLE benchmark_scenes (order_key TEXT PRIMARY KEY, body TEXT NOT NULL);
    """,
    # 5: protocol v2: the sealed manifest's digest is committed with each task, and a re-queued task gets a
    # fresh secret per attempt (the row follows the task's current attempt)
    """
    ALTER TABLE seeds ADD COLUMN manifest_digest TEXT;
    ALTER TABLE seeds ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
    DELETE FROM benchmark_scenes;
    """,
    # 6: a task seen settled, failed or cancelled is never read again: each step reads the open tasks only
    """
    ALTER TABLE seeds ADD COLUMN ended INTEGER NOT NULL DEFAULT 0;
    """,
    # 7: batches of the lane (backend/batching.py): the batch (its seed sealed at rest, its current offer), its tasks
    # by index, the workers' signed acceptances, and each job task's way through batches
    """
    CREATE TABLE batches (
        batch_id TEXT PRIMARY KEY, nonce INTEGER NOT NULL UNIQUE, job_id INTEGER NOT NULL,
        sealed_seed BLOB NOT NULL, status TEXT NOT NULL, render_window INTEGER NOT NULL, offer TEXT,
        posted_block INTEGER, created_at REAL NOT NULL, updated_at REAL NOT NULL
    );
    CREATE INDEX batches_status ON batches (status);
    CREATE TABLE batch_tasks (
        batch_id TEXT NOT NULL, idx INTEGER NOT NULL, job_id INTEGER NOT NULL, task_index INTEGER NOT NULL,
        package_cid TEXT NOT NULL, manifest_digest TEXT NOT NULL, ibm INTEGER NOT NULL,
        frame_start INTEGER NOT NULL, frame_end INTEGER NOT NULL, PRIMARY KEY (batch_id, idx)
    );
    CREATE TABLE batch_acceptances (
        batch_id TEXT NOT NULL, grp INTEGER NOT NULL, worker TEXT NOT NULL, accept_by INTEGER NOT NULL,
        signature TEXT NOT NULL, PRIMARY KEY (batch_id, grp)
    );
    CREATE TABLE lane_tasks (
        job_id INTEGER NOT NULL, task_index INTEGER NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
        placement_failures INTEGER NOT NULL, batch_id TEXT, PRIMARY KEY (job_id, task_index)
    );
    CREATE INDEX lane_tasks_status ON lane_tasks (status);
    """,
]


def scene_path(work_dir: Path, cid: str, kind: str) -> Path:
    """The manager's local copy of an uploaded scene (it is also on IPFS under ``cid``)."""
    return Path(work_dir) / "scenes" / f"{cid}.{kind}"
