"""`make demo`: the whole Inferix network on this machine, end to end.

anvil and js-ipfs are started here; the contracts are deployed by the real deploy command; the manager
(API + coordination + indexer), three oracles, two honest workers and one cheating worker (it returns images
it never rendered) run as separate processes; a creator goes through the SDK: sign in, upload an animated
scene, quote, create the job by signing as a wallet. The job goes through the batch lane (docs/protocol.md,
"Batches in the services"): its tasks are noised into a batch, offered to the cheater (the only worker yet),
signed, posted, forged, judged FAIL by the committee and settled with the cheater's collateral slashed; the
tasks go into a new batch that the honest workers (started once the cheater's batch is posted) render and
pass. Each worker's IB is attested by a benchmark task on the single path. Then the epoch is closed (time
travel on the local chain) and everyone claims their minted IFX.

The demo checks its own outcome and exits non-zero if anything is off. Output: a summary on stdout, the URLs of
the web app (``<API>/app/``) and the manager's API, and ``out/demo/report.html`` (tables and inline SVG charts,
scripts/demo_report.py). Every process is stopped at the end, on failure and on Ctrl-C; with ``--keep``
(``make demo KEEP=1``) a demo that passed holds the stack up until Ctrl-C or SIGTERM first.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from inferix import lane  # noqa: E402
from inferix.chain import Chain  # noqa: E402
from inferix.client import InferixClient  # noqa: E402
from inferix.testing.devnet import dev_account  # noqa: E402
from inferix.testing.stack import Stack, StackFailure  # noqa: E402
from inferix.render import run_jobs  # noqa: E402
from inferix.protocol import IFX, TaskState, get_node, get_task  # noqa: E402
from inferix.storage import IPFSStore  # noqa: E402

DEPLOYER, MANAGER, CREATOR = 0, 1, 2
HONEST, CHEATER, ORACLES = (3, 4), 5, (6, 7, 8)  # three oracles: every task's committee is drawn from them
FINAL = {TaskState.SETTLED, TaskState.FAILED, TaskState.CANCELLED}
BUSY = (TaskState.ASSIGNED, TaskState.ACCEPTED, TaskState.SUBMITTED, TaskState.REVEALED)
STAGES = {0: "unposted", lane.RENDERING: "rendering", lane.REVEALED: "revealed", lane.SETTLED: "settled"}
BATCH_AGE = 5  # seconds a batch of the manager waits for more tasks (a job's last task closes it at once anyway)
# seconds a worker has to sign its group, and the manager to post the batch once signed: the manager's step also
# noises tasks (a benchmark's preparation holds it for a minute or more on 2 busy cores), and a signed offer it could
# not post in time lapses and is offered again
OFFER_TIMEOUT = 300
HONEST_FUNDS = 150_000 * IFX  # covers S(n) up to IB ≈ 15 (a benchmark of 0.2 IBM rendered in under a second)


DemoFailure = StackFailure  # a process died, something did not happen in time, or the outcome is wrong


@dataclass
class Stage:
    name: str
    seconds: float


@dataclass
class Demo:
    out: Path
    frames: int
    width: int
    height: int
    samples: int
    net: Stack
    deadline: float = 1800  # seconds the job and the benchmarks have to settle once the job is created
    stages: list[Stage] = field(default_factory=list)
    _t: float = field(default_factory=time.monotonic)

    # ------------------------------------------------------------ plumbing
    def stage(self, name: str) -> None:
        now = time.monotonic()
        if self.stages or name:
            self.stages.append(Stage(name, now - self._t))
        self._t = now
        print(f"[{sum(s.seconds for s in self.stages):7.1f} s] {name}", flush=True)


def run(demo: Demo) -> dict:
    out, net = demo.out, demo.net
    demo.stage("start")

    deployment = net.start()
    demo.stage("chain, IPFS, contracts and the randomness beacon up")

    admin = net.chain(DEPLOYER)
    chain = net.chain()
    # the honest workers stake 10,000 IFX and keep the rest: when a benchmark attests their IB, S(n) grows with it
    # (a tiny benchmark rendered in seconds attests a high IB) and each worker tops its stake up from its balance
    net.fund({MANAGER: 5_000 * IFX, CREATOR: 5_000 * IFX, HONEST[0]: HONEST_FUNDS, HONEST[1]: HONEST_FUNDS,
              CHEATER: 20_000 * IFX, **{oracle: 2_000 * IFX for oracle in ORACLES}})

    scene = out / "scene.blend"
    run_jobs([{"op": "make_scene", "name": "flyby", "path": str(scene), "width": demo.width, "height": demo.height,
               "frames": demo.frames}])
    demo.stage(f"accounts funded; scene made ({demo.frames} frames at {demo.width}x{demo.height})")

    # the manager batches creators' jobs (the default: no --single-tasks); benchmark jobs stay on the single path
    api = net.start_manager(MANAGER, render_window=1800, poll=0.5,
                            args=("--batch-age", str(BATCH_AGE), "--offer-timeout", str(OFFER_TIMEOUT)))
    for index in ORACLES:
        net.start_oracle(index)
    # the cheater joins first: it is the only worker the manager knows when the job's batch is planned and offered
    net.start_worker(CHEATER, name="worker-cheater", module="tests.utils.cheater")
    net.wait_api()
    net.wait(lambda: get_node(chain, dev_account(CHEATER).address).stake > 0 and all(
        chain.call("Staking", "isActive", dev_account(i).address, 2) for i in ORACLES), 120, "nodes staked")
    demo.stage("manager, oracles and the cheating worker running")

    creator = InferixClient(api, dev_account(CREATOR), net.anvil.url)
    creator.sign_in()
    job = creator.submit(scene, 1, demo.frames, samples=demo.samples, frames_per_task=2)
    job_id = job.job_id
    ranges = [(t["frame_start"], t["frame_end"]) for t in job.quote["tasks"]]
    demo.stage(f"creator signed in, uploaded, quoted and created job {job_id} ({len(ranges)} tasks)")

    cheater = dev_account(CHEATER).address
    [first] = net.wait(lambda: _job_batches(chain, job_id), 600, "the job's first batch posted")
    leaves = lane.batch_leaves(chain, first.args["batchId"], first.block)
    if {leaf.worker for leaf in leaves} != {cheater}:
        raise DemoFailure(f"the job's first batch was not the cheater's alone: {[leaf.worker for leaf in leaves]}")
    for index in HONEST:
        net.start_worker(index)
    demo.stage(f"tasks noised into batch 0x{first.args['batchId'].hex()[:12]}, signed by the cheater (the only "
               f"worker yet) and posted; honest workers started")

    # follow the job's batches and the benchmark task the manager pays for each new worker; jump past challenge
    # windows only when nothing is in flight (render, reveal and vote deadlines are real): no single task busy, no
    # batch offered but unposted, rendering or before its committee's verdict
    manager_address = dev_account(MANAGER).address
    manager_db = out / "manager" / "backend.sqlite"
    challenge_window = chain.call("JobEscrow", "challengeWindow")
    workers = 1 + len(HONEST)
    honest = [dev_account(i).address for i in HONEST]
    follower = BatchFollower(chain, job_id)
    last = None
    deadline = time.monotonic() + demo.deadline
    while True:
        bench_ids = _benchmark_tasks(chain, manager_address)
        bench = {t: get_task(chain, t) for t in bench_ids}
        batches = follower.poll()
        passed = {r for b in batches for r in b["passed"]}
        offering, given_up, known = _manager_lane(manager_db, job_id)
        # the honest workers staked and known to the manager before the cheater's batch can settle: its tasks are
        # then planned for them (the cheater's failures weigh against it), not for the cheater again
        honest_ready = all(a.lower() in known and get_node(chain, a).stake > 0 for a in honest)
        summary = (f"job {job_id}: tasks passed {len(passed & set(ranges))}/{len(ranges)}; batches: "
                   + (", ".join(b["label"] for b in batches) or "none yet")
                   + (f"; {offering} being offered" if offering else "")
                   + f"; benchmarks {len(bench)}/{workers}: {_states(bench)}")
        if summary != last:
            print(f"           {summary}", flush=True)
            last = summary
        if given_up:
            raise DemoFailure(f"the manager gave up on tasks {given_up} of job {job_id} (max attempts)")
        if set(ranges) <= passed and all(v.state in FINAL for v in bench.values()) and len(bench) >= workers:
            break
        busy = offering or any(v.state in BUSY for v in bench.values()) or any(
            b["stage"] == lane.RENDERING or b["stage"] == lane.REVEALED and not b["finalized_at"] for b in batches)
        ripe = any(v.state == TaskState.VERIFIED for v in bench.values()) or any(
            b["stage"] == lane.REVEALED and b["finalized_at"] for b in batches)
        if not busy and ripe and honest_ready:
            net.anvil.time_travel(challenge_window + 1)  # past the challenge window: the manager settles
        if time.monotonic() > deadline:
            raise DemoFailure(f"not finished after {demo.deadline:.0f} s: {summary}")
        net.check_alive()
        time.sleep(1.0)
    demo.stage("every task passed (the cheater's batch failed and slashed, its tasks re-batched), and every "
               "worker's benchmark settled")

    # the epoch: close it and let everyone claim
    net.anvil.time_travel(72 * 3600)
    admin.transact("MockAggregator", "setAnswer", 50_000_000)
    epoch = chain.call("BMWIssuance", "currentEpoch")
    receipts = {"closeEpoch": admin.transact("BMWIssuance", "closeEpoch")}
    claimed = {}
    for label, index in [("worker-3", HONEST[0]), ("worker-4", HONEST[1]),
                         *((f"oracle-{oracle}", oracle) for oracle in ORACLES), ("manager", MANAGER)]:
        node = net.chain(index)
        amount = node.call("BMWIssuance", "claimable", epoch, node.address)
        if amount:
            receipts[f"claim {label}"] = node.transact("BMWIssuance", "claim", epoch)
        claimed[label] = amount
    receipts["claimTreasury"] = admin.transact("BMWIssuance", "claimTreasury")
    demo.stage(f"epoch {epoch} closed and claimed")

    frames_dir = out / "frames"
    shutil.rmtree(frames_dir, ignore_errors=True)
    store = IPFSStore(net.ipfs.api_multiaddr, timeout=30)
    # the SDK finds the frames in the read API: the job's batches and each passed task's result CID (indexed from
    # the chain); waits for the indexer to show every task passed
    def every_task_passed():
        found = creator.results(job_id)
        return found if {(t["frame_start"], t["frame_end"]) for t in found} >= set(ranges) else None

    results = net.wait(every_task_passed, 120, "the read API to show every task passed")
    result_cids = [t["result_cid"] for t in results]
    # delivered clean: each task's patches, opened with the seed revealed on chain, replace the imprints
    files = creator.download(job_id, frames_dir, store, chain=chain)
    if creator.delivery_problems:
        raise DemoFailure("clean delivery failed: " + "; ".join(creator.delivery_problems))
    sources = {"the SDK (InferixClient.download: the job's batch views, delivered clean)": len(files)}
    demo.stage(f"{len(files)} frames downloaded")

    governance = propose_and_enact(net, chain, admin)
    demo.stage(f"governance: proposal {governance['id_short']} ({governance['description']}) "
               f"{governance['state']}, E_p {governance['before'] / IFX:g} -> {governance['after'] / IFX:g} IFX per IBM")
    from scripts.demo_report import collect, check, write_report

    labels = {dev_account(i).address: f"worker-{i}" for i in HONEST}
    labels[cheater] = "worker-cheater"
    labels.update({dev_account(i).address: f"oracle-{i}" for i in ORACLES})
    labels[manager_address] = "manager"
    facts = collect(chain, deployment, job_id, ranges, epoch, claimed, receipts, out, store, api, labels,
                    bench_ids)
    facts["downloaded"] = {"sources": sources, "result_cids": result_cids}
    facts["governance"] = governance
    failures = check(facts, demo.frames, cheater, honest, len(files))
    if governance["state"] != "executed" or governance["after"] != NEW_EMISSION_RATE:
        failures.append(f"the governance proposal did not change E_p: {governance['state']}, {governance['after']}")
    # the manager and the honest workers opened every scene in the bubblewrap sandbox (docs/security.md)
    for name in ("manager", *(f"worker-{i}" for i in HONEST)):
        if "scene sandbox: bubblewrap" not in (out / "logs" / f"{name}.log").read_text():
            failures.append(f"{name} did not run its scenes in the sandbox")
    facts["stages"] = [(s.name, s.seconds) for s in demo.stages]
    write_report(facts, out, files)
    if failures:
        raise DemoFailure("the outcome is wrong:\n  " + "\n  ".join(failures))
    return facts


NEW_EMISSION_RATE = 12 * IFX  # the demo's proposal: E_p from 10 to 12 IFX per verified IBM
FOUNDATION = 19  # the local deployment's foundation escrow vests (and delegates its votes) to dev account 19


def propose_and_enact(net: Stack, chain: Chain, admin: Chain) -> dict:
    """One proposal through the Governor, end to end on the local chain (time travelled): an honest worker (its
    bonded stake is its voting power) proposes E_p = 12 IFX per IBM; the foundation (its escrow's votes, at half
    weight), both honest workers and the oracles vote for, the cheater against; queued in the timelock for the
    unbonding period, then executed by anyone. Returns what the report shows."""
    from inferix import governance as gov

    proposer = net.chain(HONEST[0])
    before = chain.call("BMWIssuance", "emissionRate")
    proposal = gov.actions(proposer, [("BMWIssuance", "setParameter", ("emissionRate", NEW_EMISSION_RATE))],
                           "E_p to 12 IFX per verified IBM (the demo's proposal)")
    net.anvil.time_travel(1)  # the proposer's votes are read one second in the past
    proposal_id = gov.propose(proposer, proposal)
    voters = {"foundation (escrow)": (FOUNDATION, "for"), "worker-3": (HONEST[0], "for"),
              "worker-4": (HONEST[1], "for"), **{f"oracle-{o}": (o, "for") for o in ORACLES},
              "worker-cheater": (CHEATER, "against")}
    net.anvil.time_travel(chain.call("Governor", "votingDelay") + 1)
    votes = []
    for label, (index, support) in voters.items():
        voter = net.chain(index)
        weight = voter.call("VotePower", "getPastVotes", voter.address, gov.status(chain, proposal_id)["snapshot"])
        gov.vote(voter, proposal_id, support)
        votes.append((label, support, weight))
    net.anvil.time_travel(chain.call("Governor", "votingPeriod") + 1)
    voted = gov.status(chain, proposal_id)
    gov.queue(admin, proposal)
    queued = gov.status(chain, proposal_id)
    net.anvil.time_travel(queued["eta"] - queued["queued_at"] + 1)
    admin.transact("MockAggregator", "setAnswer", 50_000_000)  # a fresh price after the week travelled
    gov.execute(net.chain(CREATOR), proposal)  # anyone executes
    done = gov.status(chain, proposal_id)
    return {"id": proposal_id, "id_short": f"{proposal_id:#x}"[:12] + "…", "description": proposal.description,
            "state": done["state"], "before": before, "after": chain.call("BMWIssuance", "emissionRate"),
            "votes": votes, "for": voted["for"], "against": voted["against"], "quorum": voted["quorum"],
            "delay": queued["eta"] - queued["queued_at"], "security": done["security"]}


def _states(tasks: dict) -> str:
    return ", ".join(f"{s.name.lower()} {sum(1 for v in tasks.values() if v.state == s)}"
                     for s in TaskState if any(v.state == s for v in tasks.values())) or "none yet"


def _benchmark_tasks(chain: Chain, manager: str) -> list[int]:
    """The tasks of the jobs the manager created itself: one benchmark task per worker without an IB."""
    events = chain.events("JobEscrow", ["JobCreated", "TaskPosted"], chain.deployments.block_number,
                          chain.block_number())
    jobs = {e.args["jobId"] for e in events if e.name == "JobCreated" and e.args["creator"] == manager}
    return [e.args["taskId"] for e in events if e.name == "TaskPosted" and e.args["jobId"] in jobs]


def _job_batches(chain: Chain, job_id: int) -> list:
    """The job's ``BatchPosted`` events, in posting order."""
    return chain.events("BatchLane", ["BatchPosted"], chain.deployments.block_number, chain.block_number(),
                        {"jobId": job_id})


