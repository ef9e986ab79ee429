"""Projections of governance: the Governor's proposals and votes, VotePower's voters, the two vesting factories'
escrows (``VestingFactory``, ``CommunityFund``) and the node licenses (``NodeLicense``, and Staking's locks of them)
(docs/governance.md).

* **Proposals**: ``ProposalCreated`` gives everything but the tallies; ``VoteCast`` adds to them (and to
  ``proposal_votes``); ``ProposalQueued`` (eta, the timelock operation), ``ProposalExecuted``, ``ProposalCanceled``,
  ``VetoCast`` / ``ProposalVetoed``. The timelock executes an operation for anyone once its delay has passed, not
  only through ``Governor.execute``: its ``CallExecuted`` of a queued proposal's operation marks it executed too, as
  ``Governor.state`` reads the timelock. A proposal's **state** is not stored: :func:`proposal_state` computes it as
  ``Governor._state`` does, at the chain time the index has reached (``indexer_cursor.block_time``), with the quorum
  of :func:`quorum`: the voting units at the snapshot (``VotePower.getPastTotalSupply``, read from the chain at the
  proposal's first vote: the snapshot is then in the past, and a proposal without votes is defeated whatever the
  quorum) times the Governor's ``quorumBps``, at least ``quorumFloor`` (read once, then followed through
  ``ParameterChanged``; the Governor applies its parameters of the moment, so does the index).
* **Voters**: ``Locked`` / ``Unlocked`` (IFX locked, escrows included), ``StakeChanged`` (bonded stake),
  ``DelegateChanged`` (the delegate; none logged: the account itself), ``DelegateVotesChanged`` (votes as a delegate,
  now), ``EscrowRegistered`` (a vesting escrow: its lock votes at half weight).
* **Vesting escrows** (``EscrowCreated`` of either factory: beneficiary, amount, schedule). An escrow's own logs
  (``Claimed``, ``Revoked``) come from its own address, one per escrow, learned from ``EscrowCreated``; the index
  does not follow them. It does not need to: an escrow keeps all it holds locked in VotePower, and only the escrow
  itself can unlock its lock, which it does to claim and, once, to return the unvested rest when revoked (which its
  factory logs as ``EscrowRevoked``). So ``claimed = total - locked - returned`` exactly, from VotePower's
  ``Unlocked`` and the factory's ``EscrowRevoked``, with one fixed address list for ``eth_getLogs``. The vested
  amount is computed from the schedule (:func:`vested_at`, ``VestingEscrow._vested_at``) at read time.
* **Licenses**: ``Issued`` (holder, node types), ERC-721 ``Transfer`` (the holder), ``Revoked`` (burned; the row
  keeps its last holder and types), Staking's ``LicenseLocked`` / ``LicenseReleased`` (the node whose registration
  holds it in Staking; a license revoked while locked stays listed for that node).

One method per event, ``_on_<Contract>_<Event>(e, args, block_time)``; they run inside the range's transaction
(:class:`backend.indexer.base.IndexerBase`)."""

from __future__ import annotations

import json
import logging

from inferix.chain import Event
from backend.indexer.base import ZERO_ADDRESS, _add, _hex, _json_arg

log = logging.getLogger("inferix.indexer")

BPS = 10_000
QUEUE_GRACE = 14 * 86400  # Governor.QUEUE_GRACE: a succeeded proposal not queued within this long expires
VESTING_VOTE_BPS = 5_000  # VotePower.VESTING_VOTE_BPS: an escrow's lock votes at half weight
# Governor.state's numbering (PENDING 0 ... VETOED 8), as inferix.governance.STATES
PROPOSAL_STATES = ("pending", "active", "canceled", "defeated", "succeeded", "queued", "expired", "executed", "vetoed")
SUPPORT = ("against", "for", "abstain")  # Governor's VOTE_AGAINST 0, VOTE_FOR 1, VOTE_ABSTAIN 2
QUORUM_PARAMETERS = ("quorumBps", "quorumFloor")
FACTORIES = ("VestingFactory", "CommunityFund")


