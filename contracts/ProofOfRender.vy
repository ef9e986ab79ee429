# pragma version ~=0.4.3
"""
@title Inferix proof of render: oracle quorum, EIP-712 verdicts, disputes
@custom:contract-name ProofOfRender
@license MIT
@notice Oracles (active `Staking` oracles) sign EIP-712 `Verdict`s after
        running ANGV on a task's frames with the revealed key. Anyone submits
        signatures, one or many per call; they accumulate across calls per
        (task, attempt) and only distinct active oracles count. At `quorum`
        agreeing votes the verdict goes to the escrow and its voters are
        credited the task's fee value in the BMW epoch (only final
        verdicts earn); a vote against an existing vote sends the task to
        dispute. The arbiter (a governance-appointed address) resolves
        disputes: the winning side is credited, the losing side is slashed
        and loses its credit, and a challenger who overturned a verdict
        gets `challengerRewardBps` of the oracles' slashes. IB is not
        attested here: it is measured by settled benchmark tasks.
@custom:security The EIP-712 domain binds the chain id and this contract,
        so a signature is useless on another chain or deployment; the
        verdict binds the task, its attempt and the result CID, so it cannot
        be replayed on a re-queued task or another result.
"""

from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator

initializes: eip712_domain_separator

exports: eip712_domain_separator.eip712Domain

from .interfaces import IStaking
from .interfaces import IJobEscrow
from .interfaces import IBMWIssuance

from .modules import protocol
from .modules import governed

initializes: governed

exports: governed.governance

MAX_SIGNATURES: constant(uint256) = 32
MAX_VOTERS: constant(uint256) = 64

VERDICT_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Verdict(uint256 taskId,uint256 attempt,string resultCid,bool passed,uint16 score)"
)

# vote flags
VOTE_PASS: constant(uint256) = 1
VOTE_FAIL: constant(uint256) = 2
VOTE_SLASHED: constant(uint256) = 4
VOTE_CREDITED: constant(uint256) = 8


struct Tally:
    passVotes: uint256
    failVotes: uint256


staking: public(immutable(IStaking))
escrow: public(immutable(IJobEscrow))
issuance: public(immutable(IBMWIssuance))

arbiter: public(address)
quorum: public(uint256)
oracleSlashBps: public(uint256)

# @dev keccak256(taskId, attempt) => oracle => (epoch credited << 8) | flags
votes: public(HashMap[bytes32, HashMap[address, uint256]])
tallies: public(HashMap[bytes32, Tally])
# @dev keccak256(taskId, attempt) => the oracles that voted, in order
voters: public(HashMap[bytes32, DynArray[address, MAX_VOTERS]])
# @dev keccak256(taskId, attempt) => the fee value each credited vote was given
weights: public(HashMap[bytes32, uint256])
challengerRewardBps: public(uint256)


event VerdictSigned:
    taskId: indexed(uint256)
    oracle: indexed(address)
    passed: bool
    score: uint16

event VerdictFinal:
    taskId: indexed(uint256)
    attempt: uint256
    passed: bool
    votes: uint256

event VerdictConflict:
    taskId: indexed(uint256)
    attempt: uint256

event DisputeSettled:
    taskId: indexed(uint256)
    passed: bool

event OracleSlashed:
    taskId: indexed(uint256)
    oracle: indexed(address)
    amount: uint256
    toChallenger: uint256

event ParameterChanged:
    name: String[32]
    newValue: uint256

event ArbiterChanged:
    arbiter: indexed(address)


@deploy
def __init__(staking_: IStaking, escrow_: IJobEscrow, issuance_: IBMWIssuance, governance_: address, arbiter_: address):
    """
    @param staking_ The staking contract (oracle set, slashing, IB).
    @param escrow_ The job escrow (verdict subjects and outcomes).
    @param issuance_ The BMW issuance contract (verdict credits).
    @param governance_ The timelock allowed to change parameters.
    @param arbiter_ The dispute arbiter.
    """
    assert arbiter_ != empty(address), "por: zero arbiter"
    eip712_domain_separator.__init__("Inferix Proof of Render", "1")
    governed.__init__(governance_)
    staking = staking_
    escrow = escrow_
    issuance = issuance_
    self.arbiter = arbiter_
    self.quorum = 2
    self.oracleSlashBps = 1000
    self.challengerRewardBps = 5000


