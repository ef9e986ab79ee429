"""The worker agent on the batch lane against a real node (anvil with the deployed contracts) and a tiny offer API
served here from really prepared batches (``inferix.lane.prepare``): it signs an offer, the signature verifies
(``inferix.lane.offer_signer``) and the batch posts on chain with it (``inferix.lane.post``); the agent records the
offer before its signature leaves, refuses what would exceed its capacity, lets an unposted offer lapse, submits its
results once (also across a crash after sending), and challenges a FAIL its own check refutes with a real bond and
Merkle proof. Rendering and ANGV are the single path's, tested elsewhere: here the frames' CIDs are recorded as a
crash after rendering would leave them, and the own check is stubbed (the chain side of the challenge is real). The
chain is reverted after each test (``evm_snapshot``)."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from inferix import batches as B
from inferix import lane
from inferix.chain import Chain
from inferix.nodedb import NodeDB
from inferix.protocol import IBM, IFX, ROLE_ORACLE, ROLE_WORKER, USD, ensure_staked, get_job, latest_time
from inferix.sealing import manifest_digest, seal_manifest
from oracle.angv.task import TaskVerdict
from worker import batches as worker_batches
from worker.agent import WorkerAgent, WorkerConfig
from worker.batches import min_fee

from ...conftest import dev_index, draw_batch_committee, fresh_account, manager

pytestmark = pytest.mark.integration

PRICE = USD // 2


class OfferAPI:
    """The manager's offer API, minimal: offers by worker, acceptances checked with ``lane.offer_signer``."""

    def __init__(self, chain: Chain, agent_db: list) -> None:
        self.chain = chain
        self.offers: list[B.Offer] = []
        self.signatures: dict[tuple[bytes, int], bytes] = {}
        self.recorded_first: list[bool] = []  # at each POST: was the offer already in the worker's database?
        self.agent_db = agent_db
        self.answer: int | None = None  # force a status (409: the offer is no longer open)
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlparse(self.path)
                worker = parse_qs(url.query).get("worker", [""])[0].lower()
                if url.path != "/v1/offers":
                    return self._send(404, {"detail": "no such path"})
                self._send(200, {"offers": [{**o.to_json(), "accepted": False} for o in api.offers
                                            if o.span.worker.lower() == worker]})

            def do_POST(self):
                parts = urlparse(self.path).path.strip("/").split("/")
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                batch_id = bytes.fromhex(parts[2].removeprefix("0x"))
                found = [o for o in api.offers if o.batch_id == batch_id and o.group == body["group"]]
                if not found:
                    return self._send(404, {"detail": "unknown batch"})
                offer = found[0]
                api.recorded_first.append(bool(api.agent_db) and api.agent_db[0].batch(batch_id) is not None)
                if api.answer is not None:
                    return self._send(api.answer, {"detail": "forced"})
                if body["accept_by"] != offer.accept_by:
                    return self._send(409, {"detail": "not the offer's accept_by"})
                signature = bytes.fromhex(body["signature"].removeprefix("0x"))
                signer = lane.offer_signer(api.chain, offer, signature)
                if signer.lower() != offer.span.worker.lower():
                    return self._send(400, {"detail": "not the group's worker"})
                api.signatures[(batch_id, offer.group)] = signature
                self._send(201, {"batch_id": "0x" + batch_id.hex(), "group": offer.group, "worker": signer})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def world(reverted, tmp_path):
    devnet = reverted
    boss = manager(devnet)
    creator = devnet.chain(0)
    me, other = fresh_account(devnet), fresh_account(devnet)
    for w in (me, other):
        ensure_staked(w, ROLE_WORKER, 20_000 * IFX, PRICE)
    creator.transact("IFXToken", "approve", creator.deployments.address("JobEscrow"), 500 * IFX)
    creator.transact("JobEscrow", "createJob", boss.address, "bafyscene", 1, 30, "16x16@4spp png", USD, 500 * IFX)
    job = creator.call("JobEscrow", "jobCount")
    dbs: list = []
    api = OfferAPI(boss, dbs)
    db = NodeDB(tmp_path / "worker.sqlite")
    dbs.append(db)
    agent = WorkerAgent(me, None, db, WorkerConfig(price_per_ibm=PRICE, stake=0, work_dir=tmp_path / "work",
                                                   managers=(api.url,), offer_poll=0))
    yield devnet, boss, other, job, api, agent
    api.close()


