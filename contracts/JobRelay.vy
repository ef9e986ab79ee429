# pragma version ~=0.4.3
"""
@title Inferix job relay: sponsored job creation, close and withdrawal
@custom:contract-name JobRelay
@license MIT
@notice The job escrow's trusted forwarder (ERC-2771). A creator who holds
        IFX but no ETH signs an EIP-712 request (and an EIP-2612 permit of
        the IFX it spends); a relayer sends the transaction, pays the gas
        and is repaid `fee` IFX from the creator. The relay verifies the
        creator's signature, consumes the creator's nonce and calls the
        escrow with the creator's address appended to the calldata, which
        the escrow reads as the caller (`JobEscrow._sender`). It forwards
        exactly three calls: `createJob` (`createJobFor`), and `closeJob`
        or `withdraw` (`forwardFor`); nothing else a creator can do in the
        escrow is reachable through it.

        `CreateJob(manager, sceneCid, frameStart, frameEnd, outputSettings,
        maxPricePerIBM, budget, fee, relayer, nonce, deadline)`: the relay
        pulls `fee` to the relayer and `budget` to itself, approves the
        escrow for exactly `budget` and creates the job, whose creator is
        the signer; the escrow pulls the budget from the relay.
        `Forward(call, jobId, fee, relayer, nonce, deadline)`: the relay
        closes the job or withdraws the signer's refund (paid by the escrow
        to the signer), then pulls `fee` to the relayer, so a withdrawal's
        fee can come out of the refund it pays.

        `relayer`: the only address allowed to send the request (and take
        its fee), or the zero address for anyone. Each request is valid
        once (the signer's nonce, in order) and until `deadline`.
@custom:security The relay holds neither IFX nor allowances between
        transactions: it pulls the budget and hands it to the escrow in
        the same call, and asserts the escrow's allowance is back to 0.
        It pulls IFX only from the signer of the request it executes, and
        only the amounts signed, so an allowance a creator left to the
        relay is usable only by that creator's own signed requests.
"""

from ethereum.ercs import IERC20
from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator as eip712

initializes: eip712

exports: eip712.eip712Domain


interface IEscrowForRelay:
    def token() -> address: view
    def trustedForwarder() -> address: view


# @dev The calls `forwardFor` may make for a creator.
CLOSE_JOB: public(constant(uint8)) = 1
WITHDRAW: public(constant(uint8)) = 2

CREATE_JOB_TYPEHASH: public(constant(bytes32)) = keccak256(
    "CreateJob(address manager,string sceneCid,uint32 frameStart,uint32 frameEnd,string outputSettings,uint256 maxPricePerIBM,uint256 budget,uint256 fee,address relayer,uint256 nonce,uint256 deadline)"
)
FORWARD_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Forward(uint8 call,uint256 jobId,uint256 fee,address relayer,uint256 nonce,uint256 deadline)"
)

token: public(immutable(IERC20))
deployer: immutable(address)
# @dev The job escrow (set once by `wire`: the escrow's constructor takes this relay's address).
escrow: public(address)
# @dev Each creator's next request nonce.
nonces: public(HashMap[address, uint256])


event Relayed:
    creator: indexed(address)
    relayer: indexed(address)
    jobId: indexed(uint256)
    fee: uint256
    nonce: uint256

event Forwarded:
    creator: indexed(address)
    relayer: indexed(address)
    jobId: indexed(uint256)
    action: uint8
    fee: uint256
    nonce: uint256


@deploy
def __init__(token_: IERC20):
    """
    @param token_ The IFX token (creators' budgets and relayers' fees).
    """
    assert token_.address != empty(address), "relay: zero token"
    eip712.__init__("Inferix JobRelay", "1")
    token = token_
    deployer = msg.sender


@external
def wire(escrow_: address):
    """
    @dev One-time wiring by the deployer: the job escrow, which must
         trust this relay and hold the same token.
    @param escrow_ The `JobEscrow`.
    """
    assert msg.sender == deployer and self.escrow == empty(address), "relay: wired"
    assert escrow_ != empty(address), "relay: zero address"
    assert staticcall IEscrowForRelay(escrow_).trustedForwarder() == self, "relay: escrow does not trust the relay"
    assert staticcall IEscrowForRelay(escrow_).token() == token.address, "relay: another token"
    self.escrow = escrow_


