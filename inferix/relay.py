"""Sponsored transactions through ``JobRelay``: a creator holding IFX but no ETH signs, a relayer sends and pays the
gas, and is repaid ``fee`` IFX (docs/protocol.md, "Sponsored transactions").

The creator signs two EIP-712 messages per request, both with ``eth_signTypedData_v4``:

* the request, in the relay's domain ``{name: "Inferix JobRelay", version: "1", chainId, JobRelay}``:
  ``CreateJob`` (:func:`create_job_typed_data`) or ``Forward`` (:func:`forward_typed_data`: close a job, withdraw
  the refund);
* an IFX permit (:func:`inferix.eip712.permit_typed_data`) with the relay as spender and the request's deadline, for
  ``budget + fee`` (:func:`create_job_permit`) or ``fee`` (:func:`forward_permit`; none when the fee is 0).

The relayer then sends :func:`relay_create_job` or :func:`relay_forward` from its own account.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account

from inferix.eip712 import permit_typed_data

RELAY_DOMAIN_NAME = "Inferix JobRelay"
ZERO_ADDRESS = "0x" + "00" * 20
CLOSE_JOB, WITHDRAW = 1, 2  # JobRelay.CLOSE_JOB, JobRelay.WITHDRAW: the only calls a forward makes
CREATE_JOB_TYPES = {
    "CreateJob": [
        {"name": "manager", "type": "address"},
        {"name": "sceneCid", "type": "string"},
        {"name": "frameStart", "type": "uint32"},
        {"name": "frameEnd", "type": "uint32"},
        {"name": "outputSettings", "type": "string"},
        {"name": "maxPricePerIBM", "type": "uint256"},
        {"name": "budget", "type": "uint256"},
        {"name": "fee", "type": "uint256"},
        {"name": "relayer", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}
FORWARD_TYPES = {
    "Forward": [
        {"name": "call", "type": "uint8"},
        {"name": "jobId", "type": "uint256"},
        {"name": "fee", "type": "uint256"},
        {"name": "relayer", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}
# the permit arguments to pass when no permit is needed (a forward without a fee, or an allowance already given)
NO_PERMIT = (0, b"\x00" * 32, b"\x00" * 32)


@dataclass(frozen=True)
class CreateJobRequest:
    """What the creator signs for ``JobRelay.createJobFor``: ``JobEscrow.createJob``'s arguments, the relayer's
    ``fee`` (IFX wei), the ``relayer`` allowed to send it (:data:`ZERO_ADDRESS`: anyone), the creator's relay
    ``nonce`` (``JobRelay.nonces``) and the last timestamp it is valid at."""

    creator: str
    manager: str
    scene_cid: str
    frame_start: int
    frame_end: int
    output_settings: str
    max_price_per_ibm: int
    budget: int
    fee: int
    nonce: int
    deadline: int
    relayer: str = ZERO_ADDRESS

    def message(self) -> dict:
        return {"manager": self.manager, "sceneCid": self.scene_cid, "frameStart": self.frame_start,
                "frameEnd": self.frame_end, "outputSettings": self.output_settings,
                "maxPricePerIBM": self.max_price_per_ibm, "budget": self.budget, "fee": self.fee,
                "relayer": self.relayer, "nonce": self.nonce, "deadline": self.deadline}


@dataclass(frozen=True)
class ForwardRequest:
    """What the creator signs for ``JobRelay.forwardFor``: ``call`` is :data:`CLOSE_JOB` (``job_id`` the job) or
    :data:`WITHDRAW` (everything the escrow owes the creator; ``job_id`` 0)."""

    creator: str
    call: int
    job_id: int
    fee: int
    nonce: int
    deadline: int
    relayer: str = ZERO_ADDRESS

    def __post_init__(self) -> None:
        if self.call not in (CLOSE_JOB, WITHDRAW):
            raise ValueError(f"a forward closes a job ({CLOSE_JOB}) or withdraws ({WITHDRAW}), not {self.call}")

    def message(self) -> dict:
        return {"call": self.call, "jobId": self.job_id, "fee": self.fee, "relayer": self.relayer,
                "nonce": self.nonce, "deadline": self.deadline}


def relay_domain(chain_id: int, relay: str) -> dict:
    return {"name": RELAY_DOMAIN_NAME, "version": "1", "chainId": chain_id, "verifyingContract": relay}


def _wallet(message: dict, uints: tuple[str, ...]) -> dict:
    # uint256 as decimal strings, as for the permit: wallets and eth-account both accept them
    return {k: str(v) if k in uints else v for k, v in message.items()}


def create_job_typed_data(chain_id: int, relay: str, request: CreateJobRequest) -> dict:
    """The ``CreateJob`` request as a wallet signs it (``eth_signTypedData_v4``)."""
    return {"domain": relay_domain(chain_id, relay), "types": CREATE_JOB_TYPES, "primaryType": "CreateJob",
            "message": _wallet(request.message(), ("maxPricePerIBM", "budget", "fee", "nonce", "deadline"))}


def forward_typed_data(chain_id: int, relay: str, request: ForwardRequest) -> dict:
    """The ``Forward`` request (close a job, withdraw) as a wallet signs it (``eth_signTypedData_v4``)."""
    return {"domain": relay_domain(chain_id, relay), "types": FORWARD_TYPES, "primaryType": "Forward",
            "message": _wallet(request.message(), ("jobId", "fee", "nonce", "deadline"))}


def create_job_permit(chain_id: int, token: str, relay: str, request: CreateJobRequest, token_nonce: int) -> dict:
    """The IFX permit that goes with a ``CreateJob`` request: spender the relay, ``budget + fee``, its deadline
    (``token_nonce``: ``IFXToken.nonces(creator)``)."""
    return permit_typed_data(chain_id, token, request.creator, relay, request.budget + request.fee, token_nonce,
                             request.deadline)


def forward_permit(chain_id: int, token: str, relay: str, request: ForwardRequest, token_nonce: int) -> dict | None:
    """The IFX permit that goes with a ``Forward`` request: spender the relay, ``fee``; ``None`` without a fee."""
    if request.fee == 0:
        return None
    return permit_typed_data(chain_id, token, request.creator, relay, request.fee, token_nonce, request.deadline)


def sign_create_job(private_key: bytes | str, chain_id: int, relay: str, request: CreateJobRequest) -> bytes:
    """The creator's 65-byte signature (r ‖ s ‖ v) of a ``CreateJob`` request, as ``JobRelay.createJobFor`` checks
    it."""
    return bytes(Account.sign_typed_data(private_key, relay_domain(chain_id, relay), CREATE_JOB_TYPES,
                                         request.message()).signature)


def sign_forward(private_key: bytes | str, chain_id: int, relay: str, request: ForwardRequest) -> bytes:
    """The creator's 65-byte signature of a ``Forward`` request, as ``JobRelay.forwardFor`` checks it."""
    return bytes(Account.sign_typed_data(private_key, relay_domain(chain_id, relay), FORWARD_TYPES,
                                         request.message()).signature)


