# pragma version ~=0.4.3
"""
@title Inferix proof of render: drawn committees, committed votes, disputes
@custom:contract-name ProofOfRender
@license MIT
@notice Every attempt of a task is judged by a committee of `committeeSize`
        oracles drawn, weighted by stake, from the oracles whose stake was
        in place before the result was submitted, with the randomness of
        the first beacon round after the submission (a BLS beacon verified
        on chain: nobody can predict it when the result is committed, nor
        grind it afterwards). Members commit to their vote, then reveal it:
        nobody can copy another's vote. The verdict is final when `quorum`
        members agree (a majority); a dissenting member escalates by
        challenging it within the challenge window (the oracle daemon does
        so by itself); without a quorum the task gets no verdict (and is
        re-queued by the escrow's deadline). Members who do not commit or
        reveal earn nothing, and every `Staking.noShowLimit` misses cost
        `Staking.noShowSlashBps` of their stake. Only final verdicts earn: each winning voter
        is credited the task's fee value in the BMW epoch. The arbiter (a
        governance-appointed address) resolves disputes: the winning side
        is credited, the losing side is slashed and loses its credit, and a
        challenger who overturned a verdict gets `challengerRewardBps` of
        the oracles' slashes.
@custom:security Passing a verdict needs a majority of a committee drawn
        by stake, and passing it unchallenged needs every member (an honest
        member dissents and challenges): docs/protocol.md states the cost
        at the default parameters. Stake added after a submission never
        counts for its draw.
"""

from .interfaces import IStaking
from .interfaces import IJobEscrow
from .interfaces import IBMWIssuance
from .interfaces import IRandomnessBeacon

from .modules import protocol
from .modules import governed
from .modules import seal

initializes: governed

exports: (governed.governance, governed.wired)

MAX_COMMITTEE: constant(uint256) = 15

# the manifest seal (inferix/sealing.py), opened by the `seal` module
SEAL_HEAD: constant(uint256) = seal.SEAL_HEAD

# vote flags
VOTE_PASS: constant(uint256) = 1
VOTE_FAIL: constant(uint256) = 2
VOTE_SLASHED: constant(uint256) = 4
VOTE_CREDITED: constant(uint256) = 8


struct Tally:
    passVotes: uint256
    failVotes: uint256


struct Committee:
    round: uint64
    quorum: uint256
    commitEnds: uint256
    revealEnds: uint256
    members: uint256
    committed: uint256
    revealed: uint256
    finalized: bool


staking: public(immutable(IStaking))
escrow: public(immutable(IJobEscrow))
issuance: public(immutable(IBMWIssuance))
beacon: public(immutable(IRandomnessBeacon))

arbiter: public(address)
committeeSize: public(uint256)
quorum: public(uint256)
commitWindow: public(uint256)
voteRevealWindow: public(uint256)
oracleSlashBps: public(uint256)
challengerRewardBps: public(uint256)

# @dev keccak256(taskId, attempt) => the committee's schedule and counts
committees: public(HashMap[bytes32, Committee])
# @dev keccak256(taskId, attempt) => the distinct members, in draw order
members: public(HashMap[bytes32, DynArray[address, MAX_COMMITTEE]])
# @dev keccak256(taskId, attempt) => member => True
isMember: public(HashMap[bytes32, HashMap[address, bool]])
# @dev keccak256(taskId, attempt) => member => its commitment
commitments: public(HashMap[bytes32, HashMap[address, bytes32]])
# @dev keccak256(taskId, attempt) => oracle => (epoch credited << 8) | flags
votes: public(HashMap[bytes32, HashMap[address, uint256]])
tallies: public(HashMap[bytes32, Tally])
# @dev keccak256(taskId, attempt) => the members that revealed, in order
voters: public(HashMap[bytes32, DynArray[address, MAX_COMMITTEE]])
# @dev keccak256(taskId, attempt) => the fee value each credited vote was given
weights: public(HashMap[bytes32, uint256])


