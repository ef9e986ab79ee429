"""The indexer against a real chain: a scripted job lifecycle on anvil (``idx_lifecycle``), indexed stage by
stage, then checked against the contracts' own state; re-indexing, restarting from the cursor and crashing in
the middle of a block range never count an event twice. Each test runs on SQLite and on PostgreSQL
(``db_backend``), and both build the same index, row for row."""

from __future__ import annotations

import json

import pytest
from eth_abi import encode
from eth_utils import keccak

from backend.db import connect
from backend.indexer import Indexer
from inferix.chain import Event
from inferix.protocol import IBM, IFX, USD, TaskState, get_job, get_node, get_task, read_struct
from inferix.testing.devnet import dev_account
from tests.integration.backend.conftest import IDX_STAGES

ZERO = "0x" + "0" * 40
ZERO32 = "0x" + "0" * 64
FEE = 1 * IFX  # 1 IBM at $0.50/IBM with IFX at $0.50
RESERVED = 2 * IFX  # 1 IBM at the job's $1/IBM maximum
COLLATERAL = 2 * FEE
SLASH = COLLATERAL // 10
BURNED = FEE * 8 // 10


def hexed(value: bytes) -> str:
    return "0x" + value.hex()


def rows(conn, sql, *params):
    return [dict(r) for r in conn.execute(sql, params).fetchall()]


def one(conn, sql, *params):
    row = conn.execute(sql, params).fetchone()
    return dict(row) if row is not None else None


def snapshot(conn) -> dict:
    """Every table of the index, in a stable order (the cursor's wall-clock time left out)."""
    tables = {"events": "block, log_index", "jobs": "job_id", "tasks": "task_id", "task_attempts": "task_id, attempt",
              "verdicts": "task_id, attempt, oracle", "workers": "address", "epochs": "epoch",
              "task_scores": "task_id, attempt, frame", "committees": "task_id, attempt",
              "committee_members": "task_id, attempt, oracle"}
    data = {name: rows(conn, f"SELECT * FROM {name} ORDER BY {order}") for name, order in tables.items()}
    data["cursor"] = rows(conn, "SELECT next_block FROM indexer_cursor")
    return data


@pytest.fixture
def idx_db(db_url):
    conn = connect(db_url)
    yield conn
    conn.close()


