"""Offers of batch tasks to workers (docs/protocol.md, "Batches in the services"): a worker reads the groups this
manager offers it and sends back its EIP-712 acceptance, which the manager carries in ``BatchLane.postBatch``.
Public: the signature is the authentication (it must be the group's worker's, over exactly the offered leaves,
window and ``accept_by``)."""

from __future__ import annotations

import json
import re

from eth_utils import to_checksum_address
from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from backend.batching import OFFERED
from inferix import batches as B
from inferix.eip712 import acceptance_signer
from inferix.protocol import latest_time

router = APIRouter(prefix="/v1", tags=["offers"])

ADDRESS = r"^0x[0-9a-fA-F]{40}$"
BATCH_ID = r"^0x[0-9a-fA-F]{64}$"


class LeafOut(BaseModel):
    worker: str
    ibm: int = Field(..., description="work in micro-IBM")
    fee: str = Field(..., description="IFX wei")
    manifest_digest: str
    frame_start: int
    frame_end: int
    package: str = Field(..., description="the noised package's CID")


class OfferOut(BaseModel):
    batch_id: str
    job_id: int
    group: int
    first: int
    count: int
    worker: str
    render_window: int
    accept_by: int
    leaves: list[LeafOut]
    accepted: bool


class OffersOut(BaseModel):
    offers: list[OfferOut]


class AcceptanceIn(BaseModel):
    group: int = Field(..., ge=0, lt=B.MAX_WORKERS)
    accept_by: int = Field(..., ge=0, lt=2**63)
    signature: str = Field(..., pattern=r"^(0x)?[0-9a-fA-F]{130}$", description="65 bytes, hex")


class AcceptanceOut(BaseModel):
    batch_id: str
    group: int
    worker: str


def _offer(row) -> B.Offer:
    offer = json.loads(row["offer"])
    leaves = tuple(B.leaf_from_json(leaf) for leaf in offer["leaves"])
    return B.Offer(bytes.fromhex(row["batch_id"]), row["job_id"], 0, row["render_window"], offer["accept_by"], leaves)


@router.get("/offers", response_model=OffersOut, summary="The batch groups this manager offers a worker",
            responses={400: {"description": "malformed address"}})
def offers(request: Request, worker: str = Query(..., description="the worker's address")) -> OffersOut:
    if not re.fullmatch(ADDRESS, worker):
        raise HTTPException(400, "worker must be a 0x-prefixed 20-byte hex address")
    worker = to_checksum_address(worker)
    db = request.app.state.db
    out = []
    for row in db.execute("SELECT * FROM batches WHERE status = ? ORDER BY nonce", (OFFERED,)).fetchall():
        offer = _offer(row)
        for group, span in enumerate(B.groups(list(offer.leaves))):
            if span.worker != worker:
                continue
            accepted = db.execute("SELECT 1 FROM batch_acceptances WHERE batch_id = ? AND grp = ? AND accept_by = ?",
                                  (row["batch_id"], group, offer.accept_by)).fetchone() is not None
            out.append(OfferOut(**B.Offer(offer.batch_id, offer.job_id, group, offer.render_window, offer.accept_by,
                                          offer.leaves).to_json(), accepted=accepted))
    return OffersOut(offers=out)


@router.post("/offers/{batch_id}/acceptances", response_model=AcceptanceOut, status_code=201,
             summary="A worker's signed acceptance of its group of a batch",
             responses={400: {"description": "no such group, or the signature is not the group's worker's"},
                        404: {"description": "unknown batch"},
                        409: {"description": "the offer is no longer open, or accept_by is not the offer's"},
                        503: {"description": "no chain configured"}})
def accept(body: AcceptanceIn, request: Request,
           batch_id: str = Path(..., pattern=BATCH_ID, description="0x-prefixed batch id")) -> AcceptanceOut:
    chain = request.app.state.chain
    if chain is None:
        raise HTTPException(503, "no chain configured")
    db = request.app.state.db
    row = db.execute("SELECT * FROM batches WHERE batch_id = ?", (batch_id[2:].lower(),)).fetchone()
    if row is None:
        raise HTTPException(404, "no such batch")
    if row["status"] != OFFERED or row["offer"] is None:
        raise HTTPException(409, f"the batch is not on offer (it is {row['status']})")
    offer = _offer(row)
    if body.accept_by != offer.accept_by:
        raise HTTPException(409, f"the offer's accept_by is {offer.accept_by}: fetch the offer again")
    spans = B.groups(list(offer.leaves))
    if body.group >= len(spans):
        raise HTTPException(400, f"the batch has {len(spans)} groups")
    if latest_time(chain) >= offer.accept_by:
        raise HTTPException(409, "the offer has expired")
    span = spans[body.group]
    try:
        signer = acceptance_signer(chain.deployments.chain_id, chain.deployments.address("BatchCommittee"),
                                   offer.batch_id, B.acceptance_chain(list(offer.leaves), span), offer.render_window,
                                   offer.accept_by, bytes.fromhex(body.signature.removeprefix("0x")))
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    if signer != span.worker:
        raise HTTPException(400, f"signed by {signer}, not by the group's worker {span.worker}")
    db.execute("INSERT INTO batch_acceptances (batch_id, grp, worker, accept_by, signature) VALUES (?, ?, ?, ?, ?) "
               "ON CONFLICT(batch_id, grp) DO UPDATE SET worker = excluded.worker, accept_by = excluded.accept_by, "
               "signature = excluded.signature", (row["batch_id"], body.group, span.worker, offer.accept_by,
                                                  "0x" + body.signature.removeprefix("0x")))
    return AcceptanceOut(batch_id=batch_id.lower(), group=body.group, worker=span.worker)