event CommitteeDrawn:
    taskId: indexed(uint256)
    attempt: uint256
    round: uint64
    members: DynArray[address, MAX_COMMITTEE]
    commitEnds: uint256

event VoteCommitted:
    taskId: indexed(uint256)
    oracle: indexed(address)
    committed: uint256

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

event NoVerdict:
    taskId: indexed(uint256)
    attempt: uint256
    passVotes: uint256
    failVotes: uint256

event NoShow:
    taskId: indexed(uint256)
    oracle: indexed(address)
    missed: uint256
    slashed: uint256

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

event BadManifestProven:
    taskId: indexed(uint256)
    attempt: uint256
    prover: indexed(address)
    defect: String[32]

event ArbiterChanged:
    arbiter: indexed(address)


@deploy
def __init__(
    staking_: IStaking,
    escrow_: IJobEscrow,
    issuance_: IBMWIssuance,
    beacon_: IRandomnessBeacon,
    governance_: address,
    arbiter_: address,
):
    """
    @param staking_ The staking contract (oracle set, draws, slashing).
    @param escrow_ The job escrow (verdict subjects and outcomes).
    @param issuance_ The BMW issuance contract (verdict credits).
    @param beacon_ The randomness beacon (committee draws).
    @param governance_ The timelock allowed to change parameters.
    @param arbiter_ The dispute arbiter (a governance-appointed address).
    """
    assert arbiter_ != empty(address), "por: zero arbiter"
    governed.__init__(governance_)
    staking = staking_
    escrow = escrow_
    issuance = issuance_
    beacon = beacon_
    self.arbiter = arbiter_
    self.committeeSize = 3
    self.quorum = 2
    self.commitWindow = 1800
    self.voteRevealWindow = 1800
    self.oracleSlashBps = 1000
    self.challengerRewardBps = 5000


@pure
@internal
def _key(taskId: uint256, attempt: uint256) -> bytes32:
    return keccak256(abi_encode(taskId, attempt))


@view
@internal
def _subject(taskId: uint256) -> (uint8, bytes32, uint256, uint256, uint256):
    state: uint8 = 0
    resultHash: bytes32 = empty(bytes32)
    attempt: uint256 = 0
    fee: uint256 = 0
    submittedAt: uint256 = 0
    state, resultHash, attempt, fee, submittedAt = staticcall escrow.verdictSubject(taskId)
    return state, resultHash, attempt, fee, submittedAt


@view
@external
def drawRound(taskId: uint256) -> uint64:
    """
    @dev The beacon round whose randomness draws the committee of the
         task's current attempt: the first round after its submission.
    @param taskId The task.
    @return uint64 The round (0 before a submission).
    """
    state: uint8 = 0
    resultHash: bytes32 = empty(bytes32)
    attempt: uint256 = 0
    fee: uint256 = 0
    submittedAt: uint256 = 0
    state, resultHash, attempt, fee, submittedAt = self._subject(taskId)
    if submittedAt == 0:
        return 0
    return (staticcall beacon.roundAt(submittedAt)) + 1


@view
@external
def commitmentOf(taskId: uint256, attempt: uint256, oracle: address, passed: bool, score: uint16, salt: bytes32) -> bytes32:
    """
    @dev The commitment a member posts for its vote (for clients and tests).
    @param taskId The task.
    @param attempt Its attempt.
    @param oracle The member.
    @param passed The vote.
    @param score The ANGV score (0..10000).
    @param salt A secret 32-byte salt.
    @return bytes32 keccak256(abi_encode(taskId, attempt, oracle, passed, score, salt)).
    """
    return keccak256(abi_encode(taskId, attempt, oracle, passed, score, salt))


@view
@external
def committeeOf(taskId: uint256, attempt: uint256) -> DynArray[address, MAX_COMMITTEE]:
    """
    @dev The distinct members of an attempt's committee (empty before the draw).
    @param taskId The task.
    @param attempt The attempt.
    @return The members, in draw order.
    """
    return self.members[self._key(taskId, attempt)]


