"""Property-based tests of the read endpoints from the app's own OpenAPI document (schemathesis, in-process
ASGI): valid and invalid parameters never give a 500, and every answer has a documented status, content type
and schema. The index is filled with a small synthetic network (``populate`` of benchmarks/api.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.app import create_app
from backend.db import connect, migrate
from backend.indexer import INDEXER_MIGRATIONS
from backend.settings import BackendSettings
from tests.conftest import FAST

ROOT = Path(__file__).resolve().parents[3]
READ_PATHS = {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/events", "/v1/tasks/{task_id}", "/v1/workers",
              "/v1/workers/{address}", "/v1/epochs", "/v1/index", "/v1/batches", "/v1/batches/{batch_id}",
              "/v1/proposals", "/v1/proposals/{proposal_id}", "/v1/voters/{address}", "/v1/vesting/{beneficiary}",
              "/v1/licenses/{owner}"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 8 if FAST else 40  # per operation and generation mode: the whole file runs in well under a minute
JOBS = 30
BATCH = "0x" + "5a" * 32
PROPOSAL = str(2**255 + 12345)


def _add_batch(conn) -> None:
    """One settled batch of job 1 (two tasks, a committee of two), as the lane indexer writes it."""
    worker = conn.execute("SELECT address FROM workers WHERE role = 'worker' LIMIT 1").fetchone()[0]
    oracle = conn.execute("SELECT address FROM workers LIMIT 1").fetchone()[0]
    conn.execute(
        "INSERT INTO lane_batches (batch_id, job_id, manager, count, workers, root, leaves_known, fees, "
        "collateral_bps, stage, escrow_round, posted_block, posted_log, posted_at, post_tx, render_ends, submitted, "
        "revealed_block, revealed_at, revealer, committee_round, committee_size, commit_ends, committed, drawn_block, "
        "pass_bits, decided_bits, revealed_seats, verdict_block, verdict_at, done_bits, passed, failed, burned, "
        "to_treasury, refund, settled_block, settled_at, updated_block) "
        "VALUES (?, 1, ?, 2, 1, ?, 1, '20', 2000, 'settled', 7, 10, 0, 1000, ?, 2000, 1, 11, 1100, ?, 8, 2, 1200, 2, "
        "12, '0x1', '0x3', '0x1', 13, 1300, '0x3', 1, 1, '8', '2', '10', 14, 1400, 14)",
        (BATCH, worker, "0x" + "11" * 32, "0x" + "22" * 32, worker))
    for i in range(2):
        conn.execute(
            "INSERT INTO lane_batch_tasks (batch_id, task_index, job_id, worker_group, worker, ibm, fee, collateral, "
            "manifest_digest, frame_start, frame_end, package_cid, delivered_block, result_cid, verdict, outcome, "
            "closed_block) VALUES (?, ?, 1, 0, ?, '1000000', '10', '2', ?, ?, ?, 'bafypackage', 11, 'bafyresult', "
            "?, ?, 14)", (BATCH, i, worker, "0x" + "33" * 32, i + 1, i + 1, *(("passed", "failed")[i],) * 2))
    conn.execute("INSERT INTO lane_batch_members (batch_id, seat, oracle, committed_block, revealed_block, pass_bits) "
                 "VALUES (?, 0, ?, 12, 13, '0x1')", (BATCH, oracle))
    conn.execute("INSERT INTO lane_batch_members (batch_id, seat, oracle, committed_block, no_show) "
                 "VALUES (?, 1, ?, 12, 1)", (BATCH, worker))


def _add_governance(conn) -> None:
    """A queued proposal with two votes, its voters, a revoked vesting escrow and a license locked in Staking, as the
    governance indexer writes them."""
    a, b = (r[0] for r in conn.execute("SELECT address FROM workers ORDER BY address LIMIT 2").fetchall())
    conn.execute("UPDATE indexer_cursor SET block_time = 5000")
    conn.execute("INSERT INTO governor_parameters (name, value) VALUES ('quorumBps', '400'), ('quorumFloor', '0')")
    conn.execute(
        "INSERT INTO proposals (proposal_id, proposer, description, targets, amounts, calldatas, vote_start, vote_end, "
        "security, for_votes, against_votes, voters, snapshot_supply, queued_at, eta, operation, created_block, "
        "created_log, created_at, tx_hash, updated_block) VALUES (?, ?, 'E_p to 12 IFX per IBM', ?, '[\"0\"]', "
        "'[\"0x1234\"]', 1000, 4600, 0, '700', '300', 2, '10000', 4700, 9000, ?, 20, 0, 940, ?, 25)",
        (PROPOSAL, a, f'["{a}"]', "0x" + "44" * 32, "0x" + "55" * 32))
    for i, (voter, support, weight) in enumerate(((a, 1, "700"), (b, 0, "300"))):
        conn.execute("INSERT INTO proposal_votes (proposal_id, voter, support, weight, reason, block, log_index, "
                     "cast_at, tx_hash) VALUES (?, ?, ?, ?, '', 22, ?, 1100, ?)",
                     (PROPOSAL, voter, support, weight, i, "0x" + "66" * 32))
        conn.execute("INSERT INTO voters (address, votes, locked, staked, updated_block) VALUES (?, ?, ?, '0', 21)",
                     (voter, weight, weight))
    conn.execute("INSERT INTO vesting_escrows (escrow, factory, factory_name, revocable, beneficiary, total, start, "
                 "tge_bps, cliff, duration, claimed, revoked, revoked_at, returned, created_block, created_log, "
                 "created_at, updated_block) VALUES (?, ?, 'CommunityFund', 1, ?, '1000', 900, 1000, 100, 1000, '100', "
                 "1, 1500, '400', 10, 0, 900, 30)", ("0x" + "77" * 20, "0x" + "88" * 20, a))
    conn.execute("INSERT INTO node_licenses (license_id, owner, node_types, issuer, staked_by, issued_block, "
                 "issued_at, updated_block) VALUES (1, ?, 7, ?, ?, 2, 100, 12)", ("0x" + "99" * 20, b, a))


def _populate():
    # by path: a `benchmarks` distribution in site-packages shadows the repository's folder
    spec = importlib.util.spec_from_file_location("inferix_benchmark_api", ROOT / "benchmarks" / "api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.populate


@pytest.fixture(scope="module")
def idx_synthetic_app(tmp_path_factory):
    path = tmp_path_factory.mktemp("schemathesis") / "backend.sqlite"
    conn = connect(path)
    migrate(conn, "indexer", INDEXER_MIGRATIONS)
    _populate()(conn, jobs=JOBS, tasks_per_job=4, workers=10)
    _add_batch(conn)
    _add_governance(conn)
    # scores the manager might write in any shape: the API must not fail on them
    conn.execute("UPDATE task_scores SET scores_json = 'not json' WHERE task_id = 1")
    conn.execute("UPDATE task_scores SET scores_json = '42' WHERE task_id = 2")
    conn.close()
    app = create_app(BackendSettings(database=path))
    app.state.stream_poll_s = 0.01
    yield app
    app.state.db.close()


def _without_lifespan(app):
    """The app's lifespan closes its database at shutdown, and schemathesis runs one lifespan to load the
    schema and another for the calls: acknowledge lifespan messages here, the fixture closes the database."""

    async def asgi(scope, receive, send):
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    return asgi


@pytest.fixture(scope="module")
def idx_operations(idx_synthetic_app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", _without_lifespan(idx_synthetic_app))
    schema = schema.include(method="GET")
    operations = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in READ_PATHS:
            operations[operation.path] = operation
    assert set(operations) == READ_PATHS
    return operations


def _call(operation, case):
    if operation.path.endswith("/events"):
        # the stream never ends by itself: ask for the backlog only
        case.query = {**(case.query or {}), "once": "true"}
    response = case.call()
    case.validate_response(response, checks=CHECKS)
    return response


@pytest.mark.parametrize("path", sorted(READ_PATHS))
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_server_error_and_schema_conformance(idx_operations, path, mode):
    operation = idx_operations[path]
    if mode is GenerationMode.NEGATIVE and not operation.definition.raw.get("parameters"):
        pytest.skip("no parameter to make invalid")

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case):
        _call(operation, case)

    run()


def test_existing_records_conform(idx_operations, idx_synthetic_app):
    """Generated ids mostly miss: every record of the synthetic index is read once, each answer checked."""
    conn = idx_synthetic_app.state.db
    address = conn.execute("SELECT address FROM workers LIMIT 1").fetchone()[0]
    tasks = [r[0] for r in conn.execute("SELECT task_id FROM tasks")]
    seen = set()
    for job_id in range(1, JOBS + 1):
        for path in ("/v1/jobs/{job_id}", "/v1/jobs/{job_id}/events"):
            operation = idx_operations[path]
            seen.add(_call(operation, operation.Case(path_parameters={"job_id": job_id})).status_code)
    operation = idx_operations["/v1/tasks/{task_id}"]
    for task_id in tasks:
        seen.add(_call(operation, operation.Case(path_parameters={"task_id": task_id})).status_code)
    operation = idx_operations["/v1/batches/{batch_id}"]
    seen.add(_call(operation, operation.Case(path_parameters={"batch_id": BATCH})).status_code)
    operation = idx_operations["/v1/workers/{address}"]
    seen.add(_call(operation, operation.Case(path_parameters={"address": address.lower()})).status_code)
    operation = idx_operations["/v1/proposals/{proposal_id}"]
    seen.add(_call(operation, operation.Case(path_parameters={"proposal_id": PROPOSAL})).status_code)
    voter = conn.execute("SELECT beneficiary FROM vesting_escrows").fetchone()[0]  # a voter, with a license
    for path, name in (("/v1/voters/{address}", "address"), ("/v1/vesting/{beneficiary}", "beneficiary"),
                       ("/v1/licenses/{owner}", "owner")):
        operation = idx_operations[path]
        seen.add(_call(operation, operation.Case(path_parameters={name: voter.lower()})).status_code)
    for path, query in (("/v1/jobs", {"status": "running", "limit": 100}), ("/v1/workers", {"role": "oracle"}),
                        ("/v1/epochs", {"closed": "false"}), ("/v1/index", None),
                        ("/v1/batches", {"job_id": 1, "worker": address.lower()}), ("/v1/proposals", None)):
        operation = idx_operations[path]
        seen.add(_call(operation, operation.Case(query=query)).status_code)
    assert seen == {200}
