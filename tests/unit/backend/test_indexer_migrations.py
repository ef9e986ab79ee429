"""Index migrations that come with a redeployment (2, 3, 4) empty the index of the previous deployment, cursor
included, so that it is rebuilt from the new deployment's first block: an old task id must never shadow a new one."""

from __future__ import annotations

from backend.db import connect, migrate
from backend.indexer import INDEXER_MIGRATIONS

TABLES = ("events", "jobs", "tasks", "task_attempts", "verdicts", "task_scores", "workers", "epochs", "indexer_cursor")


def test_the_seed_escrow_redeployment_empties_an_index_of_the_previous_deployment(tmp_path):
    conn = connect(tmp_path / "index.db")
    assert migrate(conn, "indexer", INDEXER_MIGRATIONS[:3]) == 3
    conn.execute("INSERT INTO indexer_cursor (id, next_block, updated_at) VALUES (1, 1234, 0)")
    conn.execute("INSERT INTO workers (address, role, registered_block, updated_block) "
                 "VALUES ('0xold', 'worker', 1, 1)")
    conn.execute("INSERT INTO epochs (epoch, closed) VALUES (0, 0)")
    assert conn.execute("SELECT COUNT(*) FROM indexer_cursor").fetchone()[0] == 1

    assert migrate(conn, "indexer", INDEXER_MIGRATIONS[:4]) == 4
    assert {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES} == dict.fromkeys(TABLES, 0)
    assert conn.execute("SELECT version FROM schema_version WHERE component = 'indexer'").fetchone()[0] == 4


def test_the_lane_migration_rebuilds_the_index_and_keeps_the_managers_scores(tmp_path):
    """Migration 5 (the indexer follows BatchLane and BatchCommittee): the lane's past events were never read, so the
    index is rebuilt from the first block; the deployment did not change, so the manager's scores stay."""
    conn = connect(tmp_path / "index.db")
    assert migrate(conn, "indexer", INDEXER_MIGRATIONS[:4]) == 4
    conn.execute("INSERT INTO indexer_cursor (id, next_block, updated_at) VALUES (1, 1234, 0)")
    conn.execute("INSERT INTO workers (address, role, registered_block, updated_block) "
                 "VALUES ('0xold', 'worker', 1, 1)")
    conn.execute("INSERT INTO task_scores (task_id, attempt, frame, scores_json) VALUES (1, 0, 1, '[]')")
    assert migrate(conn, "indexer", INDEXER_MIGRATIONS[:5]) == 5
    emptied = [t for t in TABLES if t != "task_scores"] + ["committees", "committee_members"]
    assert {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in emptied} == dict.fromkeys(emptied, 0)
    assert conn.execute("SELECT COUNT(*) FROM task_scores").fetchone()[0] == 1
    for table in ("lane_batches", "lane_batch_tasks", "lane_batch_members"):
        assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
    assert "batch_id" in [d[0] for d in conn.execute("SELECT * FROM events").description]


def test_the_governance_migration_rebuilds_the_index_and_keeps_the_managers_scores(tmp_path):
    """Migration 6 (the indexer follows the Governor, VotePower, the vesting factories, NodeLicense and the timelock,
    and Staking's license locks): their past events were never read, so the index is rebuilt from the first block, as
    in 5; the cursor gains the chain time it reached."""
    conn = connect(tmp_path / "index.db")
    assert migrate(conn, "indexer", INDEXER_MIGRATIONS[:5]) == 5
    conn.execute("INSERT INTO indexer_cursor (id, next_block, updated_at) VALUES (1, 1234, 0)")
    conn.execute("INSERT INTO workers (address, role, registered_block, updated_block) "
                 "VALUES ('0xold', 'worker', 1, 1)")
    conn.execute("INSERT INTO lane_batch_members (batch_id, seat, oracle) VALUES ('0x01', 0, '0xold')")
    conn.execute("INSERT INTO task_scores (task_id, attempt, frame, scores_json) VALUES (1, 0, 1, '[]')")
    assert migrate(conn, "indexer", INDEXER_MIGRATIONS) == len(INDEXER_MIGRATIONS) == 6
    emptied = [t for t in TABLES if t != "task_scores"] + ["lane_batch_members"]
    assert {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in emptied} == dict.fromkeys(emptied, 0)
    assert conn.execute("SELECT COUNT(*) FROM task_scores").fetchone()[0] == 1
    for table in ("proposals", "proposal_votes", "voters", "governor_parameters", "vesting_escrows", "node_licenses"):
        assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
    assert "block_time" in [d[0] for d in conn.execute("SELECT * FROM indexer_cursor").description]
