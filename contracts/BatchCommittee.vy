# pragma version ~=0.4.3
"""
@title Inferix batch committee: one drawn committee judges a whole batch
@custom:contract-name BatchCommittee
@license MIT
@notice The votes of the batch lane (`BatchLane`). Once a batch's seed is
        revealed, a committee of `ProofOfRender.committeeSize` oracles is
        drawn, weighted by stake, from the oracles staked before the batch
        was posted, with the first beacon round after the reveal (nobody
        can predict it when the results are committed). Each member
        commits to a pass/fail bitmap over the batch (bit i: task i
        passes), then reveals it; members sign their commitments (EIP-712)
        so that anyone relays all of them in one call. Its EIP-712 domain
        ("Inferix Batches") is also where workers sign their acceptances
        of batch tasks (`acceptanceSigner`). A task passes with
        `quorum` pass votes, fails with `quorum` fail votes, and is
        otherwise undecided. This contract only records votes: the batch
        lane settles money and stake from the outcome (credits, no-shows,
        slashes). Parameters are proof of render's, read at the draw (the
        quorum is kept for the batch).
@custom:security Storage per batch: one record and one slot per seat for
        the commitment and one for the revealed bitmap; per task: nothing.
"""

from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator as eip712

from .interfaces import IStaking
from .interfaces import IRandomnessBeacon

from .modules import seal

initializes: eip712

exports: eip712.eip712Domain


interface ILane:
    def subject(batchId: bytes32) -> (bool, uint256, uint256, uint256, uint256): view


interface IProofOfRenderParams:
    def committeeSize() -> uint256: view
    def quorum() -> uint256: view
    def commitWindow() -> uint256: view
    def voteRevealWindow() -> uint256: view


MAX_COMMITTEE: constant(uint256) = 15
MAX_LEAVES: constant(uint256) = 256
COMMIT_TYPEHASH: constant(bytes32) = keccak256("VoteCommitment(bytes32 batchId,bytes32 commitment)")
ACCEPT_TYPEHASH: constant(bytes32) = keccak256(
    "Accept(bytes32 batchId,bytes32 leaves,uint256 renderWindow,uint256 acceptBy)"
)


struct Committee:
    quorum: uint256
    commitEnds: uint256
    voteEnds: uint256
    committed: uint256
    revealed: uint256
    passBits: uint256
    decidedBits: uint256
    finalizedAt: uint256


lane: public(immutable(ILane))
staking: public(immutable(IStaking))
beacon: public(immutable(IRandomnessBeacon))
proofOfRender: public(immutable(IProofOfRenderParams))

committees: public(HashMap[bytes32, Committee])
members: HashMap[bytes32, DynArray[address, MAX_COMMITTEE]]
# @dev Per batch and seat: the member's commitment, then its revealed bitmap.
commitments: public(HashMap[bytes32, HashMap[uint256, bytes32]])
votes: public(HashMap[bytes32, HashMap[uint256, uint256]])


event CommitteeDrawn:
    batchId: indexed(bytes32)
    round: uint64
    members: DynArray[address, MAX_COMMITTEE]
    commitEnds: uint256

event VotesCommitted:
    batchId: indexed(bytes32)
    seats: DynArray[uint256, MAX_COMMITTEE]
    committed: uint256

event VotesRevealed:
    batchId: indexed(bytes32)
    seats: DynArray[uint256, MAX_COMMITTEE]
    passBits: DynArray[uint256, MAX_COMMITTEE]

event BatchVerdict:
    batchId: indexed(bytes32)
    passBits: uint256
    decidedBits: uint256
    revealed: uint256


@deploy
def __init__(lane_: ILane, staking_: IStaking, beacon_: IRandomnessBeacon, proofOfRender_: IProofOfRenderParams):
    """
    @param lane_ The batch lane (what is judged, and when).
    @param staking_ Staking (the draw by stake).
    @param beacon_ The randomness beacon.
    @param proofOfRender_ Proof of render (committee size, quorum, windows).
    """
    eip712.__init__("Inferix Batches", "1")
    lane = lane_
    staking = staking_
    beacon = beacon_
    proofOfRender = proofOfRender_


@pure
@external
def commitmentOf(batchId: bytes32, oracle: address, passBits: uint256, salt: bytes32) -> bytes32:
    """
    @dev A member's commitment to its bitmap (bit i set: task i passes).
    @return bytes32 keccak256(abi_encode(batchId, oracle, passBits, salt)).
    """
    return keccak256(abi_encode(batchId, oracle, passBits, salt))


@pure
@external
def sealDefect(seed: bytes32, head: Bytes[seal.SEAL_HEAD], bodyHash: bytes32, keyCommit: bytes32) -> String[32]:
    """
    @dev What is wrong with a sealed manifest's header ("" for a sound seal).
    """
    return seal.defect(seed, head, bodyHash, keyCommit)


