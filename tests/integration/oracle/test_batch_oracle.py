"""The oracle daemon on the batch lane (``oracle/batches.py``), stepped in-process against a real anvil with the
deployed contracts, the dev beacon's HTTP API and a real IPFS node.

Each batch's packages are real IPFS directories holding a sealed manifest (a synthetic one: no scene is rendered
here, rendering is expensive), so ``open_manifest`` really opens (or fails to open) them. ANGV's judgement of the
frames is replaced by :class:`ScriptedJudgeOracle` (a *mock of the verification only*): a result is a real IPFS file
saying ``pass`` or ``fail``; everything else — events, the draw and its beacon round, leaves and results from
calldata, task seeds, the proof of a bogus manifest, commitments, reveals, finalize, challenges — is the daemon's
own code against the real contracts.

The chain is reverted after each test (``evm_snapshot``) and every actor is a fresh account, so the oracles staked
here never sit in another test's committee; the daemon's NodeDB cursors start at the test's own blocks, so it never
acts on another test's tasks or batches.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from eth_abi import encode
from eth_utils import keccak

from inferix import batches as B
from inferix import lane
from inferix.chain import Chain
from inferix.nodedb import NodeDB
from inferix.protocol import IFX, PACKAGE_MANIFEST, ROLE_ORACLE, ROLE_WORKER, ensure_staked, latest_time, read_struct
from inferix.sealing import manifest_digest, seal_manifest
from inferix.storage import StorageError
from oracle.angv.task import ResultUnavailable, TaskVerdict
from oracle.daemon import OracleConfig, OracleDaemon

from ...conftest import dev_index, fresh_account, manager

pytestmark = pytest.mark.integration

IBM = 10**6
USD = 10**18
RENDER_WINDOW = 3600
BIG_STAKE = 10_000_000 * IFX  # the daemon's oracle: drawn whatever other oracles a shared devnet holds


class ScriptedJudgeOracle(OracleDaemon):
    """The real oracle daemon with ANGV's verdict MOCKED (committee-protocol tests only): the result is an IPFS
    file whose content is the verdict (``pass`` / ``fail``); a CID in ``unserved`` models a result nobody serves."""

    unserved: set[str] = set()

    def judge(self, result_cid: str, manifest):
        self.judged.append((result_cid, manifest.seed_commit))
        if result_cid in self.unserved:
            raise ResultUnavailable(f"result {result_cid} not available (scripted)")
        try:
            content = self.store.cat(result_cid)
        except StorageError as exc:
            raise ResultUnavailable(str(exc)) from None
        passed = content == b"pass"
        return TaskVerdict(passed, 10_000 if passed else 0, f"scripted: {content.decode(errors='replace')}")

    @property
    def judged(self) -> list:
        return self.__dict__.setdefault("_judged", [])


def _manifest(task_seed: bytes, index: int) -> bytes:
    """A synthetic manifest that parses (no regions, no frames): what the mocked judge needs opened."""
    return json.dumps({"version": 2, "params": {}, "task_id": index, "scene_digest": "00" * 32,
                       "seed_commit": "0x" + keccak(task_seed).hex(),
                       "order": {"width": 16, "height": 16, "samples": 4, "denoise": False},
                       "carriers": [], "frames": []}).encode()


@dataclass
class Scenario:
    devnet: object
    boss: Chain
    batch: lane.PreparedBatch
    me: Chain  # the daemon's oracle
    oracles: dict[str, Chain]  # every oracle the test can vote with, by address
    cids: dict[int, list[str]] = field(default_factory=dict)
    start_block: int = 0

    def chain_of(self, member: str) -> Chain:
        if member not in self.oracles:  # another test's oracle (a dev account) in a shared devnet
            self.oracles[member] = self.devnet.chain(dev_index(self.devnet, member))
        return self.oracles[member]


def _scenario(devnet, store, tmp_path: Path, tasks: list[tuple[int, str]], *, bogus: frozenset = frozenset(),
              undelivered: frozenset = frozenset(), me_staked_after_post: bool = False) -> Scenario:
    """A posted batch whose seed is out. ``tasks``: (worker number, result) per task, a worker's consecutive; result
    ``pass``/``fail`` (an IPFS file saying so) or ``unserved``; ``bogus``: tasks whose manifest is sealed with
    another seed; ``undelivered``: workers who submit nothing."""
    boss = manager(devnet)
    creator = devnet.chain(0)
    workers = [fresh_account(devnet) for _ in range(1 + max(w for w, _ in tasks))]
    for w in workers:
        ensure_staked(w, ROLE_WORKER, 20_000 * IFX, USD // 2)
    others = [fresh_account(devnet) for _ in range(2)]
    for o in others:
        ensure_staked(o, ROLE_ORACLE, 1_000 * IFX)
    me = fresh_account(devnet, BIG_STAKE + 30_000 * IFX)
    if not me_staked_after_post:
        ensure_staked(me, ROLE_ORACLE, BIG_STAKE)
    creator.transact("IFXToken", "approve", creator.deployments.address("JobEscrow"), 500 * IFX)
    creator.transact("JobEscrow", "createJob", boss.address, "bafyscene", 1, 30, "16x16@4spp png", USD, 500 * IFX)
    job = creator.call("JobEscrow", "jobCount")
    start_block = boss.block_number() + 1

    nonce = lane.next_nonce(boss, boss.address)
    seed = os.urandom(32)
    batch_id = B.batch_id(boss.address, nonce)
    leaves = []
    for i, (w, _) in enumerate(tasks):
        task_seed = B.task_seed(seed, batch_id, i)
        sealed = seal_manifest(_manifest(task_seed, i), os.urandom(32) if i in bogus else task_seed)
        package = tmp_path / f"package-{i}"
        package.mkdir()
        (package / PACKAGE_MANIFEST).write_bytes(sealed)
        leaves.append(B.Leaf(workers[w].address, 10 * IBM, 10 * IFX, manifest_digest(sealed), 1 + i, 1 + i,
                             store.add_directory(package)))
    batch = lane.prepare(boss, job, nonce, leaves, RENDER_WINDOW, seed=seed)
    accept_by = latest_time(boss) + 600
    lane.post(boss, batch, [(accept_by, lane.accept(workers[_worker_index(workers, g.worker)], batch, g, accept_by))
                            for g in batch.groups])
    if me_staked_after_post:  # only stake in place before the post counts in the draw
        devnet.anvil.time_travel(10)
        ensure_staked(me, ROLE_ORACLE, BIG_STAKE)

    scenario = Scenario(devnet, boss, batch, me, {o.address: o for o in [*others, me]}, start_block=start_block)
    for g, span in enumerate(batch.groups):
        w = _worker_index(workers, span.worker)
        if w in undelivered:
            continue
        cids = []
        for i in range(span.first, span.end):
            kind = tasks[i][1]
            cids.append(f"bafy-unserved-{os.urandom(4).hex()}" if kind == "unserved"
                        else store.add_bytes(kind.encode()))
        lane.submit_results(workers[w], batch.id, g, cids)
        scenario.cids[g] = cids
    if undelivered:
        devnet.anvil.time_travel(RENDER_WINDOW + 1)
    lane.reveal_seed(boss, batch.id, seed)
    return scenario


def _worker_index(workers: list[Chain], address: str) -> int:
    return next(k for k, w in enumerate(workers) if w.address == address)


def _daemon(s: Scenario, store, db_path: Path, **config) -> ScriptedJudgeOracle:
    """A daemon of ``s.me`` on the NodeDB at ``db_path`` (a fresh object each time: a restarted process)."""
    db = NodeDB(db_path)
    for cursor in ("escrow", "lane"):  # this test's blocks only (a shared devnet holds other tests' history)
        if db.cursor(cursor, -1) == -1:
            db.set_cursor(cursor, s.start_block)
    config = {"beacon_url": s.devnet.beacon_url, "poll_interval": 0.1, **config}
    return ScriptedJudgeOracle(s.me, store, db, OracleConfig(BIG_STAKE, db_path.parent / "work", **config))


def _status(daemon: OracleDaemon, batch_id: bytes) -> tuple[str, dict] | tuple[None, dict]:
    return daemon.db.batch(batch_id) or (None, {})


def _drive(daemon: OracleDaemon, batch_id: bytes, until, steps: int = 12) -> dict:
    for _ in range(steps):
        daemon.step()
        status, data = _status(daemon, batch_id)
        if until(status, data):
            return data
    raise AssertionError(f"batch still {status}: {data}")


def _travel_to(devnet, chain: Chain, t: int) -> None:
    now = latest_time(chain)
    if t > now:
        devnet.anvil.time_travel(t - now)


def _draw_round_due(s: Scenario) -> None:
    """Let the chain reach the beacon round the draw uses (the first after the reveal)."""
    record = lane.get_batch(s.boss, s.batch.id)
    round_ = s.boss.call("RandomnessBeacon", "roundAt", record["revealed_at"]) + 1
    _travel_to(s.devnet, s.boss, s.boss.call("RandomnessBeacon", "roundTime", round_))


def _nonce(chain: Chain) -> int:
    return chain.w3.eth.get_transaction_count(chain.address)


def _votes(chain: Chain, batch_id: bytes) -> dict:
    return read_struct(chain, "BatchCommittee", "committees", batch_id)


def _others_commit(s: Scenario, bits: dict[str, int]) -> dict[str, bytes]:
    """The other members sign their commitments; the first relays them all (as the protocol allows)."""
    members = lane.committee(s.boss, s.batch.id)
    salts = {m: os.urandom(32) for m in bits}
    seats = [members.index(m) for m in bits]
    signed = [lane.commitment(s.chain_of(m), s.batch.id, bits[m], salts[m]) for m in bits]
    s.chain_of(next(iter(bits))).transact("BatchCommittee", "commitVotes", s.batch.id, seats,
                                          [c for c, _ in signed], [sig for _, sig in signed])
    return salts


def _reveal(s: Scenario, member: str, bits: int, salt: bytes) -> None:
    seat = lane.committee(s.boss, s.batch.id).index(member)
    s.chain_of(member).transact("BatchCommittee", "revealVotes", s.batch.id, [seat], [bits], [salt])


def _members_besides_me(s: Scenario) -> list[str]:
    members = lane.committee(s.boss, s.batch.id)
    assert s.me.address in members, f"the daemon's oracle was not drawn: {members}"
    return [m for m in members if m != s.me.address]


# ---------------------------------------------------------------------------------------------------------------------


def test_the_daemon_draws_verifies_commits_reveals_and_finalizes_a_batch_and_a_restart_sends_nothing_twice(
        reverted, store, tmp_path):
    """Five tasks: 0 passes, 1 fails (the scripted judge), 2's manifest is sealed with another seed (proven on
    chain, voted FAIL), 3's result is not served (retried, then FAIL near the end of the commit phase), 4's worker
    delivered nothing (FAIL without looking). The daemon is restarted while a task is pending and once committed."""
    devnet = reverted
    s = _scenario(devnet, store, tmp_path, [(0, "pass"), (0, "fail"), (1, "pass"), (1, "unserved"), (2, "pass")],
                  bogus=frozenset({2}), undelivered=frozenset({2}))
    db_path = tmp_path / "oracle" / "oracle.sqlite"
    daemon = _daemon(s, store, db_path)
    daemon.unserved = {s.cids[1][1]}
    batch = s.batch.id

    daemon.step()
    assert _status(daemon, batch)[0] == "drawing"  # SeedRevealed seen; the beacon round may not be due yet
    _draw_round_due(s)
    _drive(daemon, batch, lambda status, data: status == "verifying" and len(data.get("tasks", {})) == 4)
    members = _members_besides_me(s)
    data = _status(daemon, batch)[1]
    assert data["members"] == lane.committee(s.boss, batch) and data["seat"] == data["members"].index(s.me.address)
    assert {k: v["passed"] for k, v in data["tasks"].items()} == {"0": True, "1": False, "2": False, "4": False}
    assert "delivered nothing" in data["tasks"]["4"]["reason"] and "proven on chain" in data["tasks"]["2"]["reason"]
    # the manifests opened with each task's own seed (the judge saw them), the bogus one never reached the judge
    seen = {cid: commit for cid, commit in daemon.judged}
    for i, cid in ((0, s.cids[0][0]), (1, s.cids[0][1])):
        assert seen[cid] == "0x" + keccak(B.task_seed(s.batch.seed, batch, i)).hex()
    proofs = s.boss.events("BatchLane", ["BadManifestProven"], s.start_block, s.boss.block_number(),
                           {"batchId": batch})
    assert [(e.args["index"], e.args["prover"]) for e in proofs] == [(2, s.me.address)]
    assert lane.get_batch(s.boss, batch)["done_bits"] == 0b100

    # a restart while task 3 is retried: nothing is sent again (the bad manifest is not proven twice)
    sent = _nonce(s.me)
    daemon = _daemon(s, store, db_path)
    daemon.unserved = {s.cids[1][1]}
    for _ in range(3):
        daemon.step()
    assert _nonce(s.me) == sent and _status(daemon, batch)[0] == "verifying"

    # near the end of the commit phase the unserved result is voted FAIL, and the bitmap committed
    votes = _votes(s.boss, batch)
    _travel_to(devnet, s.boss, votes["commit_ends"] - daemon.config.unserved_margin + 1)
    data = _drive(daemon, batch, lambda status, data: status == "committed")
    assert data["bits"] == 0b00001 and "result not served" in data["tasks"]["3"]["reason"]
    seat = data["seat"]
    assert bytes(s.boss.call("BatchCommittee", "commitments", batch, seat)) == \
        B.vote_commitment(batch, s.me.address, 0b00001, bytes.fromhex(data["salt"]))

    # a restart once committed, even one that lost the record of the commitment (the process died between sending
    # and recording it): the chain holds it, so no second commitment, and no reveal before the others commit
    sent = _nonce(s.me)
    daemon.db.set_batch(batch, "verified")
    daemon = _daemon(s, store, db_path)
    for _ in range(3):
        daemon.step()
    assert _nonce(s.me) == sent and _status(daemon, batch)[0] == "committed"

    # the others commit (one agrees, one does not); the daemon reveals; one other reveals, the last never does
    agree, silent = members
    salts = _others_commit(s, {agree: 0b00001, silent: 0b00011})
    _drive(daemon, batch, lambda status, data: status == "revealed")
    assert _votes(s.boss, batch)["revealed"] >> seat & 1
    sent = _nonce(s.me)  # the reveal's record lost: the chain holds it, it is not sent again
    daemon.db.set_batch(batch, "committed")
    daemon = _daemon(s, store, db_path)
    _drive(daemon, batch, lambda status, data: status == "revealed")
    assert _nonce(s.me) == sent
    _reveal(s, agree, 0b00001, salts[agree])
    daemon.step()
    assert _status(daemon, batch)[0] == "revealed"  # the reveal phase is still open: nobody finalizes yet

    # after the vote phase the daemon finalizes; the verdict is ours, so nothing is challenged
    _travel_to(devnet, s.boss, _votes(s.boss, batch)["vote_ends"] + 1)
    data = _drive(daemon, batch, lambda status, data: status == "done")
    votes = _votes(s.boss, batch)
    assert votes["finalized_at"] > 0 and (votes["pass_bits"], votes["decided_bits"]) == (0b00001, 0b11111)
    assert data["dissent"] == 0 and data["challenged"] == []
    sent = _nonce(s.me)
    _daemon(s, store, db_path).step()
    assert _nonce(s.me) == sent


def test_the_daemon_challenges_a_verdict_it_voted_against_once(reverted, store, tmp_path):
    """The two other members pass a task the daemon failed: the verdict contradicts its vote, and it challenges that
    task with the bond the lane asks; a restart between the challenge and its record does not challenge again."""
    devnet = reverted
    s = _scenario(devnet, store, tmp_path, [(0, "pass"), (0, "fail")])
    db_path = tmp_path / "oracle" / "oracle.sqlite"
    daemon = _daemon(s, store, db_path)
    batch = s.batch.id
    daemon.step()
    _draw_round_due(s)
    _drive(daemon, batch, lambda status, data: status == "committed")
    others = _members_besides_me(s)
    salts = _others_commit(s, {m: 0b11 for m in others})
    _drive(daemon, batch, lambda status, data: status == "revealed")
    balance = s.me.call("IFXToken", "balanceOf", s.me.address)
    for m in others:  # the last reveal decides: task 1 passes, 2 to 1
        _reveal(s, m, 0b11, salts[m])
    assert _votes(s.boss, batch)["pass_bits"] == 0b11

    data = _drive(daemon, batch, lambda status, data: status == "done")
    assert data["dissent"] == 0b10 and data["challenged"] == [1]
    assert lane.get_batch(s.boss, batch)["disputed"] == 0b10
    dispute = s.boss.call("BatchLane", "disputes", keccak(encode(["bytes32", "uint256"], [batch, 1])))
    bond = max(s.boss.call("JobEscrow", "challengeBond"), 10 * IFX * s.boss.call("JobEscrow", "challengeBondBps")
               // 10_000)
    assert dispute[0] == s.me.address and dispute[1] == bond
    assert balance - s.me.call("IFXToken", "balanceOf", s.me.address) == bond

    # as if the process died after sending the challenge and before recording it
    daemon.db.set_batch(batch, "revealed", challenged=[])
    sent = _nonce(s.me)
    daemon = _daemon(s, store, db_path)
    data = _drive(daemon, batch, lambda status, data: status == "done")
    assert _nonce(s.me) == sent and data["challenged"] == [1]


def test_a_batch_whose_committee_does_not_hold_us_is_closed(reverted, store, tmp_path):
    """The daemon's oracle staked after the batch was posted: not eligible. It still posts the draw's beacon round and
    draws the committee (nobody else did), then closes the batch."""
    devnet = reverted
    s = _scenario(devnet, store, tmp_path, [(0, "pass")], me_staked_after_post=True)
    daemon = _daemon(s, store, tmp_path / "oracle" / "oracle.sqlite")
    batch = s.batch.id
    daemon.step()
    _draw_round_due(s)
    data = _drive(daemon, batch, lambda status, data: status == "closed")
    members = lane.committee(s.boss, batch)
    assert members and s.me.address not in members
    assert data["reason"] == "not drawn for this committee" and data["members"] == members
    drawn = s.boss.events("BatchCommittee", ["CommitteeDrawn"], s.start_block, s.boss.block_number(),
                          {"batchId": batch})
    assert len(drawn) == 1 and s.boss.call("RandomnessBeacon", "randomness", drawn[0].args["round"]) != b"\x00" * 32
    draw_tx = s.boss.w3.eth.get_transaction(drawn[0].tx_hash)
    assert draw_tx["from"] == s.me.address  # the daemon drew it
    assert not daemon.judged
