"""GET /v1/batches, /v1/batches/{batch_id}: the batch lane's batches, their tasks, committees and settlements."""

from __future__ import annotations

import json
import re

from fastapi import APIRouter, Path, Query, Request
from typing_extensions import Annotated

from backend.api.reads.common import _address, _bool, _db, _json, _not_found, _page, _raw, named
from backend.api.reads.models import (ADDRESS_PATTERN, BatchDetail, BatchPage, BatchStage, INVALID, Limit, MALFORMED,
                                      MAX_ID, NOT_FOUND, Offset)

router = APIRouter(prefix="/v1", tags=["index"])

BATCH_ID = re.compile(r"^0x[0-9a-fA-F]{64}$")
MAX_EVENTS = 1000

SUMMARY_FIELDS = ("batch_id", "job_id", "manager", "count", "workers", "stage", "late", "fees", "escrow_round",
                  "posted_block", "posted_at", "render_ends", "submitted", "revealed_at", "verdict_at", "challenged",
                  "passed", "failed", "burned", "to_treasury", "refund", "settled_block", "settled_at",
                  "updated_block")
SUMMARY_COLUMNS = ", ".join(SUMMARY_FIELDS)
_DETAIL_FIELDS = ("root", "leaves_known", "collateral_bps", "post_tx", "revealed_block", "revealer", "manager_slashed",
                  "to_workers", "done_bits", "committee_round", "committee_size", "commit_ends", "committed",
                  "drawn_block", "pass_bits", "decided_bits", "revealed_seats", "verdict_block")
_TASK_FIELDS = ("task_index", "worker_group", "worker", "ibm", "fee", "collateral", "manifest_digest", "frame_start",
                "frame_end", "package_cid", "delivered_block", "result_cid", "verdict", "challenger", "challenge_bond",
                "challenged_block", "overturned", "defect", "outcome", "closed_block")
_MEMBER_FIELDS = ("seat", "oracle", "committed_block", "revealed_block", "pass_bits", "no_show", "slashed",
                  "slashed_tasks")
_EVENT_FIELDS = ("block", "log_index", "tx_hash", "contract", "name", "block_time", "args")
# newest first; (posted_block, posted_log) is unique
_ORDER = "posted_block DESC, posted_log DESC"


def batch_summary(r: tuple) -> dict:
    b = named(SUMMARY_FIELDS, r[:len(SUMMARY_FIELDS)])
    settled = b.pop("settled_block")
    figures = {k: b.pop(k) for k in ("passed", "failed", "burned", "to_treasury", "refund", "settled_at")}
    b["late"] = bool(b["late"])
    b["settlement"] = None if settled is None else {
        "passed": figures["passed"], "failed": figures["failed"], "burned": figures["burned"],
        "to_treasury": figures["to_treasury"], "refund": figures["refund"], "block": settled,
        "at": figures["settled_at"]}
    return b


def job_batches(cur, job_id: int) -> list[dict]:
    """The job's batches in posting order (the job view lists them as it lists its tasks)."""
    return [batch_summary(r) for r in cur.execute(
        f"SELECT {SUMMARY_COLUMNS} FROM lane_batches WHERE job_id = ? ORDER BY posted_block, posted_log", (job_id,))]


@router.get("/batches", response_model=BatchPage, responses=INVALID,
            summary="Batches of the lane, newest first (by job, manager, worker or committee member)")