@external
def drawCommittee(taskId: uint256):
    """
    @dev Draws the committee of a revealed task's current attempt (anyone;
         once), from the beacon round after its submission.
    @param taskId The task.
    """
    self._draw(taskId)


@internal
def _draw(taskId: uint256) -> bytes32:
    state: uint8 = 0
    resultHash: bytes32 = empty(bytes32)
    attempt: uint256 = 0
    fee: uint256 = 0
    submittedAt: uint256 = 0
    state, resultHash, attempt, fee, submittedAt = self._subject(taskId)
    assert state == protocol.REVEALED, "por: task not awaiting a verdict"
    key: bytes32 = self._key(taskId, attempt)
    assert self.committees[key].round == 0, "por: committee already drawn"
    round: uint64 = (staticcall beacon.roundAt(submittedAt)) + 1
    randomness: bytes32 = staticcall beacon.randomness(round)
    assert randomness != empty(bytes32), "por: beacon round not available yet"
    drawn: DynArray[address, MAX_COMMITTEE] = staticcall staking.drawOracles(
        keccak256(abi_encode(randomness, taskId, attempt)), self.committeeSize, submittedAt
    )
    assert len(drawn) >= self.quorum, "por: not enough eligible oracles"
    for oracle: address in drawn:
        self.isMember[key][oracle] = True
    commitEnds: uint256 = block.timestamp + self.commitWindow
    self.members[key] = drawn
    self.committees[key] = Committee(
        round=round,
        quorum=self.quorum,
        commitEnds=commitEnds,
        revealEnds=commitEnds + self.voteRevealWindow,
        members=len(drawn),
        committed=0,
        revealed=0,
        finalized=False,
    )
    log CommitteeDrawn(taskId=taskId, attempt=attempt, round=round, members=drawn, commitEnds=commitEnds)
    return key


@external
def commitVote(taskId: uint256, commitment: bytes32):
    """
    @dev A committee member commits to its vote (draws the committee first
         if nobody has). Once every member has committed, the reveal phase
         opens at once.
    @param taskId The task.
    @param commitment `commitmentOf(taskId, attempt, member, passed, score, salt)`.
    """
    state: uint8 = 0
    resultHash: bytes32 = empty(bytes32)
    attempt: uint256 = 0
    fee: uint256 = 0
    submittedAt: uint256 = 0
    state, resultHash, attempt, fee, submittedAt = self._subject(taskId)
    key: bytes32 = self._key(taskId, attempt)
    if self.committees[key].round == 0:
        self._draw(taskId)
    c: Committee = self.committees[key]
    assert state == protocol.REVEALED and not c.finalized, "por: task not awaiting a verdict"
    assert self.isMember[key][msg.sender], "por: not a committee member"
    assert block.timestamp <= c.commitEnds, "por: commit phase over"
    assert commitment != empty(bytes32), "por: empty commitment"
    assert self.commitments[key][msg.sender] == empty(bytes32), "por: already committed"
    self.commitments[key][msg.sender] = commitment
    c.committed += 1
    if c.committed == c.members:
        c.commitEnds = block.timestamp
        c.revealEnds = block.timestamp + self.voteRevealWindow
    self.committees[key] = c
    log VoteCommitted(taskId=taskId, oracle=msg.sender, committed=c.committed)


