"""GET /v1/proposals, /v1/proposals/{proposal_id}, /v1/voters/{address}, /v1/vesting/{beneficiary},
/v1/licenses/{owner}: governance as the indexer saw it (``backend.indexer.governance``).

A proposal's state and an escrow's vested amount depend on time: they are computed here, from the indexed facts, at
the chain time the index has reached (the timestamp of the last block indexed, served as ``as_of``), as
``Governor.state`` and ``VestingEscrow.vested`` answer in that block."""

from __future__ import annotations

import json
import re

from fastapi import APIRouter, Path, Query, Request
from typing_extensions import Annotated

from backend.api.reads.common import _address, _db, _json, _not_found, _page, _raw, named
from backend.api.reads.models import (ADDRESS_PATTERN, INVALID, Licenses, Limit, MALFORMED, MALFORMED_ADDRESS,
                                      NOT_FOUND, Offset, ProposalDetail, ProposalPage, Vesting, Voter)
from backend.indexer.governance import SUPPORT, VESTING_VOTE_BPS, proposal_state, quorum, vested_at

router = APIRouter(prefix="/v1", tags=["index"])

ADDRESS = re.compile(ADDRESS_PATTERN)
PROPOSAL_ID = re.compile(r"^[0-9]{1,78}$")
MAX_BALLOTS = 100
ROLES = ((1, "worker"), (2, "verifier"), (4, "manager"))

PROPOSAL_FIELDS = ("proposal_id", "proposer", "description", "targets", "amounts", "calldatas", "security",
                   "vote_start", "vote_end", "for_votes", "against_votes", "abstain_votes", "voters",
                   "snapshot_supply", "queued_at", "eta", "operation", "executed_block", "executed_at", "canceled",
                   "vetoed", "veto_votes", "veto_needed", "vetoes", "created_block", "created_at", "tx_hash",
                   "updated_block")
PROPOSAL_COLUMNS = ", ".join(PROPOSAL_FIELDS)
# newest first; (created_block, created_log) is unique
_ORDER = "created_block DESC, created_log DESC"
_VOTE_FIELDS = ("voter", "support", "weight", "reason", "block", "cast_at", "tx_hash")
_VOTER_FIELDS = ("address", "votes", "delegate", "locked", "staked", "escrow", "updated_block")
_BALLOT_FIELDS = ("proposal_id", "support", "weight", "reason", "block", "cast_at")
_ESCROW_FIELDS = ("escrow", "factory", "factory_name", "revocable", "beneficiary", "total", "start", "tge_bps",
                  "cliff", "duration", "claimed", "revoked", "revoked_at", "returned", "created_block",
                  "updated_block")
_LICENSE_FIELDS = ("license_id", "node_types", "owner", "staked_by", "revoked", "revoked_block", "issuer",
                   "issued_block", "updated_block")


def _malformed_address(what: str):
    return _json({"detail": f"{what} is 0x and 40 hex digits"}, 400)


def _clock(cur) -> int | None:
    """The chain time the index has reached: the last indexed block's timestamp (the newest event's before the
    first full range)."""
    row = cur.execute("SELECT block_time FROM indexer_cursor WHERE id = 1").fetchone()
    if row is not None and row[0] is not None:
        return row[0]
    return cur.execute("SELECT MAX(block_time) FROM events").fetchone()[0]


def _parameters(cur) -> dict[str, int]:
    return {name: int(value) for name, value in cur.execute("SELECT name, value FROM governor_parameters")}


def _proposal(r: tuple, now: int | None, parameters: dict[str, int]) -> dict:
    p = named(PROPOSAL_FIELDS, r)
    needed = quorum(p["snapshot_supply"], parameters)
    out = {k: p[k] for k in ("proposal_id", "proposer", "description")}
    out.update(state=proposal_state(p, now, needed), as_of=now, targets=json.loads(p["targets"]),
               values=json.loads(p["amounts"]), calldatas=json.loads(p["calldatas"]), security=bool(p["security"]))
    out.update({k: p[k] for k in ("vote_start", "vote_end", "for_votes", "against_votes", "abstain_votes", "voters")})
    out["quorum"] = None if needed is None else str(needed)
    out.update({k: p[k] for k in ("queued_at", "eta", "operation", "executed_block", "executed_at")})
    out.update(canceled=bool(p["canceled"]), vetoed=bool(p["vetoed"]))
    out.update({k: p[k] for k in ("veto_votes", "veto_needed", "vetoes", "created_block", "created_at", "tx_hash",
                                  "updated_block")})
    return out


@router.get("/proposals", response_model=ProposalPage, responses=INVALID,
            summary="Governor proposals, newest first, with their tallies and state")
