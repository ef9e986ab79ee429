"""The demo's facts (from the chain, the manager's database and IPFS), its self-checks, and its report:
a summary on stdout and ``report.html`` with the frames, one frame with its noise regions outlined, the job's
batches (tasks, workers, verdict bits, slashes, gas per task) and the balances."""

from __future__ import annotations

import html
import io
import re
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
    # the block of each phase's start (the report's timeline): posted (its workers signed: rendering), each group's
    # results, the seed revealed, the committee's verdict, settled
    first = lambda name: next((e.block for e in events if e.name == name), None)  # noqa: E731
    blocks = {"posted": start, "results": {e.args["group"]: e.block for e in events if e.name == "ResultsSubmitted"},
              "revealed": first("SeedRevealed"), "verified": first("BatchVerdict"), "settled": first("BatchSettled")}
    return {"id": batch_id.hex(), "count": len(leaves), "stage": record["stage"], "posted_block": start,
            "blocks": blocks,
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
        its = [e for e in escrow if e.args.get("taskId") == t]
        its_votes = [e for e in votes if e.args["taskId"] == t]
        benchmarks.append({"id": t, "worker": worker, "state": view.state.name, "fee": view.fee,
                           "burned": sum(e.args.get("burned", 0) for e in settled),
                           "slashed": sum(e.args.get("slashed", 0) for e in settled),
                           "ib": get_node(chain, worker).ib,
                           # the block of each phase's start (the report's timeline; the last of each, after a
                           # reassignment)
                           "blocks": {"posted": _last(its, "TaskPosted"), "accepted": _last(its, "TaskAccepted"),
                                      "submitted": _last(its, "ResultSubmitted"), "revealed": _last(its, "KeyRevealed"),
                                      "verified": _last(its_votes, "VerdictSigned"),
                                      "settled": _last(its, "TaskSettled", "TaskFailed")}})
    ep = read_struct(chain, "BMWIssuance", "epochs", epoch)
    # the fees, burns and mint of each epoch closed so far (the last 12 at most): the report's chart
    epochs = []
    for e in range(max(0, epoch - 11), epoch + 1):
        closed = read_struct(chain, "BMWIssuance", "epochs", e)
        epochs.append({"epoch": e, "fees": closed["fees"], "burned": closed["burned"], "minted": closed["minted"]})
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
            "epoch": epoch, "minted": ep["minted"], "burned_epoch": ep["burned"], "epochs": epochs,
            "pools": {"workers": ep["worker_pool"], "oracles": ep["oracle_pool"], "managers": ep["manager_pool"]},
            "claimed": claimed, "balances": balances, "actors": actors, "out": str(out), "api": api,
            "noise_frame": _noise_frame(tasks, out, store)}


def _last(events: list, *names: str) -> int | None:
    """The block of the last of ``events`` named one of ``names`` (None if none)."""
    return max((e.block for e in events if e.name in names), default=None)


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


NUMBER = re.compile(r"[-+]?[\d,]+(\.\d+)?( %)?")