def _prepare(boss, me, other, job: int, seed: bytes | None = None, skip: int = 0) -> lane.PreparedBatch:
    """A batch of the job: one task of ``other``'s, then two of ours, each fee our price at the job's rate (``skip``:
    nonces already taken by batches prepared and not posted yet)."""
    nonce = lane.next_nonce(boss, boss.address) + skip
    seed = seed or os.urandom(32)
    batch_id = B.batch_id(boss.address, nonce)
    rate = get_job(boss, job).usd_per_ifx
    fee = min_fee(10 * IBM, PRICE, rate)
    digests = [manifest_digest(seal_manifest(b'{"frames": {}}', B.task_seed(seed, batch_id, i))) for i in range(3)]
    workers = [other.address, me.address, me.address]
    leaves = [B.Leaf(workers[i], 10 * IBM, fee, digests[i], 1 + 10 * i, 10 + 10 * i, f"bafynoised-{nonce}-{i}")
              for i in range(3)]
    return lane.prepare(boss, job, nonce, leaves, 3600, seed=seed)


def _offer(batch: lane.PreparedBatch, group: int, accept_by: int) -> B.Offer:
    return B.Offer(batch.id, batch.job_id, group, batch.render_window, accept_by, tuple(batch.leaves))


def test_the_worker_signs_a_real_offer_that_posts_and_submits_its_results_once(world):
    devnet, boss, other, job, api, agent = world
    batch = _prepare(boss, agent.chain, other, job)
    accept_by = latest_time(boss) + 600
    api.offers = [_offer(batch, 0, accept_by), _offer(batch, 1, accept_by)]
    agent.lane.step()

    signature = api.signatures[(batch.id, 1)]  # ours, and only ours: group 0 is not offered to us
    assert list(api.signatures) == [(batch.id, 1)]
    assert lane.offer_signer(boss, api.offers[1], signature) == agent.me
    assert api.recorded_first == [True]  # in the worker's database before its signature left
    status, data = agent.db.batch(batch.id)
    assert status == "signed" and data["delivered"] and data["accept_by"] == accept_by
    agent.lane.step()
    assert len(api.recorded_first) == 1  # not signed nor sent twice

    # a second batch while the first is signed: over capacity (max_batches 1), refused
    second = _prepare(boss, agent.chain, other, job, skip=1)
    api.offers.append(_offer(second, 1, accept_by))
    agent.lane.step()
    assert agent.db.batch(second.id) is None and (second.id, 1) not in api.signatures

    # the manager posts the batch with the worker's signature
    lane.post(boss, batch, [(accept_by, lane.accept(other, batch, batch.groups[0], accept_by)),
                            (accept_by, signature)])
    agent.lane.step()
    status, data = agent.db.batch(batch.id)
    assert status == "rendering" and (data["group"], data["first"], data["end"]) == (1, 1, 3)
    assert [B.leaf_from_json(x) for x in data["leaves"]] == batch.leaves[1:]
    assert data["render_ends"] == lane.get_batch(boss, batch.id)["render_ends"]

    # the frames rendered and pinned (as a crash after rendering leaves them), then one submitResults
    cids = {"1": "bafyframes-1", "2": "bafyframes-2"}
    agent.db.set_batch(batch.id, "rendering", cids=cids)
    agent.lane.step()
    assert agent.db.batch(batch.id)[0] == "submitted"
    assert lane.batch_results(boss, batch.id) == {1: ["bafyframes-1", "bafyframes-2"]}
    # a crash after sending: the record still says rendered, the chain says submitted; nothing is sent again
    nonce = agent.chain.w3.eth.get_transaction_count(agent.me)
    agent.db.set_batch(batch.id, "rendered")
    agent.lane.step()
    assert agent.db.batch(batch.id)[0] == "submitted"
    assert agent.chain.w3.eth.get_transaction_count(agent.me) == nonce

    # capacity is free again: the second batch's offer is signed now
    agent.lane.step()
    assert agent.db.batch(second.id)[0] == "signed" and (second.id, 1) in api.signatures


def test_an_offer_never_posted_lapses_and_a_refused_signature_is_not_resent(world):
    devnet, boss, other, job, api, agent = world
    batch = _prepare(boss, agent.chain, other, job)
    accept_by = latest_time(boss) + 120
    api.offers = [_offer(batch, 1, accept_by)]
    api.answer = 409  # the offer is no longer open
    agent.lane.step()
    agent.lane.step()
    status, data = agent.db.batch(batch.id)
    assert status == "signed" and data["refused"].startswith("409") and len(api.recorded_first) == 1
    api.offers = []
    devnet.anvil.time_travel(121)
    agent.lane.step()
    assert agent.db.batch(batch.id)[0] == "lapsed"
    # re-planned: the same batch offered again with a new accept_by is weighed afresh and signed
    api.answer = None
    accept_by = latest_time(boss) + 120
    api.offers = [_offer(batch, 1, accept_by)]
    agent.lane.step()
    assert agent.db.batch(batch.id)[0] == "signed" and (batch.id, 1) in api.signatures