async def list_proposals(
    request: Request,
    proposer: Annotated[str, Query(pattern=ADDRESS_PATTERN, description="only this proposer's (any case)")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
):
    cur = _raw(_db(request))
    now, parameters = _clock(cur), _parameters(cur)
    where, params = (["proposer = ?"], [_address(proposer)]) if proposer is not None else ([], [])
    return _page(request, "proposals", PROPOSAL_COLUMNS, where, params, _ORDER, limit, offset,
                 lambda r: _proposal(r, now, parameters))


@router.get("/proposals/{proposal_id}", response_model=ProposalDetail, responses={**MALFORMED, **NOT_FOUND},
            summary="A proposal: actions, tallies, quorum, state, queue and execution, and every vote")
async def get_proposal(request: Request,
                       proposal_id: Annotated[str, Path(description="the proposal id, a decimal uint256",
                                                        json_schema_extra={"pattern": PROPOSAL_ID.pattern})]):
    # checked here, not by FastAPI (that would answer 422): a malformed id is a 400, as for batches
    if not PROPOSAL_ID.match(proposal_id) or int(proposal_id) >= 2**256:
        return _json({"detail": "a proposal id is a decimal uint256"}, 400)
    key = str(int(proposal_id))
    cur = _raw(_db(request))
    r = cur.execute(f"SELECT {PROPOSAL_COLUMNS} FROM proposals WHERE proposal_id = ?", (key,)).fetchone()
    if r is None:
        return _not_found(f"proposal {key}")
    proposal = _proposal(r, _clock(cur), _parameters(cur))
    votes = []
    for row in cur.execute(f"SELECT {', '.join(_VOTE_FIELDS)} FROM proposal_votes WHERE proposal_id = ? "
                           "ORDER BY block, log_index", (key,)):
        v = named(_VOTE_FIELDS, row)
        v["support"] = SUPPORT[v["support"]]
        votes.append(v)
    proposal["votes"] = votes
    return _json(proposal)


@router.get("/voters/{address}", response_model=Voter, responses={**MALFORMED_ADDRESS, **NOT_FOUND},
            summary="An account's voting power (votes now, delegate, locked IFX, bonded stake) and its ballots")
async def get_voter(request: Request,
                    address: Annotated[str, Path(description="the account (any case)",
                                                 json_schema_extra={"pattern": ADDRESS_PATTERN})]):
    if not ADDRESS.match(address):
        return _malformed_address("an address")
    account = _address(address)
    cur = _raw(_db(request))
    r = cur.execute(f"SELECT {', '.join(_VOTER_FIELDS)} FROM voters WHERE address = ?", (account,)).fetchone()
    ballots = [named(_BALLOT_FIELDS, row) for row in cur.execute(
        f"SELECT {', '.join(_BALLOT_FIELDS)} FROM proposal_votes WHERE voter = ? ORDER BY block DESC, log_index DESC "
        "LIMIT ?", (account, MAX_BALLOTS))]
    if r is None and not ballots:
        return _not_found(f"voter {account}")
    v = named(_VOTER_FIELDS, r) if r is not None else {
        "address": account, "votes": "0", "delegate": None, "locked": "0", "staked": "0", "escrow": 0,
        "updated_block": ballots[0]["block"]}
    locked = int(v["locked"])
    units = (locked * VESTING_VOTE_BPS // 10_000 if v["escrow"] else locked) + int(v["staked"])
    for b in ballots:
        b["support"] = SUPPORT[b["support"]]
    return _json({"address": account, "votes": v["votes"], "delegate": v["delegate"] or account, "units": str(units),
                  "locked": v["locked"], "staked": v["staked"], "escrow": bool(v["escrow"]),
                  "updated_block": v["updated_block"], "ballots": ballots})


@router.get("/vesting/{beneficiary}", response_model=Vesting, responses=MALFORMED_ADDRESS,
            summary="A beneficiary's vesting escrows: schedule, vested now, claimed, claimable, revocation")
async def get_vesting(request: Request,
                      beneficiary: Annotated[str, Path(description="the beneficiary (any case)",
                                                       json_schema_extra={"pattern": ADDRESS_PATTERN})]):
    if not ADDRESS.match(beneficiary):
        return _malformed_address("a beneficiary")
    account = _address(beneficiary)
    cur = _raw(_db(request))
    now = _clock(cur)
    escrows = []
    for row in cur.execute(f"SELECT {', '.join(_ESCROW_FIELDS)} FROM vesting_escrows WHERE beneficiary = ? "
                           "ORDER BY created_block, created_log", (account,)):
        e = named(_ESCROW_FIELDS, row)
        vested = vested_at(e, now)
        schedule = {k: e[k] for k in ("start", "tge_bps", "cliff", "duration")}
        schedule["cliff_ends"] = e["start"] + e["cliff"]
        schedule["ends"] = schedule["cliff_ends"] + e["duration"]
        escrows.append({
            **{k: e[k] for k in ("escrow", "factory", "factory_name")},
            "revocable": None if e["revocable"] is None else bool(e["revocable"]), "beneficiary": e["beneficiary"],
            "total": e["total"], "schedule": schedule, "vested": str(vested), "claimed": e["claimed"],
            "claimable": str(max(vested - int(e["claimed"]), 0)), "revoked": bool(e["revoked"]),
            **{k: e[k] for k in ("revoked_at", "returned", "created_block", "updated_block")}})
    return _json({"beneficiary": account, "as_of": now, "escrows": escrows})


@router.get("/licenses/{owner}", response_model=Licenses, responses=MALFORMED_ADDRESS,
            summary="Node licenses an account holds, or has locked in Staking as a node")
async def get_licenses(request: Request,
                       owner: Annotated[str, Path(description="the holder (any case)",
                                                  json_schema_extra={"pattern": ADDRESS_PATTERN})]):
    if not ADDRESS.match(owner):
        return _malformed_address("an owner")
    account = _address(owner)
    licenses = []
    for row in _raw(_db(request)).execute(
            f"SELECT {', '.join(_LICENSE_FIELDS)} FROM node_licenses WHERE owner = ? OR staked_by = ? "
            "ORDER BY license_id", (account, account)):
        lic = named(_LICENSE_FIELDS, row)
        licenses.append({"license_id": lic["license_id"], "node_types": lic["node_types"],
                         "roles": [name for bit, name in ROLES if lic["node_types"] & bit],
                         **{k: lic[k] for k in ("owner", "staked_by")}, "revoked": bool(lic["revoked"]),
                         **{k: lic[k] for k in ("revoked_block", "issuer", "issued_block", "updated_block")}})
    return _json({"owner": account, "licenses": licenses})
