"""The demo's facts (from the chain, the manager's database and IPFS), its self-checks, and its report:
a summary on stdout and ``report.html`` with the frames, one frame with its noise regions outlined, and the
balances."""

from __future__ import annotations

import html
import sqlite3
from collections import defaultdict
from pathlib import Path

from PIL import Image, ImageDraw

from inferix.chain import Chain
from inferix.deployments import Deployment
from inferix.protocol import IFX, TaskState, frame_name, get_node, get_task, read_struct
from inferix.sealing import unseal
from inferix.storage import IPFSStore

ZERO = "0x" + "00" * 20
STEPS = [("JobCreated", "createJob"), ("TaskPosted", "postTasks"), ("TaskAssigned", "assign"),
         ("TaskAccepted", "accept"), ("ResultSubmitted", "submitResult"), ("KeyRevealed", "revealKey"),
         ("CommitteeDrawn", "drawCommittee"), ("VoteCommitted", "commitVote"), ("VerdictSigned", "revealVote"),
         ("TaskSettled", "settle"), ("TaskFailed", "settle (failed)")]


def ifx(wei: int) -> str:
    return f"{wei / IFX:,.6f}"


def collect(chain: Chain, deployment: Deployment, job_id: int, task_ids: list[int], epoch: int,
            claimed: dict[str, int], receipts: dict, out: Path, store: IPFSStore, api: str,
            labels: dict[str, str], bench_ids: list[int] = ()) -> dict:
    start, head = deployment.block_number, chain.block_number()
    escrow = chain.events("JobEscrow", ["JobCreated", "TaskPosted", "TaskRekeyed", "TaskAssigned", "TaskAccepted",
                                        "ResultSubmitted", "KeyRevealed", "TaskSettled", "TaskFailed"], start, head)
    votes = chain.events("ProofOfRender", ["CommitteeDrawn", "VoteCommitted", "VerdictSigned"], start, head)
    burns = [e for e in chain.events("IFXToken", ["Transfer"], start, head)
             if e.args["receiver" if "receiver" in e.args else "to"] == ZERO
             and e.args["sender" if "sender" in e.args else "from"] == deployment.address("JobEscrow")]
    mine = set(task_ids)
    ours = [e for e in escrow if e.args.get("taskId") in mine or e.args.get("jobId") == job_id and e.name == "JobCreated"]
    our_votes = [e for e in votes if e.args["taskId"] in mine]

    gas: dict[str, list[int]] = defaultdict(list)
    seen = set()
    for event, label in STEPS:
        for e in (our_votes if event in ("CommitteeDrawn", "VoteCommitted", "VerdictSigned") else ours):
            if e.name == event and (label, e.tx_hash) not in seen:
                seen.add((label, e.tx_hash))
                gas[label].append(chain.w3.eth.get_transaction_receipt(e.tx_hash)["gasUsed"])
    for label, receipt in receipts.items():
        gas[label].append(receipt["gasUsed"])

    tasks = []
    for t in task_ids:
        view = get_task(chain, t)
        history = []
        for e in ours:
            if e.args.get("taskId") != t:
                continue
            if e.name == "TaskAccepted":
                history.append({"worker": e.args["worker"], "fee": e.args["fee"], "block": e.block})
            elif e.name == "TaskFailed" and history:
                history[-1].update(outcome="failed", slashed=e.args["slashed"])
            elif e.name == "TaskSettled" and history:
                history[-1].update(outcome="settled", burned=e.args["burned"], toTreasury=e.args["toTreasury"])
        for i, h in enumerate(history):  # votes of an attempt: between its acceptance and the next one
            end = history[i + 1]["block"] if i + 1 < len(history) else head + 1
            h["votes"] = [(e.args["oracle"], e.args["passed"], e.args["score"]) for e in our_votes
                          if e.name == "VerdictSigned" and e.args["taskId"] == t and h["block"] <= e.block < end]
            drawn = [e for e in our_votes if e.name == "CommitteeDrawn" and e.args["taskId"] == t
                     and e.args["attempt"] == i]
            h["committee"] = list(drawn[0].args["members"]) if drawn else []
            h["round"] = drawn[0].args["round"] if drawn else None
        posted = next(e for e in ours if e.name == "TaskPosted" and e.args["taskId"] == t)
        # a re-queued task's last attempt has its own package and key (TaskRekeyed)
        secrets = [e for e in ours if e.name in ("TaskPosted", "TaskRekeyed") and e.args["taskId"] == t]
        keyed = secrets[-1]
        tasks.append({"id": t, "state": view.state.name, "frames": (posted.args["frameStart"], posted.args["frameEnd"]),
                      "attempts": view.attempts, "history": history,
                      "package": keyed.args["sceneCid"], "key_commit": keyed.args["keyCommit"],
                      "secrets": [(e.args["keyCommit"].hex(), e.args["sceneCid"]) for e in secrets],
                      "results": [e.args["resultCid"] for e in ours
                                  if e.name == "ResultSubmitted" and e.args["taskId"] == t]})
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
                for name in ("JobEscrow", "Staking", "BMWIssuance")}
    return {"job_id": job_id, "tasks": tasks, "benchmarks": benchmarks, "labels": labels, "gas": {k: v for k, v in gas.items()},
            "burned_onchain": sum(e.args[list(e.args)[2]] for e in burns),
            "epoch": epoch, "minted": ep["minted"], "burned_epoch": ep["burned"],
            "pools": {"workers": ep["worker_pool"], "oracles": ep["oracle_pool"], "managers": ep["manager_pool"]},
            "claimed": claimed, "balances": balances, "actors": actors, "out": str(out), "api": api,
            "noise_frame": _noise_frame(tasks, out, store)}


