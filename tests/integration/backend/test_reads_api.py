"""The public read API over an index of a real chain: the scripted lifecycle (``idx_lifecycle``) indexed from
anvil, then read through the app over HTTP (TestClient, and a real uvicorn server for the live stream). Every
read test runs on an index in SQLite and on one in PostgreSQL (``idx_indexed``)."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from eth_utils import keccak
from fastapi.testclient import TestClient

from backend.api.reads.models import Epoch, EpochPage, JobDetail, JobPage, StreamEvent, TaskDetail, Worker, WorkerPage
from backend.app import create_app
from backend.db import connect
from backend.indexer import Indexer
from backend.quote import worker_prices
from backend.settings import BackendSettings
from inferix.protocol import IBM, IFX, ROLE_WORKER, USD, ensure_staked, escrow_round
from tests.integration.backend.conftest import DB_BACKENDS, IDX_CREATOR, idx_refresh_price
from tests.conftest import fund, manager

FEE = 1 * IFX
QUOTED_WORKER = 19
SLASH = 2 * FEE // 10


def parse_sse(lines) -> list[dict]:
    """Server-Sent Events from text lines: one dict per message (event, id, data)."""
    messages, current = [], {}
    for line in lines:
        if line == "":
            if "data" in current:
                messages.append(current)
            current = {}
            continue
        if line.startswith(":"):
            continue  # a comment (keep-alive ping)
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        current[name] = current[name] + "\n" + value if name == "data" and name in current else value
    return messages


@pytest.fixture(scope="module")
def idx_indexes(devnet, idx_lifecycle, tmp_path_factory):
    """``get(backend, postgres)``: the module's index on that database, made on first use: the whole chain up to the
    block where the module's first read test started (the same for both databases), with per-region scores for the
    passed task as the manager writes them."""
    head = devnet.chain().block_number()
    made: dict[str, str] = {}

    def get(backend: str, postgres=None) -> str:
        if backend not in made:
            url = (str(tmp_path_factory.mktemp("reads") / "backend.sqlite") if backend == "sqlite"
                   else postgres.create_database("reads"))
            conn = connect(url)
            Indexer(devnet.chain(), conn).poll_once(to_block=head)
            a = idx_lifecycle.passed_task
            for frame in (1, 2):
                regions = [{"region": r, "step": 2.5 + r, "passed": True} for r in range(3)]
                conn.execute("INSERT INTO task_scores (task_id, attempt, frame, scores_json, frame_cid) "
                             "VALUES (?, 0, ?, ?, ?)", (a, frame, json.dumps(regions), f"bafyidxframe{a}x{frame}"))
            conn.close()
            made[backend] = url
        return made[backend]

    return get


@pytest.fixture(params=DB_BACKENDS)
def idx_indexed(request, idx_indexes) -> str:
    """The URL of the module's index, on SQLite and then on PostgreSQL."""
    postgres = request.getfixturevalue("postgres") if request.param == "postgresql" else None
    return idx_indexes(request.param, postgres)


def test_quote_prices_from_the_index_match_the_chain(devnet, tmp_path):
    """Quotes price from the indexed workers (no chain scan per quote): the same prices as the chain's state,
    a worker counted while bonded and not once it unbonds."""
    conn = connect(tmp_path / "index.sqlite")  # its own index: the shared one stays as the tests below expect
    chain = devnet.chain()
    worker, price = devnet.chain(QUOTED_WORKER), 77 * USD // 100
    fund(devnet, worker.address, 100 * IFX)
    ensure_staked(worker, ROLE_WORKER, 50 * IFX, price)
    for bonded in (True, False):
        Indexer(chain, conn).poll_once()
        from_index, from_chain = worker_prices(chain, conn), worker_prices(chain)
        assert sorted(from_index) == sorted(from_chain)
        assert (price in from_index) is bonded
        if bonded:
            worker.transact("Staking", "requestUnbond", 50 * IFX)
    conn.close()


@pytest.fixture
def idx_client(devnet, idx_indexed):
    app = create_app(BackendSettings(database_url=idx_indexed), chain=devnet.chain())
    with TestClient(app) as client:
        yield client
    app.state.db.close()


