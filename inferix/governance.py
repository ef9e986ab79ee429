"""Governance from a holder's side, over :class:`~inferix.chain.Chain`: voting power, proposals and their life in
the ``Governor`` and the ``Timelock`` (docs/governance.md).

A proposal is its actions ``(contract name, function, args)`` plus a description; :func:`actions` encodes them the
way the Governor hashes them, so the same list proposes, queues and executes.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import keccak

from inferix.chain import Chain
from inferix.protocol import read_struct

STATES = ("pending", "active", "canceled", "defeated", "succeeded", "queued", "expired", "executed", "vetoed")
SUPPORT = {"against": 0, "for": 1, "abstain": 2}


@dataclass(frozen=True)
class Proposal:
    """A proposal's actions, encoded: what ``propose``, ``queue`` and ``execute`` take."""

    targets: list[str]
    values: list[int]
    calldatas: list[bytes]
    description: str

    @property
    def description_hash(self) -> bytes:
        return keccak(text=self.description)

    def id(self, chain: Chain) -> int:
        return chain.call("Governor", "hashProposal", self.targets, self.values, self.calldatas,
                          self.description_hash)


def actions(chain: Chain, calls: list[tuple[str, str, tuple]], description: str) -> Proposal:
    """Encode ``(contract, function, args)`` calls of the deployment as one proposal."""
    targets, payloads = [], []
    for contract, function, args in calls:
        targets.append(chain.deployments.address(contract))
        payloads.append(bytes.fromhex(chain.contract(contract).encode_abi(function, args=list(args))[2:]))
    return Proposal(targets, [0] * len(calls), payloads, description)


def voting_power(chain: Chain, account: str) -> dict:
    """``account``'s votes now, its own voting units, its delegate and what it locked."""
    return {"votes": chain.call("VotePower", "getVotes", account),
            "units": chain.call("VotePower", "votingUnits", account),
            "delegate": chain.call("VotePower", "delegates", account),
            "locked": chain.call("VotePower", "locked", account),
            "staked": chain.call("VotePower", "stakeOf", account)}


def propose(chain: Chain, proposal: Proposal) -> int:
    chain.transact("Governor", "propose", proposal.targets, proposal.values, proposal.calldatas,
                   proposal.description)
    return proposal.id(chain)


def vote(chain: Chain, proposal_id: int, support: str, reason: str = "") -> dict:
    if support not in SUPPORT:
        raise ValueError(f"support is one of {', '.join(SUPPORT)}, not {support!r}")
    if reason:
        return chain.transact("Governor", "castVoteWithReason", proposal_id, SUPPORT[support], reason)
    return chain.transact("Governor", "castVote", proposal_id, SUPPORT[support])


def queue(chain: Chain, proposal: Proposal) -> dict:
    return chain.transact("Governor", "queue", proposal.targets, proposal.values, proposal.calldatas,
                          proposal.description_hash)


def execute(chain: Chain, proposal: Proposal) -> dict:
    return chain.transact("Governor", "execute", proposal.targets, proposal.values, proposal.calldatas,
                          proposal.description_hash)


def status(chain: Chain, proposal_id: int) -> dict:
    """A proposal's state, tallies, quorum and timeline (timestamps)."""
    record = read_struct(chain, "Governor", "proposals", proposal_id)
    state = STATES[chain.call("Governor", "state", proposal_id)]
    return {"id": proposal_id, "state": state, "proposer": record["proposer"], "snapshot": record["snapshot"],
            "deadline": record["deadline"], "for": record["for_votes"], "against": record["against_votes"],
            "abstain": record["abstain_votes"], "quorum": chain.call("Governor", "quorum", record["snapshot"])
            if state != "pending" else None, "security": record["security"], "eta": record["eta"],
            "queued_at": record["queued_at"], "veto_votes": record["veto_votes"]}
