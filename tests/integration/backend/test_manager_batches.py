"""The manager's batches on a real chain, IPFS and Blender (docs/protocol.md, "Batches in the services"): a job's
tasks are noised into a batch with seeds derived from the batch seed, offered through the API, posted only with
every group's valid signature, re-planned without a worker who stays silent, revealed once delivered, settled,
and a task that did not pass goes into a new batch. The offer API refuses what a hostile caller sends. The chain
is reverted afterwards; the actors are fresh accounts."""

from __future__ import annotations

import json
import time

import pytest
from eth_account import Account
from eth_utils import keccak
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.batching import BatchConfig
from backend.db import connect, migrate
from backend.manager import Manager, ManagerConfig
from backend.settings import BackendSettings
from backend.state import APP_MIGRATIONS, scene_path
from inferix import batches as B
from inferix import lane
from inferix.eip712 import sign_acceptance
from inferix.protocol import IFX, PACKAGE_MANIFEST, ROLE_MANAGER, ROLE_ORACLE, ROLE_WORKER, ensure_staked, latest_time

from ...conftest import batch_verdict, fresh_account
from .conftest import prepare

pytestmark = pytest.mark.integration

USD = 10**18
QUOTE = "00000000000000b1"


@pytest.fixture(scope="module")
def small_scene(tmp_path_factory):
    from inferix.render import run_jobs

    path = tmp_path_factory.mktemp("batches") / "flyby.blend"
    run_jobs([{"op": "make_scene", "name": "flyby", "path": str(path), "width": 96, "height": 96, "frames": 2}])
    return path


