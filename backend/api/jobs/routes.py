"""Quotes and job preparation. The backend never holds a creator's key: it returns the exact transactions
(to, data, value, chain id) for the creator's wallet to sign — approve then createJob, or one
createJobWithPermit after an EIP-2612 permit signature."""

from __future__ import annotations

import json
import secrets
import time

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from web3.exceptions import Web3Exception

from backend.api.deps import current_address, rate_limit, render_error
from backend.api.jobs.models import PermitIn, PrepareIn, PrepareOut, QuoteIn, QuoteOut, TaskQuoteOut, TransactionOut
from backend.state import scene_path
from backend.quote import LOW_SAMPLES, LOW_SCALE, build_quote, output_settings, sample_frames, worker_prices
from inferix.chain import ChainError, TransactionReverted
from inferix.eip712 import permit_typed_data
from inferix.protocol import latest_time
from inferix.render import BlenderJobError, SandboxUnavailable, time_frames

router = APIRouter(prefix="/v1", tags=["jobs"])


def _quote_out(quote_id: str, q: dict) -> QuoteOut:
    return QuoteOut(id=quote_id, **{k: q[k] for k in ("scene_cid", "frame_start", "frame_end", "width", "height",
                                                      "samples", "denoise", "sampled_frames", "ibm_per_frame",
                                                      "workers")},
                    tasks=[TaskQuoteOut(frame_start=t["frame_start"], frame_end=t["frame_end"], ibm=str(t["ibm"]))
                           for t in q["tasks"]],
                    **{k: str(q[k]) for k in ("price_per_ibm", "max_price_per_ibm", "usd_per_ifx", "total_ibm",
                                              "total_usd", "total_ifx", "budget_ifx")})


def _chain(request: Request):
    chain = request.app.state.chain
    if chain is None:
        raise HTTPException(503, "no chain configured")
    return chain


@router.post("/quotes", response_model=QuoteOut, status_code=201, summary="Quote a job on one of your scenes",
             responses={404: {"description": "unknown scene"}, 409: {"description": "no worker available"},
                        422: {"description": "frames, resolution or reference render beyond this manager's limits"},
                        429: {"description": "too many quotes"},
                        503: {"description": "price feed or chain unavailable"}})
async def quote(body: QuoteIn, request: Request, address: str = Depends(current_address)) -> QuoteOut:
    rate_limit(request, "quote", address)
    db = request.app.state.db
    row = db.execute("SELECT * FROM scenes WHERE cid = ? AND owner = ?", (body.scene_cid, address)).fetchone()
    if row is None:
        raise HTTPException(404, "no such scene among yours: upload it first")
    meta = json.loads(row["metadata"])
    first = meta["frame_start"] if body.frame_start is None else body.frame_start
    last = meta["frame_end"] if body.frame_end is None else body.frame_end
    if last < first:
        raise HTTPException(422, "frame_end is before frame_start")
    if last - first + 1 > 100_000:
        raise HTTPException(422, "at most 100,000 frames per job")
    width, height = body.width or meta["width"], body.height or meta["height"]
    settings = request.app.state.settings
    if width * height > settings.max_frame_pixels:
        raise HTTPException(422, f"frames of {width}x{height} ({width * height:,} pixels) are larger than this "
                                 f"manager renders ({settings.max_frame_pixels:,} pixels per frame)")
    chain = _chain(request)
    local = scene_path(settings.work_dir, row["cid"], row["kind"])
    if not local.exists():
        raise HTTPException(409, "the scene's local copy is gone: upload it again")
    low_w, low_h, low_samples = max(16, width // LOW_SCALE), max(16, height // LOW_SCALE), min(LOW_SAMPLES,
                                                                                              body.samples)
    frames = reference_frames(sample_frames(first, last), low_w * low_h * low_samples,
                              settings.quote_render_budget)
    try:
        seconds = await run_in_threadpool(time_frames, local, frames, low_w, low_h, low_samples,
                                          timeout=settings.quote_timeout)
    except (BlenderJobError, SandboxUnavailable) as exc:
        raise render_error(exc, "the reference render", "the reference render failed") from None
    try:
        prices = await run_in_threadpool(worker_prices, chain, request.app.state.db)
        rate = chain.call("PriceFeedAdapter", "price")
    except TransactionReverted as exc:
        raise HTTPException(503, f"price unavailable: {exc.reason}") from None
    except ChainError as exc:
        raise HTTPException(503, f"chain unavailable: {exc}") from None
    try:
        q = build_quote(row["cid"], first, last, width, height, body.samples, body.denoise, body.frames_per_task,
                        seconds, getattr(settings, "manager_ib", 1.0), prices, rate)
    except LookupError as exc:
        raise HTTPException(409, str(exc)) from None
    quote_id = secrets.token_hex(8)
    data = q.to_dict()
    db.execute("INSERT INTO quotes (id, owner, scene_cid, body, created_at) VALUES (?, ?, ?, ?, ?)",
               (quote_id, address, row["cid"], json.dumps(data), time.time()))
    return _quote_out(quote_id, data)


