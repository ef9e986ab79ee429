"""Sponsored transactions (docs/dapp.md, "No ETH needed"; the contract: docs/protocol.md, "Sponsored transactions"):
a creator holding IFX but no ETH signs typed data, and this manager sends ``JobRelay.createJobFor`` or
``JobRelay.forwardFor`` from its own account, paying the gas and taking ``relay_fee_ifx`` IFX from what the creator
authorizes. The relayer is named in every request the creator signs: no one else can send it or take the fee.

``GET /v1/relay``: whether this manager relays, and its fee. ``POST /v1/relay/jobs/prepare`` and
``/v1/relay/forward/prepare``: the typed data to sign (the request and its IFX permit); ``POST /v1/relay/jobs`` and
``/v1/relay/forward``: the signatures, relayed. A request the contract would refuse (a bad signature, an expired
deadline, too little IFX) is answered 400 with the contract's reason, and costs this manager no gas: the
transaction is simulated before it is sent."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from web3.exceptions import Web3Exception

from backend.api.deps import current_address, rate_limit
from backend.api.jobs.models import PrepareIn
from backend.api.jobs.routes import _job_args, _load_quote
from inferix import relay as R
from inferix.chain import ChainError, TransactionReverted
from inferix.protocol import latest_time

router = APIRouter(prefix="/v1/relay", tags=["sponsored transactions"])

SIGNATURE = r"^(0x)?[0-9a-fA-F]{130}$"
DEADLINE_S = 900  # a request signed now is valid this long
CALLS = {"close": R.CLOSE_JOB, "withdraw": R.WITHDRAW}


class RelayInfo(BaseModel):
    enabled: bool
    relay: str | None = Field(description="the JobRelay contract")
    relayer: str | None = Field(description="this manager's account: it sends and pays the gas")
    fee_ifx: str = Field(description="IFX wei this manager takes per relayed request")


class RelayPrepared(BaseModel):
    request: dict = Field(description="EIP-712 typed data of the request, for eth_signTypedData_v4")
    permit: dict | None = Field(description="EIP-712 typed data of the IFX permit (relay as spender); null: none")
    fee_ifx: str
    deadline: int


class RelayJobIn(PrepareIn):
    deadline: int = Field(..., gt=0)
    signature: str = Field(..., pattern=SIGNATURE, description="the creator's signature of `request`")
    permit_signature: str | None = Field(None, pattern=SIGNATURE, description="the creator's signature of `permit`")


class ForwardIn(BaseModel):
    call: Literal["close", "withdraw"]
    job_id: int = Field(0, ge=0, description="the job to close (0 for withdraw)")


class ForwardSigned(ForwardIn):
    deadline: int = Field(..., gt=0)
    signature: str = Field(..., pattern=SIGNATURE)
    permit_signature: str | None = Field(None, pattern=SIGNATURE)


class Relayed(BaseModel):
    tx_hash: str
    job_id: int | None = None
    gas_used: int


def _relayer(request: Request):
    relayer = getattr(request.app.state, "relayer", None)
    if relayer is None or "JobRelay" not in relayer.deployments.contracts:
        raise HTTPException(503, "this manager does not relay transactions: send them from your wallet (needs ETH)")
    return relayer


def _fee(request: Request) -> int:
    return int(request.app.state.settings.relay_fee_ifx * 10**18)


@router.get("", response_model=RelayInfo, summary="Whether this manager relays, and its fee")
def info(request: Request) -> RelayInfo:
    relayer = getattr(request.app.state, "relayer", None)
    enabled = relayer is not None and "JobRelay" in relayer.deployments.contracts
    return RelayInfo(enabled=enabled, relay=relayer.deployments.address("JobRelay") if enabled else None,
                     relayer=relayer.address if enabled else None, fee_ifx=str(_fee(request)))


def _create_request(request: Request, body: PrepareIn, address: str, deadline: int) -> R.CreateJobRequest:
    relayer = _relayer(request)
    manager, scene, first, last, output, max_price, budget = _job_args(
        request, body, _load_quote(request, body.quote_id, address), address)
    try:
        nonce = R.relay_nonce(relayer, address)
    except ChainError as exc:
        raise HTTPException(503, f"chain unavailable: {exc}") from None
    return R.CreateJobRequest(creator=address, manager=manager, scene_cid=scene, frame_start=first, frame_end=last,
                              output_settings=output, max_price_per_ibm=max_price, budget=budget, fee=_fee(request),
                              nonce=nonce, deadline=deadline, relayer=relayer.address)


def _forward_request(request: Request, body: ForwardIn, address: str, deadline: int) -> R.ForwardRequest:
    relayer = _relayer(request)
    if body.call == "close" and body.job_id == 0:
        raise HTTPException(422, "give the job to close (job_id)")
    try:
        nonce = R.relay_nonce(relayer, address)
    except ChainError as exc:
        raise HTTPException(503, f"chain unavailable: {exc}") from None
    return R.ForwardRequest(creator=address, call=CALLS[body.call], job_id=body.job_id if body.call == "close" else 0,
                            fee=_fee(request), nonce=nonce, deadline=deadline, relayer=relayer.address)


def _deadline(relayer) -> int:
    """``DEADLINE_S`` from the chain's clock (the one the contract checks; a local chain's may run ahead)."""
    try:
        return latest_time(relayer) + DEADLINE_S
    except (Web3Exception, OSError) as exc:
        raise HTTPException(503, f"chain unavailable: {exc}") from None


def _token_nonce(relayer, address: str) -> int:
    try:
        return relayer.call("IFXToken", "nonces", address)
    except ChainError as exc:
        raise HTTPException(503, f"chain unavailable: {exc}") from None


def _send(request: Request, address: str, send):
    rate_limit(request, "relay", address)
    try:
        return send()
    except TransactionReverted as exc:
        raise HTTPException(400, f"refused, nothing was sent: {exc}") from None
    except ChainError as exc:
        raise HTTPException(503, f"chain unavailable: {exc}") from None


@router.post("/jobs/prepare", response_model=RelayPrepared, summary="What to sign to have a job created for you")
def prepare_job(body: PrepareIn, request: Request, address: str = Depends(current_address)) -> RelayPrepared:
    relayer = _relayer(request)
    order = _create_request(request, body, address, _deadline(relayer))
    chain_id, relay = relayer.deployments.chain_id, relayer.deployments.address("JobRelay")
    permit = R.create_job_permit(chain_id, relayer.deployments.address("IFXToken"), relay, order,
                                 _token_nonce(relayer, address))
    return RelayPrepared(request=R.create_job_typed_data(chain_id, relay, order), permit=permit,
                         fee_ifx=str(order.fee), deadline=order.deadline)


@router.post("/jobs", response_model=Relayed, status_code=201, summary="Create the job you signed (this manager pays the gas)",
             responses={400: {"description": "the contract refuses it (its reason); nothing was sent"}})
def relay_job(body: RelayJobIn, request: Request, address: str = Depends(current_address)) -> Relayed:
    relayer = _relayer(request)
    order = _create_request(request, body, address, body.deadline)
    job_id, receipt = _send(request, address, lambda: R.relay_create_job(
        relayer, order, bytes.fromhex(body.signature.removeprefix("0x")), body.permit_signature))
    return Relayed(tx_hash="0x" + receipt["transactionHash"].hex().removeprefix("0x"), job_id=job_id,
                   gas_used=receipt["gasUsed"])


@router.post("/forward/prepare", response_model=RelayPrepared, summary="What to sign to close a job or withdraw")
def prepare_forward(body: ForwardIn, request: Request, address: str = Depends(current_address)) -> RelayPrepared:
    relayer = _relayer(request)
    order = _forward_request(request, body, address, _deadline(relayer))
    chain_id, relay = relayer.deployments.chain_id, relayer.deployments.address("JobRelay")
    permit = R.forward_permit(chain_id, relayer.deployments.address("IFXToken"), relay, order,
                              _token_nonce(relayer, address))
    return RelayPrepared(request=R.forward_typed_data(chain_id, relay, order), permit=permit, fee_ifx=str(order.fee),
                         deadline=order.deadline)


@router.post("/forward", response_model=Relayed, status_code=201, summary="Close your job or withdraw (this manager pays the gas)",
             responses={400: {"description": "the contract refuses it (its reason); nothing was sent"}})
def relay_forward(body: ForwardSigned, request: Request, address: str = Depends(current_address)) -> Relayed:
    relayer = _relayer(request)
    order = _forward_request(request, body, address, body.deadline)
    receipt = _send(request, address, lambda: R.relay_forward(
        relayer, order, bytes.fromhex(body.signature.removeprefix("0x")), body.permit_signature))
    return Relayed(tx_hash="0x" + receipt["transactionHash"].hex().removeprefix("0x"), gas_used=receipt["gasUsed"])
