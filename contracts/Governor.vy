# pragma version ~=0.4.3
"""
@title Inferix Governor: IFX holders decide, the timelock executes
@custom:contract-name Governor
@license MIT
@notice Compound's GovernorBravo / OpenZeppelin's Governor state machine on
        `VotePower` (locked IFX, bonded stake and vesting escrows at half
        weight, checkpointed, read in timestamps):

        propose -> `votingDelay` -> vote (for / against / abstain, also by
        EIP-712 signature) for `votingPeriod` -> succeeded when for > against
        and for + abstain reach the quorum -> queued in the timelock, the
        only proposer there -> executable after max(the timelock's minimum
        delay, Staking's unbonding period), so a staker who opposes a change
        can leave before it takes effect.

        Security proposals (any call flagged with `setSecurityCall`, and
        every call to the Governor or the timelock themselves) also give
        stakers a veto while queued: bonded stake (per staker, not
        delegated, read when the proposal was queued) reaching `vetoBps` of
        all bonded stake cancels it in the timelock.
@custom:security The timelock's proposer and canceller roles belong to this
        contract alone (the deploy script checks it): nothing reaches the
        protocol's setters without a vote. Parameters move only through a
        proposal, within the bounds below.
"""

from .interfaces import IVotePower
from .modules import governed
from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator as eip712

initializes: governed
initializes: eip712

exports: (governed.governance, governed.wired, eip712.eip712Domain)


interface ITimelock:
    def schedule_batch(targets: DynArray[address, MAX_ACTIONS], amounts: DynArray[uint256, MAX_ACTIONS], payloads: DynArray[Bytes[1_024], MAX_ACTIONS], predecessor: bytes32, salt: bytes32, delay: uint256): nonpayable
    def execute_batch(targets: DynArray[address, MAX_ACTIONS], amounts: DynArray[uint256, MAX_ACTIONS], payloads: DynArray[Bytes[1_024], MAX_ACTIONS], predecessor: bytes32, salt: bytes32): payable
    def hash_operation_batch(targets: DynArray[address, MAX_ACTIONS], amounts: DynArray[uint256, MAX_ACTIONS], payloads: DynArray[Bytes[1_024], MAX_ACTIONS], predecessor: bytes32, salt: bytes32) -> bytes32: view
    def cancel(id: bytes32): nonpayable
    def get_minimum_delay() -> uint256: view
    def is_operation_done(id: bytes32) -> bool: view


interface IUnbonding:
    def unbondingPeriod() -> uint256: view


MAX_ACTIONS: constant(uint256) = 10
BPS: constant(uint256) = 10_000
IFX: constant(uint256) = 10**18

# @dev Support values, as in GovernorBravo.
VOTE_AGAINST: public(constant(uint8)) = 0
VOTE_FOR: public(constant(uint8)) = 1
VOTE_ABSTAIN: public(constant(uint8)) = 2

# @dev Proposal states (GovernorBravo's, plus Vetoed).
PENDING: public(constant(uint8)) = 0
ACTIVE: public(constant(uint8)) = 1
CANCELED: public(constant(uint8)) = 2
DEFEATED: public(constant(uint8)) = 3
SUCCEEDED: public(constant(uint8)) = 4
QUEUED: public(constant(uint8)) = 5
EXPIRED: public(constant(uint8)) = 6
EXECUTED: public(constant(uint8)) = 7
VETOED: public(constant(uint8)) = 8

# @dev A succeeded proposal not queued within this long expires.
QUEUE_GRACE: public(constant(uint256)) = 14 * 86400

# @dev keccak256("Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)")
BALLOT_TYPEHASH: public(constant(bytes32)) = keccak256("Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)")


struct Proposal:
    proposer: address
    snapshot: uint256
    deadline: uint256
    forVotes: uint256
    againstVotes: uint256
    abstainVotes: uint256
    security: bool
    queuedAt: uint256
    eta: uint256
    vetoVotes: uint256
    canceled: bool
    vetoed: bool
    operation: bytes32


votes: public(immutable(IVotePower))
timelock: public(immutable(ITimelock))
staking: public(immutable(IUnbonding))