def reference_frames(frames: list[int], cost_per_frame: int, budget: int) -> list[int]:
    """The sampled frames the quote's reference render can afford (frames x pixels x samples within ``budget``),
    spread over the job; none affordable is the creator's error (422)."""
    fits = budget // cost_per_frame
    if fits < 1:
        raise HTTPException(422, f"one reference frame would cost {cost_per_frame:,} pixel-samples, more than "
                                 f"this manager's quote budget of {budget:,}")
    if len(frames) <= fits:
        return frames
    step = len(frames) / fits
    return [frames[int(i * step)] for i in range(fits)]


def _load_quote(request: Request, quote_id: str, address: str) -> dict:
    row = request.app.state.db.execute("SELECT body FROM quotes WHERE id = ? AND owner = ?",
                                       (quote_id, address)).fetchone()
    if row is None:
        raise HTTPException(404, "no such quote among yours")
    return json.loads(row["body"])


def _manager(request: Request) -> str:
    manager = getattr(request.app.state, "manager_address", None)
    if manager is None:
        raise HTTPException(503, "this backend has no manager account configured")
    return manager


def _job_args(request: Request, body: PrepareIn, q: dict, address: str) -> tuple:
    max_price = int(body.max_price_per_ibm) if body.max_price_per_ibm else q["max_price_per_ibm"]
    budget = int(body.budget_ifx) if body.budget_ifx else q["budget_ifx"]
    if max_price <= 0 or budget <= 0:
        raise HTTPException(422, "max price and budget must be positive")
    return (_manager(request), q["scene_cid"], q["frame_start"], q["frame_end"], output_settings(body.quote_id, q),
            max_price, budget)


@router.post("/jobs/prepare", response_model=PrepareOut, summary="The transactions that create a job from a quote")
def prepare(body: PrepareIn, request: Request, address: str = Depends(current_address)) -> PrepareOut:
    q = _load_quote(request, body.quote_id, address)
    chain = _chain(request)
    args = _job_args(request, body, q, address)
    token, escrow = chain.contract("IFXToken"), chain.contract("JobEscrow")
    chain_id = chain.deployments.chain_id
    try:
        nonce = chain.call("IFXToken", "nonces", address)
        deadline = latest_time(chain) + 3600  # the chain's clock: the one the permit is checked against
    except (ChainError, Web3Exception, OSError) as exc:
        raise HTTPException(503, f"chain unavailable: {exc}") from None
    budget = args[-1]
    return PrepareOut(
        quote_id=body.quote_id, manager=args[0], output_settings=args[4], budget_ifx=str(budget),
        max_price_per_ibm=str(args[5]),
        transactions=[
            TransactionOut(description="approve the escrow to take the budget", to=token.address, chain_id=chain_id,
                           data=token.encode_abi("approve", args=[escrow.address, budget])),
            TransactionOut(description="create the job (locks the budget and the IFX/USD rate)", to=escrow.address,
                           chain_id=chain_id, data=escrow.encode_abi("createJob", args=list(args))),
        ],
        permit=permit_typed_data(chain_id, token.address, address, escrow.address, budget, nonce, deadline),
    )


@router.post("/jobs/permit-transaction", response_model=TransactionOut,
             summary="One createJobWithPermit transaction from a signed permit")
def permit_transaction(body: PermitIn, request: Request, address: str = Depends(current_address)) -> TransactionOut:
    q = _load_quote(request, body.quote_id, address)
    chain = _chain(request)
    args = _job_args(request, body, q, address)
    sig = bytes.fromhex(body.signature.removeprefix("0x"))
    r, s, v = sig[:32], sig[32:64], sig[64]
    escrow = chain.contract("JobEscrow")
    return TransactionOut(description="create the job with the permit", to=escrow.address,
                          chain_id=chain.deployments.chain_id,
                          data=escrow.encode_abi("createJobWithPermit", args=[*args, body.deadline, v, r, s]))