@view
@external
def verdictDigest(taskId: uint256, attempt: uint256, resultHash: bytes32, passed: bool, score: uint16) -> bytes32:
    """
    @dev The EIP-712 digest an oracle signs (for clients and tests).
    @param taskId The task.
    @param attempt The task's attempt number.
    @param resultHash keccak256 of the result CID string.
    @param passed The verdict.
    @param score The ANGV score (0..10000).
    @return bytes32 The digest.
    """
    return self._verdictDigest(taskId, attempt, resultHash, passed, score)


@view
@internal
def _verdictDigest(taskId: uint256, attempt: uint256, resultHash: bytes32, passed: bool, score: uint16) -> bytes32:
    return eip712_domain_separator._hash_typed_data_v4(
        keccak256(abi_encode(VERDICT_TYPEHASH, taskId, attempt, resultHash, passed, score))
    )


@view
@internal
def _oracle(digest: bytes32, signature: Bytes[65]) -> address:
    # snekmate's ecdsa rejects malformed, zero-address and high-s signatures
    signer: address = ecdsa._recover_sig(digest, signature)
    assert staticcall staking.isActive(signer, protocol.ROLE_ORACLE), "por: signer is not an active oracle"
    return signer


@external
def submitVerdict(taskId: uint256, passed: bool, score: uint16, signatures: DynArray[Bytes[65], MAX_SIGNATURES]):
    """
    @dev Adds oracle signatures on one verdict of a revealed task.
    @param taskId The task.
    @param passed The verdict signed.
    @param score The score signed.
    @param signatures 65-byte signatures by distinct active oracles.
    """
    assert len(signatures) > 0, "por: no signatures"
    state: uint8 = 0
    resultHash: bytes32 = empty(bytes32)
    attempt: uint256 = 0
    fee: uint256 = 0
    state, resultHash, attempt, fee = staticcall escrow.verdictSubject(taskId)
    assert state == protocol.REVEALED, "por: task not awaiting a verdict"
    digest: bytes32 = self._verdictDigest(taskId, attempt, resultHash, passed, score)
    key: bytes32 = keccak256(abi_encode(taskId, attempt))
    flag: uint256 = VOTE_FAIL
    if passed:
        flag = VOTE_PASS
    added: uint256 = 0
    for signature: Bytes[65] in signatures:
        oracle: address = self._oracle(digest, signature)
        assert self.votes[key][oracle] == 0, "por: oracle already voted"
        self.votes[key][oracle] = flag
        self.voters[key].append(oracle)
        added += 1
        log VerdictSigned(taskId=taskId, oracle=oracle, passed=passed, score=score)
    tally: Tally = self.tallies[key]
    if passed:
        tally.passVotes += added
    else:
        tally.failVotes += added
    self.tallies[key] = tally
    if tally.passVotes > 0 and tally.failVotes > 0:
        log VerdictConflict(taskId=taskId, attempt=attempt)
        extcall escrow.onConflict(taskId)
        return
    count: uint256 = tally.failVotes
    if passed:
        count = tally.passVotes
    if count >= self.quorum:
        log VerdictFinal(taskId=taskId, attempt=attempt, passed=passed, votes=count)
        self.weights[key] = fee
        self._credit(key, flag, fee)
        extcall escrow.onVerdict(taskId, passed)


