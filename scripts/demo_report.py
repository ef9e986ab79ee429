"""The demo's facts (from the chain, the manager's database and IPFS), its self-checks, and its report:
a summary on stdout and ``report.html`` with the frames, one frame with its noise regions outlined, the job's
batches (tasks, workers, verdict bits, slashes, gas per task) and the balances."""

from __future__ import annotations

import html
import io
import sqlite3
from collections import defaultdict
from pathlib import Path

from eth_utils import keccak
from PIL import Image, ImageDraw

from inferix import batches as B
from inferix import lane
from inferix.chain import Chain
from inferix.deployments import Deployment
from inferix.protocol import IFX, TaskState, frame_name, get_node, get_task, read_struct
from inferix.storage import IPFSStore

ZERO = "0x" + "00" * 20
BPS = 10_000
# the single path's steps (the benchmark tasks)
STEPS = [("JobCreated", "createJob"), ("TaskPosted", "postTasks"), ("TaskAssigned", "assign"),
         ("TaskAccepted", "accept"), ("ResultSubmitted", "submitResult"), ("KeyRevealed", "revealKey"),
         ("CommitteeDrawn", "drawCommittee"), ("VoteCommitted", "commitVote"), ("VerdictSigned", "revealVote"),
         ("TaskSettled", "settle"), ("TaskFailed", "settle (failed)")]
# a batch's transactions, named by the first of these events each carries
BATCH_STEPS = [("BatchPosted", "postBatch"), ("ResultsSubmitted", "submitResults"), ("SeedRevealed", "revealSeed"),
               ("CommitteeDrawn", "draw"), ("VotesCommitted", "commitVotes"), ("VotesRevealed", "revealVotes"),
               ("BatchVerdict", "finalize"), ("TaskChallenged", "challenge"), ("TaskResolved", "resolve"),
               ("BadManifestProven", "proveBadManifest"), ("BatchSettled", "settle")]
LANE_EVENTS = ["ResultsSubmitted", "SeedRevealed", "BatchSettled", "TaskChallenged", "TaskResolved", "ManagerSlashed",
               "BadManifestProven", "OracleSlashed", "NoShow"]
COMMITTEE_EVENTS = ["CommitteeDrawn", "VotesCommitted", "VotesRevealed", "BatchVerdict"]


def ifx(wei: int) -> str:
    return f"{wei / IFX:,.6f}"


def _gas(chain: Chain, tx_hash) -> int:
    return chain.w3.eth.get_transaction_receipt(tx_hash)["gasUsed"]