def test_jobs_list_filters_and_pages(idx_client, idx_lifecycle):
    life = idx_lifecycle
    reply = idx_client.get("/v1/jobs", params={"creator": life.creator.lower()})
    assert reply.status_code == 200, reply.text
    page = JobPage.model_validate(reply.json())
    assert page.total == 1 and [j.job_id for j in page.items] == [life.job_id]
    job = page.items[0]
    assert job.creator == life.creator and job.status == "closed" and job.closed
    assert job.task_counts.model_dump() == {"total": 3, "open": 0, "settled": 1, "failed": 0, "cancelled": 2}

    assert idx_client.get("/v1/jobs", params={"creator": life.creator, "status": "running"}).json()["total"] == 0
    closed = idx_client.get("/v1/jobs", params={"status": "closed", "limit": 100}).json()
    assert life.job_id in [j["job_id"] for j in closed["items"]]
    assert all(j["status"] == "closed" for j in closed["items"])

    everything = idx_client.get("/v1/jobs", params={"limit": 100}).json()
    ids = [j["job_id"] for j in everything["items"]]
    assert ids == sorted(ids, reverse=True) and everything["total"] == len(ids) >= 1
    paged = [idx_client.get("/v1/jobs", params={"limit": 1, "offset": i}).json()["items"][0]["job_id"]
             for i in range(len(ids))]
    assert paged == ids
    assert idx_client.get("/v1/jobs", params={"offset": len(ids)}).json()["items"] == []