class BatchFollower:
    """The job's batches as the chain shows them: stage, verdict, and the frame ranges of the tasks that passed
    once settled (leaves and outcomes read once per batch)."""

    def __init__(self, chain: Chain, job_id: int) -> None:
        self.chain, self.job_id = chain, job_id
        self.leaves: dict[bytes, tuple[int, list]] = {}
        self.passed: dict[bytes, set] = {}

    def poll(self) -> list[dict]:
        out = []
        for event in _job_batches(self.chain, self.job_id):
            batch_id = event.args["batchId"]
            if batch_id not in self.leaves:
                self.leaves[batch_id] = (event.block, lane.batch_leaves(self.chain, batch_id, event.block))
            block, leaves = self.leaves[batch_id]
            stage = lane.get_batch(self.chain, batch_id)["stage"]
            verdict = lane.outcome(self.chain, batch_id)
            if stage == lane.SETTLED and batch_id not in self.passed:
                outcomes = lane.task_outcomes(self.chain, batch_id, leaves, block)
                self.passed[batch_id] = {(leaf.frame_start, leaf.frame_end) for leaf, ok in zip(leaves, outcomes) if ok}
            passed = self.passed.get(batch_id, set())
            label = f"0x{batch_id.hex()[:8]} {STAGES.get(stage, stage)}"
            if stage == lane.SETTLED:
                label += f" ({len(passed)}/{len(leaves)} passed)"
            elif verdict["finalized_at"]:
                label += f" (verdict: {bin(verdict['pass_bits']).count('1')}/{len(leaves)} pass)"
            out.append({"id": batch_id, "stage": stage, "finalized_at": verdict["finalized_at"], "passed": passed,
                        "label": label})
        return out