def quorum(snapshot_supply: str | int | None, parameters: dict[str, int]) -> int | None:
    """``Governor._quorum``: max(quorumFloor, voting units at the snapshot * quorumBps / 10000); None while the
    units at the snapshot or the parameters are not known (no vote cast yet)."""
    if snapshot_supply is None or any(name not in parameters for name in QUORUM_PARAMETERS):
        return None
    return max(parameters["quorumFloor"], int(snapshot_supply) * parameters["quorumBps"] // BPS)


def proposal_state(p: dict, now: int | None, quorum_votes: int | None) -> str:
    """``Governor._state`` of the proposal row ``p`` at chain time ``now``."""
    if p["vetoed"]:
        return "vetoed"
    if p["canceled"]:
        return "canceled"
    if now is None or now <= p["vote_start"]:
        return "pending"
    if now <= p["vote_end"]:
        return "active"
    for_votes, against, abstain = int(p["for_votes"]), int(p["against_votes"]), int(p["abstain_votes"])
    # a proposal with more votes for than against has votes, so its quorum was read at its first one
    if for_votes <= against or for_votes + abstain < (quorum_votes or 0):
        return "defeated"
    if p["queued_at"] is None:
        return "expired" if now > p["vote_end"] + QUEUE_GRACE else "succeeded"
    if p["executed_block"] is not None:
        return "executed"
    return "queued"


def vested_at(escrow: dict, t: int | None) -> int:
    """``VestingEscrow._vested_at``: nothing before ``start``, the TGE share until the cliff ends, then linear over
    ``duration``; frozen at the revocation."""
    if t is None:
        return 0
    at = min(t, escrow["revoked_at"]) if escrow["revoked"] else t
    if at < escrow["start"]:
        return 0
    total = int(escrow["total"])
    tge = total * escrow["tge_bps"] // BPS
    linear_start = escrow["start"] + escrow["cliff"]
    if at < linear_start:
        return tge
    if escrow["duration"] == 0:
        return total
    return tge + (total - tge) * min(at - linear_start, escrow["duration"]) // escrow["duration"]


class GovernanceProjections:
    # ------------------------------------------------------------ reads from the chain
    def _past_total_supply(self, snapshot: int) -> int:
        return self.chain.call("VotePower", "getPastTotalSupply", snapshot)

    def _quorum_parameters(self) -> None:
        """The Governor's quorum parameters, read once (ParameterChanged keeps them from then on)."""
        known = {r[0] for r in self.conn.execute("SELECT name FROM governor_parameters").fetchall()}
        for name in QUORUM_PARAMETERS:
            if name not in known:
                self.conn.execute("INSERT INTO governor_parameters (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
                                  (name, str(self.chain.call("Governor", name))))

    def _revocable(self, factory: str) -> bool | None:
        cache = self.__dict__.setdefault("_factory_revocable", {})
        if factory not in cache:
            cache[factory] = bool(self.chain.call(factory, "revocable"))  # immutable
        return cache[factory]

    # ------------------------------------------------------------ rows
    def _proposal(self, e: Event, proposal_id: int) -> dict | None:
        row = self._row("proposals", "proposal_id", str(proposal_id))
        if row is None:
            log.warning("%s for unknown proposal %s in block %d (indexing started too late?)", e.name, proposal_id,
                        e.block)
        return row

    def _set_proposal(self, proposal_id: int, e: Event, **changes) -> None:
        self._update("proposals", "proposal_id", str(proposal_id), {**changes, "updated_block": e.block})

    def _voter_change(self, address: str, e: Event, fn) -> None:
        self.conn.execute("INSERT INTO voters (address, updated_block) VALUES (?, ?) ON CONFLICT DO NOTHING",
                          (address, e.block))
        voter = self._row("voters", "address", address)
        before = dict(voter)
        fn(voter)
        voter["updated_block"] = e.block
        self._update("voters", "address", address, {k: v for k, v in voter.items() if before.get(k) != v})

    def _escrow_claimed(self, escrow: str, e: Event) -> None:
        # everything an escrow holds is locked in VotePower: what left its lock was claimed, or returned on revocation
        row = self._row("vesting_escrows", "escrow", escrow)
        voter = self._row("voters", "address", escrow)
        if row is None or voter is None:
            return
        claimed = int(row["total"]) - int(voter["locked"]) - int(row["returned"])
        self._update("vesting_escrows", "escrow", escrow, {"claimed": str(max(claimed, 0)), "updated_block": e.block})

    # ------------------------------------------------------------ Governor
    def _on_Governor_ProposalCreated(self, e: Event, a: dict, t: int) -> None:
        self.conn.execute(
            "INSERT INTO proposals (proposal_id, proposer, description, targets, amounts, calldatas, vote_start, "
            "vote_end, security, created_block, created_log, created_at, tx_hash, updated_block) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (str(a["proposalId"]), a["proposer"], a["description"], json.dumps(list(a["targets"])),
             json.dumps(_json_arg(list(a["values"]))), json.dumps(_json_arg(list(a["calldatas"]))), a["voteStart"],
             a["voteEnd"], int(a["security"]), e.block, e.log_index, t, e.tx_hash, e.block))

    def _on_Governor_VoteCast(self, e: Event, a: dict, t: int) -> None:
        p = self._proposal(e, a["proposalId"])
        if p is None:
            return
        column = ("against_votes", "for_votes", "abstain_votes")[a["support"]]
        changes = {column: _add(p[column], a["weight"]), "voters": p["voters"] + 1}
        if p["snapshot_supply"] is None:
            # the snapshot is in the past once anyone votes: its voting units never change again
            changes["snapshot_supply"] = str(self._past_total_supply(p["vote_start"]))
            self._quorum_parameters()
        self._set_proposal(a["proposalId"], e, **changes)
        self.conn.execute(
            "INSERT INTO proposal_votes (proposal_id, voter, support, weight, reason, block, log_index, cast_at, "
            "tx_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (p["proposal_id"], a["voter"], a["support"], str(a["weight"]), a["reason"], e.block, e.log_index, t,
             e.tx_hash))

    def _on_Governor_ProposalQueued(self, e: Event, a: dict, t: int) -> None:
        self._set_proposal(a["proposalId"], e, queued_at=t, eta=a["eta"], operation=_hex(a["operation"]))

    def _on_Governor_ProposalExecuted(self, e: Event, a: dict, t: int) -> None:
        p = self._proposal(e, a["proposalId"])
        if p is not None and p["executed_block"] is None:  # the timelock's CallExecuted came first in the same tx
            self._set_proposal(a["proposalId"], e, executed_block=e.block, executed_at=t)

    def _on_Timelock_CallExecuted(self, e: Event, a: dict, t: int) -> None:
        # a queued proposal's operation executed by anyone through the timelock counts as Governor.state reads it
        self.conn.execute("UPDATE proposals SET executed_block = ?, executed_at = ?, updated_block = ? "
                          "WHERE operation = ? AND executed_block IS NULL", (e.block, t, e.block, _hex(a["id"])))

    def _on_Governor_ProposalCanceled(self, e: Event, a: dict, t: int) -> None:
        self._set_proposal(a["proposalId"], e, canceled=1, canceled_block=e.block)

    def _on_Governor_VetoCast(self, e: Event, a: dict, t: int) -> None:
        p = self._proposal(e, a["proposalId"])
        if p is not None:
            self._set_proposal(a["proposalId"], e, veto_votes=str(a["vetoVotes"]), veto_needed=str(a["needed"]),
                               vetoes=p["vetoes"] + 1)

    def _on_Governor_ProposalVetoed(self, e: Event, a: dict, t: int) -> None:
        self._set_proposal(a["proposalId"], e, vetoed=1)

    def _on_Governor_ParameterChanged(self, e: Event, a: dict, t: int) -> None:
        self.conn.execute("INSERT INTO governor_parameters (name, value) VALUES (?, ?) "
                          "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (a["name"], str(a["newValue"])))

    # ------------------------------------------------------------ VotePower
    def _on_VotePower_Locked(self, e: Event, a: dict, t: int) -> None:
        self._voter_change(a["account"], e, lambda v: v.update(locked=_add(v["locked"], a["amount"])))

    def _on_VotePower_Unlocked(self, e: Event, a: dict, t: int) -> None:
        self._voter_change(a["account"], e, lambda v: v.update(locked=_add(v["locked"], -a["amount"])))
        self._escrow_claimed(a["account"], e)

    def _on_VotePower_StakeChanged(self, e: Event, a: dict, t: int) -> None:
        self._voter_change(a["account"], e, lambda v: v.update(staked=str(a["newBonded"])))

    def _on_VotePower_DelegateChanged(self, e: Event, a: dict, t: int) -> None:
        self._voter_change(a["delegator"], e, lambda v: v.update(delegate=a["toDelegate"]))

    def _on_VotePower_DelegateVotesChanged(self, e: Event, a: dict, t: int) -> None:
        self._voter_change(a["delegate"], e, lambda v: v.update(votes=str(a["newVotes"])))

    def _on_VotePower_EscrowRegistered(self, e: Event, a: dict, t: int) -> None:
        self._voter_change(a["escrow"], e, lambda v: v.update(escrow=1))

    # ------------------------------------------------------------ VestingFactory, CommunityFund
    def _escrow_created(self, e: Event, a: dict, t: int) -> None:
        self.conn.execute(
            "INSERT INTO vesting_escrows (escrow, factory, factory_name, revocable, beneficiary, total, start, "
            "tge_bps, cliff, duration, created_block, created_log, created_at, updated_block) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (a["escrow"], self.chain.deployments.address(e.contract), e.contract, int(self._revocable(e.contract)),
             a["beneficiary"], str(a["amount"]), a["start"], a["tgeBps"], a["cliff"], a["duration"], e.block,
             e.log_index, t, e.block))
        self._escrow_claimed(a["escrow"], e)  # its lock came first (initialize): nothing claimed

    def _escrow_revoked(self, e: Event, a: dict, t: int) -> None:
        # the escrow's Unlocked of the returned rest came just before, in the same transaction
        self._update("vesting_escrows", "escrow", a["escrow"],
                     {"revoked": 1, "revoked_at": t, "returned": str(a["returned"]), "updated_block": e.block})
        self._escrow_claimed(a["escrow"], e)

    _on_VestingFactory_EscrowCreated = _escrow_created
    _on_CommunityFund_EscrowCreated = _escrow_created
    _on_VestingFactory_EscrowRevoked = _escrow_revoked
    _on_CommunityFund_EscrowRevoked = _escrow_revoked

    # ------------------------------------------------------------ NodeLicense, and Staking's locks of licenses
    def _on_NodeLicense_Issued(self, e: Event, a: dict, t: int) -> None:
        self.conn.execute(
            "INSERT INTO node_licenses (license_id, owner, node_types, issuer, issued_block, issued_at, updated_block) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (a["tokenId"], a["owner"], a["nodeTypes"], a["issuer"], e.block, t, e.block))

    def _on_NodeLicense_Transfer(self, e: Event, a: dict, t: int) -> None:
        if a["receiver"] == ZERO_ADDRESS:
            return  # burned by a revocation (Revoked follows): the row keeps its last holder
        self._update("node_licenses", "license_id", a["token_id"], {"owner": a["receiver"], "updated_block": e.block})

    def _on_NodeLicense_Revoked(self, e: Event, a: dict, t: int) -> None:
        self._update("node_licenses", "license_id", a["tokenId"], {"revoked": 1, "revoked_block": e.block,
                                                                   "updated_block": e.block})

    def _on_Staking_LicenseLocked(self, e: Event, a: dict, t: int) -> None:
        self._update("node_licenses", "license_id", a["licenseId"], {"staked_by": a["account"],
                                                                     "updated_block": e.block})

    def _on_Staking_LicenseReleased(self, e: Event, a: dict, t: int) -> None:
        if not a["revoked"]:  # given back to the node (its Transfer came first); a revoked one stays the node's
            self._update("node_licenses", "license_id", a["licenseId"], {"staked_by": None,
                                                                         "updated_block": e.block})
