"""Every EIP-712 typed data of the protocol, signed exactly as the contracts check it. (On the single-task path,
oracle votes are committed and revealed on chain by each member, not signed: see docs/protocol.md.)

* The IFX token's EIP-2612 ``Permit`` (creators): domain ``{name: "Inferix", version: "1", chainId, token}``.
* The batch lane's ``Accept`` (a worker accepts its tasks of a batch) and ``VoteCommitment`` (a committee member
  commits to its verdict bitmap, relayed by anyone): domain ``{name: "Inferix Batches", version: "1", chainId,
  BatchCommittee}``.
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

BATCH_DOMAIN_NAME = "Inferix Batches"
ACCEPT_TYPES = {
    "Accept": [
        {"name": "batchId", "type": "bytes32"},
        {"name": "leaves", "type": "bytes32"},
        {"name": "renderWindow", "type": "uint256"},
        {"name": "acceptBy", "type": "uint256"},
    ]
}
COMMITMENT_TYPES = {
    "VoteCommitment": [
        {"name": "batchId", "type": "bytes32"},
        {"name": "commitment", "type": "bytes32"},
    ]
}

MAX_SCORE = 10_000


def _batch_domain(chain_id: int, committee: str) -> dict:
    return {"name": BATCH_DOMAIN_NAME, "version": "1", "chainId": chain_id, "verifyingContract": committee}


def acceptance_typed_data(chain_id: int, committee: str, batch_id: bytes, leaves: bytes, render_window: int,
                          accept_by: int) -> dict:
    """A worker's acceptance of its leaves of a batch, to be rendered within ``render_window`` seconds of the post,
    as a wallet signs it (``eth_signTypedData_v4``)."""
    return {"domain": _batch_domain(chain_id, committee), "types": ACCEPT_TYPES, "primaryType": "Accept",
            "message": {"batchId": "0x" + batch_id.hex(), "leaves": "0x" + leaves.hex(),
                        "renderWindow": str(render_window), "acceptBy": str(accept_by)}}


def sign_acceptance(private_key: bytes | str, chain_id: int, committee: str, batch_id: bytes, leaves: bytes,
                    render_window: int, accept_by: int) -> bytes:
    """The 65-byte signature (r ‖ s ‖ v) of a worker's acceptance, as ``BatchLane.postBatch`` checks it."""
    message = {"batchId": batch_id, "leaves": leaves, "renderWindow": render_window, "acceptBy": accept_by}
    return bytes(Account.sign_typed_data(private_key, _batch_domain(chain_id, committee), ACCEPT_TYPES,
                                         message).signature)


def acceptance_signer(chain_id: int, committee: str, batch_id: bytes, leaves: bytes, render_window: int,
                      accept_by: int, signature: bytes) -> str:
    """Who signed an acceptance (as ``BatchCommittee.acceptanceSigner`` recovers it); ``ValueError`` if malformed."""
    from eth_account.messages import encode_typed_data

    message = {"batchId": batch_id, "leaves": leaves, "renderWindow": render_window, "acceptBy": accept_by}
    try:
        encoded = encode_typed_data(_batch_domain(chain_id, committee), ACCEPT_TYPES, message)
        return Account.recover_message(encoded, signature=signature)
    except Exception as exc:  # noqa: BLE001 - eth-account raises several types for a bad signature
        raise ValueError(f"not a valid signature: {exc}") from None


def sign_vote_commitment(private_key: bytes | str, chain_id: int, committee: str, batch_id: bytes,
                         commitment: bytes) -> bytes:
    """A committee member's signature of its commitment (``BatchCommittee.commitVotes``, relayed by anyone)."""
    message = {"batchId": batch_id, "commitment": commitment}
    return bytes(Account.sign_typed_data(private_key, _batch_domain(chain_id, committee), COMMITMENT_TYPES,
                                         message).signature)


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