def test_job_detail_with_tasks(idx_client, idx_lifecycle):
    life = idx_lifecycle
    reply = idx_client.get(f"/v1/jobs/{life.job_id}")
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/json"
    body = reply.json()
    job = JobDetail.model_validate(body)
    # amounts are decimal strings (exact past 2**53), never JSON numbers
    assert body["budget"] == str(100 * IFX) and body["refunded"] == str(100 * IFX - FEE)
    assert body["fees_paid"] == str(FEE) and body["usd_per_ifx"] == str(USD // 2)
    assert body["budget_left"] == "0" and body["max_price_per_ibm"] == str(USD) and body["benchmark"] is False
    assert job.scene_cid == "bafyidxscene" and (job.frame_start, job.frame_end) == (1, 6)
    assert job.created_at.endswith("Z")
    tasks = {t.task_id: t for t in job.tasks}
    assert list(tasks) == [life.passed_task, life.failed_task, life.cancelled_task]
    a, b, c = (tasks[t] for t in (life.passed_task, life.failed_task, life.cancelled_task))
    assert (a.state, a.passed, a.result_cid, a.fee, a.worker) == (
        "settled", True, life.result_cids[life.passed_task], str(FEE), life.worker)
    # failed once (rejected), rekeyed with a new package, its reveal missed: two attempts spent
    assert (b.state, b.attempts, b.worker, b.result_cid) == ("cancelled", 2, None, None)
    assert b.package_cid == life.retry_package
    assert c.state == "cancelled" and c.package_cid == f"bafyidxpackage{life.cancelled_task}"
    assert all(t.ibm == str(IBM) for t in job.tasks)


def test_task_detail_with_votes_scores_and_frames(idx_client, idx_lifecycle):
    life = idx_lifecycle
    reply = idx_client.get(f"/v1/tasks/{life.passed_task}")
    assert reply.status_code == 200, reply.text
    task = TaskDetail.model_validate(reply.json())
    assert task.job_id == life.job_id and task.state == "settled" and task.key_revealed
    assert task.settlement.model_dump() == {"fee": str(FEE), "burned": str(FEE * 8 // 10),
                                            "to_treasury": str(FEE * 2 // 10)}
    assert task.key_commit == "0x" + keccak(life.seeds[life.passed_task]).hex()
    assert task.manifest_digest == "0x" + life.manifests[life.passed_task].hex()
    verdict = task.verdict
    assert verdict.attempt == 0 and verdict.passed is True
    members = life.committees[life.passed_task]
    assert [(v.oracle, v.passed, v.score) for v in verdict.votes] == [
        (o, True, life.scores[(life.passed_task, o)]) for o in members]
    committee = verdict.committee
    assert (committee.round, committee.size, committee.committed, committee.revealed, committee.outcome) == (
        life.rounds[life.passed_task], len(members), len(members), len(members), "passed")
    assert (committee.pass_votes, committee.fail_votes) == (len(members), 0)
    assert [(m.oracle, m.seat, m.no_show, m.no_show_slashed) for m in committee.members] == [
        (o, i, False, "0") for i, o in enumerate(members)]
    assert [m.revealed_block for m in committee.members] == [v.block for v in verdict.votes]
    assert [(f.frame, f.frame_cid) for f in verdict.frames] == [
        (1, f"bafyidxframe{life.passed_task}x1"), (2, f"bafyidxframe{life.passed_task}x2")]
    assert verdict.frames[0].scores[2] == {"region": 2, "step": 4.5, "passed": True}
    [attempt] = task.attempt_history
    assert (attempt.worker, attempt.outcome, attempt.result_cid, attempt.slashed) == (
        life.worker, "settled", life.result_cids[life.passed_task], "0")
    assert (attempt.overturned, attempt.manager_slashed, attempt.to_worker) == (None, "0", "0")

    reply = idx_client.get(f"/v1/tasks/{life.failed_task}")
    task = TaskDetail.model_validate(reply.json())
    assert task.state == "cancelled" and task.attempts == 2 and task.slashed == str(SLASH)
    # every attempt's secret is spent: the escrow cleared the key commitment and manifest digest
    assert task.key_commit == task.manifest_digest == "0x" + "0" * 64 and not task.key_revealed
    first, retry = task.attempt_history
    assert (first.outcome, first.passed, first.slashed, first.worker) == ("rejected", False, str(SLASH),
                                                                          life.worker)
    assert [(v.passed, v.score) for v in first.votes] == [
        (False, life.scores[(life.failed_task, o)]) for o in life.committees[life.failed_task]]
    assert (first.committee.outcome, first.committee.fail_votes) == ("failed", len(life.committees[life.failed_task]))
    assert task.settlement is None and first.frames == [] and first.manager_slashed == "0"
    # the second attempt: rendered, but the manager let the reveal expire; it paid the worker's fee
    assert (retry.attempt, retry.outcome, retry.result_cid, retry.slashed, retry.passed) == (
        1, "timed_out", life.retry_cid, "0", None)
    assert (retry.manager_slashed, retry.to_worker) == (str(life.manager_slash), str(FEE))
    assert task.verdict.attempt == 1 and task.verdict.votes == [] and task.verdict.committee is None

    task = TaskDetail.model_validate(idx_client.get(f"/v1/tasks/{life.cancelled_task}").json())
    assert task.verdict is None and task.attempt_history == [] and not task.key_revealed
    # seeds are never served, not even revealed ones
    for t in (life.passed_task, life.failed_task):
        text = idx_client.get(f"/v1/tasks/{t}").text + idx_client.get(f"/v1/jobs/{life.job_id}").text
        assert life.seeds[t].hex() not in text


def test_workers_and_epochs(idx_client, idx_lifecycle):
    life = idx_lifecycle
    page = WorkerPage.model_validate(idx_client.get("/v1/workers", params={"role": "worker", "limit": 100}).json())
    assert all(w.role == "worker" for w in page.items)
    worker = next(w for w in page.items if w.address == life.worker)
    assert (worker.completed, worker.failed, worker.slashed, worker.price_per_ibm) == (1, 1, str(SLASH), str(USD // 2))
    assert (worker.work_ibm, worker.fees) == (str(IBM), str(FEE))
    assert worker.stake == worker.unbonding == str(10_000 * IFX - SLASH) and worker.locked == "0"
    single = Worker.model_validate(idx_client.get(f"/v1/workers/{life.worker.lower()}").json())
    assert single == worker
    oracles = idx_client.get("/v1/workers", params={"role": "oracle", "limit": 100}).json()["items"]
    drawn = {o: sum(o in members for members in life.committees.values()) for o in life.oracles}
    assert {o["address"]: (o["verdicts"], o["verdict_weight"], o["committee_seats"], o["no_shows"])
            for o in oracles if o["address"] in life.oracles} == {
        o: (drawn[o], str(drawn[o] * FEE), drawn[o], 0) for o in life.oracles}
    assert all(Worker.model_validate(o) for o in oracles)
    mgr = Worker.model_validate(idx_client.get(f"/v1/workers/{life.manager}").json())
    assert mgr.role == "manager" and mgr.manager_slashes >= 1 and int(mgr.slashed) >= life.manager_slash
    assert int(mgr.fees) >= FEE

    page = EpochPage.model_validate(idx_client.get("/v1/epochs", params={"limit": 100}).json())
    epochs = {e.epoch: e for e in page.items}
    closed = epochs[life.epoch]
    assert closed.closed and int(closed.minted) > 0 and int(closed.work_ibm) >= IBM and closed.closed_at
    seats = sum(len(members) for members in life.committees.values())
    assert int(closed.fees) >= FEE and int(closed.burned) >= FEE * 8 // 10
    assert int(closed.verdict_weight) >= seats * FEE
    assert int(closed.minted) <= int(closed.burned) * 9 // 10
    assert not epochs[max(epochs)].closed
    only_closed = idx_client.get("/v1/epochs", params={"closed": "true"}).json()["items"]
    assert life.epoch in [e["epoch"] for e in only_closed] and all(e["closed"] for e in only_closed)
    assert Epoch.model_validate(only_closed[0])

    status = idx_client.get("/v1/index").json()
    assert status["next_block"] > life.stages["unbonded"]


@pytest.mark.parametrize("path", ["/v1/jobs/999999999", "/v1/tasks/999999999", "/v1/jobs/999999999/events",
                                  "/v1/workers/0x000000000000000000000000000000000000dEaD"])
def test_unknown_ids_are_404(idx_client, path):
    reply = idx_client.get(path)
    assert reply.status_code == 404
    assert reply.json()["detail"].endswith("not found")


@pytest.mark.parametrize("path,params", [
    ("/v1/jobs", {"limit": 0}), ("/v1/jobs", {"limit": 101}), ("/v1/jobs", {"offset": -1}),
    ("/v1/jobs", {"status": "done"}), ("/v1/jobs", {"creator": "0x1234"}), ("/v1/jobs", {"creator": "alice"}),
    ("/v1/jobs/abc", {}), ("/v1/jobs/0", {}), ("/v1/jobs/-3", {}), (f"/v1/jobs/{2**64}", {}),
    ("/v1/tasks/1.5", {}), ("/v1/workers", {"role": "miner"}), ("/v1/workers/0xnothex", {}),
    ("/v1/epochs", {"closed": "maybe"}), ("/v1/jobs/1/events", {"after": "12"}),
    ("/v1/jobs/1/events", {"once": "sometimes"}),
])
def test_bad_parameters_are_422(idx_client, path, params):
    reply = idx_client.get(path, params=params)
    assert reply.status_code == 422, reply.text
    assert reply.json()["detail"] == "invalid request" and reply.json()["errors"]


def test_job_stream_backlog_and_resume(idx_client, idx_lifecycle, idx_indexed):
    life = idx_lifecycle
    reply = idx_client.get(f"/v1/jobs/{life.job_id}/events", params={"once": "1"})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
    messages = parse_sse(reply.text.splitlines())
    conn = connect(idx_indexed)
    expected = conn.execute("SELECT block, log_index, name FROM events WHERE job_id = ? ORDER BY block, log_index",
                            (life.job_id,)).fetchall()
    conn.close()
    assert [(m["id"], m["event"]) for m in messages] == [(f"{b}:{i}", n) for b, i, n in expected]
    events = [StreamEvent.model_validate_json(m["data"]) for m in messages]
    assert events[0].name == "JobCreated" and events[0].args["budget"] == str(100 * IFX)
    assert events[-1].name == "TaskCancelled" and events[-1].task_id == life.failed_task
    signed = [e for e in events if e.name == "VerdictSigned"]
    assert [(e.task_id, e.args["oracle"], int(e.args["score"])) for e in signed] == [
        (t, o, life.scores[(t, o)]) for t in (life.passed_task, life.failed_task) for o in life.committees[t]]
    drawn = [e for e in events if e.name == "CommitteeDrawn"]
    assert [(e.task_id, e.args["attempt"], int(e.args["round"]), e.args["members"]) for e in drawn] == [
        (t, "0", life.rounds[t], life.committees[t]) for t in (life.passed_task, life.failed_task)]
    revealed = [e for e in events if e.name == "KeyRevealed"]
    assert len(revealed) == 2 and all("seed" not in e.args for e in revealed)
    [rekeyed] = [e for e in events if e.name == "TaskRekeyed"]
    assert (rekeyed.task_id, rekeyed.args["attempt"], rekeyed.args["sceneCid"]) == (
        life.failed_task, "1", life.retry_package)
    assert rekeyed.args["keyCommit"] == "0x" + keccak(life.retry_seed).hex()
    # late (nobody paid from it), then the seed escrow never opened (the worker paid its fee from the second slash)
    late, never = [e for e in events if e.name == "ManagerSlashed"]
    assert (late.args["manager"], late.args["toWorker"], late.args["late"]) == (life.manager, "0", True)
    assert (never.args["manager"], never.args["toWorker"], never.args["late"]) == (life.manager, str(FEE), False)
    assert int(late.args["amount"]) + int(never.args["amount"]) == life.manager_slash
    assert all(life.seeds[t].hex() not in reply.text for t in life.seeds)

    # resuming: after an id (query) or with the standard Last-Event-ID header
    middle = messages[len(messages) // 2]["id"]
    rest = parse_sse(idx_client.get(f"/v1/jobs/{life.job_id}/events",
                                    params={"once": "true", "after": middle}).text.splitlines())
    assert rest == messages[len(messages) // 2 + 1:]
    rest = parse_sse(idx_client.get(f"/v1/jobs/{life.job_id}/events", params={"once": "true"},
                                    headers={"Last-Event-ID": middle}).text.splitlines())
    assert rest == messages[len(messages) // 2 + 1:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_job_stream_is_live_until_the_client_leaves(devnet, idx_lifecycle, idx_indexed, tmp_path):
    """A real server: the stream delivers events indexed after it opened, and ends when the client goes."""
    creator, mgr = devnet.chain(IDX_CREATOR), manager(devnet)
    idx_refresh_price(devnet)
    creator.transact("IFXToken", "approve", devnet.deployment.address("JobEscrow"), 10 * IFX)
    creator.transact("JobEscrow", "createJob", mgr.address, "bafyidxlive", 1, 1, "64x64", USD, 10 * IFX)
    job_id = creator.call("JobEscrow", "jobCount")
    indexer_db = connect(idx_indexed)
    indexer = Indexer(devnet.chain(), indexer_db)
    indexer.poll_once()

    app = create_app(BackendSettings(database_url=idx_indexed), chain=devnet.chain())
    app.state.stream_poll_s = 0.05
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    stop = threading.Event()
    indexing = threading.Thread(target=indexer.run, args=(stop, 0.1), daemon=True)
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
            time.sleep(0.05)
        indexing.start()
        url = f"http://127.0.0.1:{server.config.port}/v1/jobs/{job_id}/events"
        seen: list[str] = []
        with httpx.Client(timeout=30) as client, client.stream("GET", url) as reply:
            assert reply.status_code == 200
            lines = reply.iter_lines()

            def next_event() -> dict:
                block: list[str] = []
                for line in lines:
                    if line == "" and any(x.startswith("data:") for x in block):
                        return parse_sse([*block, ""])[0]
                    if line != "":
                        block.append(line)
                raise AssertionError("the stream ended")

            assert next_event()["event"] == "JobCreated"
            first = mgr.call("JobEscrow", "taskCount") + 1
            # a key commitment is accepted once, ever: this test runs once per database
            mgr.transact("JobEscrow", "postTasks", job_id,
                         [(IBM, keccak(b"live %d" % job_id), keccak(b"live sealed manifest %d" % job_id),
                           escrow_round(mgr, 900), bytes(160), 1, 1, 900, f"bafyidxlivepkg{job_id}")])
            event = next_event()
            assert event["event"] == "TaskPosted"
            assert StreamEvent.model_validate_json(event["data"]).task_id == first
            mgr.transact("JobEscrow", "cancelTask", first)
            creator.transact("JobEscrow", "closeJob", job_id)
            seen += [next_event()["event"], next_event()["event"]]
        assert seen == ["TaskCancelled", "JobClosed"]
        # the client left: its stream ends and the server holds no connection for it
        deadline = time.monotonic() + 10
        while server.server_state.connections:
            assert time.monotonic() < deadline, "the stream outlived its client"
            time.sleep(0.05)
        again = httpx.get(f"http://127.0.0.1:{server.config.port}/v1/jobs/{job_id}", timeout=10)
        assert again.status_code == 200 and again.json()["status"] == "closed"
    finally:
        stop.set()
        server.should_exit = True
        thread.join(timeout=15)
        if indexing.is_alive():
            indexing.join(timeout=15)
        indexer_db.close()
        app.state.db.close()
    assert not thread.is_alive()