proposals: public(HashMap[uint256, Proposal])
hasVoted: public(HashMap[uint256, HashMap[address, bool]])
hasVetoed: public(HashMap[uint256, HashMap[address, bool]])
# @dev Ballot signature nonces, per voter.
nonces: public(HashMap[address, uint256])
# @dev Calls (target, selector) that make a proposal a security proposal.
securityCall: public(HashMap[address, HashMap[bytes4, bool]])
proposalCount: public(uint256)

votingDelay: public(uint256)
votingPeriod: public(uint256)
proposalThreshold: public(uint256)
quorumBps: public(uint256)
quorumFloor: public(uint256)
vetoBps: public(uint256)


event ProposalCreated:
    proposalId: indexed(uint256)
    proposer: indexed(address)
    targets: DynArray[address, MAX_ACTIONS]
    values: DynArray[uint256, MAX_ACTIONS]
    calldatas: DynArray[Bytes[1_024], MAX_ACTIONS]
    voteStart: uint256
    voteEnd: uint256
    description: String[4_096]
    security: bool

event VoteCast:
    voter: indexed(address)
    proposalId: indexed(uint256)
    support: uint8
    weight: uint256
    reason: String[256]

event ProposalQueued:
    proposalId: indexed(uint256)
    eta: uint256
    operation: bytes32

event ProposalExecuted:
    proposalId: indexed(uint256)

event ProposalCanceled:
    proposalId: indexed(uint256)

event VetoCast:
    staker: indexed(address)
    proposalId: indexed(uint256)
    weight: uint256
    vetoVotes: uint256
    needed: uint256

event ProposalVetoed:
    proposalId: indexed(uint256)

event SecurityCallSet:
    target: indexed(address)
    selector: bytes4
    security: bool

event ParameterChanged:
    name: String[32]
    newValue: uint256


@deploy
def __init__(
    votes_: IVotePower,
    timelock_: ITimelock,
    staking_: IUnbonding,
    votingDelay_: uint256,
    votingPeriod_: uint256,
    proposalThreshold_: uint256,
    quorumBps_: uint256,
    quorumFloor_: uint256,
    vetoBps_: uint256,
):
    """
    @param votes_ The voting power contract.
    @param timelock_ The timelock this Governor alone proposes to; it also governs this contract's parameters.
    @param staking_ Staking (its unbonding period bounds the execution delay from below).
    @param votingDelay_ Seconds from proposal to the snapshot and the start of the vote.
    @param votingPeriod_ Seconds the vote lasts.
    @param proposalThreshold_ Votes (IFX wei) a proposer needs.
    @param quorumBps_ Share of all voting power at the snapshot that must vote for or abstain.
    @param quorumFloor_ The quorum's floor in votes, whatever the share gives.
    @param vetoBps_ Share of all bonded stake whose veto cancels a queued security proposal.
    """
    governed.__init__(timelock_.address)
    eip712.__init__("Inferix Governor", "1")
    votes = votes_
    timelock = timelock_
    staking = staking_
    self._setVotingDelay(votingDelay_)
    self._setVotingPeriod(votingPeriod_)
    self._setThreshold(proposalThreshold_)
    self._setQuorumBps(quorumBps_)
    self._setQuorumFloor(quorumFloor_)
    self._setVetoBps(vetoBps_)


@external
def wire(targets: DynArray[address, 32], selectors: DynArray[bytes4, 32]):
    """
    @dev Deployer, once: flags the security calls of the deployment (slash
         rates, the arbiter, the committee's size, license revocation, ...).
    @param targets The contracts.
    @param selectors The functions, pairwise with `targets`.
    """
    governed._wire_once()
    assert len(targets) == len(selectors), "governor: length mismatch"
    for i: uint256 in range(32):
        if i == len(targets):
            break
        self._setSecurityCall(targets[i], selectors[i], True)


# ---------------------------------------------------------------- proposals


@view
@external
def hashProposal(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[1_024], MAX_ACTIONS],
    descriptionHash: bytes32,
) -> uint256:
    """
    @dev A proposal's id: keccak256(abi.encode(targets, values, calldatas, descriptionHash)).
    """
    return self._hash(targets, values, calldatas, descriptionHash)


