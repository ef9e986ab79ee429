"""The backend on its two databases (``backend.db``): SQLite and a real PostgreSQL server (the session's
``postgres``). The same calls behave the same on both (rows, parameters, types, ordering, transactions, concurrent
migrations, the app's sign-in state, the manager's tables); on PostgreSQL, two API processes serve reads from one
database while an indexer writes, a lost connection is reopened, and a URL that cannot be opened fails loudly."""

from __future__ import annotations

import os
import sys
import threading
import time

import httpx
import psycopg
import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from backend import manager as manager_module
from backend.app import create_app
from backend.db import PgConnection, UnsupportedSQL, connect, dialect, migrate
from backend.indexer import INDEXER_MIGRATIONS, Indexer
from backend.manager import Manager, ManagerConfig
from backend.settings import BackendSettings
from backend.state import APP_MIGRATIONS
from backend.workerbench import BenchmarkOrder, BenchmarkScene
from inferix.testing.devnet import ROOT
from inferix.testing.process import Service
from tests.integration.backend.test_auth_uploads import DOMAIN, URI, sign, sign_in, siwe_text

TEST_MIGRATIONS = [
    "CREATE TABLE t (id INTEGER PRIMARY KEY, big INTEGER, x REAL, b BLOB, s TEXT, flag INTEGER, "
    "n INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX t_s ON t (s); ALTER TABLE t ADD COLUMN note TEXT NOT NULL DEFAULT '100% ?'",
]


def test_rows_parameters_and_types_as_on_sqlite(db_url, db_backend):
    conn = connect(db_url)
    assert dialect(conn) == db_backend
    assert migrate(conn, "test", TEST_MIGRATIONS) == 2 and migrate(conn, "test", TEST_MIGRATIONS) == 2
    now = 1_764_000_000.123456  # a time.time(): PostgreSQL's REAL would keep 6 digits, DOUBLE PRECISION keeps all
    cur = conn.execute("INSERT INTO t (id, big, x, b, s, flag) VALUES (?, ?, ?, ?, ?, ?)",
                       (1, 2**62, now, b"\x00sealed\xff", "50% done?", True))
    assert cur.rowcount == 1 and cur.fetchone() is None and cur.fetchall() == []
    row = conn.execute("SELECT id, big, x, b, s, flag, note FROM t WHERE id = ?", (1,)).fetchone()
    assert (row[0], row["big"], row["x"], bytes(row["b"]), row["s"], row["flag"], row["note"]) == (
        1, 2**62, now, b"\x00sealed\xff", "50% done?", 1, "100% ?")
    assert row["BIG"] == 2**62 and list(row.keys()) == ["id", "big", "x", "b", "s", "flag", "note"]
    assert dict(row)["s"] == "50% done?" and len(row) == 7 and row[1:3] == (2**62, now)
    (only,) = conn.execute("SELECT COUNT(*) FROM t").fetchone()
    assert only == 1
    # ? and % inside literals are text, not parameters
    assert conn.execute("SELECT '?', '%', ? || '%s'", ("x",)).fetchone()[:] == ("?", "%", "x%s")

    conn.executemany("INSERT INTO t (id, s) VALUES (?, ?)", [(2, "B"), (3, "a"), (4, "_"), (5, "0x9A"),
                                                             (6, "0xa9")])
    assert [r[0] for r in conn.execute("SELECT s FROM t WHERE id > 1 ORDER BY s")] == [
        "0x9A", "0xa9", "B", "_", "a"]  # byte order, as SQLite (checksummed addresses sort the same way)
    # portable upserts: nothing on a conflict (rowcount 0), or an update of the existing row
    assert conn.execute("INSERT INTO t (id, s) VALUES (?, ?) ON CONFLICT DO NOTHING", (2, "x")).rowcount == 0
    for _ in range(2):
        conn.execute("INSERT INTO t (id, n) VALUES (?, 1) ON CONFLICT(id) DO UPDATE SET n = t.n + 1", (7,))
    conn.execute("INSERT INTO t (id, s) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET s = excluded.s", (2, "C"))
    assert conn.execute("SELECT n FROM t WHERE id = 7").fetchone()[0] == 2
    assert conn.execute("UPDATE t SET s = ? WHERE id = ? AND s = ? RETURNING id", ("D", 2, "C")).fetchone()[0] == 2
    assert conn.execute("UPDATE t SET s = ? WHERE id = ? AND s = ? RETURNING id", ("E", 2, "C")).fetchone() is None
    # the read handlers' plain tuples
    raw = conn.cursor()
    raw.row_factory = None
    assert raw.execute("SELECT id, s FROM t WHERE id = ?", (2,)).fetchone() == (2, "D")
    assert list(raw.execute("SELECT id FROM t WHERE id < ? ORDER BY id", (3,))) == [(1,), (2,)]
    if db_backend == "postgresql":
        with pytest.raises(UnsupportedSQL, match="ON CONFLICT DO NOTHING"):
            conn.execute("INSERT OR IGNORE INTO t (id) VALUES (?)", (1,))
    conn.close()