def test_lifecycle_indexed_stage_by_stage(devnet, idx_lifecycle, idx_db):
    life = idx_lifecycle
    db = idx_db
    a, b, c = life.passed_task, life.failed_task, life.cancelled_task
    # small ranges: many transactions, as a long-running indexer on a busy chain
    indexer = Indexer(devnet.chain(), db, max_blocks=7)

    def task(t):
        return one(db, "SELECT * FROM tasks WHERE task_id = ?", t)

    def job():
        return one(db, "SELECT * FROM jobs WHERE job_id = ?", life.job_id)

    def node(address):
        return one(db, "SELECT * FROM workers WHERE address = ?", address)

    def until(name):
        n = indexer.poll_once(to_block=life.stages[name])
        assert indexer.next_block() == life.stages[name] + 1
        return n

    assert until("nodes") > 0
    assert node(life.worker)["role"] == "worker" and node(life.worker)["price_per_ibm"] == str(USD // 2)
    assert node(life.worker)["stake"] == str(10_000 * IFX)
    for oracle in life.oracles:
        assert node(oracle)["role"] == "oracle" and node(oracle)["stake"] == str(1_000 * IFX)
    assert node(life.manager)["role"] == "manager"
    assert one(db, "SELECT * FROM epochs WHERE epoch = 0") is not None

    assert until("created") >= 1
    j = job()
    assert (j["creator"], j["manager"], j["scene_cid"], j["frame_start"], j["frame_end"]) == (
        life.creator, life.manager, "bafyidxscene", 1, 6)
    assert j["output_settings"] == "192x108 16spp png"
    assert j["budget"] == j["budget_left"] == str(100 * IFX)
    assert j["usd_per_ifx"] == str(USD // 2) and j["max_price_per_ibm"] == str(USD)
    assert j["status"] == "created" and j["tasks_total"] == 0 and j["closed"] == 0 and j["benchmark"] == 0
    block_time = devnet.chain().w3.eth.get_block(j["created_block"])["timestamp"]
    assert j["created_at"] == block_time

    assert until("posted") == 3
    for i, t in enumerate((a, b, c)):
        row = task(t)
        assert row["state"] == "posted" and row["job_id"] == life.job_id and row["worker"] is None
        assert (row["frame_start"], row["frame_end"]) == (1 + 2 * i, 2 + 2 * i)
        assert row["package_cid"] == f"bafyidxpackage{t}"
        assert row["key_commit"] == hexed(keccak(life.seeds[t]))
        assert row["manifest_digest"] == hexed(life.manifests[t])
        assert row["ibm"] == str(IBM) and row["reserved"] == str(RESERVED) and row["render_window"] == 900
    j = job()
    assert j["status"] == "running" and j["open_tasks"] == 3 and j["tasks_total"] == 3
    assert j["budget_left"] == str(100 * IFX - 3 * RESERVED)

    until("expired")
    assert task(a)["state"] == "posted" and task(a)["worker"] is None and task(a)["attempts"] == 0
    names = [r["name"] for r in rows(db, "SELECT name FROM events WHERE task_id = ? ORDER BY block, log_index", a)]
    assert names == ["TaskPosted", "TaskAssigned", "TaskExpired"]

    until("accepted")
    for t in (a, b):
        row = task(t)
        assert row["state"] == "accepted" and row["worker"] == life.worker
        assert row["fee"] == str(FEE) and row["collateral"] == str(COLLATERAL) and row["deadline"] > 0
        attempt = one(db, "SELECT * FROM task_attempts WHERE task_id = ? AND attempt = 0", t)
        assert attempt["worker"] == life.worker and attempt["fee"] == str(FEE) and attempt["outcome"] is None
    assert node(life.worker)["locked"] == str(2 * COLLATERAL)

    until("submitted")
    for t in (a, b):
        assert task(t)["state"] == "submitted" and task(t)["result_cid"] == life.result_cids[t]

    until("revealed")
    for t in (a, b):
        assert task(t)["state"] == "revealed" and task(t)["key_revealed"] == 1
    # the revealed seeds are public on chain, but the index keeps none
    dump = json.dumps([r["args"] for r in rows(db, "SELECT args FROM events")])
    assert all(life.seeds[t].hex() not in dump for t in (a, b, c))

    # per task: CommitteeDrawn, one VoteCommitted and one VerdictSigned (the reveal) per member; at the last
    # reveal VerdictFinal, one VerdictCredited per voter (only final verdicts earn), then the escrow's
    # VerdictRecorded (the beacon's RoundVerified is not indexed)
    committees = life.committees
    for t in (a, b):
        assert len(committees[t]) == len(set(committees[t])) >= 2  # our two oracles, or more when eligible
    seats = sum(len(committees[t]) for t in (a, b))
    assert until("verdicts") == 2 * 3 + 3 * seats
    votes = rows(db, "SELECT * FROM verdicts WHERE task_id IN (?, ?) ORDER BY block, log_index", a, b)
    assert [(v["task_id"], v["attempt"], v["oracle"], v["passed"], v["score"]) for v in votes] == [
        (t, 0, o, int(t == a), life.scores[(t, o)]) for t in (a, b) for o in committees[t]]
    assert task(a)["state"] == "verified" and task(a)["passed"] == 1
    assert task(b)["state"] == "verified" and task(b)["passed"] == 0
    for t, outcome in ((a, "passed"), (b, "failed")):
        drawn = one(db, "SELECT * FROM committees WHERE task_id = ? AND attempt = 0", t)
        n = len(committees[t])
        assert (drawn["round"], drawn["size"], drawn["committed"], drawn["revealed"], drawn["outcome"]) == (
            life.rounds[t], n, n, n, outcome)
        assert (drawn["pass_votes"], drawn["fail_votes"]) == ((n, 0) if t == a else (0, n))
        assert drawn["drawn_block"] <= drawn["ended_block"] <= life.stages["verdicts"]
        # every member committed: the reveal phase opened at the last commitment
        last_commit = rows(db, "SELECT block_time FROM events WHERE name = 'VoteCommitted' AND task_id = ? "
                               "ORDER BY block DESC LIMIT 1", t)[0]["block_time"]
        assert drawn["commit_ends"] == last_commit
        members = rows(db, "SELECT * FROM committee_members WHERE task_id = ? AND attempt = 0 ORDER BY seat", t)
        assert [m["oracle"] for m in members] == committees[t]
        assert all(m["committed_block"] <= m["revealed_block"] and not m["no_show"] for m in members)
    for oracle in life.oracles:
        # each voted on the final side of every verdict it was drawn for: credited each task's fee as weight
        drawn = sum(oracle in committees[t] for t in (a, b))
        assert (node(oracle)["verdicts"], node(oracle)["committee_seats"], node(oracle)["no_shows"]) == (
            drawn, drawn, 0)
        assert node(oracle)["verdict_weight"] == str(drawn * FEE)
    credits = rows(db, "SELECT args FROM events WHERE name = 'VerdictCredited' AND block > ? AND block <= ?",
                   life.stages["revealed"], life.stages["verdicts"])
    assert sorted(json.loads(r["args"])["weight"] for r in credits) == [str(FEE)] * seats

    until("settled")
    ta, tb, tc = task(a), task(b), task(c)
    assert ta["state"] == "settled" and ta["settled_fee"] == str(FEE)
    assert ta["burned"] == str(BURNED) and ta["to_treasury"] == str(FEE - BURNED)
    assert one(db, "SELECT outcome FROM task_attempts WHERE task_id = ? AND attempt = 0", a)["outcome"] == "settled"
    # the failing verdict: collateral slashed, re-queued for a second attempt
    assert tb["state"] == "posted" and tb["attempts"] == 1 and tb["worker"] is None and tb["fee"] == "0"
    assert tb["slashed"] == str(SLASH) and tb["result_cid"] is None and tb["passed"] is None
    # the attempt's secret is spent: no key until the manager rekeys the task
    assert (tb["key_commit"], tb["manifest_digest"], tb["key_revealed"]) == (ZERO32, ZERO32, 0)
    failed = one(db, "SELECT * FROM task_attempts WHERE task_id = ? AND attempt = 0", b)
    assert (failed["outcome"], failed["slashed"], failed["passed"]) == ("rejected", str(SLASH), 0)
    assert tc["state"] == "cancelled"
    j = job()
    assert (j["tasks_settled"], j["tasks_failed"], j["tasks_cancelled"], j["open_tasks"]) == (1, 0, 1, 1)
    assert j["status"] == "running" and j["fees_paid"] == str(FEE)
    assert j["budget_left"] == str(100 * IFX - 3 * RESERVED + (RESERVED - FEE) + RESERVED)
    w = node(life.worker)
    assert (w["completed"], w["failed"], w["locked"]) == (1, 1, "0")
    assert w["stake"] == str(10_000 * IFX - SLASH) and w["slashed"] == str(SLASH)
    assert w["last_failure_block"] == life.stages["settled"] - 1  # settle, then the cancel
    assert w["work_ibm"] == str(IBM) and w["fees"] == str(FEE)  # the fee in IFX, no USD value any more
    manager_before = node(life.manager)

    assert until("rekeyed") == 1
    tb = task(b)
    assert (tb["state"], tb["attempts"], tb["key_revealed"]) == ("posted", 1, 0)
    assert tb["key_commit"] == hexed(keccak(life.retry_seed)) and tb["manifest_digest"] == hexed(life.retry_manifest)
    assert tb["package_cid"] == life.retry_package

    until("reveal_missed")
    tb = task(b)
    assert (tb["state"], tb["attempts"], tb["worker"], tb["key_commit"], tb["key_revealed"]) == (
        "posted", 2, None, ZERO32, 0)
    assert tb["slashed"] == str(SLASH)  # the worker was not at fault
    retry = one(db, "SELECT * FROM task_attempts WHERE task_id = ? AND attempt = 1", b)
    assert (retry["outcome"], retry["result_cid"], retry["slashed"]) == ("timed_out", life.retry_cid, "0")
    assert life.manager_slash >= 100 * IFX  # managerSlash, at least
    assert (retry["manager_slashed"], retry["to_worker"]) == (str(life.manager_slash), str(FEE))
    m = node(life.manager)
    assert m["manager_slashes"] == manager_before["manager_slashes"] + 2  # late, then the escrow that never opened
    assert int(m["slashed"]) == int(manager_before["slashed"]) + life.manager_slash
    assert m["stake"] == manager_before["stake"]  # topped up again
    w = node(life.worker)
    assert (w["failed"], w["locked"], w["stake"]) == (1, "0", str(10_000 * IFX - SLASH))
    # (VotePower logs the manager's voting power following its stake in between: not this sequence's business)
    names = [r["name"] for r in rows(db, "SELECT name FROM events WHERE block > ? AND block <= ? AND "
                                         "contract <> 'VotePower' ORDER BY block, log_index", life.stages["rekeyed"],
                                     life.stages["reveal_missed"])]
    late = names.index("TaskExpired")  # the reveal window passed: the manager slashed, the task waits for its escrow
    assert names[late:late + 4] == ["TaskExpired", "PenaltyReceived", "Slashed", "ManagerSlashed"]
    expired = names.index("TaskExpired", late + 1)  # the escrow never opened: slashed again, the worker paid
    assert names[expired:expired + 6] == ["TaskExpired", "PenaltyReceived", "Slashed", "ManagerSlashed",
                                          "CollateralUnlocked", "TaskFailed"]
    assert (job()["status"], job()["open_tasks"]) == ("running", 1)

    until("epoch")
    e = one(db, "SELECT * FROM epochs WHERE epoch = ?", life.epoch)
    assert e["closed"] == 1 and int(e["work_ibm"]) >= IBM and int(e["minted"]) > 0 and e["tasks"] >= 1
    assert int(e["fees"]) >= FEE and int(e["burned"]) >= BURNED and int(e["verdict_weight"]) >= seats * FEE
    assert int(e["penalty"]) >= SLASH + life.manager_slash - FEE
    # the usage cap: an epoch never mints more than 90 % of what its fees burned
    assert int(e["minted"]) <= int(e["burned"]) * 9 // 10
    assert one(db, "SELECT * FROM epochs WHERE epoch = ?", life.epoch + 1)["started_at"] == e["closed_at"]

    until("closed")
    j = job()
    assert j["closed"] == 1 and j["status"] == "closed" and j["open_tasks"] == 0
    assert (j["tasks_settled"], j["tasks_cancelled"], j["tasks_failed"]) == (1, 2, 0)
    assert j["budget_left"] == "0" and j["refunded"] == str(100 * IFX - FEE)
    assert task(b)["state"] == "cancelled"

    until("unbonded")
    w = node(life.worker)
    assert w["unbonding"] == w["stake"] and w["unbonding_at"] > 0
    names = [r["name"] for r in rows(db, "SELECT name FROM events WHERE job_id = ? ORDER BY block, log_index",
                                     life.job_id)]
    assert names[:4] == ["JobCreated", "TaskPosted", "TaskPosted", "TaskPosted"]
    assert names.count("VerdictSigned") == names.count("VoteCommitted") == seats
    assert names.count("CommitteeDrawn") == 2 and names.count("TaskSettled") == 1 and names[-1] == "TaskCancelled"
    assert names.count("TaskRekeyed") == 1 and names.count("ManagerSlashed") == 2  # late, then no escrow
    assert "KeyRevealed" in names and "JobClosed" in names

    indexer.poll_once()  # up to the head: other tests of the session may have used the chain since
    assert_matches_chain(devnet, db)


def assert_matches_chain(devnet, db) -> None:
    """Every job, task, node and epoch of the index equals what the contracts hold now."""
    chain = devnet.chain()
    jobs = rows(db, "SELECT * FROM jobs")
    assert len(jobs) == chain.call("JobEscrow", "jobCount")
    for j in jobs:
        view = get_job(chain, j["job_id"])
        assert (j["creator"], j["manager"], int(j["budget_left"]), j["open_tasks"], bool(j["closed"]),
                bool(j["benchmark"])) == (view.creator, view.manager, view.budget, view.open_tasks, view.closed,
                                          view.benchmark), j["job_id"]
    tasks = rows(db, "SELECT * FROM tasks")
    assert len(tasks) == chain.call("JobEscrow", "taskCount")
    for t in tasks:
        view = get_task(chain, t["task_id"])
        assert (t["state"], t["job_id"], t["worker"] or ZERO, t["attempts"], int(t["fee"]), int(t["collateral"]),
                int(t["ibm"]), int(t["reserved"]), t["key_commit"], t["manifest_digest"]) == (
            view.state.name.lower(), view.job_id, view.worker, view.attempts, view.fee, view.collateral, view.ibm,
            view.reserved, hexed(view.key_commit), hexed(view.manifest_digest)), t["task_id"]
        if view.state in (TaskState.VERIFIED, TaskState.SETTLED):
            assert bool(t["passed"]) == view.passed
        if view.state in (TaskState.ASSIGNED, TaskState.ACCEPTED, TaskState.VERIFIED):
            assert t["deadline"] == view.deadline
    for n in rows(db, "SELECT * FROM workers"):
        view = get_node(chain, n["address"])
        assert (n["role"], int(n["stake"]), int(n["locked"]), int(n["unbonding"]), int(n["price_per_ibm"]),
                int(n["ib"])) == ({1: "worker", 2: "oracle", 3: "manager"}[view.role], view.stake, view.locked,
                                  view.unbonding, view.price_per_ibm, view.ib), n["address"]
    for c in rows(db, "SELECT * FROM committees"):
        key = keccak(encode(["uint256", "uint256"], [c["task_id"], c["attempt"]]))
        view = read_struct(chain, "ProofOfRender", "committees", key)
        members = chain.call("ProofOfRender", "committeeOf", c["task_id"], c["attempt"])
        # a committee whose manifest was proven bad ended without deciding (not finalized on chain)
        decided = c["outcome"] not in (None, "bad_manifest")
        assert (c["round"], c["commit_ends"], c["size"], c["committed"], c["revealed"], decided) == (
            view["round"], view["commit_ends"], view["members"], view["committed"], view["revealed"],
            view["finalized"]), (c["task_id"], c["attempt"])
        assert [m["oracle"] for m in rows(db, "SELECT oracle FROM committee_members WHERE task_id = ? AND attempt = ? "
                                              "ORDER BY seat", c["task_id"], c["attempt"])] == list(members)
    current = chain.call("BMWIssuance", "currentEpoch")
    epochs = rows(db, "SELECT * FROM epochs ORDER BY epoch")
    assert [e["epoch"] for e in epochs] == list(range(current + 1))
    fields = ("work_ibm", "fees", "burned", "verdict_weight", "penalty", "minted", "worker_pool", "oracle_pool",
              "manager_pool")
    for e in epochs:
        view = read_struct(chain, "BMWIssuance", "epochs", e["epoch"])
        assert ({f: int(e[f]) for f in fields}, bool(e["closed"]), e["started_at"]) == (
            {f: view[f] for f in fields}, view["closed"], view["start"]), e["epoch"]


def test_reindexing_and_restarts_never_double_count(devnet, idx_lifecycle, new_db_url):
    end = idx_lifecycle.stages[IDX_STAGES[-1]]
    reference_db = connect(new_db_url("reference"))
    applied = Indexer(devnet.chain(), reference_db).poll_once(to_block=end)
    reference = snapshot(reference_db)
    assert applied == len(reference["events"]) > 0

    # polling again, and replaying everything from the deployment block, change nothing
    indexer = Indexer(devnet.chain(), reference_db)
    assert indexer.poll_once(to_block=end) == 0
    reference_db.execute("UPDATE indexer_cursor SET next_block = ?", (devnet.deployment.block_number,))
    assert indexer.poll_once(to_block=end) == 0
    assert snapshot(reference_db) == reference

    # stop at every stage and start a new indexer (new connection) from the cursor each time
    url = new_db_url("restarts")
    for stage in IDX_STAGES:
        conn = connect(url)
        Indexer(devnet.chain(), conn, max_blocks=3).poll_once(to_block=idx_lifecycle.stages[stage])
        conn.close()
    conn = connect(url)
    assert snapshot(conn) == reference
    conn.close()

    # a crash in the middle of a block range: nothing of that range stays, and the rerun completes it
    def crash_on_settlement(indexer: Indexer) -> list:
        settled = indexer._on_JobEscrow_TaskSettled
        calls = []

        def crash(*args):
            calls.append(1)
            settled(*args)  # applied in the open transaction, then the process "dies"
            raise KeyboardInterrupt("killed mid-range")

        indexer._on_JobEscrow_TaskSettled = crash
        return calls

    crashing_db = connect(new_db_url("crash"))
    crashing = Indexer(devnet.chain(), crashing_db, max_blocks=10_000)
    calls = crash_on_settlement(crashing)
    with pytest.raises(KeyboardInterrupt):
        crashing.poll_once(to_block=end)
    assert calls
    assert crashing_db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0
    assert crashing_db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 0
    assert crashing.next_block() == devnet.deployment.block_number
    del crashing._on_JobEscrow_TaskSettled  # the restarted process has no fault
    assert crashing.poll_once(to_block=end) == len(reference["events"])
    assert snapshot(crashing_db) == reference

    # a crash in a later range keeps the ranges committed before it
    partial_db = connect(new_db_url("partial"))
    partial = Indexer(devnet.chain(), partial_db, max_blocks=5)
    calls = crash_on_settlement(partial)
    with pytest.raises(KeyboardInterrupt):
        partial.poll_once(to_block=end)
    assert calls
    kept = partial.next_block()
    assert devnet.deployment.block_number < kept <= idx_lifecycle.stages["settled"]
    assert partial_db.execute("SELECT COUNT(*) FROM events WHERE block >= ?", (kept,)).fetchone()[0] == 0
    restarted = Indexer(devnet.chain(), partial_db, max_blocks=5)
    assert restarted.next_block() == kept
    restarted.poll_once(to_block=end)
    assert snapshot(partial_db) == reference


def test_sqlite_and_postgresql_build_the_same_index(devnet, idx_lifecycle, tmp_path, postgres):
    """The same events give the same index on both databases: every row, column and value type (the migrations
    are shared; PostgreSQL's BIGINT and "C"-collated TEXT read back as SQLite's INTEGER and TEXT, in the same
    order)."""
    end = idx_lifecycle.stages[IDX_STAGES[-1]]
    url = postgres.create_database("same_index")
    databases = [connect(tmp_path / "same.sqlite"), connect(url)]
    try:
        for conn in databases:
            Indexer(devnet.chain(), conn, max_blocks=50).poll_once(to_block=end)
        on_sqlite, on_postgresql = (snapshot(conn) for conn in databases)
        assert on_sqlite["events"] and on_postgresql == on_sqlite
        typed = [{k: type(v) for k, v in row.items()} for row in on_sqlite["workers"] + on_sqlite["tasks"]]
        assert typed == [{k: type(v) for k, v in row.items()} for row in on_postgresql["workers"] +
                         on_postgresql["tasks"]]
    finally:
        for conn in databases:
            conn.close()
        postgres.drop_database(url)


def test_no_shows_and_a_committee_without_quorum(devnet, idx_db):
    """What the lifecycle does not reach (every member of its committees votes): a committee of three where one
    member reveals, one only commits and one never commits ends without a quorum (NoVerdict); the two silent
    members are no-shows, the third one's miss costs stake. Applied as the contract logs them, in one range."""
    indexer = Indexer(devnet.chain(), idx_db)
    task_id, attempt = 10**9, 1  # a task's second attempt (events without an attempt concern the current one)
    idx_db.execute(
        "INSERT INTO tasks (task_id, job_id, state, attempts, ibm, reserved, key_commit, frame_start, frame_end, "
        "render_window, package_cid, posted_block, updated_block) "
        "VALUES (?, 1, 'revealed', ?, '1', '1', ?, 1, 1, 900, 'bafysynthetic', 1, 1)", (task_id, attempt, ZERO32))
    members = [dev_account(i).address for i in (1, 2, 3)]
    idle = dev_account(7).address
    stake = 1_000 * IFX
    slash = stake // 100
    tx = "0x" + "ab" * 32

    def ev(contract, name, log_index, **args):
        return Event(name, contract, 100, log_index, tx, args)

    events = [ev("Staking", "Registered", i, account=m, role=2, pricePerIBM=0) for i, m in enumerate(members)]
    events += [
        ev("ProofOfRender", "CommitteeDrawn", 3, taskId=task_id, attempt=attempt, round=42, members=members,
           commitEnds=5_000),
        ev("ProofOfRender", "VoteCommitted", 4, taskId=task_id, oracle=members[0], committed=1),
        ev("ProofOfRender", "VoteCommitted", 5, taskId=task_id, oracle=members[1], committed=2),
        ev("ProofOfRender", "VerdictSigned", 6, taskId=task_id, oracle=members[0], passed=True, score=9000),
        ev("Staking", "NoShowRecorded", 7, account=members[1], missed=1, slashed=0),
        ev("ProofOfRender", "NoShow", 8, taskId=task_id, oracle=members[1], missed=1, slashed=0),
        ev("Staking", "Slashed", 9, account=members[2], amount=slash, stake=stake - slash, rewardTo=ZERO,
           reward=0),
        ev("Staking", "NoShowRecorded", 10, account=members[2], missed=0, slashed=slash),
        ev("ProofOfRender", "NoShow", 11, taskId=task_id, oracle=members[2], missed=0, slashed=slash),
        ev("ProofOfRender", "NoVerdict", 12, taskId=task_id, attempt=attempt, passVotes=1, failVotes=0),
        # a worker that left an assignment unaccepted: Staking counts its miss too (no committee involved)
        ev("Staking", "Registered", 13, account=idle, role=1, pricePerIBM=USD // 2),
        ev("Staking", "NoShowRecorded", 14, account=idle, missed=1, slashed=0),
    ]
    assert indexer.apply(events, {100: 4_000}, next_block=101) == len(events)
    committee = one(idx_db, "SELECT * FROM committees WHERE task_id = ?", task_id)
    assert (committee["attempt"], committee["round"], committee["size"], committee["commit_ends"]) == (
        attempt, 42, 3, 5_000)  # not everyone committed: the commit phase kept its end
    assert (committee["committed"], committee["revealed"], committee["pass_votes"], committee["fail_votes"]) == (
        2, 1, 1, 0)
    assert (committee["outcome"], committee["ended_block"]) == ("no_verdict", 100)
    seats = rows(idx_db, "SELECT * FROM committee_members WHERE task_id = ? ORDER BY seat", task_id)
    assert [(m["oracle"], m["attempt"], m["committed_block"], m["revealed_block"], m["no_show"],
             m["no_show_slashed"]) for m in seats] == [
        (members[0], attempt, 100, 100, 0, "0"), (members[1], attempt, 100, None, 1, "0"),
        (members[2], attempt, None, None, 1, str(slash))]
    [vote] = rows(idx_db, "SELECT * FROM verdicts WHERE task_id = ?", task_id)
    assert (vote["attempt"], vote["oracle"], vote["passed"], vote["score"]) == (attempt, members[0], 1, 9000)
    nodes = {n["address"]: n for n in rows(idx_db, "SELECT * FROM workers")}
    assert [(nodes[m]["committee_seats"], nodes[m]["verdicts"], nodes[m]["no_shows"], nodes[m]["missed"],
             nodes[m]["no_show_slashed"]) for m in members] == [
        (1, 1, 0, 0, "0"), (1, 0, 1, 1, "0"), (1, 0, 1, 0, str(slash))]
    assert nodes[members[2]]["slashed"] == str(slash)
    assert (nodes[idle]["role"], nodes[idle]["no_shows"], nodes[idle]["missed"]) == ("worker", 1, 1)