# ---------------------------------------------------------------- relayed calls


@external
@nonreentrant
def createJobFor(
    creator: address,
    manager: address,
    sceneCid: String[100],
    frameStart: uint32,
    frameEnd: uint32,
    outputSettings: String[200],
    maxPricePerIBM: uint256,
    budget: uint256,
    fee: uint256,
    relayer: address,
    deadline: uint256,
    signature: Bytes[65],
    permitV: uint8,
    permitR: bytes32,
    permitS: bytes32,
) -> uint256:
    """
    @dev Creates `creator`'s job from its signed `CreateJob` request:
         `creator` pays `budget` (locked in the escrow) + `fee` (to the
         caller). The creator's permit (spender this relay, value
         `budget + fee`, the request's deadline) is applied first; a
         permit already used is ignored when the allowance is there anyway.
    @param creator The signer, recorded as the job's creator.
    @param manager See `JobEscrow.createJob`.
    @param sceneCid See `JobEscrow.createJob`.
    @param frameStart See `JobEscrow.createJob`.
    @param frameEnd See `JobEscrow.createJob`.
    @param outputSettings See `JobEscrow.createJob`.
    @param maxPricePerIBM See `JobEscrow.createJob`.
    @param budget See `JobEscrow.createJob`.
    @param fee IFX wei paid to the caller.
    @param relayer The caller the request names, or the zero address for anyone.
    @param deadline The last timestamp the request (and its permit) is valid at.
    @param signature The creator's EIP-712 signature (65 bytes, or 64 as EIP-2098).
    @param permitV The permit's v.
    @param permitR The permit's r.
    @param permitS The permit's s.
    @return uint256 The job id.
    """
    escrow_: address = self._escrow()
    nonce: uint256 = self._use(creator, relayer, deadline, signature, keccak256(abi_encode(
        CREATE_JOB_TYPEHASH, manager, keccak256(sceneCid), frameStart, frameEnd, keccak256(outputSettings),
        maxPricePerIBM, budget, fee, relayer, self.nonces[creator], deadline,
    )))
    self._permit(creator, budget + fee, deadline, permitV, permitR, permitS)
    self._fee(creator, fee)
    assert extcall token.transferFrom(creator, self, budget), "relay: transfer failed"
    assert extcall token.approve(escrow_, budget), "relay: approve failed"
    response: Bytes[32] = raw_call(
        escrow_,
        concat(
            abi_encode(
                manager, sceneCid, frameStart, frameEnd, outputSettings, maxPricePerIBM, budget,
                method_id=method_id("createJob(address,string,uint32,uint32,string,uint256,uint256)"),
            ),
            convert(creator, bytes20),
        ),
        max_outsize=32,
    )
    jobId: uint256 = abi_decode(response, uint256)
    # the escrow pulled exactly the budget: the relay keeps no allowance (nor IFX)
    assert staticcall token.allowance(self, escrow_) == 0, "relay: allowance left"
    log Relayed(creator=creator, relayer=msg.sender, jobId=jobId, fee=fee, nonce=nonce)
    return jobId


