"""Every EIP-712 typed data of the protocol, signed exactly as the contracts check it. (Oracle votes are committed
and revealed on chain, not signed: see docs/protocol.md.)

* The IFX token's EIP-2612 ``Permit`` (creators): domain ``{name: "Inferix", version: "1", chainId, token}``.
"""

from __future__ import annotations

from eth_account import Account

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