def _noise_frame(tasks: list[dict], out: Path, store: IPFSStore) -> str | None:
    """The first frame of the first settled task with its imprint regions outlined (from the sealed manifest,
    opened with the task's seed held by the manager)."""
    from oracle.angv.task import open_manifest

    db = sqlite3.connect(out / "manager" / "backend.sqlite")
    key = (out / "manager" / "seed.key").read_bytes()
    for task in tasks:
        if task["state"] != "SETTLED":
            continue
        row = db.execute("SELECT sealed_seed FROM seeds WHERE task_id = ?", (task["id"],)).fetchone()
        if row is None:
            continue
        seed = unseal(row[0], key, b"task-seed")
        manifest = open_manifest(store, task["package"], seed, task["key_commit"])
        frame = task["frames"][0]
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
        return target.name
    return None


def check(facts: dict, frames: int, cheater: str, honest: list[str], downloaded: int) -> list[str]:
    failures = []
    if downloaded != frames:
        failures.append(f"{downloaded} frames downloaded, {frames} expected")
    tasks = facts["tasks"]
    if not all(t["state"] == TaskState.SETTLED.name for t in tasks):
        failures.append("not every task settled: " + ", ".join(f"{t['id']} {t['state']}" for t in tasks))
    cheated = [h for t in tasks for h in t["history"] if h["worker"] == cheater]
    if not cheated:
        failures.append("the cheating worker got no task")
    if any(h.get("outcome") != "failed" or not h.get("slashed") for h in cheated):
        failures.append("a forged result was not failed and slashed")
    for t in tasks:
        finals = [h for h in t["history"] if h.get("outcome") == "settled"]
        if len(finals) != 1 or finals[0]["worker"] not in honest:
            failures.append(f"task {t['id']} was not settled exactly once by an honest worker")
    fees = burned = treasury = 0
    for t in tasks:
        for h in t["history"]:
            if h.get("outcome") == "settled":
                fees += h["fee"]
                burned += h["burned"]
                treasury += h["toTreasury"]
                if h["burned"] != h["fee"] * 8000 // 10_000 or h["toTreasury"] != h["fee"] - h["burned"]:
                    failures.append(f"task {t['id']}: burn/treasury split is not 80/20")
    bench_burned = sum(b["burned"] for b in facts["benchmarks"])
    if burned + treasury != fees or facts["burned_onchain"] != burned + bench_burned:
        failures.append(f"burned {burned} + treasury {treasury} != fees {fees}, or on-chain burns "
                        f"{facts['burned_onchain']} differ from the job's and the benchmarks' {burned + bench_burned}")
    for b in facts["benchmarks"]:
        if b["worker"] in honest and (b["state"] != TaskState.SETTLED.name or b["ib"] <= 0):
            failures.append(f"benchmark task {b['id']} of honest {b['worker']}: {b['state']}, IB {b['ib']}")
        if b["worker"] == cheater and (b["state"] != TaskState.FAILED.name or not b["slashed"] or b["ib"]):
            failures.append(f"the cheater's benchmark task {b['id']} was not failed and slashed, or gave an IB")
    if sorted(b["worker"] for b in facts["benchmarks"]) != sorted([*honest, cheater]):
        failures.append("not exactly one benchmark task per worker")
    facts.update(fees=fees, burned=burned, to_treasury=treasury)
    if facts["minted"] <= 0:
        failures.append("nothing minted for the epoch")
    for t in tasks:  # every attempt had its own secret and package, and no result was accepted twice
        keys, packages = [k for k, _ in t["secrets"]], [p for _, p in t["secrets"]]
        if len(t["secrets"]) != t["attempts"] + 1 or len(set(keys)) != len(keys) or len(set(packages)) != len(packages):
            failures.append(f"task {t['id']}: {t['attempts']} re-queues but {len(set(keys))} distinct keys and "
                            f"{len(set(packages))} distinct packages")
        if len(set(t["results"])) != len(t["results"]):
            failures.append(f"task {t['id']}: a result CID was accepted twice")
    if not any(t["attempts"] > 0 for t in tasks):
        failures.append("no task was re-queued: the re-noising of a failed attempt was not exercised")
    if sum(facts["claimed"].values()) > sum(facts["pools"].values()):  # the oracle pool also pays out penalties
        failures.append("claims exceed the epoch's pools (mint + penalties)")
    if facts["minted"] > facts["burned_epoch"] * 9_000 // 10_000:
        failures.append("the epoch minted more than 90 % of what it burned")
    earners = {facts["labels"].get(h["worker"]) for t in tasks for h in t["history"] if h.get("outcome") == "settled"}
    for label, amount in facts["claimed"].items():
        if amount <= 0 and (not label.startswith("worker") or label in earners):
            failures.append(f"{label} had nothing to claim")
    return failures


