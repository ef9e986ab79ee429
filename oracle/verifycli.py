"""``inferix verify``: re-verify a task's verdict from public data only (the chain and IPFS), on any machine.

It runs the verification a committee member runs (:mod:`oracle.batches` for the batch lane, :mod:`oracle.daemon`
for the single path): the task's sealed manifest, the one committed on chain, is opened with the seed revealed on
chain (a batch task's seed is ``taskSeed(batch seed, batch id, index)``), and ANGV judges the worker's frames
(``verify_result``, what ``OracleDaemon.judge`` calls). It prints the verdict it computes, the verdict on chain and
whether they agree; ``--json`` also lists every frame's noise regions (the imprints, in pixels: x, y, width, height)
and quality tiles, so a browser can draw them on the frame (its CID is listed too).

``inferix verify serve`` answers the same JSON over HTTP (``GET /verify?batch=0x…&index=I`` or ``?task=ID``), with
CORS open to any origin: a browser app calls the verifier its user chooses.

A plugin of the ``inferix`` command (the ``inferix.commands`` entry point): ``inferix`` must not import ``oracle``.
"""

from __future__ import annotations

import json
import threading

import click
from eth_utils import keccak

from inferix import batches as B
from inferix import lane
from inferix.chain import Chain, ChainError
from inferix.protocol import TaskState, frame_name, get_task
from inferix.storage import IPFSStore, StorageError

ZERO32 = b"\x00" * 32
STAGES = {0: "unknown", lane.RENDERING: "rendering", lane.REVEALED: "revealed", lane.SETTLED: "settled"}
EXIT_DISAGREE = 3


class VerifyError(Exception):
    """The verdict cannot be re-verified: ``status`` 400 for the caller's input (an unknown batch or task, an index
    out of range, a task with no verdict yet), 503 when the data is unavailable now (IPFS, the chain)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------- the verification

def _judge(store: IPFSStore, package: str, seed: bytes, key_commit: bytes, manifest_digest: bytes,
           result_cid: str) -> tuple[dict, object | None, dict]:
    """The committee's verification of one task: (verdict, the opened manifest or None, the per-frame results)."""
    from oracle.angv.task import BadManifest, ResultUnavailable, VerificationUnavailable, open_manifest, verify_result

    try:
        manifest = open_manifest(store, package, seed, key_commit, manifest_digest)
    except BadManifest as exc:  # the committee votes FAIL (and proves it on chain)
        return {"passed": False, "score": 0, "reason": f"bad manifest ({exc})"}, None, {}
    except VerificationUnavailable as exc:
        raise VerifyError(f"cannot open the task's manifest now: {exc}", 503) from None
    try:
        verdict = verify_result(store, result_cid, manifest)
    except ResultUnavailable as exc:
        raise VerifyError(f"the worker's result is not served now: {exc} (a committee votes FAIL on a result nobody "
                          "serves by the end of its commit phase)", 503) from None
    return ({"passed": bool(verdict.passed), "score": int(verdict.score), "reason": verdict.reason}, manifest,
            verdict.frames)


def _frames(store: IPFSStore, manifest, result_cid: str | None, results: dict) -> list[dict]:
    """Each frame of the manifest: its file in the result (name and CID), its verdict, and where its noise regions
    (the imprints) and quality tiles lie, in pixels (x, y from the top left corner, width, height)."""
    if manifest is None:
        return []
    files = {}
    if result_cid:
        try:
            files = {e["name"]: e["cid"] for e in store.ls(result_cid)}
        except StorageError:
            pass
    frames = []
    for number, fm in sorted(manifest.frames.items()):
        name = frame_name(number, "png")
        judged = results.get(number, {})
        e = judged.get("regions") or []
        frames.append({
            "frame": number, "file": name, "cid": files.get(name), "accepted": judged.get("accepted", False),
            "score": judged.get("score", 0.0), "reason": judged.get("reason", "not judged (missing or unreadable)"),
            "regions": [{"index": r.index, "x": r.x0, "y": r.y0, "width": r.w, "height": r.h, "polarity": r.polarity,
                         **({"whitepaper_e": e[k]} if k < len(e) else {})} for k, r in enumerate(fm.regions)],
            "quality_tiles": [{"x": t.x0, "y": t.y0, "width": t.size, "height": t.size} for t in fm.tiles],
        })
    return frames