async def list_batches(
    request: Request,
    job_id: Annotated[int, Query(ge=1, le=MAX_ID, description="only this job's batches")] = None,
    manager: Annotated[str, Query(pattern=ADDRESS_PATTERN,
                                  description="only this manager's batches (any case)")] = None,
    worker: Annotated[str, Query(pattern=ADDRESS_PATTERN,
                                 description="only batches with a task of this worker (any case)")] = None,
    oracle: Annotated[str, Query(pattern=ADDRESS_PATTERN,
                                 description="only batches whose committee this oracle sat on (any case)")] = None,
    stage: Annotated[BatchStage, Query(description="only batches in this stage")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
):
    where, params = [], []
    if job_id is not None:
        where.append("job_id = ?")
        params.append(job_id)
    if manager is not None:
        where.append("manager = ?")
        params.append(_address(manager))
    if worker is not None:
        where.append("batch_id IN (SELECT batch_id FROM lane_batch_tasks WHERE worker = ?)")
        params.append(_address(worker))
    if oracle is not None:
        where.append("batch_id IN (SELECT batch_id FROM lane_batch_members WHERE oracle = ?)")
        params.append(_address(oracle))
    if stage is not None:
        where.append("stage = ?")
        params.append(stage)
    return _page(request, "lane_batches", SUMMARY_COLUMNS, where, params, _ORDER, limit, offset, batch_summary)


@router.get("/batches/{batch_id}", response_model=BatchDetail, responses={**MALFORMED, **NOT_FOUND},
            summary="A batch: its tasks (leaves and results from calldata), committee, bitmaps, settlement, events")
async def get_batch(request: Request,
                    batch_id: Annotated[str, Path(description="the batch id, 0x and 64 hex digits (any case)",
                                                  json_schema_extra={"pattern": BATCH_ID.pattern})]):
    # the pattern is documented, not enforced by FastAPI (that would answer 422): a malformed id is a 400
    if not BATCH_ID.match(batch_id):
        return _json({"detail": "a batch id is 0x and 64 hex digits"}, 400)
    batch_id = batch_id.lower()
    cur = _raw(_db(request))
    r = cur.execute(f"SELECT {SUMMARY_COLUMNS}, {', '.join(_DETAIL_FIELDS)} FROM lane_batches WHERE batch_id = ?",
                    (batch_id,)).fetchone()
    if r is None:
        return _not_found(f"batch {batch_id}")
    batch = batch_summary(r)
    d = named(_DETAIL_FIELDS, r[len(SUMMARY_FIELDS):])
    batch.update({k: d[k] for k in ("root", "collateral_bps", "post_tx", "revealed_block", "revealer",
                                    "manager_slashed", "to_workers", "done_bits")})
    batch["leaves_known"] = bool(d["leaves_known"])
    members = [{**m, "no_show": bool(m["no_show"])} for m in (named(_MEMBER_FIELDS, row) for row in cur.execute(
        f"SELECT {', '.join(_MEMBER_FIELDS)} FROM lane_batch_members WHERE batch_id = ? ORDER BY seat", (batch_id,)))]
    batch["committee"] = None if d["drawn_block"] is None else {
        "round": d["committee_round"], "size": d["committee_size"], "commit_ends": d["commit_ends"],
        "committed": d["committed"], "drawn_block": d["drawn_block"], "members": members}
    batch["verdict"] = None if d["verdict_block"] is None else {
        "pass_bits": d["pass_bits"], "decided_bits": d["decided_bits"], "revealed_seats": d["revealed_seats"],
        "block": d["verdict_block"], "at": batch["verdict_at"]}
    tasks = []
    for row in cur.execute(f"SELECT {', '.join(_TASK_FIELDS)} FROM lane_batch_tasks WHERE batch_id = ? "
                           "ORDER BY task_index", (batch_id,)):
        t = named(_TASK_FIELDS, row)
        t["index"], t["group"] = t.pop("task_index"), t.pop("worker_group")
        t["overturned"] = _bool(t["overturned"])
        tasks.append(t)
    batch["tasks"] = tasks
    events = []
    for row in cur.execute(f"SELECT {', '.join(_EVENT_FIELDS)} FROM events WHERE batch_id = ? "
                           "ORDER BY block, log_index LIMIT ?", (batch_id, MAX_EVENTS)):
        ev = named(_EVENT_FIELDS, row)
        ev["time"] = ev.pop("block_time")
        ev["args"] = json.loads(ev["args"])
        events.append(ev)
    batch["events"] = events
    return _json(batch)