@external
def propose(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[1_024], MAX_ACTIONS],
    description: String[4_096],
) -> uint256:
    """
    @dev Opens a proposal; the caller needs `proposalThreshold` votes one
         second ago. The same actions with the same description can be
         proposed once.
    @return uint256 The proposal id.
    """
    now: uint256 = block.timestamp
    assert staticcall votes.getPastVotes(msg.sender, now - 1) >= self.proposalThreshold, "governor: proposer votes below threshold"
    assert len(targets) > 0, "governor: empty proposal"
    assert len(targets) == len(values) and len(targets) == len(calldatas), "governor: length mismatch"
    proposalId: uint256 = self._hash(targets, values, calldatas, keccak256(description))
    assert self.proposals[proposalId].snapshot == 0, "governor: proposal exists"
    security: bool = False
    for i: uint256 in range(MAX_ACTIONS):
        if i == len(targets):
            break
        assert targets[i] != empty(address), "governor: zero target"
        if self._isSecurity(targets[i], calldatas[i]):
            security = True
    snapshot: uint256 = now + self.votingDelay
    deadline: uint256 = snapshot + self.votingPeriod
    self.proposals[proposalId] = Proposal(
        proposer=msg.sender, snapshot=snapshot, deadline=deadline, forVotes=0, againstVotes=0, abstainVotes=0,
        security=security, queuedAt=0, eta=0, vetoVotes=0, canceled=False, vetoed=False,
        operation=staticcall timelock.hash_operation_batch(targets, values, calldatas, empty(bytes32), convert(proposalId, bytes32)),
    )
    self.proposalCount += 1
    log ProposalCreated(
        proposalId=proposalId, proposer=msg.sender, targets=targets, values=values, calldatas=calldatas,
        voteStart=snapshot, voteEnd=deadline, description=description, security=security,
    )
    return proposalId


@view
@external
def state(proposalId: uint256) -> uint8:
    """
    @dev PENDING 0, ACTIVE 1, CANCELED 2, DEFEATED 3, SUCCEEDED 4, QUEUED 5,
         EXPIRED 6, EXECUTED 7, VETOED 8.
    """
    return self._state(proposalId)


@view
@external
def quorum(timepoint: uint256) -> uint256:
    """
    @dev Votes (for + abstain) a proposal whose snapshot is `timepoint` needs.
    """
    return self._quorum(timepoint)


@external
def castVote(proposalId: uint256, support: uint8) -> uint256:
    """
    @dev Votes with the caller's voting power at the proposal's snapshot.
    @return uint256 The weight counted.
    """
    return self._castVote(proposalId, msg.sender, support, "")


@external
def castVoteWithReason(proposalId: uint256, support: uint8, reason: String[256]) -> uint256:
    """
    @dev `castVote` with a reason, logged.
    """
    return self._castVote(proposalId, msg.sender, support, reason)


@external
def castVoteBySig(proposalId: uint256, support: uint8, voter: address, signature: Bytes[65]) -> uint256:
    """
    @dev Relays `voter`'s EIP-712 ballot (`Ballot(proposalId, support,
         voter, nonce)`); each signature counts once (the nonce moves on).
    @return uint256 The weight counted.
    """
    nonce: uint256 = self.nonces[voter]
    digest: bytes32 = eip712._hash_typed_data_v4(keccak256(abi_encode(BALLOT_TYPEHASH, proposalId, support, voter, nonce)))
    signer: address = ecdsa._recover_sig(digest, signature)
    assert signer == voter and signer != empty(address), "governor: invalid signature"
    self.nonces[voter] = nonce + 1
    return self._castVote(proposalId, voter, support, "")


@external
def queue(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[1_024], MAX_ACTIONS],
    descriptionHash: bytes32,
) -> uint256:
    """
    @dev Anyone: schedules a succeeded proposal in the timelock with a
         delay of max(the timelock's minimum, Staking's unbonding period).
    @return uint256 The proposal id.
    """
    proposalId: uint256 = self._hash(targets, values, calldatas, descriptionHash)
    assert self._state(proposalId) == SUCCEEDED, "governor: proposal not successful"
    delay: uint256 = max(staticcall timelock.get_minimum_delay(), staticcall staking.unbondingPeriod())
    extcall timelock.schedule_batch(targets, values, calldatas, empty(bytes32), convert(proposalId, bytes32), delay)
    eta: uint256 = block.timestamp + delay
    self.proposals[proposalId].queuedAt = block.timestamp
    self.proposals[proposalId].eta = eta
    log ProposalQueued(proposalId=proposalId, eta=eta, operation=self.proposals[proposalId].operation)
    return proposalId