def collect_batch(chain: Chain, posted, head: int) -> dict:
    """One batch of the job from the chain: its leaves (postBatch's calldata), results (submitResults'), committee
    and bitmaps, settlement, who was slashed in it, and the gas of every transaction it took."""
    batch_id, start = posted.args["batchId"], posted.block
    leaves = lane.batch_leaves(chain, batch_id, start)
    results = lane.batch_results(chain, batch_id, start)
    record = lane.get_batch(chain, batch_id)
    verdict = lane.outcome(chain, batch_id)
    events = [posted] + chain.events("BatchLane", LANE_EVENTS, start, head, {"batchId": batch_id}) \
        + chain.events("BatchCommittee", COMMITTEE_EVENTS, start, head, {"batchId": batch_id})
    by_tx: dict = defaultdict(set)
    for e in events:
        by_tx[e.tx_hash].add(e.name)
    gas: dict[str, list[int]] = defaultdict(list)
    for tx, names in by_tx.items():
        label = next((label for name, label in BATCH_STEPS if name in names), "other")
        gas[label].append(_gas(chain, tx))
    settled = [e for e in events if e.name == "BatchSettled"]
    txs = set(by_tx)
    slashes = [(e.args["account"], e.args["amount"]) for e in chain.events("Staking", ["Slashed"], start, head)
               if e.tx_hash in txs]
    drawn = [e for e in events if e.name == "CommitteeDrawn"]
    outcomes = lane.task_outcomes(chain, batch_id, leaves, start) if record["stage"] == lane.SETTLED else None
    tasks = []
    for g, span in enumerate(B.groups(leaves)):
        cids = results.get(g, [])
        for i in range(span.first, span.end):
            leaf = leaves[i]
            tasks.append({"index": i, "worker": leaf.worker, "group": g, "fee": leaf.fee, "ibm": leaf.ibm,
                          "frames": (leaf.frame_start, leaf.frame_end), "package": leaf.package,
                          "digest": leaf.manifest_digest.hex(),
                          "result": cids[i - span.first] if cids else None,
                          "decided": bool(verdict["decided_bits"] >> i & 1),
                          "pass_bit": bool(verdict["pass_bits"] >> i & 1),
                          "passed": None if outcomes is None else outcomes[i]})
    return {"id": batch_id.hex(), "count": len(leaves), "stage": record["stage"], "posted_block": start,
            "seed": bytes(record["seed"]).hex(), "tasks": tasks,
            "workers": [span.worker for span in B.groups(leaves)],
            "committee": list(drawn[0].args["members"]) if drawn else [],
            "round": drawn[0].args["round"] if drawn else None,
            "pass_bits": verdict["pass_bits"], "decided_bits": verdict["decided_bits"],
            "revealed": verdict["revealed"], "votes": verdict["votes"],
            "settlement": dict(settled[0].args) if settled else None,
            "slashes": slashes, "gas": dict(gas), "gas_total": sum(sum(v) for v in gas.values())}


def collect(chain: Chain, deployment: Deployment, job_id: int, ranges: list[tuple[int, int]], epoch: int,
            claimed: dict[str, int], receipts: dict, out: Path, store: IPFSStore, api: str,
            labels: dict[str, str], bench_ids: list[int] = ()) -> dict:
    start, head = deployment.block_number, chain.block_number()
    posted = chain.events("BatchLane", ["BatchPosted"], start, head, {"jobId": job_id})
    batches = [collect_batch(chain, e, head) for e in posted]
    # each task of the job (a frame range of the quote): its attempts, one per batch it went into
    tasks = []
    for frames in ranges:
        attempts = [{"batch": b["id"], "seed": b["seed"], **t} for b in batches for t in b["tasks"]
                    if t["frames"] == tuple(frames)]
        tasks.append({"frames": tuple(frames), "attempts": attempts})
    created = chain.events("JobEscrow", ["JobCreated"], start, head, {"jobId": job_id})[0]

    escrow = chain.events("JobEscrow", ["JobCreated", "TaskPosted", "TaskRekeyed", "TaskAssigned", "TaskAccepted",
                                        "ResultSubmitted", "KeyRevealed", "TaskSettled", "TaskFailed"], start, head)
    votes = chain.events("ProofOfRender", ["CommitteeDrawn", "VoteCommitted", "VerdictSigned"], start, head)
    burns = [e for e in chain.events("IFXToken", ["Transfer"], start, head)
             if e.args["receiver" if "receiver" in e.args else "to"] == ZERO
             and e.args["sender" if "sender" in e.args else "from"] == deployment.address("JobEscrow")]

    # gas: the batch lane's steps (per transaction and per task), then the single path's (the benchmark tasks)
    gas: dict[str, dict] = {}
    for b in batches:
        for label, values in b["gas"].items():
            row = gas.setdefault(f"lane: {label}", {"gas": [], "tasks": 0})
            row["gas"] += values
            row["tasks"] += b["count"]
    mine = set(bench_ids)
    ours = [e for e in escrow if e.args.get("taskId") in mine]
    our_votes = [e for e in votes if e.args["taskId"] in mine]
    seen = set()
    for event, label in STEPS:
        for e in (our_votes if event in ("CommitteeDrawn", "VoteCommitted", "VerdictSigned") else ours):
            if e.name == event and (label, e.tx_hash) not in seen:
                seen.add((label, e.tx_hash))
                gas.setdefault(f"benchmark: {label}", {"gas": [], "tasks": None})["gas"].append(_gas(chain, e.tx_hash))
    for label, receipt in receipts.items():
        gas.setdefault(label, {"gas": [], "tasks": None})["gas"].append(receipt["gasUsed"])

    benchmarks = []
    for t in bench_ids:  # the benchmark task the manager paid for each worker, and the IB measured when it settled
        view = get_task(chain, t)
        settled = [e for e in escrow if e.name in ("TaskSettled", "TaskFailed") and e.args["taskId"] == t]
        assigned = [e.args["worker"] for e in escrow if e.name == "TaskAssigned" and e.args["taskId"] == t]
        worker = assigned[0] if assigned else ZERO
        benchmarks.append({"id": t, "worker": worker, "state": view.state.name, "fee": view.fee,
                           "burned": sum(e.args.get("burned", 0) for e in settled),
                           "slashed": sum(e.args.get("slashed", 0) for e in settled),
                           "ib": get_node(chain, worker).ib})
    ep = read_struct(chain, "BMWIssuance", "epochs", epoch)
    actors = {"treasury": deployment.parameters.get("treasury") or deployment.deployer}
    balances = {name: chain.call("IFXToken", "balanceOf", deployment.address(name))
                for name in ("JobEscrow", "Staking", "BMWIssuance", "BatchLane")}
    workers = {leaf for b in batches for leaf in b["workers"]}
    return {"job_id": job_id, "batches": batches, "tasks": tasks, "benchmarks": benchmarks, "labels": labels,
            "gas": gas, "burned_onchain": sum(e.args[list(e.args)[2]] for e in burns),
            "budget0": created.args["budget"], "budget": chain.call("JobEscrow", "jobs", job_id)[2],
            "lane_held": chain.call("JobEscrow", "laneHeld"),
            "locked": {w: get_node(chain, w).locked for w in workers},
            "record": _worker_record(out),
            "epoch": epoch, "minted": ep["minted"], "burned_epoch": ep["burned"],
            "pools": {"workers": ep["worker_pool"], "oracles": ep["oracle_pool"], "managers": ep["manager_pool"]},
            "claimed": claimed, "balances": balances, "actors": actors, "out": str(out), "api": api,
            "noise_frame": _noise_frame(tasks, out, store)}