def test_a_transaction_is_seen_whole_or_not_at_all(new_db_url):
    url = new_db_url()
    writer, reader = connect(url), connect(url)
    migrate(writer, "test", TEST_MIGRATIONS)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t (id) VALUES (1)")
    writer.execute("INSERT INTO t (id) VALUES (2)")
    assert reader.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0  # not blocked, and nothing half-written
    writer.execute("COMMIT")
    assert reader.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 2
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM t")
    writer.execute("ROLLBACK")
    assert reader.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 2
    writer.close()
    reader.close()


def test_processes_starting_together_apply_each_migration_once(new_db_url):
    """API processes and the indexer migrate the same fresh database at the same moment: every migration is
    applied once (a second CREATE TABLE would fail), and every process ends at the last version."""
    url = new_db_url()
    start, errors, versions = threading.Barrier(4), [], []

    def process():
        try:
            start.wait(10)
            conn = connect(url)
            versions.append((migrate(conn, "app", APP_MIGRATIONS), migrate(conn, "indexer", INDEXER_MIGRATIONS)))
            conn.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=process) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and versions == [(len(APP_MIGRATIONS), len(INDEXER_MIGRATIONS))] * 4
    conn = connect(url)
    assert {tuple(r) for r in conn.execute("SELECT component, version FROM schema_version")} == {
        ("app", len(APP_MIGRATIONS)), ("indexer", len(INDEXER_MIGRATIONS))}
    conn.close()


def test_sign_in_state(db_url):
    """The app's own tables (nonces, sessions): sign-in, a replayed nonce, an expired one."""
    settings = BackendSettings(database_url=db_url, siwe_domain=DOMAIN, siwe_uri=URI, signin_rate="30/minute")
    app = create_app(settings)
    alice = Account.create()
    with TestClient(app) as client:
        token = sign_in(client, alice)
        assert client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).json()["address"] == \
            alice.address
        nonce = client.post("/v1/auth/nonce").json()["nonce"]
        text = siwe_text(alice.address, nonce)
        body = {"message": text, "signature": sign(alice, text)}
        assert client.post("/v1/auth/verify", json=body).status_code == 200
        assert client.post("/v1/auth/verify", json=body).status_code == 401  # consumed
        nonce = client.post("/v1/auth/nonce").json()["nonce"]
        app.state.db.execute("UPDATE nonces SET expires_at = ? WHERE nonce = ?", (time.time() - 1, nonce))
        text = siwe_text(alice.address, nonce)
        reply = client.post("/v1/auth/verify", json={"message": text, "signature": sign(alice, text)})
        assert reply.status_code == 401 and "expired" in reply.json()["detail"]
    app.state.db.close()


def test_manager_tables(devnet, idx_lifecycle, db_url, tmp_path, monkeypatch):
    """The manager's event tables from the chain (jobs to prepare, known workers, each worker's record, kept by
    upserts) and its benchmark scene cache."""
    life = idx_lifecycle
    conn = connect(db_url)
    migrate(conn, "app", APP_MIGRATIONS)
    mgr = Manager(devnet.chain(1), None, conn, ManagerConfig(stake=0, seed_key=b"k" * 32, work_dir=tmp_path,
                                                            benchmark=BenchmarkOrder()))
    assert mgr.me == life.manager
    mgr.poll_events()
    job = conn.execute("SELECT * FROM prepared_jobs WHERE job_id = ?", (life.job_id,)).fetchone()
    assert job["status"] == "pending" and '"sceneCid": "bafyidxscene"' in job["event"]
    assert life.worker in [r[0] for r in conn.execute("SELECT address FROM known_workers")]
    record = conn.execute("SELECT failures, completed FROM worker_record WHERE address = ?", (life.worker,)).fetchone()
    assert record["failures"] >= 1 and record["completed"] >= 1  # the rejected attempt, the settled task
    assert conn.execute("SELECT block FROM manager_cursor WHERE name = 'escrow'").fetchone()[0] > life.stages["closed"]
    mgr.poll_events()  # the cursor moved: nothing counted twice
    assert tuple(conn.execute("SELECT failures, completed FROM worker_record WHERE address = ?",
                              (life.worker,)).fetchone()) == tuple(record)

    made = []
    monkeypatch.setattr(manager_module, "make_benchmark_scene",
                        lambda store, work_dir, order, ibm: made.append(ibm) or BenchmarkScene("bafybench", ibm, 123))
    assert mgr._benchmark_scene() == mgr._benchmark_scene() == BenchmarkScene("bafybench", made[0], 123)
    assert len(made) == 1  # the second one came from the table
    conn.close()


# ------------------------------------------------------------------ PostgreSQL only