def _manager_lane(db_path: Path, job_id: int) -> tuple[int, list[int], set[str]]:
    """From the manager's database (read-only, WAL): how many of the job's batches are closed or offered but not
    posted (their offers' ``accept_by`` is chain time: no time travel then), the tasks it gave up on, and the
    workers it knows (lower case)."""
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
        try:
            offering = db.execute("SELECT COUNT(*) FROM batches WHERE job_id = ? AND status IN ('closed', 'offered')",
                                  (job_id,)).fetchone()[0]
            given_up = [r[0] for r in db.execute("SELECT task_index FROM lane_tasks WHERE job_id = ? AND "
                                                 "status = 'failed'", (job_id,))]
            known = {r[0].lower() for r in db.execute("SELECT address FROM known_workers")}
        finally:
            db.close()
    except sqlite3.Error:  # not created yet, or busy: counted as an offer out (no time travel this round)
        return 1, [], set()
    return offering, given_up, known


def keep_up(net: Stack, sleep=time.sleep) -> None:
    """``--keep``: hold the stack up after the checks (the web app, the API, the chain and IPFS as the demo left
    them) until Ctrl-C or SIGTERM (a KeyboardInterrupt, returned from quietly); the caller stops every process. Says
    so, once, if a process exits meanwhile."""
    print(f"\nstack up: app at {net.api_url}/app/, API at {net.api_url}, chain RPC at {net.anvil.url}; "
          "Ctrl-C to stop", flush=True)
    reported: set[str] = set()
    try:
        while True:
            sleep(1.0)
            for name, service in net.processes.items():
                if name not in reported and not service.alive():
                    reported.add(name)
                    print(f"{name} exited with {service.returncode} (log: {service.log_path})", file=sys.stderr,
                          flush=True)
    except KeyboardInterrupt:
        print("stopping the stack", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "demo")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--deadline", type=float, default=1800,
                        help="seconds the job and the benchmarks have to settle (default 1800)")
    parser.add_argument("--keep", action="store_true",
                        help="once the demo passed, keep the whole stack up until Ctrl-C or SIGTERM (make demo KEEP=1)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    shutil.rmtree(args.out, ignore_errors=True)
    demo = Demo(args.out, args.frames, args.width, args.height, args.samples, Stack(args.out), args.deadline)

    def interrupted(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupted)
    try:
        run(demo)
        print(f"\nDEMO PASSED — report: {args.out / 'report.html'}", flush=True)
        print(f"web app: {demo.net.api_url}/app/\nAPI: {demo.net.api_url}", flush=True)
        if args.keep:
            keep_up(demo.net)
        return 0
    except DemoFailure as exc:
        print(f"\nDEMO FAILED: {exc}", file=sys.stderr)
        for name, service in demo.net.processes.items():  # what each process was doing when it went wrong
            print(f"\n--- {name} (the end of {service.log_path}) ---\n{service.log_tail(3000)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        demo.net.stop_all()


if __name__ == "__main__":
    sys.exit(main())
