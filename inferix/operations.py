"""A creator's and a node operator's everyday actions, over :class:`~inferix.chain.Chain` with an account: claim the
BMW issuance, close an epoch, stake, unbond and withdraw, challenge a verdict (the single path or the batch lane),
take a job's budget back. ``inferix claim``, ``stake``, ``challenge``… (:mod:`inferix.opscli`) and the web app do
exactly these, and say the same thing when one is refused: :func:`explain`.

Every function sends what it must (an approval first where a transfer needs one) and returns a figure or the
receipt. The contracts' refusals come back as :class:`~inferix.chain.TransactionReverted` (raised before anything is
sent: the gas estimate carries the revert reason); what the SDK itself refuses, nothing sent, as :class:`Refused`.
Amounts are IFX wei.
"""

from __future__ import annotations

import logging
from typing import Callable

from inferix.chain import Chain, ChainError, TransactionReverted
from inferix.protocol import IFX, get_job, get_node, read_struct

log = logging.getLogger(__name__)


class Refused(ChainError):
    """The SDK refused an action before sending anything (nothing to claim, a bond above the balance); ``reason``
    says why, ``call`` what it would have sent."""

    def __init__(self, reason: str, call: str) -> None:
        super().__init__(f"{call} refused: {reason}")
        self.reason = reason
        self.call = call


def explain(exc: BaseException) -> str:
    """One line for a failed action, the same in the terminal and in the web app:
    ``Staking.requestUnbond reverted: staking: amount exceeds free stake``.

    A revert already reads ``<Contract.function> reverted: <the contract's reason>`` (:class:`TransactionReverted`),
    a refusal ``<Contract.function> refused: <why>``; any other error is named by its kind. Whitespace (a multi-line
    RPC message) is folded into one line."""
    text = str(exc) if isinstance(exc, ChainError) else f"{exc.__class__.__name__}: {exc}"
    return " ".join(text.split()) or exc.__class__.__name__


def ifx(amount: int) -> str:
    """An IFX wei amount as the CLI prints it: ``1,234.500000 IFX``."""
    return f"{amount / IFX:,.6f} IFX"


# ---------------------------------------------------------------- BMW issuance

def closed_epochs(chain: Chain) -> range:
    """Every closed epoch (all before the open one, ``currentEpoch``)."""
    return range(chain.call("BMWIssuance", "currentEpoch"))


def claimable(chain: Chain, account: str | None = None) -> dict[int, int]:
    """What ``account`` (the chain's, by default) can claim, by closed epoch (epochs with nothing left out)."""
    account = account or chain.address
    found = {}
    for epoch in closed_epochs(chain):
        amount = chain.call("BMWIssuance", "claimable", epoch, account)
        if amount:
            found[epoch] = amount
    return found


def claim_rewards(chain: Chain, epochs: list[int] | None = None,
                  on_claim: Callable[[int, int], None] | None = None) -> int:
    """Claim the account's share of the issuance (``BMWIssuance.claim``) of each epoch in ``epochs``, or, when None,
    of every closed epoch with something claimable. Returns the total claimed; ``on_claim(epoch, amount)`` hears of
    each claim as it is mined. A given epoch that is not closed or has nothing to claim is refused by the contract
    (``bmw: epoch not closed``, ``bmw: nothing to claim``); with ``epochs`` None and nothing claimable anywhere,
    :class:`Refused`."""
    if epochs is None:
        owed = claimable(chain)
        if not owed:
            raise Refused(f"nothing to claim for {chain.address} in the closed epochs "
                          f"(0 to {chain.call('BMWIssuance', 'currentEpoch') - 1})", "BMWIssuance.claim")
        epochs = sorted(owed)
    total = 0
    for epoch in epochs:
        amount = chain.call("BMWIssuance", "claimable", epoch, chain.address)
        chain.transact("BMWIssuance", "claim", epoch)
        total += amount
        log.info("claimed %s from epoch %s", ifx(amount), epoch)
        if on_claim is not None:
            on_claim(epoch, amount)
    return total


def epoch(chain: Chain, number: int | None = None) -> dict:
    """An epoch's record (the open one by default), with its number and when it ends (``ends``, a timestamp)."""
    number = chain.call("BMWIssuance", "currentEpoch") if number is None else number
    record = read_struct(chain, "BMWIssuance", "epochs", number)
    return {"epoch": number, **record, "ends": record["start"] + record["length"]}


