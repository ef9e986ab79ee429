"""Chain access for the services: contracts from the deployments file, transactions with clear errors,
and event polling from a persisted cursor.

web3.py directly (not Ape) because the services are long-running processes that need only RPC calls.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Iterable

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, Web3Exception

from inferix.abi import abi
from inferix.deployments import Deployment
from inferix.timing import timed

log = logging.getLogger(__name__)

GAS_MARGIN = 1.25
RESENDS = 2
LOG_RANGE = 5_000  # blocks per eth_getLogs call


class ChainError(RuntimeError):
    """An RPC call or transaction failed."""


class TransactionReverted(ChainError):
    """The contract refused the call; ``reason`` is its revert string (e.g. ``escrow: task not open``)."""

    def __init__(self, reason: str, call: str) -> None:
        super().__init__(f"{call} reverted: {reason}")
        self.reason = reason
        self.call = call


class ChainUnavailable(ChainError):
    """The RPC endpoint cannot be reached."""


@dataclass(frozen=True)
class Event:
    name: str
    contract: str
    block: int
    log_index: int
    tx_hash: str
    args: dict[str, Any]


def _reason(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    for prefix in ("execution reverted: ", "execution reverted"):
        if prefix in message:
            return message.split(prefix, 1)[1].strip(" :'\"") or "reverted without reason"
    return message


_SENDER_LOCKS: dict[str, threading.Lock] = {}
_SENDER_LOCKS_GUARD = threading.Lock()


def _sender_lock(address: str) -> threading.Lock:
    with _SENDER_LOCKS_GUARD:
        return _SENDER_LOCKS.setdefault(address.lower(), threading.Lock())


class Chain:
    """The contracts of one deployment, seen through one RPC endpoint and (optionally) one account."""

    def __init__(self, rpc_url: str, deployments: Deployment, account: LocalAccount | None = None,
                 timeout: float = 30.0) -> None:
        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
        self.deployments = deployments
        self.account = account
        self._contracts: dict[str, Any] = {}
        try:
            chain_id = self.w3.eth.chain_id
        except Exception as exc:
            raise ChainUnavailable(f"RPC {rpc_url} unreachable: {exc.__class__.__name__}") from None
        if chain_id != deployments.chain_id:
            raise ChainError(f"RPC {rpc_url} is chain {chain_id}, the deployments file is for {deployments.chain_id}")

    @property
    def address(self) -> str:
        if self.account is None:
            raise ChainError("no account loaded")
        return self.account.address

    def contract(self, name: str):
        if name not in self._contracts:
            self._contracts[name] = self.w3.eth.contract(address=self.deployments.address(name), abi=abi(name))
        return self._contracts[name]

    def call(self, contract: str, function: str, *args: Any) -> Any:
        try:
            with timed("chain read"):
                return getattr(self.contract(contract).functions, function)(*args).call()
        except ContractLogicError as exc:
            raise TransactionReverted(_reason(exc), f"{contract}.{function}") from None
        except (Web3Exception, OSError) as exc:
            raise ChainUnavailable(f"{contract}.{function}: {exc.__class__.__name__}: {exc}") from None

    def transact(self, contract: str, function: str, *args: Any, gas: int | None = None,
                 timeout: float = 120.0) -> dict:
        """Sign and send; returns the receipt. Reverts are raised *before* sending (gas estimation),
        so a refused call costs nothing and leaves no pending transaction.

        The gas limit is estimated against the latest block. When a transaction mined before ours changes the
        path the call takes (another oracle's vote makes ours the one that reaches the quorum and settles), the
        estimate falls short and ours reverts on chain out of gas, without a reason. A transaction that reverted
        on chain is therefore estimated again on the new state: if the call is still valid it is resent (up to
        ``RESENDS`` times); if not, the contract's reason on the new state is raised (e.g. ``por: oracle
        already voted``)."""
        call = f"{contract}.{function}"
        return self.send(getattr(self.contract(contract).functions, function)(*args), call, gas=gas, timeout=timeout)

    def send(self, fn, call: str, *, gas: int | None = None, timeout: float = 120.0) -> dict:
        """:meth:`transact` for a web3 contract function already built (a contract the deployment does not name,
        such as one vesting escrow); ``call`` names it in errors."""
        if self.account is None:
            raise ChainError("no account loaded")
        for attempt in range(RESENDS + 1):
            with timed("chain transaction"):
                limit, receipt = self._send(fn, call, gas, timeout)
            if receipt["status"] == 1:
                log.debug("%s mined in block %s, gas %s", call, receipt["blockNumber"], receipt["gasUsed"])
                return receipt
            if gas is not None or attempt == RESENDS:
                break
            log.warning("%s reverted on chain in block %s (gas used %s of %s); estimating again on the new state",
                        call, receipt["blockNumber"], receipt["gasUsed"], limit)
        raise TransactionReverted(self._replay_reason(fn, receipt), call)

    def _send(self, fn, call: str, gas: int | None, timeout: float) -> tuple[int, dict]:
        """One signed transaction: (its gas limit, its receipt)."""
        try:
            # a margin over the estimate: state read by the call (cold/warm slots, zero/non-zero) can change
            # between estimation and inclusion
            limit = gas or int(fn.estimate_gas({"from": self.account.address}) * GAS_MARGIN) + 10_000
        except ContractLogicError as exc:
            raise TransactionReverted(_reason(exc), call) from None
        except (Web3Exception, OSError) as exc:
            raise ChainUnavailable(f"{call}: {exc.__class__.__name__}: {exc}") from None
        try:
            # one sender at a time per account in this process (the manager's loop and its API's relayer share
            # one): the pending nonce is read and used before another thread reads it
            with _sender_lock(self.account.address):
                tx = fn.build_transaction({
                    "from": self.account.address,
                    "nonce": self.w3.eth.get_transaction_count(self.account.address, "pending"),
                    "chainId": self.deployments.chain_id,
                    "gas": limit,
                })
                tx_hash = self.w3.eth.send_raw_transaction(self.account.sign_transaction(tx).raw_transaction)
            return limit, self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout)
        except TimeExhausted:
            raise ChainError(f"{call}: no receipt within {timeout:.0f} s") from None
        except ContractLogicError as exc:
            raise TransactionReverted(_reason(exc), call) from None
        except (Web3Exception, OSError) as exc:
            raise ChainUnavailable(f"{call}: {exc.__class__.__name__}: {exc}") from None

    def _replay_reason(self, fn, receipt) -> str:
        """Why a mined transaction reverted: the same call replayed on the parent block."""
        try:
            fn.call({"from": self.account.address, "gas": receipt["gasUsed"] * 2},
                    block_identifier=receipt["blockNumber"] - 1)
        except ContractLogicError as exc:
            return _reason(exc) + f" (mined in block {receipt['blockNumber']}, gas used {receipt['gasUsed']})"
        except Exception:  # noqa: BLE001 - best effort diagnosis only
            pass
        return f"reverted on chain in block {receipt['blockNumber']} (gas used {receipt['gasUsed']})"

    # ------------------------------------------------------------ events
    def block_number(self) -> int:
        try:
            with timed("chain read"):
                return self.w3.eth.block_number
        except (Web3Exception, OSError) as exc:
            raise ChainUnavailable(f"block_number: {exc}") from None

    def events(self, contract: str, names: Iterable[str], from_block: int, to_block: int,
               where: dict[str, Any] | None = None) -> list[Event]:
        """Every event ``names`` of ``contract`` in [from_block, to_block], in chain order; ``where`` filters on
        indexed arguments (a topic filter: the node does the work). Asked in ranges of at most ``LOG_RANGE``
        blocks, as public RPC providers cap ``eth_getLogs`` ranges."""
        c = self.contract(contract)
        found: list[Event] = []
        for name in names:
            event = getattr(c.events, name)
            for start in range(from_block, to_block + 1, LOG_RANGE):
                end = min(start + LOG_RANGE - 1, to_block)
                try:
                    with timed("chain read"):
                        logs = event.get_logs(from_block=start, to_block=end, argument_filters=where)
                except (Web3Exception, OSError) as exc:
                    raise ChainUnavailable(f"get_logs {contract}.{name} [{start}, {end}]: {exc}") from None
                for entry in logs:
                    found.append(Event(name, contract, entry["blockNumber"], entry["logIndex"],
                                       entry["transactionHash"].hex(), dict(entry["args"])))
        found.sort(key=lambda e: (e.block, e.log_index))
        return found