def _worker_record(out: Path) -> dict[str, tuple[int, int]]:
    """The manager's record of each worker (what its matcher weighs): failures, completions."""
    db = sqlite3.connect(f"file:{out / 'manager' / 'backend.sqlite'}?mode=ro", uri=True, timeout=10)
    try:
        return {a: (f, c) for a, f, c in db.execute("SELECT address, failures, completed FROM worker_record")}
    finally:
        db.close()


def _noise_frame(tasks: list[dict], out: Path, store: IPFSStore) -> str | None:
    """The first frame of the first passed task with its imprint regions outlined (from the sealed manifest of its
    package, opened with the task's seed: ``taskSeed(batch seed, batch id, index)``, the batch seed revealed on
    chain)."""
    from oracle.angv.task import open_manifest

    for task in tasks:
        for attempt in task["attempts"]:
            if not attempt["passed"]:
                continue
            seed = B.task_seed(bytes.fromhex(attempt["seed"]), bytes.fromhex(attempt["batch"]), attempt["index"])
            manifest = open_manifest(store, attempt["package"], seed, keccak(seed), bytes.fromhex(attempt["digest"]))
            frame = attempt["frames"][0]
            source = out / "frames" / frame_name(frame)
            if not source.exists():
                continue
            image = Image.open(source).convert("RGB")
            draw = ImageDraw.Draw(image)
            for region in manifest.frames[frame].regions:
                x0, y0, x1, y1 = region.box
                draw.rectangle([x0 - 2, y0 - 2, x1 + 2, y1 + 2], outline=(255, 40, 40), width=1)
            target = out / "noise_regions.png"
            image.save(target)
            _footprint(out, store, attempt, frame, manifest.frames[frame].regions)
            return target.name
    return None