def test_a_fail_its_own_check_refutes_is_challenged_once_with_bond_and_proof(world, monkeypatch):
    devnet, boss, other, job, api, agent = world
    oracles = {o.address: o for o in (fresh_account(devnet) for _ in range(3))}
    for o in oracles.values():  # staked before the post: eligible for the committee
        ensure_staked(o, ROLE_ORACLE, 1_000 * IFX)
    seed = os.urandom(32)
    batch = _prepare(boss, agent.chain, other, job, seed)
    accept_by = latest_time(boss) + 600
    api.offers = [_offer(batch, 1, accept_by)]
    agent.lane.step()
    lane.post(boss, batch, [(accept_by, lane.accept(other, batch, batch.groups[0], accept_by)),
                            (accept_by, api.signatures[(batch.id, 1)])])
    agent.lane.step()
    agent.db.set_batch(batch.id, "rendering", cids={"1": "bafyframes-1", "2": "bafyframes-2"})
    agent.lane.step()
    lane.submit_results(other, batch.id, 0, ["bafyframes-0"])
    lane.reveal_seed(boss, batch.id, seed)

    members = draw_batch_committee(devnet, batch.id)
    for m in members:
        if m not in oracles:
            oracles[m] = devnet.chain(dev_index(devnet, m))
    agent.lane.step()
    assert agent.db.batch(batch.id)[0] == "submitted"  # no verdict yet: waiting

    # the committee fails both our tasks
    salts = [os.urandom(32) for _ in members]
    signed = [lane.commitment(oracles[m], batch.id, 0b001, salt) for m, salt in zip(members, salts)]
    relay = oracles[members[0]]
    seats = list(range(len(members)))
    relay.transact("BatchCommittee", "commitVotes", batch.id, seats, [c for c, _ in signed], [s for _, s in signed])
    relay.transact("BatchCommittee", "revealVotes", batch.id, seats, [0b001] * len(members), salts)

    # our own check: task 1's frames pass (challenge), task 2's fail too (left alone)
    opened = []

    def open_manifest(store, package, task_seed, key_commit, digest):
        assert task_seed == B.task_seed(seed, batch.id, int(package.rsplit("-", 1)[1]))  # the task's own seed
        assert digest == batch.leaves[int(package.rsplit("-", 1)[1])].manifest_digest
        opened.append(package)
        return package

    def verify_result(store, cid, manifest):
        ok = cid == "bafyframes-1"
        return TaskVerdict(ok, 10_000 if ok else 0, "stub")

    monkeypatch.setattr(worker_batches, "open_manifest", open_manifest)
    monkeypatch.setattr(worker_batches, "verify_result", verify_result)
    balance = boss.call("IFXToken", "balanceOf", agent.me)
    agent.lane.step()
    record = lane.get_batch(boss, batch.id)
    assert record["disputed"] == 0b010  # task 1 challenged, task 2 not
    challenger, bond, _ = boss.call("BatchLane", "disputes", worker_batches._dispute_key(batch.id, 1))
    assert challenger == agent.me and bond > 0 and balance - boss.call("IFXToken", "balanceOf", agent.me) == bond
    status, data = agent.db.batch(batch.id)
    assert status == "submitted" and data["challenged"] == [1] and data["handled"]["2"].startswith("FAIL, own check")

    # a crash before the record was written: the chain says we challenged, nothing is sent again
    agent.db.set_batch(batch.id, "submitted", challenged=[], handled={})
    nonce = agent.chain.w3.eth.get_transaction_count(agent.me)
    agent.lane.step()
    assert agent.chain.w3.eth.get_transaction_count(agent.me) == nonce
    assert agent.db.batch(batch.id)[1]["challenged"] == [1]

    # the rest settles; the challenged task waits for the arbiter (here: its silence, after the dispute window)
    devnet.anvil.time_travel(boss.call("JobEscrow", "challengeWindow") + 1)
    lane.settle(boss, batch.id, batch.leaves)
    agent.lane.step()
    assert agent.db.batch(batch.id)[0] == "submitted"
    devnet.anvil.time_travel(boss.call("JobEscrow", "disputeWindow") + 1)
    proof = B.merkle_proof([B.leaf_node(i, x) for i, x in enumerate(batch.leaves)], 1)
    boss.transact("BatchLane", "resolve", batch.id, 1, 1, batch.leaves[1].as_tuple(), proof, False)
    agent.lane.step()
    assert agent.db.batch(batch.id)[0] == "done"
