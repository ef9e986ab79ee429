"""GET /v1/workers, /v1/workers/{address}, /v1/epochs, /v1/index."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request
from typing_extensions import Annotated

from backend.api.reads.common import _address, _db, _json, _not_found, _page, _raw, named
from backend.api.reads.models import (ADDRESS_PATTERN, EpochPage, INVALID, IndexStatus, Limit, NOT_FOUND, Offset, Role,
                                      Worker, WorkerPage)

router = APIRouter(prefix="/v1", tags=["index"])


WORKER_COLUMNS = ("address, role, price_per_ibm, stake, locked, unbonding, unbonding_at, ib, completed, failed, "
                  "last_failure_block, work_ibm, fees, verdicts, verdict_weight, manager_slashes, committee_seats, no_shows, "
                  "missed, no_show_slashed, slashed, registered_block, updated_block")
_WORKER_KEYS = tuple(c.strip() for c in WORKER_COLUMNS.split(","))


@router.get("/workers", response_model=WorkerPage, responses=INVALID,
            summary="Registered nodes (workers, oracles, managers) with stake, IB and track record")
async def list_workers(
    request: Request,
    role: Annotated[Role, Query(description="only nodes of this role")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
):
    where, params = (["role = ?"], [role]) if role else ([], [])
    return _page(request, "workers", WORKER_COLUMNS, where, params, "registered_block, address", limit, offset,
                 lambda r: dict(zip(_WORKER_KEYS, r)))


@router.get("/workers/{address}", response_model=Worker, responses={**NOT_FOUND, **INVALID},
            summary="One registered node")
async def get_worker(request: Request,
                     address: Annotated[str, Path(pattern=ADDRESS_PATTERN, description="the node (any case)")]):
    account = _address(address)
    r = _raw(_db(request)).execute(f"SELECT {WORKER_COLUMNS} FROM workers WHERE address = ?", (account,)).fetchone()
    if r is None:
        return _not_found(f"node {account}")
    return _json(dict(zip(_WORKER_KEYS, r)))


EPOCH_COLUMNS = ("epoch, closed, work_ibm, fees, burned, verdict_weight, tasks, penalty, minted, worker_pool, "
                 "oracle_pool, manager_pool, to_treasury, started_at, closed_block, closed_at")
_EPOCH_KEYS = tuple(c.strip() for c in EPOCH_COLUMNS.split(","))


@router.get("/epochs", response_model=EpochPage, responses=INVALID, summary="BMW epochs, newest first")
async def list_epochs(
    request: Request,
    closed: Annotated[bool, Query(description="only closed (true) or open (false) epochs")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
):
    where, params = (["closed = ?"], [int(closed)]) if closed is not None else ([], [])
    return _page(request, "epochs", EPOCH_COLUMNS, where, params, "epoch DESC", limit, offset,
                 lambda r: {**dict(zip(_EPOCH_KEYS, r)), "closed": bool(r[1])})


@router.get("/index", response_model=IndexStatus, summary="How far the index has read the chain")
async def index_status(request: Request):
    r = _raw(_db(request)).execute("SELECT next_block, updated_at FROM indexer_cursor WHERE id = 1").fetchone()
    return _json(named(("next_block", "updated_at"), r) if r else {"next_block": None, "updated_at": None})
