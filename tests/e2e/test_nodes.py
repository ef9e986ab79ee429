"""Two oracles and one worker as separate processes against anvil and js-ipfs; the manager's steps are
scripted here. A task goes from posted to settled with every balance right, also when each daemon is
killed and restarted mid-task and when IPFS goes away for a while."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import replace

import pytest

from backend.taskprep import prepare_task
from inferix.chain import TransactionReverted
from inferix.sealing import manifest_digest, seal_manifest
from inferix.testing.devnet import dev_account
from inferix.protocol import (BPS, ESCROW_MARGIN_S, IB_ONE, IBM, IFX, PACKAGE_MANIFEST, ROLE_MANAGER, ROLE_ORACLE,
                              ROLE_WORKER, USD, TaskState, ensure_staked, get_beacon, get_node, get_task, seed_escrow)

from tests.conftest import dev_index, fund, manager, wait

ORDER = {"width": 192, "height": 108, "samples": 16, "denoise": False, "seed": 3}
WORKER, CREATOR, ORACLES, FORGER, LIAR = 3, 2, (4, 5), 6, 16
FEE = 1 * IFX  # 1 IBM at $0.50/IBM, IFX at $0.50


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    from inferix.render import run_jobs

    path = tmp_path_factory.mktemp("scene") / "studio.blend"
    run_jobs([{"op": "make_scene", "name": "studio", "path": str(path), "width": ORDER["width"],
               "height": ORDER["height"]}])
    return path


def start_network(devnet, node_factory, worker_index=WORKER, forge=False, stake="10000"):
    for index in ORACLES:
        if get_node(devnet.chain(), dev_account(index).address).stake == 0:
            fund(devnet, dev_account(index).address, 2_000 * IFX)
    oracles = [node_factory("oracle", i, "--stake", "1000") for i in ORACLES]
    address = dev_account(worker_index).address
    chain = devnet.chain()
    # S(n) = 2 x 4320 x IB x $0.50 / $0.50 = 8,640 IFX x IB, +10 %; a benchmark test earlier may have raised the IB
    ib = max(get_node(chain, address).ib, IB_ONE)
    expected = max(int(stake) * IFX, 9_504 * IFX * ib // IB_ONE)
    held = get_node(chain, address).stake + chain.call("IFXToken", "balanceOf", address)
    if held < expected:
        fund(devnet, address, expected - held + 100 * IFX)
    args = ["--price", "0.5", "--stake", stake]
    worker = node_factory("cheater" if forge else "worker", worker_index, *args)
    wait(lambda: get_node(chain, address).stake >= expected and all(
        chain.call("Staking", "isActive", dev_account(i).address, 2) for i in ORACLES), 120,
        "nodes registered and staked", [*oracles, worker])
    return oracles, worker


def post_one_task(devnet, store, scene, tmp_path, worker_address, settings="192x108 16spp png", benchmark=False,
                  escrow_margin=ESCROW_MARGIN_S, manifest=None):
    """A job of one task (of 1 IBM; a benchmark job's is the standard's work), posted with its seed escrowed (time-
    locked to a beacon round ``escrow_margin`` s after its last possible render deadline) and assigned by hand."""
    mgr = manager(devnet)
    creator = devnet.chain(CREATOR)
    fund(devnet, creator.address, 100 * IFX)
    creator.transact("IFXToken", "approve", devnet.deployment.address("JobEscrow"), 100 * IFX)
    scene_cid = store.add_file(scene)
    create = "createBenchmarkJob" if benchmark else "createJob"
    creator.transact("JobEscrow", create, mgr.address, scene_cid, 1, 2, settings, USD, 100 * IFX)
    job_id = creator.call("JobEscrow", "jobCount")
    task_id = mgr.call("JobEscrow", "taskCount") + 1
    prepared = prepare_task(store, scene, tmp_path / f"prep-{task_id}", task_id, (1, 2), ORDER)
    if manifest is not None:  # a manager that packages (and commits to) another sealed manifest
        package = tmp_path / f"prep-{task_id}" / "package"
        (package / PACKAGE_MANIFEST).write_bytes(manifest)
        prepared = replace(prepared, package_cid=store.add_directory(package), sealed_digest=manifest_digest(manifest))
    ibm = mgr.call("JobEscrow", "benchmarkWork") if benchmark else 1 * IBM
    escrow = seed_escrow(mgr, prepared.seed, 900, escrow_margin)
    mgr.transact("JobEscrow", "postTasks", job_id,
                 [(ibm, prepared.key_commit, prepared.sealed_digest, *escrow, 1, 2, 900, prepared.package_cid)])
    mgr.transact("JobEscrow", "assign", task_id, worker_address)
    return mgr, creator, job_id, task_id, prepared


def settle(devnet, task_id):
    devnet.anvil.time_travel(3601)
    devnet.chain(CREATOR).transact("JobEscrow", "settle", [task_id])


def events(devnet, name, task_id, contract="JobEscrow"):
    chain = devnet.chain()
    found = chain.events(contract, [name], devnet.deployment.block_number, chain.block_number())
    return [e for e in found if e.args.get("taskId") == task_id]


def test_task_goes_from_posted_to_settled_while_every_daemon_is_killed_and_restarted(
        devnet, node_factory, store, scene, tmp_path, ipfs_node):
    """One task's whole single-path life with every balance right at the end, while the worker dies right after
    accepting, IPFS goes away, an oracle dies as the key is revealed, and both come back after the verdict."""
    oracles, worker = start_network(devnet, node_factory)
    chain = devnet.chain()
    worker_address = dev_account(WORKER).address
    supply0 = chain.call("IFXToken", "totalSupply")
    treasury = devnet.deployment.parameters.get("treasury") or devnet.deployment.deployer
    treasury_claim0 = chain.call("JobEscrow", "claimable", treasury)
    stake0 = get_node(chain, worker_address).stake
    mgr, creator, job_id, task_id, prepared = post_one_task(devnet, store, scene, tmp_path, worker_address)

    # the worker dies right after accepting, before its result is in; IPFS goes away meanwhile
    wait(lambda: get_task(chain, task_id).state == TaskState.ACCEPTED, 120, "acceptance", [*oracles, worker])
    task = get_task(chain, task_id)
    assert task.fee == FEE and task.collateral == 2 * FEE
    assert get_node(chain, worker_address).locked == 2 * FEE
    worker.kill()
    ipfs_node.stop()
    worker.start()
    wait(lambda: "failed, will retry" in worker.log() or "unavailable" in worker.log(), 60,
         "the worker noticing IPFS is down")
    ipfs_node.start()
    wait(lambda: get_task(chain, task_id).state == TaskState.SUBMITTED, 300, "the result after restarts",
         [*oracles, worker])

    # one oracle dies just as the key is revealed, and comes back
    oracles[0].kill()
    mgr.transact("JobEscrow", "revealKey", task_id, prepared.seed)
    oracles[0].start()
    wait(lambda: get_task(chain, task_id).state == TaskState.VERIFIED, 120, "a quorum verdict", [*oracles, worker])
    assert get_task(chain, task_id).passed
    signed = events(devnet, "VerdictSigned", task_id, "ProofOfRender")
    assert all(e.args["passed"] and e.args["score"] > 5000 for e in signed)
    # both restarted daemons again, after the verdict: they must not act twice
    for node in (worker, oracles[0]):
        node.kill()
        node.start()
    settle(devnet, task_id)
    wait(lambda: "ready" in oracles[0].log().split("stopping")[-1], 60, "the oracle back up")

    assert get_task(chain, task_id).state == TaskState.SETTLED
    assert len(events(devnet, "ResultSubmitted", task_id)) == 1
    assert len(events(devnet, "TaskAccepted", task_id)) == 1
    assert len(events(devnet, "TaskSettled", task_id)) == 1
    voters = [e.args["oracle"] for e in events(devnet, "VerdictSigned", task_id, "ProofOfRender")]
    assert len(voters) == len(set(voters)) == 2 and set(voters) == {dev_account(i).address for i in ORACLES}
    assert supply0 - chain.call("IFXToken", "totalSupply") == FEE * 8 // 10
    assert chain.call("JobEscrow", "claimable", treasury) - treasury_claim0 == FEE * 2 // 10
    assert get_node(chain, worker_address).locked == 0
    assert get_node(chain, worker_address).stake == stake0
    assert chain.call("JobEscrow", "jobs", job_id)[2] == 100 * IFX - FEE
    epoch = chain.call("BMWIssuance", "currentEpoch")
    assert chain.call("BMWIssuance", "workerFees", epoch, worker_address) >= FEE // 2  # $0.50 of fee value
    for node in (*oracles, worker):
        assert node.alive(), node.log()[-2000:]


def test_forged_frames_fail_and_slash(devnet, node_factory, store, scene, tmp_path):
    """A worker that returns images it never rendered gets a failing verdict and loses collateral."""
    # asked to stake 1 IFX, the agent stakes the minimum S(n) plus 10 % instead
    oracles, forger = start_network(devnet, node_factory, worker_index=FORGER, forge=True, stake="1")
    chain = devnet.chain()
    address = dev_account(FORGER).address
    assert get_node(chain, address).stake == 9_504 * IFX
    mgr, creator, job_id, task_id, prepared = post_one_task(devnet, store, scene, tmp_path, address)
    wait(lambda: get_task(chain, task_id).state == TaskState.SUBMITTED, 120, "the forged result",
         [*oracles, forger])
    stake0 = get_node(chain, address).stake
    mgr.transact("JobEscrow", "revealKey", task_id, prepared.seed)
    wait(lambda: get_task(chain, task_id).state == TaskState.VERIFIED, 120, "a quorum verdict", [*oracles, forger])
    assert not get_task(chain, task_id).passed
    settle(devnet, task_id)
    task = get_task(chain, task_id)
    assert task.state == TaskState.POSTED and task.attempts == 1  # re-queued for another worker
    assert stake0 - get_node(chain, address).stake == 2 * FEE // 10  # 10 % of the collateral

    # the re-queued task is re-noised: a fresh seed, manifest and package (the spent key cannot be assigned)
    [submitted] = events(devnet, "ResultSubmitted", task_id)
    old_cid = submitted.args["resultCid"]
    forger.stop()  # from here the test plays the forger, to hand in the failed attempt's frames again
    with pytest.raises(TransactionReverted, match="task needs a fresh key"):
        mgr.transact("JobEscrow", "assign", task_id, address)
    retry = prepare_task(store, scene, tmp_path / "retry", task_id, (1, 2), ORDER)
    assert (retry.package_cid, retry.key_commit, retry.sealed_digest) != (
        prepared.package_cid, prepared.key_commit, prepared.sealed_digest)
    mgr.transact("JobEscrow", "rekey", task_id, retry.key_commit, retry.sealed_digest,
                 *seed_escrow(mgr, retry.seed, 900), retry.package_cid)
    [rekeyed] = events(devnet, "TaskRekeyed", task_id)
    assert rekeyed.args["sceneCid"] == retry.package_cid and rekeyed.args["keyCommit"] == retry.key_commit
    mgr.transact("JobEscrow", "assign", task_id, address)
    cheat = devnet.chain(FORGER)
    cheat.transact("JobEscrow", "accept", task_id)
    with pytest.raises(TransactionReverted, match="result CID already submitted"):
        cheat.transact("JobEscrow", "submitResult", task_id, old_cid)
    assert get_task(chain, task_id).state == TaskState.ACCEPTED


def test_committee_with_a_lying_oracle_reaches_the_honest_verdict(devnet, node_factory, store, scene, tmp_path):
    """Three oracles are drawn (the committee is every eligible oracle here); one of them lies. Votes are committed
    before they are revealed, so it cannot even see the others' first; the honest majority decides, and the liar
    earns nothing for the task."""
    from oracle.daemon import committee_key

    oracles, worker = start_network(devnet, node_factory)
    chain = devnet.chain()
    liar_address = dev_account(LIAR).address
    if get_node(chain, liar_address).stake == 0:
        fund(devnet, liar_address, 2_000 * IFX)
    liar = node_factory("liar", LIAR, "--stake", "1000")
    try:
        wait(lambda: chain.call("Staking", "isActive", liar_address, 2), 120, "the liar staked", [liar])
        mgr, creator, job_id, task_id, prepared = post_one_task(devnet, store, scene, tmp_path,
                                                                dev_account(WORKER).address)
        wait(lambda: get_task(chain, task_id).state == TaskState.SUBMITTED, 300, "the worker's result",
             [*oracles, worker, liar])
        mgr.transact("JobEscrow", "revealKey", task_id, prepared.seed)
        wait(lambda: get_task(chain, task_id).state == TaskState.VERIFIED, 180, "the committee's verdict",
             [*oracles, worker, liar])
        task = get_task(chain, task_id)
        assert task.passed  # the honest majority decided
        drawn = events(devnet, "CommitteeDrawn", task_id, "ProofOfRender")
        members = set(drawn[0].args["members"])
        assert members == {dev_account(i).address for i in (*ORACLES, LIAR)}
        assert drawn[0].args["round"] > 0
        votes = {e.args["oracle"]: e.args["passed"] for e in events(devnet, "VerdictSigned", task_id, "ProofOfRender")}
        assert votes == {**{dev_account(i).address: True for i in ORACLES}, liar_address: False}
        # every vote was committed before any was revealed
        commits = events(devnet, "VoteCommitted", task_id, "ProofOfRender")
        reveals = events(devnet, "VerdictSigned", task_id, "ProofOfRender")
        assert len(commits) == 3 and max(e.block for e in commits) < min(e.block for e in reveals)
        key = committee_key(task_id, task.attempts)
        credited = {a: bool(chain.call("ProofOfRender", "votes", key, a) & 8) for a in members}
        assert credited == {**{dev_account(i).address: True for i in ORACLES}, liar_address: False}
        settle(devnet, task_id)
        assert get_task(chain, task_id).state == TaskState.SETTLED
    finally:
        liar.stop()
        node = get_node(chain, liar_address)  # out of later committees: unbonded stake is never drawn
        free = node.stake - node.locked - node.unbonding
        if free:
            devnet.chain(LIAR).transact("Staking", "requestUnbond", free)


def test_a_manager_that_never_reveals_is_slashed_and_the_seed_comes_from_the_escrow(devnet, node_factory, store, scene,
                                                                                     tmp_path):
    """The manager posts the task with its seed time-locked to a beacon round, then disappears. Once its reveal
    window has passed and the round is published, an oracle opens the escrow and reveals the seed (the manager is
    slashed for lateness); the committee verifies the frames, and the task settles: the worker is credited its fee,
    the manager forfeits its BMW credit."""
    oracles, worker = start_network(devnet, node_factory)
    chain = devnet.chain()
    mgr, creator, job_id, task_id, prepared = post_one_task(devnet, store, scene, tmp_path,
                                                            dev_account(WORKER).address, escrow_margin=60)
    wait(lambda: get_task(chain, task_id).state == TaskState.SUBMITTED, 300, "the worker's result", [*oracles, worker])
    task = get_task(chain, task_id)
    opens = get_beacon(chain).round_time(task.escrow_round)
    assert opens > task.deadline - chain.call("JobEscrow", "revealWindow")  # locked until after the submission
    manager_stake = get_node(chain, mgr.address).stake
    # the manager stays silent: past its reveal window, and past the escrow's round
    devnet.anvil.time_travel(max(task.deadline, opens) - chain.w3.eth.get_block("latest")["timestamp"] + 1)
    wait(lambda: get_task(chain, task_id).state == TaskState.VERIFIED, 240, "the verdict from the escrowed seed",
         [*oracles, worker])
    task = get_task(chain, task_id)
    assert task.passed and task.late
    [revealed] = events(devnet, "KeyRevealed", task_id)
    assert revealed.args["seed"] == prepared.seed and revealed.args["late"]
    assert revealed.args["revealer"] in {dev_account(i).address for i in ORACLES}  # not the manager
    [slashed] = events(devnet, "ManagerSlashed", task_id)
    expected = max(chain.call("JobEscrow", "managerSlash"),
                   task.fee * chain.call("JobEscrow", "managerSlashBps") // BPS)
    assert (slashed.args["amount"], slashed.args["toWorker"], slashed.args["late"]) == (expected, 0, True)
    assert get_node(chain, mgr.address).stake == manager_stake - expected
    fund(devnet, mgr.address, expected)
    ensure_staked(mgr, ROLE_MANAGER, manager_stake)  # the session's manager stays active for the later tests
    epoch = chain.call("BMWIssuance", "currentEpoch")
    worker_before = chain.call("BMWIssuance", "workerFees", epoch, dev_account(WORKER).address)
    manager_before = chain.call("BMWIssuance", "managerFees", epoch, mgr.address)
    forfeited_before = chain.call("BMWIssuance", "forfeitedFees", epoch)
    settle(devnet, task_id)
    assert get_task(chain, task_id).state == TaskState.SETTLED
    assert chain.call("BMWIssuance", "workerFees", epoch, dev_account(WORKER).address) == worker_before + task.fee
    assert chain.call("BMWIssuance", "managerFees", epoch, mgr.address) == manager_before
    assert chain.call("BMWIssuance", "forfeitedFees", epoch) == forfeited_before + task.fee


def drawable_oracles(chain) -> list[str]:
    """Every oracle a committee can draw now: registered as an oracle, with bonded stake at the minimum."""
    minimum = chain.call("Staking", "minOracleStake")
    found, index = [], 0
    while True:
        try:
            address = chain.call("Staking", "oracles", index)
        except TransactionReverted:  # past the end of the list
            return found
        node = get_node(chain, address)
        if node.role == ROLE_ORACLE and node.stake - node.unbonding >= minimum:
            found.append(address)
        index += 1


def as_arbiter(devnet, contract: str, function: str, *args) -> None:
    """Send ``contract.function(*args)`` as ``ProofOfRender.arbiter()``: through the timelock (schedule by a
    proposer, wait out the minimum delay, execute) when governance is the arbiter, else from its dev account."""
    from eth_utils import keccak

    chain = devnet.chain()
    arbiter = chain.call("ProofOfRender", "arbiter")
    if arbiter != devnet.deployment.address("Timelock"):
        devnet.chain(dev_index(devnet, arbiter)).transact(contract, function, *args)
        return
    proposer = devnet.chain(dev_index(devnet, devnet.deployment.deployer))  # a local chain's dev proposer
    target = devnet.deployment.address(contract)
    payload = bytes.fromhex(chain.contract(contract).encode_abi(function, args=list(args)).removeprefix("0x"))
    salt, predecessor = keccak(text=f"{function}{args}"), b"\x00" * 32
    delay = chain.call("Timelock", "get_minimum_delay")
    proposer.transact("Timelock", "schedule", target, 0, payload, predecessor, salt, delay)
    devnet.anvil.time_travel(delay + 1)
    proposer.transact("Timelock", "execute", target, 0, payload, predecessor, salt)


def test_the_worker_challenges_a_wrong_fail_and_is_paid(devnet, node_factory, store, scene, tmp_path):
    """Every oracle a committee can draw lies: the committee FAILs an honest worker's frames. The worker opens the
    task's manifest with the revealed seed, finds that its own frames pass, and challenges the verdict by itself,
    bonding ``bondFor(taskId)``. The arbiter (governance, through the timelock) overturns it: the task settles PASS,
    the bond is returned, the lying oracles are slashed with the challenger's share paid to the worker, and the
    worker is credited its fee."""
    from inferix.nodedb import NodeDB

    chain = devnet.chain()
    worker_address = dev_account(WORKER).address
    # the committee is drawn among these: every one of them lies (2 of them reach the quorum of any committee)
    liar_indexes = sorted({*ORACLES, *(dev_index(devnet, a) for a in drawable_oracles(chain))})
    stakes0 = {i: get_node(chain, dev_account(i).address).stake for i in liar_indexes}
    for index in liar_indexes:
        if stakes0[index] == 0:
            fund(devnet, dev_account(index).address, 2_000 * IFX)
    liars = [node_factory("liar", i, "--stake", "1000") for i in liar_indexes]
    try:
        ib = max(get_node(chain, worker_address).ib, IB_ONE)  # as start_network: S(n) at the attested IB
        expected = max(10_000 * IFX, 9_504 * IFX * ib // IB_ONE)
        held = get_node(chain, worker_address).stake + chain.call("IFXToken", "balanceOf", worker_address)
        if held < expected:
            fund(devnet, worker_address, expected - held + 100 * IFX)
        worker = node_factory("worker", WORKER, "--price", "0.5", "--stake", "10000")
        nodes = [*liars, worker]
        wait(lambda: get_node(chain, worker_address).stake >= expected and all(
            chain.call("Staking", "isActive", dev_account(i).address, 2) for i in liar_indexes), 120,
            "nodes registered and staked", nodes)
        assert set(drawable_oracles(chain)) == {dev_account(i).address for i in liar_indexes}

        mgr, creator, job_id, task_id, prepared = post_one_task(devnet, store, scene, tmp_path, worker_address)
        bond = chain.call("JobEscrow", "bondFor", task_id)
        free = chain.call("IFXToken", "balanceOf", worker_address)
        if free < bond:  # the bond comes from the worker's free balance, not its stake
            fund(devnet, worker_address, bond - free)
        wait(lambda: get_task(chain, task_id).state == TaskState.SUBMITTED, 300, "the worker's result", nodes)
        mgr.transact("JobEscrow", "revealKey", task_id, prepared.seed)
        wait(lambda: get_task(chain, task_id).state == TaskState.DISPUTED, 180, "the worker's challenge", nodes)

        [verdict] = events(devnet, "VerdictRecorded", task_id)
        assert not verdict.args["passed"]  # the liars decided
        votes = {e.args["oracle"]: e.args["passed"] for e in events(devnet, "VerdictSigned", task_id, "ProofOfRender")}
        assert len(votes) >= 2 and not any(votes.values())
        [disputed] = events(devnet, "TaskDisputed", task_id)
        assert disputed.args["challenger"] == worker_address and disputed.args["bond"] == bond
        task = get_task(chain, task_id)
        assert task.challenger == worker_address and not task.passed
        assert "challenged the committee's FAIL verdict" in worker.log()

        # the arbiter overturns the FAIL
        balance0 = chain.call("IFXToken", "balanceOf", worker_address)
        claimable0 = chain.call("JobEscrow", "claimable", worker_address)
        as_arbiter(devnet, "ProofOfRender", "resolveDispute", task_id, True)
        [resolved] = events(devnet, "DisputeResolved", task_id)
        assert resolved.args["passed"] and resolved.args["overturned"]
        task = get_task(chain, task_id)
        assert task.state == TaskState.VERIFIED and task.passed
        assert chain.call("JobEscrow", "claimable", worker_address) - claimable0 == bond  # the bond comes back
        slashed = events(devnet, "OracleSlashed", task_id, "ProofOfRender")
        assert {e.args["oracle"] for e in slashed} == set(votes)  # every liar that voted
        reward = sum(e.args["toChallenger"] for e in slashed)
        assert reward > 0 and chain.call("IFXToken", "balanceOf", worker_address) - balance0 == reward

        # settle-able at once: PASS, the worker credited its fee
        epoch = chain.call("BMWIssuance", "currentEpoch")
        fees0 = chain.call("BMWIssuance", "workerFees", epoch, worker_address)
        creator.transact("JobEscrow", "settle", [task_id])
        assert get_task(chain, task_id).state == TaskState.SETTLED
        assert len(events(devnet, "TaskSettled", task_id)) == 1
        assert chain.call("BMWIssuance", "workerFees", epoch, worker_address) == fees0 + task.fee
        assert get_node(chain, worker_address).locked == 0  # the collateral released, not slashed

        # the agent recorded the challenge and the ruling
        db = NodeDB(tmp_path / "data" / f"worker-{worker_address.lower()}" / "worker.sqlite")
        try:
            wait(lambda: (db.task(task_id, task.attempts) or ("",))[0] == "done", 60, "the worker's record",
                 [worker])
            status, record = db.task(task_id, task.attempts)
            assert record["ruling"] == "PASS" and record["bond"] == bond and record["verdict"] == "FAIL"
        finally:
            db.close()
        assert len(events(devnet, "TaskDisputed", task_id)) == 1  # challenged once
        for node in nodes:
            assert node.alive(), node.log()[-2000:]
    finally:
        for liar in liars:
            liar.stop()
        for index in liar_indexes:  # the session's oracles keep the stake they had (the liars were slashed)
            oracle_chain = devnet.chain(index)
            target = stakes0[index] or 1_000 * IFX
            node = get_node(chain, oracle_chain.address)
            missing = target - (node.stake - node.unbonding)
            if missing > 0:
                fund(devnet, oracle_chain.address, missing)
                ensure_staked(oracle_chain, ROLE_ORACLE, target)


def test_a_bogus_manifest_is_proven_on_chain_by_an_oracle(devnet, node_factory, store, scene, tmp_path):
    """The manager packages (and commits to) a sealed manifest that does not open with the task's seed. The worker
    renders honestly; once the seed is revealed, an oracle of the committee finds the manifest bogus and proves it
    on chain instead of voting: the manager is slashed, the worker gets its fee from the slash, and the task is
    re-queued with a fresh key (no fault of the worker)."""
    oracles, worker = start_network(devnet, node_factory)
    chain = devnet.chain()
    worker_address = dev_account(WORKER).address
    bogus = seal_manifest(b'{"frames": {}}', os.urandom(32))  # sealed under another seed
    mgr, creator, job_id, task_id, prepared = post_one_task(devnet, store, scene, tmp_path, worker_address,
                                                            manifest=bogus)
    assert get_task(chain, task_id).manifest_digest == manifest_digest(bogus)
    wait(lambda: get_task(chain, task_id).state == TaskState.SUBMITTED, 300, "the worker's result", [*oracles, worker])
    fee = get_task(chain, task_id).fee
    manager_stake = get_node(chain, mgr.address).stake
    wallet = chain.call("IFXToken", "balanceOf", worker_address)
    mgr.transact("JobEscrow", "revealKey", task_id, prepared.seed)
    wait(lambda: get_task(chain, task_id).attempts == 1, 180, "the bogus manifest proven", [*oracles, worker])
    [proven] = events(devnet, "BadManifestProven", task_id, "ProofOfRender")
    assert proven.args["prover"] in {dev_account(i).address for i in ORACLES}
    assert (proven.args["attempt"], proven.args["defect"]) == (0, "header does not open")
    assert not events(devnet, "VerdictSigned", task_id, "ProofOfRender")  # nobody voted on it
    [slashed] = events(devnet, "ManagerSlashed", task_id)
    expected = max(chain.call("JobEscrow", "managerSlash"), fee * chain.call("JobEscrow", "managerSlashBps") // BPS)
    assert (slashed.args["amount"], slashed.args["toWorker"], slashed.args["late"]) == (expected, fee, False)
    assert get_node(chain, mgr.address).stake == manager_stake - expected
    assert chain.call("IFXToken", "balanceOf", worker_address) - wallet >= fee  # (its own claims may add to it)
    task = get_task(chain, task_id)
    assert (task.state, task.key_commit) == (TaskState.POSTED, b"\x00" * 32)
    [failed] = events(devnet, "TaskFailed", task_id)
    assert failed.args["slashed"] == 0 and failed.args["requeued"]
    fund(devnet, mgr.address, expected)
    ensure_staked(mgr, ROLE_MANAGER, manager_stake)  # the session's manager stays active for the later tests
    creator.transact("JobEscrow", "closeJob", job_id)  # the task is not rendered again here


def test_a_result_nobody_serves_is_voted_fail_and_costs_the_worker(devnet, node_factory, store, scene, tmp_path):
    """A worker submits the CID of frames nobody serves. The committee's oracles retry fetching it until
    ``unserved_margin`` seconds before the commit phase ends, then vote FAIL: the verdict is final, and settling
    slashes the worker's collateral (a stalled result is no result)."""
    from eth_abi import encode
    from eth_utils import keccak

    oracles, worker = start_network(devnet, node_factory)
    chain = devnet.chain()
    staller = devnet.chain(FORGER)  # this test plays the worker that submits what it never serves
    ib = max(get_node(chain, staller.address).ib, IB_ONE)
    need = 9_504 * IFX * ib // IB_ONE
    held = get_node(chain, staller.address).stake + chain.call("IFXToken", "balanceOf", staller.address)
    if held < need:
        fund(devnet, staller.address, need - held + 100 * IFX)
    ensure_staked(staller, ROLE_WORKER, need, USD // 2)
    mgr, creator, job_id, task_id, prepared = post_one_task(devnet, store, scene, tmp_path, staller.address)
    staller.transact("JobEscrow", "accept", task_id)
    # a well-formed CID (v1, raw, sha2-256) of content that exists nowhere
    unserved = "b" + base64.b32encode(bytes([1, 0x55, 0x12, 0x20]) + hashlib.sha256(os.urandom(64)).digest()) \
        .decode().lower().rstrip("=")
    staller.transact("JobEscrow", "submitResult", task_id, unserved)
    mgr.transact("JobEscrow", "revealKey", task_id, prepared.seed)
    key = keccak(encode(["uint256", "uint256"], [task_id, 0]))
    wait(lambda: chain.call("ProofOfRender", "committees", key)[0] != 0, 120, "the committee drawn", [*oracles, worker])
    commit_ends = chain.call("ProofOfRender", "committees", key)[2]
    # the members keep retrying: nobody has voted while most of the commit phase is left
    assert not events(devnet, "VoteCommitted", task_id, "ProofOfRender")
    now = chain.w3.eth.get_block("latest")["timestamp"]
    devnet.anvil.time_travel(commit_ends - 300 - now + 1)  # into the last unserved_margin (300 s) of the phase
    wait(lambda: get_task(chain, task_id).state == TaskState.VERIFIED, 240, "the committee's verdict",
         [*oracles, worker])
    task = get_task(chain, task_id)
    assert not task.passed
    votes = [e.args for e in events(devnet, "VerdictSigned", task_id, "ProofOfRender")]
    assert len(votes) >= 2 and not any(v["passed"] for v in votes) and all(v["score"] == 0 for v in votes)
    collateral = task.collateral
    settle(devnet, task_id)
    [failed] = events(devnet, "TaskFailed", task_id)
    assert failed.args["worker"] == staller.address
    assert failed.args["slashed"] == collateral * chain.call("JobEscrow", "slashBps") // BPS > 0
    creator.transact("JobEscrow", "closeJob", job_id)