@external
@payable
def execute(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[1_024], MAX_ACTIONS],
    descriptionHash: bytes32,
) -> uint256:
    """
    @dev Anyone: executes a queued proposal through the timelock once its
         delay has passed (the timelock checks the time).
    @return uint256 The proposal id.
    """
    proposalId: uint256 = self._hash(targets, values, calldatas, descriptionHash)
    assert self._state(proposalId) == QUEUED, "governor: proposal not queued"
    extcall timelock.execute_batch(targets, values, calldatas, empty(bytes32), convert(proposalId, bytes32), value=msg.value)
    log ProposalExecuted(proposalId=proposalId)
    return proposalId


@external
def cancel(proposalId: uint256):
    """
    @dev The proposer, while the proposal is pending; anyone, before
         execution, once the proposer's votes fell below the threshold
         (GovernorBravo: a proposer who sells out cannot keep a proposal).
    """
    st: uint8 = self._state(proposalId)
    assert st == PENDING or st == ACTIVE or st == SUCCEEDED or st == QUEUED, "governor: cannot cancel"
    p: Proposal = self.proposals[proposalId]
    if not (msg.sender == p.proposer and st == PENDING):
        assert staticcall votes.getPastVotes(p.proposer, block.timestamp - 1) < self.proposalThreshold, "governor: proposer above threshold"
    self.proposals[proposalId].canceled = True
    if st == QUEUED:
        extcall timelock.cancel(p.operation)
    log ProposalCanceled(proposalId=proposalId)


@external
def veto(proposalId: uint256) -> uint256:
    """
    @dev A staker vetoes a queued security proposal with its own bonded
         stake at the time it was queued; once the vetoes reach `vetoBps`
         of all bonded stake then, the proposal is cancelled.
    @return uint256 The weight counted.
    """
    assert self._state(proposalId) == QUEUED, "governor: proposal not queued"
    p: Proposal = self.proposals[proposalId]
    assert p.security, "governor: not a security proposal"
    assert not self.hasVetoed[proposalId][msg.sender], "governor: already vetoed"
    weight: uint256 = staticcall votes.getPastStake(msg.sender, p.queuedAt - 1)
    assert weight > 0, "governor: no stake to veto with"
    self.hasVetoed[proposalId][msg.sender] = True
    total: uint256 = p.vetoVotes + weight
    self.proposals[proposalId].vetoVotes = total
    needed: uint256 = self._vetoNeeded(p.queuedAt)
    log VetoCast(staker=msg.sender, proposalId=proposalId, weight=weight, vetoVotes=total, needed=needed)
    if total >= needed:
        self.proposals[proposalId].vetoed = True
        extcall timelock.cancel(p.operation)
        log ProposalVetoed(proposalId=proposalId)
    return weight


@view
@external
def vetoNeeded(proposalId: uint256) -> uint256:
    """
    @dev Bonded stake whose vetoes cancel a queued security proposal.
    """
    queuedAt: uint256 = self.proposals[proposalId].queuedAt
    assert queuedAt != 0, "governor: proposal not queued"
    return self._vetoNeeded(queuedAt)


@view
@external
def clock() -> uint48:
    """
    @dev ERC-6372: the voting power's clock (timestamps).
    """
    return staticcall votes.clock()


@view
@external
def CLOCK_MODE() -> String[32]:
    """
    @dev ERC-6372.
    """
    return "mode=timestamp"


# ---------------------------------------------------------------- governance


@external
def setParameter(name: String[32], newValue: uint256):
    """
    @dev Governance: votingDelay [1 s, 14 days]; votingPeriod [1 hour,
         30 days]; proposalThreshold [1 IFX, 10,000,000 IFX]; quorumBps
         [100, 5000]; quorumFloor [0, 100,000,000 IFX]; vetoBps [500, 5000].
         A call to this contract is always a security proposal.
    """
    governed._check_governance()
    h: bytes32 = keccak256(name)
    if h == keccak256("votingDelay"):
        self._setVotingDelay(newValue)
    elif h == keccak256("votingPeriod"):
        self._setVotingPeriod(newValue)
    elif h == keccak256("proposalThreshold"):
        self._setThreshold(newValue)
    elif h == keccak256("quorumBps"):
        self._setQuorumBps(newValue)
    elif h == keccak256("quorumFloor"):
        self._setQuorumFloor(newValue)
    elif h == keccak256("vetoBps"):
        self._setVetoBps(newValue)
    else:
        raise "governor: unknown parameter"
    log ParameterChanged(name=name, newValue=newValue)