def _footprint(out: Path, store: IPFSStore, attempt: dict, frame: int, regions) -> None:
    """``footprint.png``: the flattest carrier footprint of the frame magnified, as the clean scene renders it (a
    render made here with the task's order), as the worker delivered it (the verified frame on IPFS, imprint and
    all) and as the creator downloaded it (clean delivery)."""
    import json

    import numpy as np

    from inferix.protocol import PACKAGE_ORDER
    from inferix.render import render_job, run_jobs
    from oracle.angv.figures import flattest_region, footprint_sheet

    package = {e["name"]: e["cid"] for e in store.ls(attempt["package"])}
    order = json.loads(store.cat(package[PACKAGE_ORDER]))
    clean_path = out / "clean" / frame_name(frame)
    run_jobs([render_job(str(out / "scene.blend"), str(clean_path), {k: order[k] for k in (
        "width", "height", "samples", "denoise", "seed")}, frame=frame)])
    verified = {e["name"]: e["cid"] for e in store.ls(attempt["result"])}[frame_name(frame)]
    pixels = {"clean render": np.asarray(Image.open(clean_path).convert("RGB")),
              "verified (the worker's, with the imprint)": np.asarray(Image.open(io.BytesIO(store.cat(verified)))
                                                                      .convert("RGB")),
              "delivered (downloaded)": np.asarray(Image.open(out / "frames" / frame_name(frame)).convert("RGB"))}
    footprint_sheet(pixels, flattest_region(pixels["clean render"], regions)).save(out / "footprint.png")