def split_signature(signature: bytes | str | None) -> tuple[int, bytes, bytes]:
    """A 65-byte permit signature (bytes or 0x-hex, as wallets return it) as ``(v, r, s)``; ``None``:
    :data:`NO_PERMIT`."""
    if signature is None:
        return NO_PERMIT
    if isinstance(signature, str):
        signature = bytes.fromhex(signature.removeprefix("0x"))
    if len(signature) != 65:
        raise ValueError(f"a permit signature has 65 bytes, not {len(signature)}")
    return signature[64], signature[:32], signature[32:64]


def create_job_args(request: CreateJobRequest, signature: bytes, permit: bytes | str | None) -> tuple:
    """``JobRelay.createJobFor``'s arguments."""
    return (request.creator, request.manager, request.scene_cid, request.frame_start, request.frame_end,
            request.output_settings, request.max_price_per_ibm, request.budget, request.fee, request.relayer,
            request.deadline, bytes(signature), *split_signature(permit))


def forward_args(request: ForwardRequest, signature: bytes, permit: bytes | str | None = None) -> tuple:
    """``JobRelay.forwardFor``'s arguments."""
    return (request.creator, request.call, request.job_id, request.fee, request.relayer, request.deadline,
            bytes(signature), *split_signature(permit))


def relay_create_job(relayer_chain, order: CreateJobRequest, signature: bytes,
                     permit: bytes | str | None) -> tuple[int, dict]:
    """Sends ``createJobFor`` from the relayer's account (``relayer_chain``: an :class:`inferix.chain.Chain` with
    the relayer's key). ``permit``: the creator's signature of :func:`create_job_permit` (``None`` when it already
    approved the relay). A refused request raises :class:`inferix.chain.TransactionReverted` before anything is sent
    (the relayer pays no gas). Returns ``(job id, receipt)``."""
    from web3.logs import DISCARD

    receipt = relayer_chain.transact("JobRelay", "createJobFor", *create_job_args(order, signature, permit))
    relayed = relayer_chain.contract("JobRelay").events.Relayed().process_receipt(receipt, errors=DISCARD)
    return relayed[0]["args"]["jobId"], receipt


def relay_forward(relayer_chain, order: ForwardRequest, signature: bytes, permit: bytes | str | None = None) -> dict:
    """Sends ``forwardFor`` (close a job, withdraw the creator's refund) from the relayer's account; ``permit``: the
    creator's signature of :func:`forward_permit` (``None`` without a fee or with an allowance). Returns the
    receipt."""
    return relayer_chain.transact("JobRelay", "forwardFor", *forward_args(order, signature, permit))


def relay_nonce(chain, creator: str) -> int:
    """The creator's next relay nonce (``JobRelay.nonces``)."""
    return chain.call("JobRelay", "nonces", creator)
