# pragma version ~=0.4.3
"""
@title Inferix proof of render: oracle quorum, EIP-712 verdicts, disputes
@custom:contract-name ProofOfRender
@license MIT
@notice Oracles (active `Staking` oracles) sign EIP-712 `Verdict`s after
        running ANGV on a task's frames with the revealed key. Anyone submits
        signatures, one or many per call; they accumulate across calls per
        (task, attempt) and only distinct active oracles count. At `quorum`
        agreeing votes the verdict goes to the escrow; a vote against an
        existing vote sends the task to dispute. The arbiter resolves
        disputes; oracles that voted for the losing side are slashed and
        lose their verdict credit. IB attestations use the same quorum.
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

ROLE_ORACLE: constant(uint8) = 2
REVEALED: constant(uint8) = 5
DISPUTED: constant(uint8) = 7
BPS: constant(uint256) = 10_000
MAX_SIGNATURES: constant(uint256) = 32

VERDICT_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Verdict(uint256 taskId,uint256 attempt,string resultCid,bool passed,uint16 score)"
)
IB_TYPEHASH: public(constant(bytes32)) = keccak256("IBAttestation(address worker,uint256 ib,uint256 nonce)")

# vote flags
VOTE_PASS: constant(uint256) = 1
VOTE_FAIL: constant(uint256) = 2
VOTE_SLASHED: constant(uint256) = 4


struct Tally:
    passVotes: uint256
    failVotes: uint256


staking: public(immutable(IStaking))
escrow: public(immutable(IJobEscrow))
issuance: public(immutable(IBMWIssuance))
governance: public(immutable(address))

arbiter: public(address)
quorum: public(uint256)
oracleSlashBps: public(uint256)

# @dev keccak256(taskId, attempt) => oracle => (epoch credited << 8) | flags
votes: public(HashMap[bytes32, HashMap[address, uint256]])
tallies: public(HashMap[bytes32, Tally])
ibNonce: public(HashMap[address, uint256])
ibVoted: public(HashMap[bytes32, HashMap[address, bool]])
ibVotes: public(HashMap[bytes32, uint256])


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

event IBAttested:
    worker: indexed(address)
    ib: uint256
    nonce: uint256

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
    eip712_domain_separator.__init__("Inferix Proof of Render", "1")
    staking = staking_
    escrow = escrow_
    issuance = issuance_
    governance = governance_
    self.arbiter = arbiter_
    self.quorum = 2
    self.oracleSlashBps = 1000


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
    assert staticcall staking.isActive(signer, ROLE_ORACLE), "por: signer is not an active oracle"
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
    state, resultHash, attempt = staticcall escrow.verdictSubject(taskId)
    assert state == REVEALED, "por: task not awaiting a verdict"
    digest: bytes32 = self._verdictDigest(taskId, attempt, resultHash, passed, score)
    key: bytes32 = keccak256(abi_encode(taskId, attempt))
    flag: uint256 = VOTE_FAIL
    if passed:
        flag = VOTE_PASS
    added: uint256 = 0
    for signature: Bytes[65] in signatures:
        oracle: address = self._oracle(digest, signature)
        assert self.votes[key][oracle] == 0, "por: oracle already voted"
        epoch: uint256 = extcall issuance.creditVerdict(oracle)
        self.votes[key][oracle] = (epoch << 8) | flag
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
        extcall escrow.onVerdict(taskId, passed)


@external
def resolveDispute(taskId: uint256, passed: bool, voters: DynArray[address, MAX_SIGNATURES]):
    """
    @dev Arbiter only: decides a disputed task. Every listed oracle that
         voted against `passed` is slashed `oracleSlashBps` of its stake
         and loses its verdict credit (if its epoch is still open).
    @param taskId The task.
    @param passed The final verdict.
    @param voters Oracles that voted on the task's current attempt.
    """
    assert msg.sender == self.arbiter, "por: caller is not the arbiter"
    state: uint8 = 0
    resultHash: bytes32 = empty(bytes32)
    attempt: uint256 = 0
    state, resultHash, attempt = staticcall escrow.verdictSubject(taskId)
    assert state == DISPUTED, "por: task not disputed"
    key: bytes32 = keccak256(abi_encode(taskId, attempt))
    losing: uint256 = VOTE_PASS
    if passed:
        losing = VOTE_FAIL
    for oracle: address in voters:
        vote: uint256 = self.votes[key][oracle]
        assert vote & (VOTE_PASS | VOTE_FAIL) != 0, "por: not a voter"
        if vote & losing != 0 and vote & VOTE_SLASHED == 0:
            self.votes[key][oracle] = vote | VOTE_SLASHED
            amount: uint256 = (staticcall staking.stakeOf(oracle)) * self.oracleSlashBps // BPS
            slashed: uint256 = extcall staking.slash(oracle, amount)
            extcall issuance.revokeVerdict(oracle, vote >> 8)
            log OracleSlashed(taskId=taskId, oracle=oracle, amount=slashed)
    log DisputeSettled(taskId=taskId, passed=passed)
    extcall escrow.onDisputeResolved(taskId, passed)


@view
@external
def ibDigest(worker: address, ib: uint256, nonce: uint256) -> bytes32:
    """
    @dev The EIP-712 digest of an IB attestation.
    @param worker The worker.
    @param ib IB with 6 decimals.
    @param nonce The worker's current attestation nonce.
    @return bytes32 The digest.
    """
    return eip712_domain_separator._hash_typed_data_v4(keccak256(abi_encode(IB_TYPEHASH, worker, ib, nonce)))


@external
def attestIB(worker: address, ib: uint256, signatures: DynArray[Bytes[65], MAX_SIGNATURES]):
    """
    @dev Adds oracle attestations of a worker's IB (after its PoR-verified
         benchmark task); at quorum the IB is set in `Staking` and the
         worker's nonce advances, voiding pending attestations.
    @param worker The worker.
    @param ib IB with 6 decimals.
    @param signatures 65-byte signatures by distinct active oracles.
    """
    assert len(signatures) > 0, "por: no signatures"
    assert ib > 0, "por: zero IB"
    nonce: uint256 = self.ibNonce[worker]
    digest: bytes32 = eip712_domain_separator._hash_typed_data_v4(keccak256(abi_encode(IB_TYPEHASH, worker, ib, nonce)))
    count: uint256 = self.ibVotes[digest]
    for signature: Bytes[65] in signatures:
        oracle: address = self._oracle(digest, signature)
        assert not self.ibVoted[digest][oracle], "por: oracle already voted"
        self.ibVoted[digest][oracle] = True
        count += 1
    self.ibVotes[digest] = count
    if count >= self.quorum:
        self.ibNonce[worker] = nonce + 1
        extcall staking.setIB(worker, ib)
        log IBAttested(worker=worker, ib=ib, nonce=nonce)


@external
def setQuorum(newValue: uint256):
    """
    @dev Governance: signatures needed, within [1, 15].
    @param newValue The quorum.
    """
    assert msg.sender == governance, "por: caller is not governance"
    assert newValue >= 1 and newValue <= 15, "por: out of bounds"
    self.quorum = newValue
    log ParameterChanged(name="quorum", newValue=newValue)


@external
def setOracleSlashBps(newValue: uint256):
    """
    @dev Governance: share of stake slashed per overturned vote, [0, 5000].
    @param newValue Basis points.
    """
    assert msg.sender == governance, "por: caller is not governance"
    assert newValue <= 5000, "por: out of bounds"
    self.oracleSlashBps = newValue
    log ParameterChanged(name="oracleSlashBps", newValue=newValue)


@external
def setArbiter(arbiter_: address):
    """
    @dev Governance: the dispute arbiter.
    @param arbiter_ The new arbiter.
    """
    assert msg.sender == governance, "por: caller is not governance"
    assert arbiter_ != empty(address), "por: zero address"
    self.arbiter = arbiter_
    log ArbiterChanged(arbiter=arbiter_)
