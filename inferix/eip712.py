"""Every EIP-712 typed data of the protocol, signed exactly as the contracts check it.

* Proof of render (oracles): the domain is ``{name: "Inferix Proof of Render", version: "1", chainId,
  verifyingContract}``, so a signature is worthless on another chain or another deployment. A verdict binds the task,
  its attempt number (a re-queued task starts a new attempt) and the result CID. (IB is measured on chain by
  benchmark tasks; nobody signs it.)
* The IFX token's EIP-2612 ``Permit`` (creators): domain ``{name: "Inferix", version: "1", chainId, token}``.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

DOMAIN_NAME = "Inferix Proof of Render"
DOMAIN_VERSION = "1"

VERDICT_TYPES = {
    "Verdict": [
        {"name": "taskId", "type": "uint256"},
        {"name": "attempt", "type": "uint256"},
        {"name": "resultCid", "type": "string"},
        {"name": "passed", "type": "bool"},
        {"name": "score", "type": "uint16"},
    ]
}

TOKEN_DOMAIN_NAME = "Inferix"
PERMIT_TYPES = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}

MAX_SCORE = 10_000


@dataclass(frozen=True)
class Verdict:
    """An oracle's verdict on one attempt of one task; ``score`` is in basis points."""

    task_id: int
    attempt: int
    result_cid: str
    passed: bool
    score: int

    def __post_init__(self) -> None:
        if not 0 <= self.score <= MAX_SCORE:
            raise ValueError(f"score must be within 0..{MAX_SCORE}, got {self.score}")
        if not self.result_cid:
            raise ValueError("result CID is empty")

    def message(self) -> dict:
        return {
            "taskId": self.task_id,
            "attempt": self.attempt,
            "resultCid": self.result_cid,
            "passed": self.passed,
            "score": self.score,
        }


def domain(chain_id: int, contract: str) -> dict:
    """The EIP-712 domain of a proof-of-render deployment."""
    return {
        "name": DOMAIN_NAME,
        "version": DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": contract,
    }


def verdict_digest(chain_id: int, contract: str, verdict: Verdict) -> bytes:
    """The 32-byte digest the contract recovers signers from."""
    signable = encode_typed_data(domain(chain_id, contract), VERDICT_TYPES, verdict.message())
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_verdict(private_key: bytes | str, chain_id: int, contract: str, verdict: Verdict) -> bytes:
    """A 65-byte ``r || s || v`` signature of ``verdict``."""
    signed = Account.sign_typed_data(private_key, domain(chain_id, contract), VERDICT_TYPES, verdict.message())
    return bytes(signed.signature)


def permit_typed_data(chain_id: int, token: str, owner: str, spender: str, value: int, nonce: int,
                      deadline: int) -> dict:
    """The IFX token's EIP-2612 permit as a wallet signs it (``eth_signTypedData_v4``; uint256 as decimal strings,
    which wallets and eth-account both accept)."""
    return {"domain": {"name": TOKEN_DOMAIN_NAME, "version": "1", "chainId": chain_id, "verifyingContract": token},
            "types": PERMIT_TYPES, "primaryType": "Permit",
            "message": {"owner": owner, "spender": spender, "value": str(value), "nonce": str(nonce),
                        "deadline": str(deadline)}}


def sign_permit(private_key: bytes | str, chain_id: int, token: str, owner: str, spender: str, value: int, nonce: int,
                deadline: int):
    """A signed permit (``v``, ``r``, ``s``, ``signature``) for ``IFXToken.permit`` / ``createJobWithPermit``."""
    data = permit_typed_data(chain_id, token, owner, spender, value, nonce, deadline)
    message = {**data["message"], "value": value, "nonce": nonce, "deadline": deadline}
    return Account.sign_typed_data(private_key, data["domain"], PERMIT_TYPES, message)