def _report(base: dict, computed: dict, on_chain: dict, manifest, frames: list[dict]) -> dict:
    size = {"width": manifest.order.width, "height": manifest.order.height} if manifest is not None else {}
    return {**base, **size, "computed": computed, "chain": on_chain,
            "agree": computed["passed"] == on_chain["passed"], "frames": frames}


def verify_batch_task(chain: Chain, store: IPFSStore, batch_id: bytes, index: int) -> dict:
    """Re-verify task ``index`` of a batch whose committee decided (``VerifyError`` otherwise)."""
    name = f"batch 0x{batch_id.hex()}"
    record = lane.get_batch(chain, batch_id)
    if record["stage"] == 0:
        raise VerifyError(f"{name} was never posted")
    start = chain.deployments.block_number
    leaves = lane.batch_leaves(chain, batch_id, start)
    if not 0 <= index < len(leaves):
        raise VerifyError(f"{name} has {len(leaves)} tasks (index 0 to {len(leaves) - 1}): no task {index}")
    stage = STAGES.get(record["stage"], str(record["stage"]))
    seed = bytes(record["seed"])
    if seed == ZERO32:
        raise VerifyError(f"{name} task {index} has no verdict yet: the batch's seed is not revealed "
                          f"(it is {stage})")
    outcome = lane.outcome(chain, batch_id)
    if not outcome["finalized_at"]:
        raise VerifyError(f"{name} task {index} has no verdict yet: its committee has not decided")
    if not outcome["decided_bits"] >> index & 1:
        raise VerifyError(f"{name} task {index} has no verdict: its committee reached none on it")
    leaf = leaves[index]
    spans = B.groups(leaves)
    group = next(g for g, span in enumerate(spans) if span.first <= index < span.end)
    cids = lane.batch_results(chain, batch_id, start).get(group)
    result = cids[index - spans[group].first] if cids is not None else None
    task_seed = B.task_seed(seed, batch_id, index)
    if result is None:  # the oracle's rule: a group that delivered nothing fails all its tasks
        computed, manifest, results = {"passed": False, "score": 0, "reason": "the worker delivered nothing"}, None, {}
    else:
        computed, manifest, results = _judge(store, leaf.package, task_seed, keccak(task_seed), leaf.manifest_digest,
                                             result)
    resolved = [e for e in chain.events("BatchLane", ["TaskResolved", "BadManifestProven"], start,
                                        chain.block_number(), {"batchId": batch_id}) if e.args["index"] == index]
    on_chain = {"passed": lane.task_outcomes(chain, batch_id, leaves, start)[index],
                "committee_passed": bool(outcome["pass_bits"] >> index & 1),
                "decided_by": "arbiter" if any(e.name == "TaskResolved" for e in resolved)
                else "bad manifest proof" if resolved else "committee",
                "stage": stage, "disputed": bool(record["disputed"] >> index & 1),
                "closed": bool(record["done_bits"] >> index & 1),
                "challenge_ends": outcome["finalized_at"] + chain.call("JobEscrow", "challengeWindow")}
    base = {"lane": "batch", "batch": "0x" + batch_id.hex(), "index": index, "task": None, "job": record["job_id"],
            "worker": leaf.worker, "frame_range": [leaf.frame_start, leaf.frame_end], "package": leaf.package,
            "result": result, "seed": "0x" + task_seed.hex()}
    return _report(base, computed, on_chain, manifest, _frames(store, manifest, result, results))


TASK_EVENTS = ["TaskPosted", "TaskRekeyed", "ResultSubmitted", "KeyRevealed", "VerdictRecorded", "DisputeResolved",
               "TaskSettled", "TaskFailed"]