@view
@external
def acceptanceSigner(batchId: bytes32, leaves: bytes32, renderWindow: uint256, acceptBy: uint256,
                     signature: Bytes[65]) -> address:
    """
    @dev Who signed a worker's acceptance of its leaves in a batch: EIP-712
         `Accept(batchId, leaves, renderWindow, acceptBy)` in this domain ("Inferix
         Batches"), the one domain of the batch protocol's signatures.
    @param batchId The batch.
    @param leaves The keccak256 chain of the worker's leaf nodes.
    @param renderWindow The seconds it has for its results, from the post.
    @param acceptBy The last moment the acceptance may be posted.
    @param signature The worker's signature.
    @return address The signer (empty for a malformed signature).
    """
    return ecdsa._recover_sig(
        eip712._hash_typed_data_v4(keccak256(abi_encode(ACCEPT_TYPEHASH, batchId, leaves, renderWindow, acceptBy))), signature
    )


@view
@external
def committeeOf(batchId: bytes32) -> DynArray[address, MAX_COMMITTEE]:
    """
    @dev The batch's committee, in seat order (empty before the draw).
    """
    return self.members[batchId]


@view
@external
def outcome(batchId: bytes32) -> (DynArray[address, MAX_COMMITTEE], uint256, DynArray[uint256, MAX_COMMITTEE], uint256, uint256, uint256):
    """
    @dev The committee, which seats revealed, their bitmaps, the verdict
         (pass bits, decided bits) and when it became final (0: not yet).
    """
    committee: DynArray[address, MAX_COMMITTEE] = self.members[batchId]
    votes: DynArray[uint256, MAX_COMMITTEE] = []
    for seat: uint256 in range(MAX_COMMITTEE):
        if seat >= len(committee):
            break
        votes.append(self.votes[batchId][seat])
    c: Committee = self.committees[batchId]
    return committee, c.revealed, votes, c.passBits, c.decidedBits, c.finalizedAt


@external
def draw(batchId: bytes32):
    """
    @dev Draws the committee of a batch whose seed is out (anyone, once,
         within the lane's verify window), from the first beacon round
         after the reveal, among oracles staked before the batch was posted.
    @param batchId The batch.
    """
    revealed: bool = False
    count: uint256 = 0
    postedAt: uint256 = 0
    revealedAt: uint256 = 0
    drawBy: uint256 = 0
    revealed, count, postedAt, revealedAt, drawBy = staticcall lane.subject(batchId)
    assert revealed and block.timestamp <= drawBy, "committee: batch not awaiting a verdict"
    assert self.committees[batchId].quorum == 0, "committee: already drawn"
    round: uint64 = (staticcall beacon.roundAt(revealedAt)) + 1
    randomness: bytes32 = staticcall beacon.randomness(round)
    assert randomness != empty(bytes32), "committee: beacon round not available yet"
    q: uint256 = staticcall proofOfRender.quorum()
    drawn: DynArray[address, MAX_COMMITTEE] = staticcall staking.drawOracles(
        keccak256(abi_encode(randomness, batchId)), staticcall proofOfRender.committeeSize(), postedAt
    )
    assert len(drawn) >= q, "committee: not enough eligible oracles"
    self.members[batchId] = drawn
    commitEnds: uint256 = block.timestamp + staticcall proofOfRender.commitWindow()
    self.committees[batchId] = Committee(
        quorum=q, commitEnds=commitEnds, voteEnds=commitEnds + staticcall proofOfRender.voteRevealWindow(),
        committed=0, revealed=0, passBits=0, decidedBits=0, finalizedAt=0
    )
    log CommitteeDrawn(batchId=batchId, round=round, members=drawn, commitEnds=commitEnds)