def test_the_manager_batches_offers_posts_reveals_settles_and_requeues(reverted, store, small_scene, tmp_path):
    devnet = reverted
    boss = fresh_account(devnet)
    ensure_staked(boss, ROLE_MANAGER, 1_000 * IFX)
    workers = [fresh_account(devnet) for _ in range(2)]
    for w in workers:
        ensure_staked(w, ROLE_WORKER, 20_000 * IFX, USD // 2)
    oracles = {o.address: o for o in (fresh_account(devnet) for _ in range(3))}
    for o in oracles.values():  # staked before the post: the batch's committee is drawn from them (and others')
        ensure_staked(o, ROLE_ORACLE, 1_000 * IFX)
    creator = devnet.chain(0)

    # the creator's job, and the quote this manager made for it (2 tasks of one frame)
    cid = store.add_bytes(small_scene.read_bytes())
    quote = {"scene_cid": cid, "frame_start": 1, "frame_end": 2, "width": 96, "height": 96, "samples": 4,
             "denoise": False, "tasks": [{"frame_start": f, "frame_end": f, "ibm": 2 * 10**6} for f in (1, 2)]}
    creator.transact("IFXToken", "approve", creator.deployments.address("JobEscrow"), 100 * IFX)
    creator.transact("JobEscrow", "createJob", boss.address, cid, 1, 2, json.dumps({"q": QUOTE}), USD, 100 * IFX)
    job_id = creator.call("JobEscrow", "jobCount")
    budget0 = creator.call("JobEscrow", "jobs", job_id)[2]

    settings = BackendSettings(database=tmp_path / "backend.sqlite", work_dir=tmp_path / "work")
    app = create_app(settings, chain=devnet.chain(), store=store, manager_address=boss.address)
    db = connect(settings.database)
    db.execute("INSERT INTO quotes (id, owner, scene_cid, body, created_at) VALUES (?, ?, ?, ?, ?)",
               (QUOTE, creator.address, cid, json.dumps(quote), time.time()))
    local = scene_path(settings.work_dir, cid, "blend")
    local.parent.mkdir(parents=True)
    local.write_bytes(small_scene.read_bytes())
    manager = Manager(boss, store, db, ManagerConfig(stake=1_000 * IFX, seed_key=b"k" * 32, work_dir=settings.work_dir,
                                                     render_window=600, batches=BatchConfig(4, 600, 60)))
    manager.poll_events()
    # the other tests' workers on this chain run no agent: only ours are this manager's candidates
    db.execute("DELETE FROM known_workers")
    for w in workers:
        db.execute("INSERT INTO known_workers (address) VALUES (?)", (w.address,))

    prepare(manager)
    [batch] = db.execute("SELECT * FROM batches").fetchall()
    assert batch["status"] == "closed"  # the job's last task closed it
    batch_id = bytes.fromhex(batch["batch_id"])
    assert batch_id == B.batch_id(boss.address, batch["nonce"])
    manager.batcher.step()
    assert db.execute("SELECT status FROM batches").fetchone()[0] == "offered"

    with TestClient(app) as client:
        def offers(worker: str) -> list[dict]:
            reply = client.get("/v1/offers", params={"worker": worker})
            assert reply.status_code == 200, reply.text
            return reply.json()["offers"]

        [offer0] = offers(workers[0].address)
        [offer1] = offers(workers[1].address)
        assert {offer0["group"], offer1["group"]} == {0, 1} and offer0["count"] == offer1["count"] == 1
        parsed = B.Offer.from_json(offer0)
        assert parsed.span.worker == workers[0].address and parsed.batch_id == batch_id
        assert offers(Account.create().address) == []
        assert client.get("/v1/offers", params={"worker": "0x123"}).status_code == 400

        url = f"/v1/offers/0x{batch_id.hex()}/acceptances"
        signature = lane.accept_offer(workers[0], parsed)
        good = {"group": parsed.group, "accept_by": parsed.accept_by, "signature": "0x" + signature.hex()}
        # hostile callers: an unknown batch, a stale accept_by, someone else's group, another key, garbage
        assert client.post(f"/v1/offers/0x{'ab' * 32}/acceptances", json=good).status_code == 404
        assert client.post(url, json={**good, "accept_by": parsed.accept_by + 1}).status_code == 409
        assert client.post(url, json={**good, "group": 1 - parsed.group}).status_code == 400
        stranger = Account.create()
        forged = sign_acceptance(stranger.key, boss.deployments.chain_id, boss.deployments.address("BatchCommittee"),
                                 batch_id, B.acceptance_chain(list(parsed.leaves), parsed.span), parsed.render_window,
                                 parsed.accept_by)
        assert client.post(url, json={**good, "signature": "0x" + forged.hex()}).status_code == 400
        assert client.post(url, json={**good, "signature": "0x" + "00" * 65}).status_code == 400
        assert client.post(url, json={**good, "group": 99}).status_code == 422
        assert db.execute("SELECT COUNT(*) FROM batch_acceptances").fetchone()[0] == 0  # nothing recorded
        assert client.post(url, json=good).status_code == 201
        assert offers(workers[0].address)[0]["accepted"] is True

        # one group signed, the other worker silent: nothing is posted; past accept_by, the batch is planned again
        # without the silent worker and both tasks go to the one who answers
        manager.batcher.step()
        assert lane.get_batch(boss, batch_id)["stage"] == 0
        devnet.anvil.time_travel(parsed.accept_by - latest_time(boss) + 1)
        manager.batcher.step()
        assert offers(workers[1].address) == []
        [again] = offers(workers[0].address)
        assert again["count"] == 2 and again["accept_by"] > parsed.accept_by and again["accepted"] is False
        assert client.post(url, json=good).status_code == 409  # the old signature is for the old offer
        again = B.Offer.from_json(again)
        signature = lane.accept_offer(workers[0], again)
        assert client.post(url, json={"group": 0, "accept_by": again.accept_by,
                                      "signature": "0x" + signature.hex()}).status_code == 201

    manager.batcher.step()
    record = lane.get_batch(boss, batch_id)
    assert record["stage"] == lane.RENDERING and record["workers"] == 1
    leaves = lane.batch_leaves(boss, batch_id)
    assert leaves == list(again.leaves)
    # the tasks were noised with the seeds the batch derives: each sealed manifest opens with its task seed
    seed = manager.batcher._seed(db.execute("SELECT * FROM batches").fetchone())
    assert lane.get_batch(boss, batch_id)["seed_commit"] == keccak(seed)
    for i, leaf in enumerate(leaves):
        [manifest] = [e["cid"] for e in store.ls(leaf.package) if e["name"] == PACKAGE_MANIFEST]
        sealed = store.cat(manifest)
        head, body = sealed[:104], sealed[104:]
        task_seed = B.task_seed(seed, batch_id, i)
        assert boss.call("BatchCommittee", "sealDefect", task_seed, head, keccak(body), keccak(task_seed)) == ""

    manager.batcher.step()
    assert lane.get_batch(boss, batch_id)["stage"] == lane.RENDERING  # results still due: the seed stays secret
    lane.submit_results(workers[0], batch_id, 0, ["bafyframes-1", "bafyframes-2"])
    manager.batcher.step()
    assert lane.get_batch(boss, batch_id)["stage"] == lane.REVEALED

    # the committee passes task 1 and fails task 0 (worker 0's frames), one member never revealing: past the reveal
    # phase the manager finalizes it (on a quiet chain too), past the challenge window the batch settles, task 0
    # goes back to be noised again into a new batch, and is never offered to worker 0 again
    batch_verdict(devnet, batch_id, 0b10, oracles, unrevealed=1)
    manager.batcher.step()
    assert lane.outcome(boss, batch_id)["finalized_at"] == 0  # the reveal phase is still open
    votes = boss.call("BatchCommittee", "committees", batch_id)
    devnet.anvil.time_travel(votes[2] - latest_time(boss) + 1)
    manager.batcher.step()
    verdict = lane.outcome(boss, batch_id)
    assert verdict["finalized_at"] and verdict["pass_bits"] == 0b10 and verdict["decided_bits"] == 0b11
    assert lane.get_batch(boss, batch_id)["stage"] == lane.REVEALED  # the challenge window is still open
    devnet.anvil.time_travel(boss.call("JobEscrow", "challengeWindow") + 1)
    manager.batcher.step()
    assert lane.get_batch(boss, batch_id)["stage"] == lane.SETTLED
    assert boss.call("JobEscrow", "laneHeld") == 0
    assert creator.call("JobEscrow", "jobs", job_id)[2] == budget0 - leaves[1].fee  # task 0's fee came back
    assert [tuple(r) for r in db.execute("SELECT status, attempts FROM lane_tasks ORDER BY task_index")] == \
        [("pending", 1), ("passed", 0)]
    assert db.execute("SELECT failures FROM worker_record WHERE address = ?", (workers[0].address,)).fetchone()[0] == 1
    db.execute("DELETE FROM known_workers WHERE address = ?", (workers[1].address,))  # not seen yet
    prepare(manager)
    nonces = [r[0] for r in db.execute("SELECT nonce FROM batches ORDER BY nonce")]
    assert nonces == [batch["nonce"], batch["nonce"] + 1]
    second = db.execute("SELECT batch_id FROM batches WHERE nonce = ?", (nonces[1],)).fetchone()[0]
    assert db.execute("SELECT task_index FROM batch_tasks WHERE batch_id = ?", (second,)).fetchall()[0][0] == 0
    manager.batcher.step()  # worker 0 is qualified, but it failed this task: the batch waits for another worker
    assert db.execute("SELECT status FROM batches WHERE batch_id = ?", (second,)).fetchone()[0] == "closed"
    db.execute("INSERT INTO known_workers (address) VALUES (?)", (workers[1].address,))
    manager.batcher.step()
    offer = json.loads(db.execute("SELECT offer FROM batches WHERE batch_id = ?", (second,)).fetchone()[0])
    assert {leaf["worker"] for leaf in offer["leaves"]} == {workers[1].address}


def test_a_task_whose_imprints_never_fit_is_given_up_after_three_seeds(devnet, store, tmp_path):
    """The studio scene at 96x96 has too few smooth regions for ANGV's imprints: each seed's placement fails, the
    task goes into a new batch with a new seed, and after three the job is rejected with the reason; no batch is left
    open or offered, and the job is not tried again."""
    from inferix.render import run_jobs

    scene = tmp_path / "studio.blend"
    run_jobs([{"op": "make_scene", "name": "studio", "path": str(scene), "width": 96, "height": 96}])
    db = connect(tmp_path / "manager.sqlite")
    migrate(db, "app", APP_MIGRATIONS)
    cid = "bafystudio96"
    local = scene_path(tmp_path / "work", cid, "blend")
    local.parent.mkdir(parents=True)
    local.write_bytes(scene.read_bytes())
    quote = {"scene_cid": cid, "frame_start": 1, "frame_end": 1, "width": 96, "height": 96, "samples": 4,
             "denoise": False, "tasks": [{"frame_start": 1, "frame_end": 1, "ibm": 1000}]}
    db.execute("INSERT INTO quotes VALUES (?, 'x', ?, ?, ?)", (QUOTE, cid, json.dumps(quote), time.time()))
    event = {"outputSettings": json.dumps({"q": QUOTE}), "sceneCid": cid, "frameStart": 1, "frameEnd": 1}
    db.execute("INSERT INTO prepared_jobs (job_id, status, updated_at, event) VALUES (778, 'pending', ?, ?)",
               (time.time(), json.dumps(event)))
    manager = Manager(devnet.chain(9), store, db, ManagerConfig(stake=0, seed_key=b"k" * 32, work_dir=tmp_path / "work"))
    for _ in range(3):
        prepare(manager)
    job = db.execute("SELECT status, error FROM prepared_jobs WHERE job_id = 778").fetchone()
    assert job["status"] == "rejected" and "no placement of the imprints after 3 seeds" in job["error"], dict(job)
    assert db.execute("SELECT placement_failures FROM lane_tasks WHERE job_id = 778").fetchone()[0] == 2
    assert db.execute("SELECT COUNT(*) FROM batches").fetchone()[0] == 0  # empty batches are dropped, none offered
    prepare(manager)  # a rejected job is not prepared again
    assert db.execute("SELECT placement_failures FROM lane_tasks WHERE job_id = 778").fetchone()[0] == 2