@external
def setSecurityCall(target: address, selector: bytes4, security: bool):
    """
    @dev Governance: flags (or unflags) a call as a security call.
    """
    governed._check_governance()
    self._setSecurityCall(target, selector, security)


# ---------------------------------------------------------------- internals


@pure
@internal
def _hash(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[1_024], MAX_ACTIONS],
    descriptionHash: bytes32,
) -> uint256:
    return convert(keccak256(abi_encode(targets, values, calldatas, descriptionHash)), uint256)


@view
@internal
def _isSecurity(target: address, data: Bytes[1_024]) -> bool:
    if target == self or target == timelock.address:
        return True
    if len(data) < 4:
        return False
    return self.securityCall[target][convert(slice(data, 0, 4), bytes4)]


@view
@internal
def _quorum(timepoint: uint256) -> uint256:
    return max(self.quorumFloor, staticcall votes.getPastTotalSupply(timepoint) * self.quorumBps // BPS)


@view
@internal
def _vetoNeeded(queuedAt: uint256) -> uint256:
    return max(staticcall votes.getPastTotalStake(queuedAt - 1) * self.vetoBps // BPS, 1)


@view
@internal
def _state(proposalId: uint256) -> uint8:
    p: Proposal = self.proposals[proposalId]
    assert p.snapshot != 0, "governor: unknown proposal"
    if p.vetoed:
        return VETOED
    if p.canceled:
        return CANCELED
    now: uint256 = block.timestamp
    if now <= p.snapshot:
        return PENDING
    if now <= p.deadline:
        return ACTIVE
    if p.forVotes <= p.againstVotes or p.forVotes + p.abstainVotes < self._quorum(p.snapshot):
        return DEFEATED
    if p.queuedAt == 0:
        if now > p.deadline + QUEUE_GRACE:
            return EXPIRED
        return SUCCEEDED
    if staticcall timelock.is_operation_done(p.operation):
        return EXECUTED
    return QUEUED


@internal
def _castVote(proposalId: uint256, voter: address, support: uint8, reason: String[256]) -> uint256:
    assert self._state(proposalId) == ACTIVE, "governor: vote not active"
    assert support <= VOTE_ABSTAIN, "governor: invalid support"
    assert not self.hasVoted[proposalId][voter], "governor: already voted"
    weight: uint256 = staticcall votes.getPastVotes(voter, self.proposals[proposalId].snapshot)
    self.hasVoted[proposalId][voter] = True
    if support == VOTE_FOR:
        self.proposals[proposalId].forVotes += weight
    elif support == VOTE_AGAINST:
        self.proposals[proposalId].againstVotes += weight
    else:
        self.proposals[proposalId].abstainVotes += weight
    log VoteCast(voter=voter, proposalId=proposalId, support=support, weight=weight, reason=reason)
    return weight


@internal
def _setSecurityCall(target: address, selector: bytes4, security: bool):
    assert target != empty(address), "governor: zero target"
    self.securityCall[target][selector] = security
    log SecurityCallSet(target=target, selector=selector, security=security)


@internal
def _bounded(setting: uint256, low: uint256, high: uint256) -> uint256:
    assert setting >= low and setting <= high, "governor: out of bounds"
    return setting


@internal
def _setVotingDelay(setting: uint256):
    self.votingDelay = self._bounded(setting, 1, 14 * 86400)


@internal
def _setVotingPeriod(setting: uint256):
    self.votingPeriod = self._bounded(setting, 3600, 30 * 86400)


@internal
def _setThreshold(setting: uint256):
    self.proposalThreshold = self._bounded(setting, IFX, 10**7 * IFX)


@internal
def _setQuorumBps(setting: uint256):
    self.quorumBps = self._bounded(setting, 100, 5000)


@internal
def _setQuorumFloor(setting: uint256):
    self.quorumFloor = self._bounded(setting, 0, 10**8 * IFX)


@internal
def _setVetoBps(setting: uint256):
    self.vetoBps = self._bounded(setting, 500, 5000)
