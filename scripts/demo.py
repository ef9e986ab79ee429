"""`make demo`: the whole Inferix network on this machine, end to end.

anvil and js-ipfs are started here; the contracts are deployed by the real deploy command; the manager
(API + coordination + indexer), two oracles, two honest workers and one cheating worker (it returns images
it never rendered) run as separate processes; a creator goes through the SDK: sign in, upload an animated
scene, quote, create the job by signing as a wallet, follow progress. Then the epoch is closed (time travel
on the local chain) and everyone claims their minted IFX.

The demo checks its own outcome and exits non-zero if anything is off. Output: a summary on stdout and
``out/demo/report.html``. Every process is stopped at the end, on failure and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

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
    net.fund({MANAGER: 5_000 * IFX, CREATOR: 5_000 * IFX, HONEST[0]: 20_000 * IFX, HONEST[1]: 20_000 * IFX,
              CHEATER: 20_000 * IFX, **{oracle: 2_000 * IFX for oracle in ORACLES}})

    scene = out / "scene.blend"
    run_jobs([{"op": "make_scene", "name": "flyby", "path": str(scene), "width": demo.width, "height": demo.height,
               "frames": demo.frames}])
    demo.stage(f"accounts funded; scene made ({demo.frames} frames at {demo.width}x{demo.height})")

    api = net.start_manager(MANAGER, render_window=1800, poll=0.5)
    for index in ORACLES:
        net.start_oracle(index)
    # the cheater joins first, so that it is matched with tasks before the honest workers exist
    net.start_worker(CHEATER, name="worker-cheater", module="tests.utils.cheater")
    net.wait_api()
    net.wait(lambda: get_node(chain, dev_account(CHEATER).address).stake > 0 and all(
        chain.call("Staking", "isActive", dev_account(i).address, 2) for i in ORACLES), 120, "nodes staked")
    demo.stage("manager, oracles and the cheating worker running")

    creator = InferixClient(api, dev_account(CREATOR), net.anvil.url)
    creator.sign_in()
    job = creator.submit(scene, 1, demo.frames, samples=demo.samples, frames_per_task=2)
    job_id = job.job_id
    demo.stage(f"creator signed in, uploaded, quoted and created job {job_id} ({len(job.quote['tasks'])} tasks)")

    task_ids = net.wait(lambda: _job_tasks(chain, job_id, len(job.quote["tasks"])), 600, "tasks posted")
    cheater = dev_account(CHEATER).address
    net.wait(lambda: sum(get_task(chain, t).worker == cheater for t in task_ids) >= 1, 120,
             "a task assigned to the cheater")
    for index in HONEST:
        net.start_worker(index)
    demo.stage("tasks noised and posted; honest workers started")

    # follow progress, the job's tasks and the benchmark task the manager pays for each new worker; jump past
    # challenge windows only when nothing is in flight (deadlines are real)
    manager_address = dev_account(MANAGER).address
    workers = 1 + len(HONEST)
    busy_states = (TaskState.ASSIGNED, TaskState.ACCEPTED, TaskState.SUBMITTED, TaskState.REVEALED)
    last = None
    deadline = time.monotonic() + 1800
    while True:
        bench_ids = _benchmark_tasks(chain, manager_address)
        states = {t: get_task(chain, t) for t in task_ids}
        bench = {t: get_task(chain, t) for t in bench_ids}
        summary = f"job {job_id}: {_states(states)}; benchmarks {len(bench)}/{workers}: {_states(bench)}"
        if summary != last:
            print(f"           {summary}", flush=True)
            last = summary
        if all(v.state in FINAL for v in (*states.values(), *bench.values())) and len(bench) >= workers:
            break
        busy = any(v.state in busy_states for v in (*states.values(), *bench.values()))
        if not busy and any(v.state == TaskState.VERIFIED for v in (*states.values(), *bench.values())):
            net.anvil.time_travel(3601)  # past the challenge window: the manager settles
        if time.monotonic() > deadline:
            raise DemoFailure(f"not finished after 30 min: {summary}")
        net.check_alive()
        time.sleep(1.0)
    demo.stage("every task (and every worker's benchmark) rendered, verified and settled")

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
    files = creator.download(job_id, frames_dir, store)
    demo.stage(f"{len(files)} frames downloaded")
    from scripts.demo_report import collect, check, write_report

    labels = {dev_account(i).address: f"worker-{i}" for i in HONEST}
    labels[cheater] = "worker-cheater"
    facts = collect(chain, deployment, job_id, task_ids, epoch, claimed, receipts, out, store, api, labels,
                    bench_ids)
    failures = check(facts, demo.frames, cheater, [dev_account(i).address for i in HONEST], len(files))
    # the manager and the honest workers opened every scene in the bubblewrap sandbox (docs/security.md)
    for name in ("manager", *(f"worker-{i}" for i in HONEST)):
        if "scene sandbox: bubblewrap" not in (out / "logs" / f"{name}.log").read_text():
            failures.append(f"{name} did not run its scenes in the sandbox")
    facts["stages"] = [(s.name, s.seconds) for s in demo.stages]
    write_report(facts, out, files)
    if failures:
        raise DemoFailure("the outcome is wrong:\n  " + "\n  ".join(failures))
    return facts


def _states(tasks: dict) -> str:
    return ", ".join(f"{s.name.lower()} {sum(1 for v in tasks.values() if v.state == s)}"
                     for s in TaskState if any(v.state == s for v in tasks.values())) or "none yet"


def _benchmark_tasks(chain: Chain, manager: str) -> list[int]:
    """The tasks of the jobs the manager created itself: one benchmark task per worker without an IB."""
    events = chain.events("JobEscrow", ["JobCreated", "TaskPosted"], chain.deployments.block_number,
                          chain.block_number())
    jobs = {e.args["jobId"] for e in events if e.name == "JobCreated" and e.args["creator"] == manager}
    return [e.args["taskId"] for e in events if e.name == "TaskPosted" and e.args["jobId"] in jobs]


def _job_tasks(chain: Chain, job_id: int, expected: int) -> list[int] | None:
    events = chain.events("JobEscrow", ["TaskPosted"], chain.deployments.block_number, chain.block_number())
    ids = [e.args["taskId"] for e in events if e.args["jobId"] == job_id]
    return ids if len(ids) >= expected else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "demo")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--samples", type=int, default=16)
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    demo = Demo(args.out, args.frames, args.width, args.height, args.samples, Stack(args.out))

    def interrupted(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupted)
    try:
        run(demo)
        print(f"\nDEMO PASSED — report: {args.out / 'report.html'}")
        return 0
    except DemoFailure as exc:
        print(f"\nDEMO FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        demo.net.stop_all()


if __name__ == "__main__":
    sys.exit(main())