@external
def revealVote(taskId: uint256, passed: bool, score: uint16, salt: bytes32):
    """
    @dev A member reveals the vote it committed to, once every member has
         committed or the commit phase is over. The last reveal decides.
    @param taskId The task.
    @param passed The vote.
    @param score The ANGV score.
    @param salt The salt of the commitment.
    """
    state: uint8 = 0
    resultHash: bytes32 = empty(bytes32)
    attempt: uint256 = 0
    fee: uint256 = 0
    submittedAt: uint256 = 0
    state, resultHash, attempt, fee, submittedAt = self._subject(taskId)
    key: bytes32 = self._key(taskId, attempt)
    c: Committee = self.committees[key]
    assert state == protocol.REVEALED and c.round != 0 and not c.finalized, "por: task not awaiting a verdict"
    assert block.timestamp > c.commitEnds or c.committed == c.members, "por: commit phase not over"
    assert block.timestamp <= c.revealEnds, "por: reveal phase over"
    assert self.votes[key][msg.sender] == 0, "por: oracle already voted"
    commitment: bytes32 = self.commitments[key][msg.sender]
    assert commitment != empty(bytes32), "por: no commitment"
    assert keccak256(abi_encode(taskId, attempt, msg.sender, passed, score, salt)) == commitment, "por: vote does not match commitment"
    flag: uint256 = VOTE_FAIL
    if passed:
        flag = VOTE_PASS
        self.tallies[key].passVotes += 1
    else:
        self.tallies[key].failVotes += 1
    self.votes[key][msg.sender] = flag
    self.voters[key].append(msg.sender)
    c.revealed += 1
    self.committees[key] = c
    log VerdictSigned(taskId=taskId, oracle=msg.sender, passed=passed, score=score)
    if c.revealed == c.members:
        self._finalize(taskId, attempt, key, fee)


@external
def finalize(taskId: uint256):
    """
    @dev After the reveal phase (anyone): decides with the votes revealed,
         and records the members who did not vote as no-shows.
    @param taskId The task.
    """
    state: uint8 = 0
    resultHash: bytes32 = empty(bytes32)
    attempt: uint256 = 0
    fee: uint256 = 0
    submittedAt: uint256 = 0
    state, resultHash, attempt, fee, submittedAt = self._subject(taskId)
    key: bytes32 = self._key(taskId, attempt)
    c: Committee = self.committees[key]
    assert state == protocol.REVEALED and c.round != 0 and not c.finalized, "por: task not awaiting a verdict"
    assert block.timestamp > c.revealEnds, "por: reveal phase not over"
    self._finalize(taskId, attempt, key, fee)


@internal
def _finalize(taskId: uint256, attempt: uint256, key: bytes32, fee: uint256):
    self.committees[key].finalized = True
    for oracle: address in self.members[key]:
        if self.votes[key][oracle] == 0:
            self._noShow(taskId, oracle)
    tally: Tally = self.tallies[key]
    q: uint256 = self.committees[key].quorum  # the quorum of the draw: a later governance change does not apply
    if tally.passVotes >= q or tally.failVotes >= q:
        # the majority decides; a dissenting member escalates by challenging within the challenge window
        passed: bool = tally.passVotes >= q
        flag: uint256 = VOTE_FAIL
        count: uint256 = tally.failVotes
        if passed:
            flag = VOTE_PASS
            count = tally.passVotes
        log VerdictFinal(taskId=taskId, attempt=attempt, passed=passed, votes=count)
        self.weights[key] = fee
        self._credit(key, flag, fee)
        extcall escrow.onVerdict(taskId, passed)
        return
    # no quorum: no verdict; the escrow's verify deadline re-queues the task without fault
    log NoVerdict(taskId=taskId, attempt=attempt, passVotes=tally.passVotes, failVotes=tally.failVotes)


@internal
def _noShow(taskId: uint256, oracle: address):
    # the miss is counted (and every `noShowLimit`-th slashed) by Staking, the home of every node's misses
    slashed: uint256 = extcall staking.recordNoShow(oracle)
    log NoShow(taskId=taskId, oracle=oracle, missed=staticcall staking.missed(oracle), slashed=slashed)


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
    submittedAt: uint256 = 0
    state, resultHash, attempt, fee, submittedAt = self._subject(taskId)
    assert state == protocol.DISPUTED, "por: task not disputed"
    challenger: address = empty(address)
    challenged: bool = False
    challenger, challenged = staticcall escrow.disputeOf(taskId)
    if challenger != empty(address) and challenged == passed:
        challenger = empty(address)  # the verdict stands: the challenger earns nothing
    key: bytes32 = self._key(taskId, attempt)
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


# ---------------------------------------------------------------- bogus manifests


