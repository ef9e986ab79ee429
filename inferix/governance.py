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


def lock(chain: Chain, amount: int) -> dict:
    """Lock ``amount`` IFX wei in VotePower (approving it first when needed)."""
    votes = chain.deployments.address("VotePower")
    if chain.call("IFXToken", "allowance", chain.address, votes) < amount:
        chain.transact("IFXToken", "approve", votes, amount)
    return chain.transact("VotePower", "lock", amount)


def delegate(chain: Chain, delegatee: str) -> dict:
    return chain.transact("VotePower", "delegate", delegatee)


def escrow(chain: Chain, address: str):
    """A vesting escrow's web3 contract (escrows are minimal proxies the deployment file does not name)."""
    from inferix.abi import abi

    return chain.w3.eth.contract(address=chain.w3.to_checksum_address(address), abi=abi("VestingEscrow"))


def vesting(chain: Chain, address: str) -> dict:
    """A vesting escrow's schedule and what vested, was claimed and can be claimed now."""
    f = escrow(chain, address).functions
    return {"escrow": address, "beneficiary": f.beneficiary().call(), "total": f.total().call(),
            "start": f.start().call(), "tge_bps": f.tgeBps().call(), "cliff_s": f.cliff().call(),
            "duration_s": f.duration().call(), "vested": f.vested().call(), "claimed": f.claimed().call(),
            "claimable": f.claimable().call(), "revoked": f.revoked().call()}


def claim_vesting(chain: Chain, address: str) -> int:
    """Claim what vested in the escrow at ``address`` (paid to its beneficiary); returns the amount, 0 = nothing."""
    contract = escrow(chain, address)
    claimable = contract.functions.claimable().call()
    if claimable:
        chain.send(contract.functions.claim(), "VestingEscrow.claim")
    return claimable


def licenses_of(chain: Chain, owner: str) -> list[dict]:
    """The node licenses ``owner`` holds: id and node types (1 worker, 2 verifier, 4 manager)."""
    held = []
    for index in range(chain.call("NodeLicense", "balanceOf", owner)):
        token_id = chain.call("NodeLicense", "tokenOfOwnerByIndex", owner, index)
        held.append({"id": token_id, "node_types": chain.call("NodeLicense", "nodeTypes", token_id)})
    return held


def buy_license(chain: Chain, tier: int, count: int, max_ifx: int, max_count: int = 0,
                proof: list[bytes] = ()) -> int:
    """Buy ``count`` licenses of ``tier`` from the LicenseSale, paying at most ``max_ifx`` IFX wei (approved first);
    returns the price paid. Raises ``ValueError`` when the sale asks more than ``max_ifx``."""
    price = chain.call("LicenseSale", "quote", tier, count)
    if price > max_ifx:
        raise ValueError(f"the sale asks {price / 10**18:,.6f} IFX, above the {max_ifx / 10**18:,.6f} accepted")
    sale = chain.deployments.address("LicenseSale")
    if chain.call("IFXToken", "allowance", chain.address, sale) < price:
        chain.transact("IFXToken", "approve", sale, price)
    chain.transact("LicenseSale", "buy", tier, count, max_count, list(proof), max_ifx)
    return price