def check(facts: dict, frames: int, cheater: str, honest: list[str], downloaded: int) -> list[str]:
    failures = []
    if downloaded != frames:
        failures.append(f"{downloaded} frames downloaded, {frames} expected")
    batches, tasks = facts["batches"], facts["tasks"]
    if not batches:
        failures.append("the job went through no batch")
    if any(b["stage"] != lane.SETTLED for b in batches):
        failures.append("not every batch settled: " + ", ".join(f"0x{b['id'][:12]} stage {b['stage']}"
                                                                for b in batches))
    attempts = [a for t in tasks for a in t["attempts"]]
    cheated = [a for a in attempts if a["worker"] == cheater]
    if not cheated:
        failures.append("the cheating worker got no task")
    if any(a["passed"] is not False or not a["decided"] or a["pass_bit"] for a in cheated):
        failures.append("a forged result was not failed by the committee")
    for b in batches:  # the cheater's collateral slashed in every batch it had a group in
        if cheater in b["workers"] and not any(a == cheater and amount > 0 for a, amount in b["slashes"]):
            failures.append(f"batch 0x{b['id'][:12]}: the cheater's collateral was not slashed")
        if any(a in honest for a, _ in b["slashes"]):
            failures.append(f"batch 0x{b['id'][:12]}: an honest worker was slashed")
    for t in tasks:
        passed = [a for a in t["attempts"] if a["passed"]]
        if len(passed) != 1 or passed[0]["worker"] not in honest:
            failures.append(f"task {t['frames']} did not pass exactly once, by an honest worker")
    # every attempt was noised afresh (its own package and manifest, its own batch and seed); no result twice
    for t in tasks:
        seen = [(a["package"], a["digest"], a["batch"], a["seed"]) for a in t["attempts"]]
        if any(len({x[k] for x in seen}) != len(seen) for k in range(4)):
            failures.append(f"task {t['frames']}: an attempt reused another's package, manifest, batch or seed")
        # a result passes once, and never one submitted before (a replayed result; a cheater's forgeries of the
        # same frames may repeat, but they fail)
        for k, a in enumerate(t["attempts"]):
            if a["passed"] and a["result"] in [b["result"] for b in t["attempts"][:k]]:
                failures.append(f"task {t['frames']}: a result submitted before passed in batch 0x{a['batch'][:12]}")
    if any(a["worker"] == cheater for t in tasks for a in t["attempts"][1:]):
        failures.append("a task the cheater failed was planned for the cheater again")
    if not any(len(t["attempts"]) > 1 for t in tasks):
        failures.append("no task was re-batched: the re-noising of a failed task was not exercised")
    if not any(len(set(b["workers"]) & set(honest)) and b["stage"] == lane.SETTLED for b in batches):
        failures.append("no batch of the honest workers settled")
    # the committee's bits: every task decided, the pass bits those of the tasks that passed
    for b in batches:
        if b["decided_bits"] != (1 << b["count"]) - 1:
            failures.append(f"batch 0x{b['id'][:12]}: decided bits {b['decided_bits']:b} (every task expected)")
    # money: each settlement's burn and treasury split (80/20) of the passed tasks' fees, the failed fees back to
    # the job's budget; the budget down by the passed fees only; nothing left held by the lane or locked
    fees = burned = treasury = 0
    for b in batches:
        s = b["settlement"]
        if s is None:
            continue
        ok = [t for t in b["tasks"] if t["passed"]]
        fees_b = sum(t["fee"] for t in ok)
        burned_b = sum(t["fee"] * 8000 // BPS for t in ok)
        if (s["passed"], s["failed"]) != (len(ok), b["count"] - len(ok)) or s["burned"] != burned_b \
                or s["toTreasury"] != fees_b - burned_b or s["refund"] != sum(t["fee"] for t in b["tasks"]) - fees_b:
            failures.append(f"batch 0x{b['id'][:12]}: settlement {s} is not the 80/20 split of its passed fees "
                            f"({fees_b}) with the rest refunded")
        fees, burned, treasury = fees + fees_b, burned + s["burned"], treasury + s["toTreasury"]
    bench_burned = sum(b["burned"] for b in facts["benchmarks"])
    if burned + treasury != fees or facts["burned_onchain"] != burned + bench_burned:
        failures.append(f"burned {burned} + treasury {treasury} != fees {fees}, or on-chain burns "
                        f"{facts['burned_onchain']} differ from the job's and the benchmarks' {burned + bench_burned}")
    if facts["budget"] != facts["budget0"] - fees:
        failures.append(f"the job's budget is {facts['budget']}, not {facts['budget0']} - the passed fees {fees}")
    if facts["lane_held"] or any(facts["locked"].values()):
        failures.append(f"left held: lane {facts['lane_held']}, locked collateral {facts['locked']}")
    # the frames downloaded came from the passed tasks' results, as the chain holds them
    served = facts.get("downloaded", {}).get("result_cids")
    if served and sorted(served) != sorted(a["result"] for a in attempts if a["passed"]):
        failures.append(f"the read API served result CIDs {served}, not the chain's passed results")
    for b in facts["benchmarks"]:
        if b["worker"] in honest and (b["state"] != TaskState.SETTLED.name or b["ib"] <= 0):
            failures.append(f"benchmark task {b['id']} of honest {b['worker']}: {b['state']}, IB {b['ib']}")
        if b["worker"] == cheater and (b["state"] != TaskState.FAILED.name or not b["slashed"] or b["ib"]):
            failures.append(f"the cheater's benchmark task {b['id']} was not failed and slashed, or gave an IB")
    if sorted(b["worker"] for b in facts["benchmarks"]) != sorted([*honest, cheater]):
        failures.append("not exactly one benchmark task per worker")
    if facts["record"].get(cheater, (0, 0))[0] < len(cheated):
        failures.append(f"the manager's record of the cheater {facts['record'].get(cheater)} misses its "
                        f"{len(cheated)} failed batch tasks")
    facts.update(fees=fees, burned=burned, to_treasury=treasury)
    if facts["minted"] <= 0:
        failures.append("nothing minted for the epoch")
    if sum(facts["claimed"].values()) > sum(facts["pools"].values()):  # the oracle pool also pays out penalties
        failures.append("claims exceed the epoch's pools (mint + penalties)")
    if facts["minted"] > facts["burned_epoch"] * 9_000 // 10_000:
        failures.append("the epoch minted more than 90 % of what it burned")
    earners = {facts["labels"].get(a["worker"]) for a in attempts if a["passed"]}
    for label, amount in facts["claimed"].items():
        if amount <= 0 and (not label.startswith("worker") or label in earners):
            failures.append(f"{label} had nothing to claim")
    return failures


def _table(rows: list[list], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _bits(value: int, count: int) -> str:
    """A bitmap as task 0 first: ``1`` pass (or decided), ``0`` not."""
    return "".join("1" if value >> i & 1 else "0" for i in range(count)) or "-"


def write_report(facts: dict, out: Path, files: list[Path]) -> None:
    short = lambda a: a[:6] + "…" + a[-4:]  # noqa: E731
    name = lambda a: facts["labels"].get(a) or short(a)  # noqa: E731
    batch_rows = []
    for b in facts["batches"]:
        s = b["settlement"]
        members = [f"{name(m)} {_bits(v, b['count']) if b['revealed'] >> k & 1 else 'no reveal'}"
                   for k, (m, v) in enumerate(zip(b["committee"], b["votes"]))]
        outcome = f"{s['passed']} passed, {s['failed']} failed" if s else f"stage {b['stage']}"
        slashed = ", ".join(f"{name(a)} {ifx(v)}" for a, v in b["slashes"]) or "nobody"
        batch_rows.append([f"0x{b['id'][:10]}…", b["count"], ", ".join(name(w) for w in b["workers"]),
                           f"round {b['round']}: " + "; ".join(members) if members else "–",
                           _bits(b["pass_bits"], b["count"]), _bits(b["decided_bits"], b["count"]), outcome, slashed,
                           f"{b['gas_total']:,}", f"{b['gas_total'] // max(b['count'], 1):,}"])
    task_rows = []
    for t in facts["tasks"]:
        for i, a in enumerate(t["attempts"]):
            outcome = "passed" if a["passed"] else "failed" if a["passed"] is False else "?"
            task_rows.append([f"{t['frames'][0]}-{t['frames'][1]}", i, f"0x{a['batch'][:10]}… #{a['index']}",
                              name(a["worker"]), "pass" if a["pass_bit"] else "FAIL" if a["decided"] else "undecided",
                              outcome, ifx(a["fee"]), a["package"][:14] + "…",
                              (a["result"] or "-")[:14] + ("…" if a["result"] else "")])
    workers: dict[str, dict] = {}
    slashed_by: dict[str, int] = defaultdict(int)
    for b in facts["batches"]:
        for a, v in b["slashes"]:
            slashed_by[a] += v
    for t in facts["tasks"]:
        for a in t["attempts"]:
            w = workers.setdefault(a["worker"], {"passed": 0, "failed": 0})
            w["passed" if a["passed"] else "failed"] += 1
    worker_rows = [[short(a), facts["labels"].get(a, ""), w["passed"], w["failed"], ifx(slashed_by.get(a, 0)),
                    "{} / {}".format(*facts["record"].get(a, (0, 0))),
                    ifx(facts["claimed"].get(facts["labels"].get(a, ""), 0))] for a, w in workers.items()]
    gas_rows = [[label, len(v["gas"]), f"{sum(v['gas']) // max(len(v['gas']), 1):,}",
                 f"{sum(v['gas']) // v['tasks']:,}" if v["tasks"] else "–"] for label, v in facts["gas"].items()]
    money = [["fees of the passed tasks", ifx(facts["fees"])], ["burned (80 %)", ifx(facts["burned"])],
             ["to treasury (20 %)", ifx(facts["to_treasury"])],
             ["burned in the epoch (with the benchmarks)", ifx(facts["burned_epoch"])],
             ["minted (epoch; at most 90 % of its burns)", ifx(facts["minted"])],
             *[[f"claimed by {k}", ifx(v)] for k, v in facts["claimed"].items()]]
    balances = [[k, ifx(v)] for k, v in facts["balances"].items()]
    bench_rows = [[b["id"], short(b["worker"]), facts["labels"].get(b["worker"], ""), b["state"].lower(),
                   ifx(b["fee"]), ifx(b["slashed"]), f"{b['ib'] / 1e6:.3f}" if b["ib"] else "-"]
                  for b in facts["benchmarks"]]
    sources = [[where, n] for where, n in facts.get("downloaded", {}).get("sources", {}).items()]
    stages = [[name, f"{seconds:.1f}"] for name, seconds in facts["stages"] if name != "start"]
    g = facts.get("governance")
    governance = [[label, support, ifx(weight)] for label, support, weight in g["votes"]] if g else []
    text = "\n\n".join([
        f"Job {facts['job_id']}: batches (bitmaps: task 0 first; a member's reveal, then the verdict's pass and "
        "decided bits)",
        _table(batch_rows, ["batch", "tasks", "workers (groups)", "committee (beacon round): votes", "pass bits",
                            "decided bits", "settled", "slashed IFX", "gas", "gas per task"]),
        f"Job {facts['job_id']}: tasks (one attempt per batch; a failed task is noised afresh into a new batch)",
        _table(task_rows, ["frames", "attempt", "batch #index", "worker", "verdict", "outcome", "fee IFX",
                           "package", "result"]),
        "Benchmark tasks (the single path, paid by the manager; the escrow sets IB when one settles)",
        _table(bench_rows, ["task", "worker", "node", "outcome", "fee IFX", "slashed IFX", "IB"]),
        "Workers (the job)", _table(worker_rows, ["worker", "node", "tasks passed", "tasks failed", "slashed IFX",
                                                  "manager's record (failures / completed)", "minted IFX claimed"]),
        "Gas (average per transaction; the lane's also per task of the batches)",
        _table(gas_rows, ["step", "txs", "gas", "gas per task"]),
        "IFX", _table(money, ["", "IFX"]),
        "Contract balances", _table(balances, ["contract", "IFX"]),
        "Frames downloaded from", _table(sources, ["source", "frames"]),
        *([f"Governance: proposal {g['id_short']} \"{g['description']}\" — {g['state']}; for {ifx(g['for'])}, "
           f"against {ifx(g['against'])}, quorum {ifx(g['quorum'])}; queued {g['delay'] / 86400:g} days (the "
           f"unbonding period) in the timelock; E_p {ifx(g['before'])} -> {ifx(g['after'])} IFX per IBM",
           _table(governance, ["voter", "vote", "votes at the snapshot (IFX)"])] if g else []),
        "Wall time per stage", _table(stages, ["stage", "seconds"]),
    ])
    print("\n" + text)
    (out / "summary.md").write_text(text + "\n")
    md_to_html = lambda block: "<pre>" + html.escape(block) + "</pre>"  # noqa: E731
    thumbs = "".join(f'<figure><img src="frames/{f.name}" width="320"><figcaption>{f.name}</figcaption></figure>'
                     for f in sorted(files))
    noise = (f'<h2>Noise regions (red) on {facts["noise_frame"]}</h2><img src="{facts["noise_frame"]}">'
             '<h2>One imprint, magnified 8×</h2><p>The flattest carrier footprint of that frame: the clean scene '
             'rendered with the task\'s order, the verified frame the worker delivered (the imprint the oracles '
             'checked), and the frame the creator downloaded (clean delivery: the manager\'s clean patches, '
             'opened with the revealed seed and composited by the SDK).</p><img src="footprint.png">'
             if facts.get("noise_frame") else "")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Inferix demo</title>
<style>body{{font-family:sans-serif;margin:2em}}figure{{display:inline-block;margin:4px}}pre{{background:#f4f4f4;padding:1em}}</style>
</head><body><h1>Inferix demo: job {facts['job_id']}</h1>
<h2>Rendered frames</h2>{thumbs}{noise}<h2>Summary</h2>{md_to_html(text)}</body></html>"""
    (out / "report.html").write_text(page)
