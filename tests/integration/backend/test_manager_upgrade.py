"""A manager database from before app migration 3 has jobs without their recorded `JobCreated` arguments: the
manager reads that one event by topic from the chain, keeps it, and prepares the job as usual (on SQLite and on
PostgreSQL)."""

from __future__ import annotations

import json

import pytest

from backend.db import connect, migrate
from backend.manager import Manager, ManagerConfig
from backend.state import APP_MIGRATIONS
from inferix.protocol import IFX, USD
from tests.conftest import fund, manager as staked_manager

CREATOR = 8  # as in test_creator_flow; nothing here depends on its state


def test_a_job_recorded_without_its_event_reads_it_from_the_chain(devnet, tmp_path, db_url):
    mgr = staked_manager(devnet)
    creator = devnet.chain(CREATOR)
    fund(devnet, creator.address, 10 * IFX)
    creator.transact("IFXToken", "approve", devnet.deployment.address("JobEscrow"), 10 * IFX)
    creator.transact("JobEscrow", "createJob", mgr.address, "bafyupgrade", 3, 7, '{"q":"x"}',
                     USD, 10 * IFX)
    job_id = creator.call("JobEscrow", "jobCount")

    conn = connect(db_url)
    migrate(conn, "app", APP_MIGRATIONS[:2])  # the schema of a manager before migration 3 ...
    conn.execute("INSERT INTO prepared_jobs (job_id, status, updated_at) VALUES (?, 'pending', 0)", (job_id,))
    migrate(conn, "app", APP_MIGRATIONS)  # ... upgraded: the pending job has no recorded event
    assert conn.execute("SELECT event FROM prepared_jobs WHERE job_id = ?", (job_id,)).fetchone()[0] is None

    manager = Manager(mgr, None, conn, ManagerConfig(stake=0, seed_key=b"k" * 32,
                                                                     work_dir=tmp_path))
    expected = {"sceneCid": "bafyupgrade", "frameStart": 3, "frameEnd": 7, "outputSettings": '{"q":"x"}'}
    assert manager._job_event(job_id) == expected
    stored = conn.execute("SELECT event FROM prepared_jobs WHERE job_id = ?", (job_id,)).fetchone()[0]
    assert json.loads(stored) == expected  # kept: the chain is not asked again

    conn.execute("INSERT INTO prepared_jobs (job_id, status, updated_at) VALUES (?, 'pending', 0)", (job_id + 999,))
    with pytest.raises(RuntimeError, match="not found on chain"):
        manager._job_event(job_id + 999)