@external
def proveBadManifest(taskId: uint256, seed: bytes32, head: Bytes[SEAL_HEAD], bodyHash: bytes32):
    """
    @dev Anyone: proves that the sealed manifest the manager committed to
         for the task's current attempt does not open with its seed (its
         header is not the manifest's, names another seed, or its integrity
         tag does not match the body). The manager is slashed (the worker
         gets its fee from the slash) and the attempt is re-queued with a
         fresh key, without worker fault. The prover needs the seed (public
         once revealed) and the package's sealed manifest: its first 104
         bytes and keccak256 of the rest, which must hash to the task's
         `manifestDigest`. Nobody is paid for proving.
    @param taskId The task (revealed or verified, not yet settled).
    @param seed The task's seed.
    @param head The sealed manifest's first 104 bytes (fewer if it is shorter).
    @param bodyHash keccak256 of the sealed manifest's remaining bytes.
    """
    defect: String[32] = ""  # declared first: a revert's trace decodes it
    task: IJobEscrow.Task = staticcall escrow.tasks(taskId)
    assert task.state == protocol.REVEALED or task.state == protocol.VERIFIED, "por: task not being verified"
    assert keccak256(seed) == task.keyCommit, "por: seed does not match commitment"
    assert keccak256(concat(head, bodyHash)) == task.manifestDigest, "por: not the committed manifest"
    defect = seal.defect(seed, head, bodyHash, task.keyCommit)
    assert defect != "", "por: the manifest's seal is sound"
    log BadManifestProven(taskId=taskId, attempt=task.attempts, prover=msg.sender, defect=defect)
    extcall escrow.onBadManifest(taskId)


# ---------------------------------------------------------------- governance


@external
def setParameter(name: String[32], newValue: uint256):
    """
    @dev Governance: commitWindow, voteRevealWindow [1 min, 1 day], and
         together shorter than the escrow's verify window (a committee
         must be able to finish before the task expires); oracleSlashBps
         [0, 5000]; challengerRewardBps [0, 10000]. The committee's size
         and quorum: `setCommittee`; the no-show rule: `Staking.setNoShow`.
    @param name The parameter.
    @param newValue The value.
    """
    governed._check_governance()
    h: bytes32 = keccak256(name)
    if h == keccak256("commitWindow"):
        assert newValue >= 60 and newValue <= 86400, "por: out of bounds"
        assert newValue + self.voteRevealWindow < staticcall escrow.verifyWindow(), "por: voting must fit the verify window"
        self.commitWindow = newValue
    elif h == keccak256("voteRevealWindow"):
        assert newValue >= 60 and newValue <= 86400, "por: out of bounds"
        assert self.commitWindow + newValue < staticcall escrow.verifyWindow(), "por: voting must fit the verify window"
        self.voteRevealWindow = newValue
    elif h == keccak256("oracleSlashBps"):
        assert newValue <= 5000, "por: out of bounds"
        self.oracleSlashBps = newValue
    elif h == keccak256("challengerRewardBps"):
        assert newValue <= protocol.BPS, "por: out of bounds"
        self.challengerRewardBps = newValue
    else:
        raise "por: unknown parameter"
    log ParameterChanged(name=name, newValue=newValue)


@external
def setCommittee(size: uint256, quorum_: uint256):
    """
    @dev Governance: the committee's size [1, 15] and its quorum, a
         majority of it (more than half, at most all), set together so
         that any valid pair is reachable from any other.
    @param size Members drawn per task.
    @param quorum_ Matching votes that decide.
    """
    governed._check_governance()
    assert size >= 1 and size <= MAX_COMMITTEE, "por: out of bounds"
    assert quorum_ * 2 > size and quorum_ <= size, "por: quorum must stay a majority"
    self.committeeSize = size
    self.quorum = quorum_
    log ParameterChanged(name="committeeSize", newValue=size)
    log ParameterChanged(name="quorum", newValue=quorum_)


@view
@external
def votingWindows() -> uint256:
    """
    @dev commitWindow + voteRevealWindow: the escrow keeps its verify
         window longer.
    @return uint256 Seconds.
    """
    return self.commitWindow + self.voteRevealWindow


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