def _table(rows: list[list], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def write_report(facts: dict, out: Path, files: list[Path]) -> None:
    short = lambda a: a[:6] + "…" + a[-4:]  # noqa: E731
    task_rows = []
    for t in facts["tasks"]:
        for i, h in enumerate(t["history"]):
            scores = ", ".join(f"{short(o)} {'pass' if p else 'FAIL'} {s / 100:.0f}%" for o, p, s in h["votes"])
            committee = (f"round {h['round']}: " + ", ".join(short(m) for m in h["committee"])) if h["committee"] \
                else "–"
            task_rows.append([t["id"], f"{t['frames'][0]}-{t['frames'][1]}", i, short(h["worker"]),
                              h.get("outcome", "?"), ifx(h["fee"]), ifx(h.get("slashed", 0)), committee, scores])
    workers: dict[str, dict] = {}
    for t in facts["tasks"]:
        for h in t["history"]:
            w = workers.setdefault(h["worker"], {"settled": 0, "failed": 0, "slashed": 0})
            w["settled" if h.get("outcome") == "settled" else "failed"] += 1
            w["slashed"] += h.get("slashed", 0)
    worker_rows = [[short(a), facts["labels"].get(a, ""), w["settled"], w["failed"], ifx(w["slashed"]),
                    ifx(facts["claimed"].get(facts["labels"].get(a, ""), 0))] for a, w in workers.items()]
    gas_rows = [[label, len(v), f"{sum(v) // max(len(v), 1):,}"] for label, v in facts["gas"].items()]
    money = [["fees", ifx(facts["fees"])], ["burned (80 %)", ifx(facts["burned"])],
             ["to treasury (20 %)", ifx(facts["to_treasury"])],
             ["burned in the epoch (with the benchmarks)", ifx(facts["burned_epoch"])],
             ["minted (epoch; at most 90 % of its burns)", ifx(facts["minted"])],
             *[[f"claimed by {k}", ifx(v)] for k, v in facts["claimed"].items()]]
    balances = [[k, ifx(v)] for k, v in facts["balances"].items()]
    bench_rows = [[b["id"], short(b["worker"]), facts["labels"].get(b["worker"], ""), b["state"].lower(),
                   ifx(b["fee"]), ifx(b["slashed"]), f"{b['ib'] / 1e6:.3f}" if b["ib"] else "-"]
                  for b in facts["benchmarks"]]
    stages = [[name, f"{seconds:.1f}"] for name, seconds in facts["stages"] if name != "start"]
    text = "\n\n".join([
        f"Job {facts['job_id']}: tasks", _table(task_rows, ["task", "frames", "attempt", "worker", "outcome",
                                                            "fee IFX", "slashed IFX", "committee (beacon round)",
                                                            "votes revealed"]),
        "Benchmark tasks (paid by the manager; the escrow sets IB when one settles)",
        _table(bench_rows, ["task", "worker", "node", "outcome", "fee IFX", "slashed IFX", "IB"]),
        "Workers (the job)", _table(worker_rows, ["worker", "node", "tasks settled", "tasks failed", "slashed IFX",
                                        "minted IFX claimed"]),
        "Gas per step (average)", _table(gas_rows, ["step", "txs", "gas"]),
        "IFX", _table(money, ["", "IFX"]),
        "Contract balances", _table(balances, ["contract", "IFX"]),
        "Wall time per stage", _table(stages, ["stage", "seconds"]),
    ])
    print("\n" + text)
    (out / "summary.md").write_text(text + "\n")
    md_to_html = lambda block: "<pre>" + html.escape(block) + "</pre>"  # noqa: E731
    thumbs = "".join(f'<figure><img src="frames/{f.name}" width="320"><figcaption>{f.name}</figcaption></figure>'
                     for f in sorted(files))
    noise = (f'<h2>Noise regions (red) on {facts["noise_frame"]}</h2><img src="{facts["noise_frame"]}">'
             if facts.get("noise_frame") else "")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Inferix demo</title>
<style>body{{font-family:sans-serif;margin:2em}}figure{{display:inline-block;margin:4px}}pre{{background:#f4f4f4;padding:1em}}</style>
</head><body><h1>Inferix demo: job {facts['job_id']}</h1>
<h2>Rendered frames</h2>{thumbs}{noise}<h2>Summary</h2>{md_to_html(text)}</body></html>"""
    (out / "report.html").write_text(page)