@external
def commitVotes(
    batchId: bytes32,
    seats: DynArray[uint256, MAX_COMMITTEE],
    commitments: DynArray[bytes32, MAX_COMMITTEE],
    signatures: DynArray[Bytes[65], MAX_COMMITTEE],
):
    """
    @dev Records members' commitments during the commit phase. Anyone
         relays: each is signed by its member (EIP-712
         `VoteCommitment(batchId, commitment)`), or sent by the member
         itself with an empty signature. Once every member has committed,
         the reveal phase opens at once.
    @param batchId The batch.
    @param seats The members' seats (positions in `committeeOf`).
    @param commitments `commitmentOf(batchId, member, passBits, salt)` each.
    @param signatures The members' signatures (empty: the caller's own seat).
    """
    c: Committee = self.committees[batchId]
    assert c.quorum != 0 and c.finalizedAt == 0 and block.timestamp <= c.commitEnds, "committee: commit phase over"
    assert len(seats) == len(commitments) and len(seats) == len(signatures), "committee: lengths differ"
    committee: DynArray[address, MAX_COMMITTEE] = self.members[batchId]
    i: uint256 = 0
    for seat: uint256 in seats:
        member: address = committee[seat]
        assert commitments[i] != empty(bytes32), "committee: empty commitment"
        assert self.commitments[batchId][seat] == empty(bytes32), "committee: already committed"
        if len(signatures[i]) > 0 or msg.sender != member:
            digest: bytes32 = eip712._hash_typed_data_v4(keccak256(abi_encode(COMMIT_TYPEHASH, batchId, commitments[i])))
            assert ecdsa._recover_sig(digest, signatures[i]) == member, "committee: bad commitment signature"
        self.commitments[batchId][seat] = commitments[i]
        i += 1
    c.committed += len(seats)
    if c.committed == len(committee):
        c.commitEnds = block.timestamp
        c.voteEnds = block.timestamp + staticcall proofOfRender.voteRevealWindow()
    self.committees[batchId] = c
    log VotesCommitted(batchId=batchId, seats=seats, committed=c.committed)


@external
def revealVotes(
    batchId: bytes32,
    seats: DynArray[uint256, MAX_COMMITTEE],
    passBits: DynArray[uint256, MAX_COMMITTEE],
    salts: DynArray[bytes32, MAX_COMMITTEE],
):
    """
    @dev Reveals members' committed bitmaps (anyone relays: each reveal is
         checked against its commitment), once every member has committed
         or the commit phase is over. The reveal that completes the
         committee decides.
    @param batchId The batch.
    @param seats The members' seats.
    @param passBits Their bitmaps (bit i set: task i passes).
    @param salts Their salts.
    """
    c: Committee = self.committees[batchId]
    committee: DynArray[address, MAX_COMMITTEE] = self.members[batchId]
    assert c.quorum != 0 and c.finalizedAt == 0, "committee: not voting"
    assert block.timestamp > c.commitEnds or c.committed == len(committee), "committee: commit phase not over"
    assert block.timestamp <= c.voteEnds, "committee: reveal phase over"
    assert len(seats) == len(passBits) and len(seats) == len(salts), "committee: lengths differ"
    i: uint256 = 0
    for seat: uint256 in seats:
        assert c.revealed & (1 << seat) == 0, "committee: already revealed"
        commitment: bytes32 = self.commitments[batchId][seat]
        assert commitment != empty(bytes32), "committee: no commitment"
        assert keccak256(abi_encode(batchId, committee[seat], passBits[i], salts[i])) == commitment, "committee: vote does not match commitment"
        self.votes[batchId][seat] = passBits[i]
        c.revealed |= 1 << seat
        i += 1
    self.committees[batchId] = c
    log VotesRevealed(batchId=batchId, seats=seats, passBits=passBits)
    if c.revealed == (1 << len(committee)) - 1:
        self._finalize(batchId, committee)


@external
def finalize(batchId: bytes32):
    """
    @dev After the reveal phase (anyone): decides with the bitmaps revealed.
    @param batchId The batch.
    """
    c: Committee = self.committees[batchId]
    assert c.quorum != 0 and c.finalizedAt == 0, "committee: not voting"
    assert block.timestamp > c.voteEnds, "committee: reveal phase not over"
    self._finalize(batchId, self.members[batchId])


@internal
def _finalize(batchId: bytes32, committee: DynArray[address, MAX_COMMITTEE]):
    revealed: uint256 = self.committees[batchId].revealed
    q: uint256 = self.committees[batchId].quorum
    votes: DynArray[uint256, MAX_COMMITTEE] = []
    for seat: uint256 in range(MAX_COMMITTEE):
        if seat >= len(committee):
            break
        if revealed & (1 << seat) != 0:
            votes.append(self.votes[batchId][seat])
    count: uint256 = 0
    ok: bool = False
    postedAt: uint256 = 0
    revealedAt: uint256 = 0
    drawBy: uint256 = 0
    ok, count, postedAt, revealedAt, drawBy = staticcall lane.subject(batchId)
    # per task: passes with `quorum` pass votes, fails with `quorum` fail votes, else undecided
    passBits: uint256 = 0
    decided: uint256 = 0
    for i: uint256 in range(MAX_LEAVES):
        if i >= count:
            break
        bit: uint256 = 1 << i
        yes: uint256 = 0
        for vote: uint256 in votes:
            if vote & bit != 0:
                yes += 1
        if yes >= q:
            passBits |= bit
            decided |= bit
        elif len(votes) - yes >= q:
            decided |= bit
    self.committees[batchId].passBits = passBits
    self.committees[batchId].decidedBits = decided
    self.committees[batchId].finalizedAt = block.timestamp
    log BatchVerdict(batchId=batchId, passBits=passBits, decidedBits=decided, revealed=revealed)