def verify_single_task(chain: Chain, store: IPFSStore, task_id: int) -> dict:
    """Re-verify the latest verdict of a single-path task (an attempt that failed and was re-queued keeps its verdict
    in the escrow's events: the task's state is reset, its history is not)."""
    task = get_task(chain, task_id)
    if task.state == TaskState.NONE:
        raise VerifyError(f"there is no task {task_id}")
    start, head = chain.deployments.block_number, chain.block_number()
    attempt: dict = {}
    last: dict | None = None
    frame_range = None
    for ev in chain.events("JobEscrow", TASK_EVENTS, start, head, {"taskId": task_id}):
        a = ev.args
        if ev.name == "TaskPosted":
            frame_range = [a["frameStart"], a["frameEnd"]]
        if ev.name in ("TaskPosted", "TaskRekeyed"):
            attempt = {"attempt": a.get("attempt", 0), "package": a["sceneCid"], "key_commit": bytes(a["keyCommit"]),
                       "manifest_digest": bytes(a["manifestDigest"]), "job": a.get("jobId", task.job_id)}
        elif ev.name == "ResultSubmitted":
            attempt.update(result=a["resultCid"], worker=a["worker"])
        elif ev.name == "KeyRevealed":
            attempt.update(seed=bytes(a["seed"]), revealed_block=ev.block)
        elif ev.name == "VerdictRecorded":
            last = {**attempt, "passed": a["passed"], "committee_passed": a["passed"], "block": ev.block,
                    "challenge_ends": a["challengeEnds"], "disputed": False, "final": None}
        elif last is not None and ev.name == "DisputeResolved" and last["final"] is None:
            last.update(passed=a["passed"], disputed=True, overturned=a["overturned"])
        elif last is not None and ev.name in ("TaskSettled", "TaskFailed") and last["final"] is None:
            last["final"] = "settled" if ev.name == "TaskSettled" else "failed"
    if last is None:
        raise VerifyError(f"task {task_id} has no verdict yet (it is {task.state.label})")
    if not all(k in last for k in ("seed", "result", "package")):
        raise VerifyError(f"task {task_id}'s history on chain is incomplete (no posted package, result or seed)", 503)
    votes = [{"oracle": e.args["oracle"], "passed": e.args["passed"], "score": e.args["score"]}
             for e in chain.events("ProofOfRender", ["VerdictSigned"], last["revealed_block"], last["block"],
                                   {"taskId": task_id})]
    computed, manifest, results = _judge(store, last["package"], last["seed"], last["key_commit"],
                                         last["manifest_digest"], last["result"])
    on_chain = {"passed": last["passed"], "committee_passed": last["committee_passed"],
                "decided_by": "arbiter" if last["disputed"] else "committee", "votes": votes,
                "state": task.state.label if task.attempts == last["attempt"] else f"attempt {last['attempt']} "
                f"{last['final'] or 'closed'}; now {task.state.label}",
                "disputed": last["disputed"] or (task.attempts == last["attempt"] and task.state == TaskState.DISPUTED),
                "settled": last["final"], "challenge_ends": last["challenge_ends"]}
    base = {"lane": "single", "batch": None, "index": None, "task": task_id, "attempt": last["attempt"],
            "job": last["job"], "worker": last.get("worker"), "frame_range": frame_range, "package": last["package"], "result": last["result"],
            "seed": "0x" + last["seed"].hex()}
    return _report(base, computed, on_chain, manifest, _frames(store, manifest, last["result"], results))


def reverify(chain: Chain, store: IPFSStore, *, batch_id: bytes | None = None, index: int | None = None,
           task_id: int | None = None) -> dict:
    """:func:`verify_batch_task` or :func:`verify_single_task`; chain and IPFS failures become ``VerifyError``
    (503)."""
    try:
        if task_id is not None:
            return verify_single_task(chain, store, task_id)
        return verify_batch_task(chain, store, batch_id, index)
    except (ChainError, StorageError) as exc:
        from inferix.operations import explain

        raise VerifyError(f"cannot read the public data now: {explain(exc)}", 503) from None


# ---------------------------------------------------------------- input

def parse_batch_id(value: str) -> bytes:
    try:
        raw = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise VerifyError(f"{value!r} is not a batch id (0x and 64 hex digits)")
    return raw


def parse_query(batch: str | None, index: str | None, task: str | None) -> dict:
    """The arguments of :func:`reverify` from text (the HTTP query or the command line); ``VerifyError`` (400)."""
    if (task is None) == (batch is None) or (batch is None) != (index is None):
        raise VerifyError("give either task=ID, or batch=0x… with index=I")
    if task is not None:
        if not str(task).isdigit() or int(task) < 1:
            raise VerifyError(f"task {task!r} is not a task id (a positive integer)")
        return {"task_id": int(task)}
    if not str(index).isdigit():
        raise VerifyError(f"index {index!r} is not a task's position in the batch (an integer from 0)")
    return {"batch_id": parse_batch_id(batch), "index": int(index)}