def close_epoch(chain: Chain) -> dict:
    """Close the open epoch once it has ended and mint its issuance (``BMWIssuance.closeEpoch``: anyone may).
    Returns the closed epoch's record (:func:`epoch`): ``minted``, the pools, ``work_ibm``…; refused with
    ``bmw: epoch not over`` before its end."""
    number = chain.call("BMWIssuance", "currentEpoch")
    chain.transact("BMWIssuance", "closeEpoch")
    return epoch(chain, number)


# ---------------------------------------------------------------- stake

def add_stake(chain: Chain, amount: int) -> dict:
    """Bond ``amount`` more (``Staking.stake``), approving Staking for it first if needed; the node must be
    registered (``inferix worker run`` / ``oracle run`` register it). Returns the receipt."""
    staking = chain.deployments.address("Staking")
    if amount > 0 and chain.call("IFXToken", "allowance", chain.address, staking) < amount:
        chain.transact("IFXToken", "approve", staking, amount)
    return chain.transact("Staking", "stake", amount)


def unbond(chain: Chain, amount: int) -> dict:
    """Start unbonding ``amount`` of free stake (``Staking.requestUnbond``; the delay restarts for the whole pending
    amount). Returns the receipt; :func:`withdraw_stake` pays it out after ``unbondingPeriod``."""
    return chain.transact("Staking", "requestUnbond", amount)


def withdraw_stake(chain: Chain) -> int:
    """Withdraw the stake whose unbonding delay has passed (``Staking.withdraw``); returns the amount paid out.
    Refused with ``staking: nothing unbonding`` or ``staking: still unbonding``."""
    amount = get_node(chain, chain.address).unbonding
    chain.transact("Staking", "withdraw")
    return amount


# ---------------------------------------------------------------- challenges

def challenge(chain: Chain, task_id: int) -> int:
    """Challenge a single-path task's verdict within its challenge window (``JobEscrow.challenge``), approving the
    escrow for the bond (``JobEscrow.bondFor``) first; returns the bond. :class:`Refused` (nothing sent) when the
    balance cannot cover the bond."""
    from inferix.protocol import challenge_verdict

    bond, receipt = challenge_verdict(chain, task_id)
    if receipt is None:
        raise Refused(_short_of(chain, bond), "JobEscrow.challenge")
    return bond


def challenge_batch_task(chain: Chain, batch_id: bytes, index: int) -> int:
    """Challenge the committee's verdict on task ``index`` of a batch (``BatchLane.challenge``: its leaf and Merkle
    proof are read from the post's calldata), approving the lane for the bond first; returns the bond.
    :class:`Refused` for an index outside the batch or a bond above the balance."""
    from inferix import lane

    try:
        bond, receipt = lane.challenge_task(chain, batch_id, index)
    except IndexError as exc:
        raise Refused(str(exc), "BatchLane.challenge") from None
    if receipt is None:
        raise Refused(_short_of(chain, bond), "BatchLane.challenge")
    return bond


def _short_of(chain: Chain, bond: int) -> str:
    balance = chain.call("IFXToken", "balanceOf", chain.address)
    return f"the bond of {ifx(bond)} exceeds your balance of {ifx(balance)}"


# ---------------------------------------------------------------- refunds

def refund(chain: Chain, job_id: int) -> int:
    """Take a job's budget back: close it if it is still open (``JobEscrow.closeJob``: its unreserved budget, and
    every reservation released later, become the creator's) and withdraw what the escrow owes the account
    (``JobEscrow.withdraw``: this job's refund and anything else owed to it). Returns the IFX withdrawn. Only the
    job's creator may (``escrow: caller is not the creator``, also for a job already closed)."""
    job = get_job(chain, job_id)
    if not job.closed:
        chain.transact("JobEscrow", "closeJob", job_id)  # the contract refuses an unknown job or another's
    elif job.creator.lower() != chain.address.lower():
        _refusal(chain, "JobEscrow", "closeJob", job_id)  # the contract's own words for someone else's job
    owed = chain.call("JobEscrow", "claimable", chain.address)
    chain.transact("JobEscrow", "withdraw")  # refused with "escrow: nothing to withdraw" when owed is 0
    return owed


def _refusal(chain: Chain, contract: str, function: str, *args) -> None:
    """Raise the contract's reason for refusing ``contract.function(*args)`` from the account (an ``eth_call``:
    nothing is sent); returns quietly if the call would succeed."""
    from web3.exceptions import ContractLogicError

    from inferix.chain import _reason

    fn = getattr(chain.contract(contract).functions, function)(*args)
    try:
        fn.call({"from": chain.address})
    except ContractLogicError as exc:
        raise TransactionReverted(_reason(exc), f"{contract}.{function}") from None