def html_table(caption: str, header: list[str], rows: list[list], table_id: str | None = None) -> str:
    """A semantic table: its caption, column headers (``scope="col"``) and each row's first cell as the row's
    header (``scope="row"``); numbers right-aligned. In a container that scrolls sideways on a narrow screen."""
    e = html.escape
    head = "".join(f'<th scope="col">{e(str(h)) or "item"}</th>' for h in header)
    body = []
    for row in rows:
        cells = [f'<th scope="row">{e(str(row[0]))}</th>' if row else ""]
        cells += [f'<td class="num">{e(str(c))}</td>' if NUMBER.fullmatch(str(c)) else f"<td>{e(str(c))}</td>"
                  for c in row[1:]]
        body.append("<tr>" + "".join(cells) + "</tr>")
    ident = f' id="{e(table_id)}"' if table_id else ""
    return (f'<div class="scroll"><table{ident}><caption>{e(caption)}</caption><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _bits(value: int, count: int) -> str:
    """A bitmap as task 0 first: ``1`` pass (or decided), ``0`` not."""
    return "".join("1" if value >> i & 1 else "0" for i in range(count)) or "-"


# the timeline's phases, each named by the mark (a block of the chain) it starts at; a phase lasts until the next
# mark the task reached
PHASES = {"posted": "waiting for a worker", "accepted": "rendering", "submitted": "results in, awaiting the reveal",
          "revealed": "committee verifying", "verified": "verdict in, challenge window"}
MARKS = ["posted", "accepted", "submitted", "revealed", "verified", "settled"]


def phases(marks: dict[str, int | None], signed: bool = False) -> list[tuple[str, float, float]]:
    """The segments ``(phase, start block, end block)`` between the marks a task reached, in order; ``signed``: a
    batch's task, whose worker signed before it was posted (it renders from the post: no wait for a worker)."""
    reached = [(m, marks[m]) for m in MARKS if marks.get(m) is not None]
    return [(PHASES["accepted" if signed and m == "posted" else m], a, b)
            for (m, a), (_, b) in zip(reached, reached[1:])]


def timeline_rows(facts: dict, name) -> list[dict]:
    """One row per attempt of each of the job's tasks (a batch's: its workers signed before it was posted, so it
    renders from the post) and per benchmark task (the single path: posted, then accepted by a worker), by the
    block it was posted in: its marks (blocks) and outcome."""
    rows = []
    batches = {b["id"]: b for b in facts["batches"]}
    for t in facts["tasks"]:
        for i, a in enumerate(t["attempts"]):
            blocks = batches[a["batch"]].get("blocks") or {}
            marks = {"posted": blocks.get("posted"),
                     "submitted": (blocks.get("results") or {}).get(a["group"]),
                     **{k: blocks.get(k) for k in ("revealed", "verified", "settled")}}
            outcome = "passed" if a["passed"] else "failed" if a["passed"] is False else "?"
            rows.append({"label": f"frames {t['frames'][0]}-{t['frames'][1]} #{i}", "worker": name(a["worker"]),
                         "where": f"batch 0x{a['batch'][:10]}… #{a['index']}", "marks": marks, "outcome": outcome,
                         "batch": True})
    for b in facts["benchmarks"]:
        marks = b.get("blocks") or {}
        rows.append({"label": f"benchmark {b['id']}", "worker": name(b["worker"]), "where": f"task {b['id']}",
                     "marks": marks, "outcome": b["state"].lower(), "batch": False})
    return sorted((r for r in rows if r["marks"].get("posted") is not None), key=lambda r: r["marks"]["posted"])


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1b1b1b;line-height:1.4}
main{max-width:72rem;margin:0 auto;padding:0.75rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
a{color:#0b5cad}
nav ul{display:flex;flex-wrap:wrap;gap:0.25rem 1rem;padding:0;list-style:none}
.scroll{overflow-x:auto;margin:0.75rem 0}
table{border-collapse:collapse;font-size:0.85rem}
caption{text-align:left;font-weight:600;padding:0.25rem 0}
th,td{border:1px solid #ccc;padding:0.25rem 0.5rem;text-align:left;vertical-align:top}
thead th{background:#f0f0f0}
tbody th{font-weight:normal;background:#fafafa}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
figure{margin:0.5rem 0}
.frames figure{display:inline-block;margin:4px}
img{max-width:100%;height:auto}
svg.chart{display:block;width:100%;height:auto;min-width:30rem}
figcaption{font-size:0.85rem;color:#444}
"""


def write_report(facts: dict, out: Path, files: list[Path]) -> None:
    from scripts import charts

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
    governance_text = (f"Governance: proposal {g['id_short']} \"{g['description']}\" — {g['state']}; for "
                       f"{ifx(g['for'])}, against {ifx(g['against'])}, quorum {ifx(g['quorum'])}; queued "
                       f"{g['delay'] / 86400:g} days (the unbonding period) in the timelock; E_p {ifx(g['before'])} "
                       f"-> {ifx(g['after'])} IFX per IBM") if g else ""
    # (section id, heading, caption, header, rows): the summary's tables, in the summary's order
    tables = [
        ("batches", "Batches",
         f"Job {facts['job_id']}: batches (bitmaps: task 0 first; a member's reveal, then the verdict's pass and "
         "decided bits)", ["batch", "tasks", "workers (groups)", "committee (beacon round): votes", "pass bits",
                           "decided bits", "settled", "slashed IFX", "gas", "gas per task"], batch_rows),
        ("tasks", "Tasks",
         f"Job {facts['job_id']}: tasks (one attempt per batch; a failed task is noised afresh into a new batch)",
         ["frames", "attempt", "batch #index", "worker", "verdict", "outcome", "fee IFX", "package", "result"],
         task_rows),
        ("benchmarks", "Benchmark tasks",
         "Benchmark tasks (the single path, paid by the manager; the escrow sets IB when one settles)",
         ["task", "worker", "node", "outcome", "fee IFX", "slashed IFX", "IB"], bench_rows),
        ("workers", "Workers", "Workers (the job)",
         ["worker", "node", "tasks passed", "tasks failed", "slashed IFX", "manager's record (failures / completed)",
          "minted IFX claimed"], worker_rows),
        ("gas", "Gas", "Gas (average per transaction; the lane's also per task of the batches)",
         ["step", "txs", "gas", "gas per task"], gas_rows),
        ("ifx", "IFX", "IFX", ["", "IFX"], money),
        ("balances", "Contract balances", "Contract balances", ["contract", "IFX"], balances),
        ("sources", "Frames downloaded", "Frames downloaded from", ["source", "frames"], sources),
        *([("governance", "Governance", governance_text, ["voter", "vote", "votes at the snapshot (IFX)"],
            governance)] if g else []),
        ("stages", "Wall time per stage", "Wall time per stage", ["stage", "seconds"], stages),
    ]
    text = "\n\n".join(block for _, _, caption, header, rows in tables for block in (caption, _table(rows, header)))
    print("\n" + text)
    (out / "summary.md").write_text(text + "\n")

    # charts: the fees, burns and mint of each epoch; the job's tasks and the benchmarks over the chain's blocks
    epochs = facts.get("epochs") or []
    series = ["fees", "burned", "minted"]
    epoch_chart = charts.bar_chart(
        "chart-epochs", "Fees, burned and minted IFX per epoch", [f"epoch {e['epoch']}" for e in epochs], series,
        [[e[k] / IFX for k in series] for e in epochs], unit="IFX")
    epoch_rows = [[f"epoch {e['epoch']}", ifx(e["fees"]), ifx(e["burned"]), ifx(e["minted"]),
                   f"{100 * e['minted'] / e['burned']:.1f} %" if e["burned"] else "–"] for e in epochs]
    rows = timeline_rows(facts, name)
    timeline_chart = charts.timeline(
        "chart-timeline", "Timeline of the job's task attempts and the benchmark tasks, by block",
        [(f"{r['label']} ({r['worker']})", phases(r["marks"], r["batch"]), r["outcome"]) for r in rows],
        list(PHASES.values()),
        axis_label="block number")
    timeline_table = [[r["label"], r["worker"], r["where"],
                       *("-" if r["marks"].get(k) is None else r["marks"][k] for k in MARKS), r["outcome"]]
                      for r in rows]

    e = html.escape
    api = facts.get("api") or ""
    links = (f'<p>The network\'s web app: <a href="{e(api)}/app/">{e(api)}/app/</a>; the manager\'s API: '
             f'<a href="{e(api)}/docs">{e(api)}</a> (up while the stack runs: <code>make demo KEEP=1</code> keeps it '
             'after the checks).</p>' if api else "")
    thumbs = "".join(f'<figure><img src="frames/{e(f.name)}" width="320" alt="rendered frame {e(f.name)}"/>'
                     f'<figcaption>{e(f.name)}</figcaption></figure>' for f in sorted(files))
    noise = (f'<section id="noise"><h2>Noise regions (red) on {e(facts["noise_frame"])}</h2>'
             f'<img src="{e(facts["noise_frame"])}" alt="a delivered frame with its noise regions outlined in red"/>'
             '<h2>One imprint, magnified 8×</h2><p>The flattest carrier footprint of that frame: the clean scene '
             'rendered with the task\'s order, the verified frame the worker delivered (the imprint the oracles '
             'checked), and the frame the creator downloaded (clean delivery: the manager\'s clean patches, '
             'opened with the revealed seed and composited by the SDK).</p>'
             '<img src="footprint.png" alt="one imprint magnified: clean render, verified frame, delivered frame"/>'
             '</section>' if facts.get("noise_frame") else "")
    sections = [("frames", "Rendered frames"), *([("noise", "Noise regions")] if noise else []),
                ("epochs", "IFX per epoch"), ("timeline", "Timeline"), *((i, h) for i, h, *_ in tables)]
    nav = "<nav><ul>" + "".join(f'<li><a href="#{i}">{e(h)}</a></li>' for i, h in sections) + "</ul></nav>"
    body = [f"<h1>Inferix demo: job {facts['job_id']}</h1>", links, nav,
            f'<section id="frames"><h2>Rendered frames</h2><div class="frames">{thumbs}</div></section>', noise,
            '<section id="epochs"><h2>IFX per epoch</h2><figure><div class="scroll">' + epoch_chart + '</div>'
            '<figcaption>The fees the epoch recorded, the IFX burned (80 % of the fees) and the IFX minted when it '
            'closed (at most 90 % of its burns), from BMWIssuance.</figcaption></figure>'
            + html_table("Fees, burned and minted IFX per epoch", ["epoch", "fees IFX", "burned IFX", "minted IFX",
                                                                   "minted / burned"], epoch_rows, "table-epochs")
            + "</section>",
            '<section id="timeline"><h2>Timeline</h2><figure><div class="scroll">' + timeline_chart + '</div>'
            '<figcaption>Each attempt of the job\'s tasks (in a batch: its worker signed before the batch was posted, '
            'so it renders from the post) and each benchmark task (the single path: posted, accepted by a worker), '
            'by the block each phase began in; the outcome follows each bar.</figcaption></figure>'
            + html_table("The timeline's blocks (the block each phase began in)",
                         ["task", "worker", "where", *MARKS, "outcome"], timeline_table, "table-timeline")
            + "</section>"]
    for ident, heading, caption, header, rows_ in tables:
        body.append(f'<section id="{ident}"><h2>{e(heading)}</h2>{html_table(caption, header, rows_)}</section>')
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"/>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"/>'
            f"<title>Inferix demo: job {facts['job_id']}</title><style>{STYLE}</style></head>\n"
            f"<body><main>\n" + "\n".join(b for b in body if b) + "\n</main></body></html>\n")
    (out / "report.html").write_text(page)