@external
@nonreentrant
def forwardFor(
    creator: address,
    action: uint8,
    jobId: uint256,
    fee: uint256,
    relayer: address,
    deadline: uint256,
    signature: Bytes[65],
    permitV: uint8,
    permitR: bytes32,
    permitS: bytes32,
):
    """
    @dev Closes `creator`'s job (`CLOSE_JOB`) or withdraws everything the
         escrow owes `creator` (`WITHDRAW`, paid to `creator`) from its
         signed `Forward` request, then pulls `fee` from `creator` to the
         caller (after the call: a withdrawal's fee can come out of its
         refund). With a fee, the creator's permit (spender this relay,
         value `fee`, the request's deadline) is applied just before the
         fee is pulled; a permit already used is ignored when the
         allowance is there anyway.
    @param creator The signer.
    @param action `CLOSE_JOB` (1) or `WITHDRAW` (2): the typed data's `call`.
    @param jobId The job to close (0 for a withdrawal, which takes none).
    @param fee IFX wei paid to the caller (0: no permit needed).
    @param relayer The caller the request names, or the zero address for anyone.
    @param deadline The last timestamp the request (and its permit) is valid at.
    @param signature The creator's EIP-712 signature.
    @param permitV The permit's v (ignored without a fee).
    @param permitR The permit's r.
    @param permitS The permit's s.
    """
    assert action == CLOSE_JOB or action == WITHDRAW, "relay: unknown call"
    escrow_: address = self._escrow()
    nonce: uint256 = self._use(creator, relayer, deadline, signature, keccak256(abi_encode(
        FORWARD_TYPEHASH, action, jobId, fee, relayer, self.nonces[creator], deadline,
    )))
    if action == CLOSE_JOB:
        raw_call(
            escrow_, concat(abi_encode(jobId, method_id=method_id("closeJob(uint256)")), convert(creator, bytes20))
        )
    else:
        raw_call(escrow_, concat(method_id("withdraw()"), convert(creator, bytes20)))
    if fee > 0:
        self._permit(creator, fee, deadline, permitV, permitR, permitS)
        self._fee(creator, fee)
    log Forwarded(creator=creator, relayer=msg.sender, jobId=jobId, action=action, fee=fee, nonce=nonce)


# ---------------------------------------------------------------- views


@view
@external
def createJobDigest(
    manager: address,
    sceneCid: String[100],
    frameStart: uint32,
    frameEnd: uint32,
    outputSettings: String[200],
    maxPricePerIBM: uint256,
    budget: uint256,
    fee: uint256,
    relayer: address,
    nonce: uint256,
    deadline: uint256,
) -> bytes32:
    """
    @dev The EIP-712 digest a creator signs for `createJobFor`.
    @return bytes32 The digest (EIP-712: 0x1901, the domain separator, the struct hash).
    """
    return eip712._hash_typed_data_v4(keccak256(abi_encode(
        CREATE_JOB_TYPEHASH, manager, keccak256(sceneCid), frameStart, frameEnd, keccak256(outputSettings),
        maxPricePerIBM, budget, fee, relayer, nonce, deadline,
    )))


@view
@external
def forwardDigest(action: uint8, jobId: uint256, fee: uint256, relayer: address, nonce: uint256,
                  deadline: uint256) -> bytes32:
    """
    @dev The EIP-712 digest a creator signs for `forwardFor`.
    @return bytes32 The digest.
    """
    return eip712._hash_typed_data_v4(keccak256(abi_encode(FORWARD_TYPEHASH, action, jobId, fee, relayer, nonce,
                                                           deadline)))


@view
@external
def DOMAIN_SEPARATOR() -> bytes32:
    """
    @dev The EIP-712 domain separator of the requests.
    """
    return eip712._domain_separator_v4()


# ---------------------------------------------------------------- internal


@internal
def _use(creator: address, relayer: address, deadline: uint256, signature: Bytes[65], structHash: bytes32) -> uint256:
    # the request is on time, sent by the relayer it names, signed by `creator` over its current nonce: consumed
    assert block.timestamp <= deadline, "relay: request expired"
    assert relayer == empty(address) or relayer == msg.sender, "relay: not the named relayer"
    signer: address = ecdsa._recover_sig(eip712._hash_typed_data_v4(structHash), signature)
    assert signer == creator and signer != empty(address), "relay: invalid signature"
    nonce: uint256 = self.nonces[creator]
    self.nonces[creator] = nonce + 1
    return nonce


@view
@internal
def _escrow() -> address:
    escrow_: address = self.escrow
    assert escrow_ != empty(address), "relay: not wired"
    return escrow_


@internal
def _permit(owner: address, amount: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32):
    # ignore the permit's outcome: a front-run permit leaves the allowance in place, and a missing allowance makes
    # transferFrom fail clearly
    permitted: bool = raw_call(
        token.address,
        abi_encode(owner, self, amount, deadline, v, r, s, method_id=method_id("permit(address,address,uint256,uint256,uint8,bytes32,bytes32)")),
        revert_on_failure=False,
    )


@internal
def _fee(creator: address, fee: uint256):
    if fee > 0:
        assert extcall token.transferFrom(creator, msg.sender, fee), "relay: transfer failed"