# ---------------------------------------------------------------- the command

def _describe(report: dict) -> list[str]:
    def word(passed: bool) -> str:
        return "PASS" if passed else "FAIL"

    what = (f"batch {report['batch']} task {report['index']}" if report["lane"] == "batch"
            else f"task {report['task']} (attempt {report['attempt']})")
    c, o = report["computed"], report["chain"]
    lines = [f"{what}: job {report['job']}, worker {report['worker']}, frames {report['frame_range']}, "
             f"result {report['result'] or '-'}",
             f"computed: {word(c['passed'])}, score {c['score']} / 10000 ({c['reason']})",
             f"on chain: {word(o['passed'])} (decided by the {o['decided_by']}; committee "
             f"{word(o['committee_passed'])}{'; disputed' if o['disputed'] else ''}; "
             + (f"batch {o['stage']})" if report["lane"] == "batch" else f"task {o['state']})")]
    for frame in report["frames"]:
        lines.append(f"  frame {frame['frame']}: {'accepted' if frame['accepted'] else 'rejected'}, score "
                     f"{frame['score']}, {len(frame['regions'])} noise regions, {len(frame['quality_tiles'])} "
                     f"quality tiles")
    lines.append("agree: yes" if report["agree"] else
                 "agree: NO - the verdict on chain differs from this re-verification")
    return lines


def _connect():
    from inferix.cli import connect
    from inferix.settings import Settings

    return connect(None, Settings())


@click.group(invoke_without_command=True)
@click.option("--batch", "batch", default=None, help="A batch's id (0x…), with --index.")
@click.option("--index", "index", default=None, help="The task's position in the batch (from 0).")
@click.option("--task", "task", default=None, help="A single-path task's id.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object, with every frame's noise regions.")
@click.pass_context
def verify(ctx, batch, index, task, as_json) -> None:
    """Re-verify a task's verdict from the chain and IPFS, as its committee did, and compare it with the verdict on
    chain: `--batch 0x… --index I` (batch lane) or `--task ID` (single path). Exit code 0 when they agree, 3 when
    they do not, 1 when the task cannot be verified (unknown, out of range, no verdict yet, data unavailable).

    `inferix verify serve` answers the same over HTTP."""
    if ctx.invoked_subcommand is not None:
        if batch or index or task or as_json:
            raise click.UsageError("options go after `serve`, or without it")
        return
    try:
        args = parse_query(batch, index, task)
        chain, store = _connect()
        report = reverify(chain, store, **args)
    except VerifyError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report, indent=1))
    else:
        click.echo("\n".join(_describe(report)))
    if not report["agree"]:
        ctx.exit(EXIT_DISAGREE)



def create_app(chain: Chain, store: IPFSStore):
    """The HTTP verifier: ``GET /verify?batch=0x…&index=I`` or ``?task=ID`` answers the JSON of ``inferix verify
    --json``; bad input 400, data unavailable 503, each with ``{"error": "<what is wrong>"}``. CORS: any origin."""
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware
    from fastapi.responses import JSONResponse

    app = FastAPI(title="Inferix verifier", docs_url=None, redoc_url=None)
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET"], allow_headers=["*"])
    lock = threading.Lock()  # one verification at a time: CPU-bound, and the chain and IPFS clients are shared

    @app.get("/verify")
    def verify_endpoint(batch: str | None = None, index: str | None = None, task: str | None = None):
        try:
            args = parse_query(batch, index, task)
            with lock:
                return reverify(chain, store, **args)
        except VerifyError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)

    @app.get("/")
    def usage():
        return {"verify": "GET /verify?batch=0x<batch id>&index=<i> or /verify?task=<task id>"}

    return app


@verify.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8100, show_default=True)
def serve(host, port) -> None:
    """Serve `GET /verify?batch=0x…&index=I` or `?task=ID` (the JSON of `inferix verify --json`), CORS open to any
    origin, until stopped."""
    import uvicorn

    chain, store = _connect()
    click.echo(f"verifier on http://{host}:{port}/verify (chain {chain.deployments.chain_id})", err=True)
    uvicorn.run(create_app(chain, store), host=host, port=port, log_level="warning")
