"""Indexed read endpoints (/v1/jobs, /v1/tasks, /v1/workers, /v1/epochs) and the live job stream.

Public reads of what the indexer (``backend.indexer``) derived from contract events: no sign-in, and nothing
private (task seeds, uploads, creators' sessions) is ever in these tables. Amounts are uint256 on chain and
are served as decimal strings; block numbers, timestamps, ids and counts as JSON integers.

The handlers query the app's one SQLite connection (``app.state.db``) directly on the event loop: each does a
few indexed point queries that take microseconds, cheaper than a hop to a worker thread. They build the JSON
themselves (orjson when installed) and skip response-model validation; the pydantic models below document the
responses exactly (OpenAPI), and the tests check real responses against them.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from typing import Any, Literal

from eth_utils import to_checksum_address
from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sse_starlette.sse import EventSourceResponse
from typing_extensions import Annotated

from backend.indexer import ATTEMPT_OUTCOMES, JOB_STATUSES, TASK_STATES

try:  # optional: a faster encoder
    import orjson

    def _dumps(value: Any) -> bytes:
        return orjson.dumps(value)
except ImportError:  # pragma: no cover - depends on the environment
    _encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

    def _dumps(value: Any) -> bytes:
        return _encode(value).encode()

router = APIRouter(prefix="/v1", tags=["index"])

MAX_ID = 2**63 - 1  # SQLite INTEGER; larger ids cannot exist in the index
MAX_OFFSET = 10**9
STREAM_POLL_S = 0.5  # how often the job stream looks for new events
STREAM_BATCH = 500

# --------------------------------------------------------------------------- models

Amount = Annotated[str, Field(pattern=r"^[0-9]+$", description="uint256 as a decimal string",
                              examples=["1000000000000000000"])]
Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="checksummed address",
                               examples=["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"])]
JobStatus = Literal["created", "running", "completed", "partial", "failed", "closing", "closed"]
TaskState = Literal[TASK_STATES]
Outcome = Literal["settled", "rejected", "missed_deadline", "timed_out"]
Role = Literal["worker", "oracle", "manager"]
assert set(JobStatus.__args__) == set(JOB_STATUSES)
assert set(Outcome.__args__) == set(ATTEMPT_OUTCOMES)


class ErrorDetail(BaseModel):
    detail: str = Field(description="what is wrong", examples=["job 42 not found"])


class InvalidField(BaseModel):
    loc: list[str | int] = Field(description="where: location and name of the parameter")
    msg: str


class InvalidRequest(BaseModel):
    detail: str = Field(examples=["invalid request"])
    errors: list[InvalidField]


class TaskCounts(BaseModel):
    total: int = Field(description="tasks posted")
    open: int = Field(description="tasks not yet settled, failed for good or cancelled")
    settled: int
    failed: int = Field(description="tasks failed after their last attempt")
    cancelled: int


class Job(BaseModel):
    job_id: int
    creator: Address
    manager: Address
    scene_cid: str = Field(description="IPFS CID of the uploaded scene")
    frame_start: int
    frame_end: int = Field(description="last frame, inclusive")
    output_settings: str
    budget: Amount = Field(description="IFX wei locked at creation")
    budget_left: Amount = Field(description="IFX wei not reserved by tasks (the escrow's job budget)")
    refunded: Amount = Field(description="IFX wei made claimable to the creator (job closed)")
    fees_paid: Amount = Field(description="IFX wei of fees of settled tasks")
    usd_per_ifx: Amount = Field(description="the IFX/USD rate locked for the job (18 decimals)")
    max_price_per_ibm: Amount = Field(description="highest USD price per IBM accepted (18 decimals)")
    closed: bool
    status: JobStatus = Field(description="created: no task yet; running: tasks open; completed: every task "
                                          "settled; partial: ended, some failed or cancelled; failed: ended, none "
                                          "settled; closing/closed: the creator closed it")
    created_block: int
    created_at: str = Field(description="time of the creation block, ISO 8601 UTC",
                            examples=["2026-01-01T12:00:00Z"])
    updated_block: int
    task_counts: TaskCounts


class TaskSummary(BaseModel):
    task_id: int
    state: TaskState
    frame_start: int
    frame_end: int
    attempts: int = Field(description="attempts that ended (failed or timed out); the current one is this number")
    worker: Address | None = Field(description="the assigned worker, if any")
    ibm: Amount = Field(description="work in micro-IBM")
    fee: Amount = Field(description="the current attempt's fee in IFX wei (0 until accepted)")
    passed: bool | None = Field(description="the quorum verdict of the current attempt, once known")
    package_cid: str = Field(description="IPFS CID of the task package (noised scene)")
    result_cid: str | None = Field(description="IPFS CID of the submitted frames (current attempt)")
    deadline: int | None = Field(description="unix time of the current deadline, when an event gave it")
    updated_block: int


class JobDetail(Job):
    tasks: list[TaskSummary]


class JobPage(BaseModel):
    items: list[Job]
    total: int = Field(description="jobs matching the filters")
    limit: int
    offset: int


class Vote(BaseModel):
    oracle: Address
    passed: bool
    score: int = Field(ge=0, le=10_000, description="ANGV score in basis points")
    slashed: Amount | None = Field(description="stake slashed for this vote (overturned in a dispute)")
    block: int
    tx_hash: str


class FrameScores(BaseModel):
    frame: int
    frame_cid: str | None = Field(description="IPFS CID of the frame")
    scores: list[Any] | dict[str, Any] | None = Field(
        description="per-region ANGV scores of the frame, as the manager recorded them (JSON)")


class Verdict(BaseModel):
    attempt: int
    passed: bool | None = Field(description="the quorum verdict, null while oracles are still voting")
    votes: list[Vote]
    frames: list[FrameScores]


class Attempt(Verdict):
    worker: Address | None
    fee: Amount | None
    collateral: Amount | None
    result_cid: str | None
    outcome: Outcome | None = Field(description="how the attempt ended; null while in progress")
    slashed: Amount = Field(description="collateral slashed from the worker")
    accepted_block: int | None
    ended_block: int | None


class Settlement(BaseModel):
    fee: Amount
    burned: Amount
    to_treasury: Amount


class TaskDetail(TaskSummary):
    job_id: int
    reserved: Amount = Field(description="IFX wei reserved from the job's budget")
    collateral: Amount = Field(description="the worker's collateral locked for the current attempt")
    key_commit: str = Field(description="keccak256 of the task's secret seed")
    key_revealed: bool = Field(description="the seed was revealed on chain (it is not served here)")
    render_window: int = Field(description="seconds allowed to render after acceptance")
    challenger: Address | None
    slashed: Amount = Field(description="collateral slashed over all attempts")
    settlement: Settlement | None
    posted_block: int
    verdict: Verdict | None = Field(description="the latest attempt's votes, verdict and frame scores")
    attempt_history: list[Attempt]


class Worker(BaseModel):
    address: Address
    role: Role
    price_per_ibm: Amount = Field(description="USD per IBM, 18 decimals (workers)")
    stake: Amount
    locked: Amount = Field(description="collateral locked by accepted tasks")
    unbonding: Amount
    unbonding_at: int | None
    ib: Amount = Field(description="attested Inferix Bench, 6 decimals")
    completed: int = Field(description="tasks settled as passed")
    failed: int = Field(description="attempts failed by the worker's fault")
    last_failure_block: int | None
    work_ibm: Amount = Field(description="verified work credited, micro-IBM")
    fee_usd: Amount = Field(description="fee value credited, USD 18 decimals")
    verdicts: int = Field(description="verdicts signed (oracles)")
    slashed: Amount
    registered_block: int
    updated_block: int


class WorkerPage(BaseModel):
    items: list[Worker]
    total: int
    limit: int
    offset: int


class Epoch(BaseModel):
    epoch: int
    closed: bool
    work_ibm: Amount = Field(description="verified work, micro-IBM")
    fee_usd: Amount
    verdicts: int
    tasks: int
    penalty: Amount = Field(description="IFX wei of penalties received")
    minted: Amount
    worker_pool: Amount
    oracle_pool: Amount
    manager_pool: Amount
    to_treasury: Amount
    started_at: int | None
    closed_block: int | None
    closed_at: int | None


class EpochPage(BaseModel):
    items: list[Epoch]
    total: int
    limit: int
    offset: int


class IndexStatus(BaseModel):
    next_block: int | None = Field(description="the first block not yet indexed (null before the first run)")
    updated_at: int | None


class StreamEvent(BaseModel):
    """The `data` of each Server-Sent Event (its `event` is `name`, its `id` is `block:log_index`)."""

    block: int
    log_index: int
    tx_hash: str
    contract: str
    name: str
    task_id: int | None
    time: int = Field(description="unix time of the block")
    args: dict[str, Any] = Field(description="the event's arguments; uint values as decimal strings")


NOT_FOUND = {404: {"model": ErrorDetail, "description": "not in the index"}}
INVALID = {422: {"model": InvalidRequest, "description": "invalid parameters"}}

JobId = Annotated[int, Path(ge=1, le=MAX_ID, description="the escrow's job id")]
TaskId = Annotated[int, Path(ge=1, le=MAX_ID, description="the escrow's task id")]
Limit = Annotated[int, Query(ge=1, le=100, description="page size")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
EVENT_ID_PATTERN = r"^[0-9]{1,18}:[0-9]{1,9}$"


# --------------------------------------------------------------------------- helpers


def _json(value: Any, status: int = 200) -> Response:
    return Response(_dumps(value), status_code=status, media_type="application/json")


def _db(request: Request) -> sqlite3.Connection:
    return request.app.state.db


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _address(value: str) -> str:
    return to_checksum_address(value)  # the index stores addresses checksummed


def _not_found(what: str) -> Response:
    return _json({"detail": f"{what} not found"}, 404)


JOB_COLUMNS = ("job_id, creator, manager, scene_cid, frame_start, frame_end, output_settings, budget, budget_left, "
               "refunded, fees_paid, usd_per_ifx, max_price_per_ibm, closed, status, created_block, created_at, "
               "updated_block, tasks_total, open_tasks, tasks_settled, tasks_failed, tasks_cancelled")
TASK_SUMMARY_COLUMNS = ("task_id, state, frame_start, frame_end, attempts, worker, ibm, fee, passed, package_cid, "
                        "result_cid, deadline, updated_block")


def _job(r: tuple) -> dict:
    return {
        "job_id": r[0], "creator": r[1], "manager": r[2], "scene_cid": r[3], "frame_start": r[4],
        "frame_end": r[5], "output_settings": r[6], "budget": r[7], "budget_left": r[8], "refunded": r[9],
        "fees_paid": r[10], "usd_per_ifx": r[11], "max_price_per_ibm": r[12], "closed": bool(r[13]),
        "status": r[14], "created_block": r[15], "created_at": _iso(r[16]), "updated_block": r[17],
        "task_counts": {"total": r[18], "open": r[19], "settled": r[20], "failed": r[21], "cancelled": r[22]},
    }


def _task_summary(r: tuple) -> dict:
    return {
        "task_id": r[0], "state": r[1], "frame_start": r[2], "frame_end": r[3], "attempts": r[4], "worker": r[5],
        "ibm": r[6], "fee": r[7], "passed": _bool(r[8]), "package_cid": r[9], "result_cid": r[10],
        "deadline": r[11], "updated_block": r[12],
    }


def _raw(conn: sqlite3.Connection) -> sqlite3.Cursor:
    cur = conn.cursor()
    cur.row_factory = None  # plain tuples: positional access, no Row objects
    return cur


def _scores(text: str) -> Any:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, (list, dict)) else None


# --------------------------------------------------------------------------- jobs

# two point queries (primary key, then the tasks_job index) cost less than one LEFT JOIN that repeats the job's
# columns on every task row
_JOB_SQL = f"SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = ?"
_JOB_TASKS_SQL = f"SELECT {TASK_SUMMARY_COLUMNS} FROM tasks WHERE job_id = ? ORDER BY task_id"


# optional parameters are typed without None: absent means "no filter", and the OpenAPI document does not
# invite clients to send a literal null


@router.get("/jobs", response_model=JobPage, responses=INVALID, summary="List jobs, newest first")
async def list_jobs(
    request: Request,
    creator: Annotated[str, Query(pattern=ADDRESS_PATTERN, description="only this creator's jobs (any case)")] = None,
    manager: Annotated[str, Query(pattern=ADDRESS_PATTERN, description="only this manager's jobs (any case)")] = None,
    status: Annotated[JobStatus, Query(description="only jobs in this status")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
):
    where, params = [], []
    if creator is not None:
        where.append("creator = ?")
        params.append(_address(creator))
    if manager is not None:
        where.append("manager = ?")
        params.append(_address(manager))
    if status is not None:
        where.append("status = ?")
        params.append(status)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    cur = _raw(_db(request))
    total = cur.execute(f"SELECT COUNT(*) FROM jobs{clause}", params).fetchone()[0]
    rows = cur.execute(f"SELECT {JOB_COLUMNS} FROM jobs{clause} ORDER BY job_id DESC LIMIT ? OFFSET ?",
                       (*params, limit, offset)).fetchall()
    return _json({"items": [_job(r) for r in rows], "total": total, "limit": limit, "offset": offset})


@router.get("/jobs/{job_id}", response_model=JobDetail, responses={**NOT_FOUND, **INVALID},
            summary="A job and its tasks")
async def get_job(request: Request, job_id: JobId):
    cur = _raw(_db(request))
    row = cur.execute(_JOB_SQL, (job_id,)).fetchone()
    if row is None:
        return _not_found(f"job {job_id}")
    job = _job(row)
    job["tasks"] = [_task_summary(r) for r in cur.execute(_JOB_TASKS_SQL, (job_id,))]
    return _json(job)


# --------------------------------------------------------------------------- tasks

_N_SUMMARY = len(TASK_SUMMARY_COLUMNS.split(","))
_TASK_SQL = (f"SELECT {TASK_SUMMARY_COLUMNS}, job_id, reserved, collateral, key_commit, key_revealed, render_window, "
             "challenger, slashed, settled_fee, burned, to_treasury, posted_block FROM tasks WHERE task_id = ?")


@router.get("/tasks/{task_id}", response_model=TaskDetail, responses={**NOT_FOUND, **INVALID},
            summary="A task: state, verdict with each oracle's vote and score, per-region scores, frame CIDs")
async def get_task(request: Request, task_id: TaskId):
    cur = _raw(_db(request))
    r = cur.execute(_TASK_SQL, (task_id,)).fetchone()
    if r is None:
        return _not_found(f"task {task_id}")
    task = _task_summary(r)
    n = _N_SUMMARY
    task.update({
        "job_id": r[n], "reserved": r[n + 1], "collateral": r[n + 2], "key_commit": r[n + 3],
        "key_revealed": bool(r[n + 4]), "render_window": r[n + 5], "challenger": r[n + 6], "slashed": r[n + 7],
        "settlement": ({"fee": r[n + 8], "burned": r[n + 9], "to_treasury": r[n + 10]}
                       if r[n + 8] is not None else None),
        "posted_block": r[n + 11],
    })
    attempts: dict[int, dict] = {}

    def attempt(number: int) -> dict:
        if number not in attempts:
            attempts[number] = {"attempt": number, "passed": None, "votes": [], "frames": [], "worker": None,
                                "fee": None, "collateral": None, "result_cid": None, "outcome": None,
                                "slashed": "0", "accepted_block": None, "ended_block": None}
        return attempts[number]

    for a in cur.execute("SELECT attempt, worker, fee, collateral, result_cid, passed, outcome, slashed, "
                         "accepted_block, ended_block FROM task_attempts WHERE task_id = ?", (task_id,)):
        attempt(a[0]).update({"worker": a[1], "fee": a[2], "collateral": a[3], "result_cid": a[4],
                              "passed": _bool(a[5]), "outcome": a[6], "slashed": a[7], "accepted_block": a[8],
                              "ended_block": a[9]})
    for v in cur.execute("SELECT attempt, oracle, passed, score, slashed, block, tx_hash FROM verdicts "
                         "WHERE task_id = ? ORDER BY block, log_index", (task_id,)):
        attempt(v[0])["votes"].append({"oracle": v[1], "passed": bool(v[2]), "score": v[3], "slashed": v[4],
                                       "block": v[5], "tx_hash": v[6]})
    for s in cur.execute("SELECT attempt, frame, frame_cid, scores_json FROM task_scores WHERE task_id = ? "
                         "ORDER BY attempt, frame", (task_id,)):
        attempt(s[0])["frames"].append({"frame": s[1], "frame_cid": s[2], "scores": _scores(s[3])})
    history = [attempts[k] for k in sorted(attempts)]
    task["attempt_history"] = history
    if history:
        last = history[-1]
        task["verdict"] = {k: last[k] for k in ("attempt", "passed", "votes", "frames")}
    else:
        task["verdict"] = None
    return _json(task)


# --------------------------------------------------------------------------- nodes and epochs

WORKER_COLUMNS = ("address, role, price_per_ibm, stake, locked, unbonding, unbonding_at, ib, completed, failed, "
                  "last_failure_block, work_ibm, fee_usd, verdicts, slashed, registered_block, updated_block")
_WORKER_KEYS = tuple(c.strip() for c in WORKER_COLUMNS.split(","))


@router.get("/workers", response_model=WorkerPage, responses=INVALID,
            summary="Registered nodes (workers, oracles, managers) with stake, IB and track record")
async def list_workers(
    request: Request,
    role: Annotated[Role, Query(description="only nodes of this role")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
):
    clause, params = (" WHERE role = ?", [role]) if role else ("", [])
    cur = _raw(_db(request))
    total = cur.execute(f"SELECT COUNT(*) FROM workers{clause}", params).fetchone()[0]
    rows = cur.execute(f"SELECT {WORKER_COLUMNS} FROM workers{clause} ORDER BY registered_block, address "
                       "LIMIT ? OFFSET ?", (*params, limit, offset)).fetchall()
    return _json({"items": [dict(zip(_WORKER_KEYS, r)) for r in rows], "total": total, "limit": limit,
                  "offset": offset})


@router.get("/workers/{address}", response_model=Worker, responses={**NOT_FOUND, **INVALID},
            summary="One registered node")
async def get_worker(request: Request,
                     address: Annotated[str, Path(pattern=ADDRESS_PATTERN, description="the node (any case)")]):
    account = _address(address)
    r = _raw(_db(request)).execute(f"SELECT {WORKER_COLUMNS} FROM workers WHERE address = ?", (account,)).fetchone()
    if r is None:
        return _not_found(f"node {account}")
    return _json(dict(zip(_WORKER_KEYS, r)))


EPOCH_COLUMNS = ("epoch, closed, work_ibm, fee_usd, verdicts, tasks, penalty, minted, worker_pool, oracle_pool, "
                 "manager_pool, to_treasury, started_at, closed_block, closed_at")
_EPOCH_KEYS = tuple(c.strip() for c in EPOCH_COLUMNS.split(","))


@router.get("/epochs", response_model=EpochPage, responses=INVALID, summary="BMW epochs, newest first")
async def list_epochs(
    request: Request,
    closed: Annotated[bool, Query(description="only closed (true) or open (false) epochs")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
):
    clause, params = (" WHERE closed = ?", [int(closed)]) if closed is not None else ("", [])
    cur = _raw(_db(request))
    total = cur.execute(f"SELECT COUNT(*) FROM epochs{clause}", params).fetchone()[0]
    rows = cur.execute(f"SELECT {EPOCH_COLUMNS} FROM epochs{clause} ORDER BY epoch DESC LIMIT ? OFFSET ?",
                       (*params, limit, offset)).fetchall()
    items = []
    for r in rows:
        item = dict(zip(_EPOCH_KEYS, r))
        item["closed"] = bool(item["closed"])
        items.append(item)
    return _json({"items": items, "total": total, "limit": limit, "offset": offset})


@router.get("/index", response_model=IndexStatus, summary="How far the index has read the chain")
async def index_status(request: Request):
    r = _raw(_db(request)).execute("SELECT next_block, updated_at FROM indexer_cursor WHERE id = 1").fetchone()
    return _json({"next_block": r[0] if r else None, "updated_at": r[1] if r else None})


# --------------------------------------------------------------------------- the job stream

# one SSE message, as OpenAPI 3.1 tools read an event stream's schema (OpenAPI 3.2 calls it itemSchema)
SSE_MESSAGE_SCHEMA = {
    "type": "object",
    "required": ["event", "id", "data"],
    "properties": {
        "event": {"type": "string", "description": "the chain event's name"},
        "id": {"type": "string", "pattern": EVENT_ID_PATTERN, "description": "block:log_index"},
        "data": {"type": "string", "contentMediaType": "application/json",
                 "contentSchema": StreamEvent.model_json_schema()},
    },
}

_EVENTS_SQL = ("SELECT block, log_index, tx_hash, contract, name, task_id, block_time, args FROM events "
               "WHERE job_id = ? AND (block > ? OR (block = ? AND log_index > ?)) "
               "ORDER BY block, log_index LIMIT ?")


def _parse_event_id(value: str) -> tuple[int, int]:
    block, index = value.split(":")
    return int(block), int(index)


@router.get(
    "/jobs/{job_id}/events",
    summary="Server-Sent Events: the job's chain events as they are indexed",
    description="First the job's past events, then each new one as the indexer applies it, until the client "
                "disconnects (or, with `once=true`, right after the past events). Each SSE message has `event` "
                "= the event name (JobCreated, TaskPosted, TaskAccepted, VerdictSigned, TaskSettled, ...), "
                "`id` = `block:log_index` and `data` = a JSON `StreamEvent`. Resume with the `Last-Event-ID` "
                "header or `after`.",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {"schema": SSE_MESSAGE_SCHEMA}},
                     "description": "an event stream; the schema describes one message, its `data` a JSON "
                                    "StreamEvent"},
               **NOT_FOUND, **INVALID},
)
async def job_events(
    request: Request,
    job_id: JobId,
    once: Annotated[bool, Query(description="end the stream after the past events")] = False,
    after: Annotated[str, Query(pattern=EVENT_ID_PATTERN,
                                       description="only events after this id (block:log_index)")] = None,
    last_event_id: Annotated[str, Header(pattern=EVENT_ID_PATTERN,
                                                description="standard SSE resume header (block:log_index)")] = None,
):
    conn = _db(request)
    if conn.execute("SELECT 1 FROM jobs WHERE job_id = ?", (job_id,)).fetchone() is None:
        return _not_found(f"job {job_id}")
    position = (-1, -1)
    if after is not None:
        position = _parse_event_id(after)
    elif last_event_id is not None:
        position = _parse_event_id(last_event_id)
    interval = getattr(request.app.state, "stream_poll_s", STREAM_POLL_S)

    async def stream():
        block, index = position
        while True:
            rows = _raw(conn).execute(_EVENTS_SQL, (job_id, block, block, index, STREAM_BATCH)).fetchall()
            for r in rows:
                block, index = r[0], r[1]
                data = {"block": r[0], "log_index": r[1], "tx_hash": r[2], "contract": r[3], "name": r[4],
                        "task_id": r[5], "time": r[6], "args": json.loads(r[7])}
                yield {"event": r[4], "id": f"{r[0]}:{r[1]}", "data": _dumps(data).decode()}
            if len(rows) == STREAM_BATCH:
                continue
            if once:
                return
            # a client that goes away cancels this generator (sse-starlette watches for the disconnect)
            await asyncio.sleep(interval)

    return EventSourceResponse(stream(), ping=15)