@external
def resolveDispute(taskId: uint256, passed: bool):
    """
    @dev Arbiter only: decides a disputed task. Every oracle that voted
         on its current attempt is judged: the winning side is credited
         the task's fee value (once), the losing side is slashed
         `oracleSlashBps` of its stake and loses any credit (if its epoch
         is still open). When a challenger overturned the verdict, it gets
         `challengerRewardBps` of each slash.
    @param taskId The task.
    @param passed The final verdict.
    """
    assert msg.sender == self.arbiter, "por: caller is not the arbiter"
    state: uint8 = 0
    resultHash: bytes32 = empty(bytes32)
    attempt: uint256 = 0
    fee: uint256 = 0
    state, resultHash, attempt, fee = staticcall escrow.verdictSubject(taskId)
    assert state == protocol.DISPUTED, "por: task not disputed"
    challenger: address = empty(address)
    challenged: bool = False
    challenger, challenged = staticcall escrow.disputeOf(taskId)
    if challenger != empty(address) and challenged == passed:
        challenger = empty(address)  # the verdict stands: the challenger earns nothing
    key: bytes32 = keccak256(abi_encode(taskId, attempt))
    winning: uint256 = VOTE_FAIL
    if passed:
        winning = VOTE_PASS
    credited: uint256 = self.weights[key]
    for oracle: address in self.voters[key]:
        vote: uint256 = self.votes[key][oracle]
        if vote & winning == 0 and vote & VOTE_SLASHED == 0:
            self.votes[key][oracle] = vote | VOTE_SLASHED
            amount: uint256 = (staticcall staking.stakeOf(oracle)) * self.oracleSlashBps // protocol.BPS
            reward: uint256 = 0
            if challenger != empty(address):
                reward = amount * self.challengerRewardBps // protocol.BPS
            slashed: uint256 = extcall staking.slash(oracle, amount, challenger, reward)
            if vote & VOTE_CREDITED != 0:
                extcall issuance.revokeVerdict(oracle, vote >> 8, credited)
            log OracleSlashed(taskId=taskId, oracle=oracle, amount=slashed, toChallenger=min(reward, slashed))
    self.weights[key] = fee
    self._credit(key, winning, fee)
    log DisputeSettled(taskId=taskId, passed=passed)
    extcall escrow.onDisputeResolved(taskId, passed)


@internal
def _credit(key: bytes32, side: uint256, weight: uint256):
    # the voters of a verdict that became final earn its fee value in the epoch's oracle pool, once
    for oracle: address in self.voters[key]:
        vote: uint256 = self.votes[key][oracle]
        if vote & side != 0 and vote & VOTE_CREDITED == 0:
            epoch: uint256 = extcall issuance.creditVerdict(oracle, weight)
            self.votes[key][oracle] = (epoch << 8) | (vote % 256) | VOTE_CREDITED


@external
def setQuorum(newValue: uint256):
    """
    @dev Governance: signatures needed, within [1, 15].
    @param newValue The quorum.
    """
    governed._check_governance()
    assert newValue >= 1 and newValue <= 15, "por: out of bounds"
    self.quorum = newValue
    log ParameterChanged(name="quorum", newValue=newValue)


@external
def setOracleSlashBps(newValue: uint256):
    """
    @dev Governance: share of stake slashed per overturned vote, [0, 5000].
    @param newValue Basis points.
    """
    governed._check_governance()
    assert newValue <= 5000, "por: out of bounds"
    self.oracleSlashBps = newValue
    log ParameterChanged(name="oracleSlashBps", newValue=newValue)


@external
def setArbiter(arbiter_: address):
    """
    @dev Governance: the dispute arbiter.
    @param arbiter_ The new arbiter.
    """
    governed._check_governance()
    assert arbiter_ != empty(address), "por: zero address"
    self.arbiter = arbiter_
    log ArbiterChanged(arbiter=arbiter_)


@external
def setChallengerRewardBps(newValue: uint256):
    """
    @dev Governance: share of an oracle's slash paid to the challenger
         who overturned its verdict, [0, 10000].
    @param newValue Basis points.
    """
    governed._check_governance()
    assert newValue <= protocol.BPS, "por: out of bounds"
    self.challengerRewardBps = newValue
    log ParameterChanged(name="challengerRewardBps", newValue=newValue)