def test_bad_postgresql_urls_fail_loudly(postgres):
    with pytest.raises(psycopg.OperationalError, match="cannot connect to PostgreSQL at postgresql://u:\\*\\*\\*@"):
        connect(f"postgresql://u:secret@127.0.0.1:{_free_port()}/inferix?connect_timeout=3")
    with pytest.raises(psycopg.OperationalError, match='database "no_such_db" does not exist'):
        connect(postgres.url("no_such_db"))
    with pytest.raises(psycopg.OperationalError):
        create_app(BackendSettings(database_url=postgres.url("no_such_db")))  # the API does not start elsewhere


def test_a_lost_connection_is_reopened(postgres):
    url = postgres.create_database("lost")
    conn, admin = connect(url), connect(url)
    assert isinstance(conn, PgConnection)
    migrate(conn, "test", TEST_MIGRATIONS)

    def kill():
        pid = conn.raw.info.backend_pid
        admin.execute("SELECT pg_terminate_backend(?)", (pid,))
        for _ in range(100):  # the backend is gone once it leaves pg_stat_activity
            if admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = ?", (pid,)).fetchone() is None:
                return
            time.sleep(0.02)

    kill()
    assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0  # a read: run again on a new connection
    conn.execute("BEGIN")
    conn.execute("INSERT INTO t (id) VALUES (1)")
    kill()
    with pytest.raises(psycopg.OperationalError):
        conn.execute("INSERT INTO t (id) VALUES (2)")  # inside a transaction: the transaction is lost, loudly
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0  # nothing of it was kept
    conn.execute("INSERT INTO t (id) VALUES (3)")
    assert [tuple(r) for r in admin.execute("SELECT id FROM t")] == [(3,)]
    conn.close()
    admin.close()
    postgres.drop_database(url)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_api_processes_read_one_postgresql_while_the_indexer_writes(devnet, idx_lifecycle, postgres, tmp_path):
    """The production shape: API processes (``uvicorn --factory backend.app:app_from_env``, as an operator starts
    them) and one indexer share a PostgreSQL database. The processes start together on an empty database (they
    migrate it once between them); each serves what the indexer committed, and neither sees a block range the
    indexer is in the middle of applying."""
    life = idx_lifecycle
    url = postgres.create_database("shared")
    env = {**os.environ, "INFERIX_DATABASE_URL": url, "INFERIX_RPC_URL": devnet.anvil.url,
           "INFERIX_DEPLOYMENTS": str(devnet.deployments_path), "INFERIX_IPFS_API": "/ip4/127.0.0.1/tcp/9",
           "PYTHONPATH": str(ROOT)}
    ports = [_free_port(), _free_port()]
    apis = [Service(f"api-{i}", [sys.executable, "-m", "uvicorn", "--factory", "backend.app:app_from_env",
                                 "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                    log_path=tmp_path / f"api-{i}.log", env=env, cwd=ROOT) for i, port in enumerate(ports)]
    indexer_db = connect(url)
    try:
        for api in apis:
            api.start()  # both at once: they migrate the empty database together

        def answers(port):
            try:
                return httpx.get(f"http://127.0.0.1:{port}/v1/index", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        deadline = time.monotonic() + 60
        while not all(answers(port) for port in ports):
            assert time.monotonic() < deadline and all(api.alive() for api in apis), \
                "\n".join(api.log_tail(1500) for api in apis)
            time.sleep(0.2)

        def seen(path: str, key: str) -> list:
            return [httpx.get(f"http://127.0.0.1:{port}{path}", timeout=10).json()[key] for port in ports]

        indexer = Indexer(devnet.chain(), indexer_db, max_blocks=10_000)
        indexer.poll_once(to_block=life.stages["verdicts"])
        assert seen(f"/v1/tasks/{life.passed_task}", "state") == ["verified"] * 2
        assert seen("/v1/index", "next_block") == [life.stages["verdicts"] + 1] * 2

        # the indexer stops in the middle of the next range, inside its transaction (the task settled, the job's
        # counters not yet updated), while both processes read
        inside, release = threading.Event(), threading.Event()
        settled = indexer._on_JobEscrow_TaskSettled

        def paused(*args):
            settled(*args)
            inside.set()
            assert release.wait(30)

        indexer._on_JobEscrow_TaskSettled = paused
        worker = threading.Thread(target=indexer.poll_once, kwargs={"to_block": life.stages["settled"]})
        worker.start()
        try:
            assert inside.wait(30)
            assert seen(f"/v1/tasks/{life.passed_task}", "state") == ["verified"] * 2
            assert seen("/v1/index", "next_block") == [life.stages["verdicts"] + 1] * 2
        finally:
            release.set()
            worker.join(30)
        assert seen(f"/v1/tasks/{life.passed_task}", "state") == ["settled"] * 2
        assert seen(f"/v1/jobs/{life.job_id}", "task_counts") == [
            {"total": 3, "open": 1, "settled": 1, "failed": 0, "cancelled": 1}] * 2
        assert seen("/v1/index", "next_block") == [life.stages["settled"] + 1] * 2
    finally:
        for api in apis:
            api.terminate()
        for api in apis:
            api.stop()
        indexer_db.close()
        postgres.drop_database(url)
