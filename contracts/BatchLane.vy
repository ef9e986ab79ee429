# pragma version ~=0.4.3
# pragma optimize codesize
"""
@title Inferix batch lane: many tasks posted, judged and settled per call
@custom:contract-name BatchLane
@license MIT
@notice The scale path of the accountable protocol (docs/protocol.md,
        "Batches"). A job's manager posts up to 256 tasks at once, each a
        leaf (worker, work, fee, manifest digest, frames, noised package)
        of a Merkle tree whose leaves travel in the call's calldata (with
        the packages' CIDs: `inferix.batches.decode_post`; `BatchPosted`
        logs the root); every worker's acceptance of its leaves is an
        EIP-712 signature carried by the post, and its collateral is
        locked per worker. One seed per batch is committed and time-locked
        to a beacon round (each task's seed is derived from it, so no seed
        serves twice); each worker submits all its result CIDs in one call
        (a Merkle root per worker, the CIDs in calldata); one committee,
        drawn from the beacon after the seed's reveal, commits to and then
        reveals a pass/fail bitmap over the whole batch — the members'
        signed commitments relayed by anyone in one call (`BatchCommittee`). After the
        challenge window one call settles the batch: fees burned and owed
        to the treasury, work, collateral and verdict credits aggregated
        per worker and per oracle. Anyone may challenge one task with its
        leaf and Merkle proof; the arbiter decides it and that task settles
        on its own. A bogus manifest is proven per task as in proof of
        render. Every deadline has a way out, and every fault costs the
        same as on the single-task path.
@custom:security Storage per task is zero: a task lives in calldata and
        events (its leaf, its result CID, its bit in the verdict bitmaps)
        and is proven against the batch's Merkle roots when it matters (a
        challenge, a bogus manifest). Per batch: one record, one slot per
        worker group and its results root, one per committee seat. Funds
        stay in the escrow: a batch reserves its fees from the job's
        budget (`JobEscrow.reserveFor`) and returns burns, the treasury's
        share and refunds through `releaseFor`.
"""

from snekmate.utils import merkle_proof_verification as merkle

from .interfaces import IIFXToken
from .interfaces import IStaking
from .interfaces import IBMWIssuance
from .interfaces import IRandomnessBeacon

from .modules import protocol
from .modules import seal

interface IEscrowForLane:
    def reserveFor(jobId: uint256, manager: address, amount: uint256) -> (uint256, uint256): nonpayable
    def releaseFor(jobId: uint256, burned: uint256, toTreasury: uint256, refund: uint256, last: bool): nonpayable
    def revealWindow() -> uint256: view
    def verifyWindow() -> uint256: view
    def challengeWindow() -> uint256: view
    def disputeWindow() -> uint256: view
    def escrowSlack() -> uint256: view
    def challengeBond() -> uint256: view
    def challengeBondBps() -> uint256: view
    def challengerRewardBps() -> uint256: view
    def managerSlash() -> uint256: view
    def managerSlashBps() -> uint256: view
    def slashBps() -> uint256: view
    def burnBps() -> uint256: view
    def collateralBps() -> uint256: view


# BatchCommittee's record of a batch's committee
struct CommitteeRecord:
    quorum: uint256
    commitEnds: uint256
    voteEnds: uint256
    committed: uint256
    revealed: uint256
    passBits: uint256
    decidedBits: uint256
    finalizedAt: uint256


interface IProofOfRenderForLane:
    def arbiter() -> address: view
    def oracleSlashBps() -> uint256: view
    def challengerRewardBps() -> uint256: view


interface ICommitteeForLane:
    def outcome(batchId: bytes32) -> (DynArray[address, MAX_COMMITTEE], uint256, DynArray[uint256, MAX_COMMITTEE], uint256, uint256, uint256): view
    def committees(batchId: bytes32) -> CommitteeRecord: view
    def sealDefect(seed: bytes32, head: Bytes[seal.SEAL_HEAD], bodyHash: bytes32, keyCommit: bytes32) -> String[32]: view
    def acceptanceSigner(batchId: bytes32, leaves: bytes32, renderWindow: uint256, acceptBy: uint256, signature: Bytes[65]) -> address: view


MAX_LEAVES: constant(uint256) = 256
MAX_WORKERS: constant(uint256) = 32
# at most this many tasks per worker in a batch: its results come in one call
MAX_GROUP: constant(uint256) = 64
MAX_COMMITTEE: constant(uint256) = 15
MAX_DEPTH: constant(uint256) = 8
ADDRESS_MASK: constant(uint256) = 2**160 - 1
BPS: constant(uint256) = protocol.BPS
SEED_ESCROW_BYTES: constant(uint256) = 160
MIN_RENDER_WINDOW: constant(uint256) = 60
MAX_RENDER_WINDOW: constant(uint256) = 7 * 86400

# stages
RENDERING: constant(uint8) = 1
REVEALED: constant(uint8) = 2
SETTLED: constant(uint8) = 3



struct Leaf:
    worker: address
    ibm: uint256
    fee: uint256
    manifestDigest: bytes32
    frameStart: uint32
    frameEnd: uint32
    # keccak256 of the noised package's CID (the CID itself travels in `postBatch`'s calldata)
    package: bytes32


struct Acceptance:
    acceptBy: uint256
    signature: Bytes[65]


struct Batch:
    jobId: uint256
    manager: address
    count: uint256
    root: bytes32
    fees: uint256
    collateralBps: uint256
    seedCommit: bytes32
    seed: bytes32
    escrowRound: uint64
    stage: uint8
    late: bool
    postedAt: uint256
    renderEnds: uint256
    revealBy: uint256
    revealedAt: uint256
    workers: uint256
    submitted: uint256
    doneBits: uint256
    disputed: uint256


struct Dispute:
    challenger: address
    bond: uint256
    ends: uint256


token: public(immutable(IIFXToken))
staking: public(immutable(IStaking))
issuance: public(immutable(IBMWIssuance))
beacon: public(immutable(IRandomnessBeacon))
escrow: public(immutable(IEscrowForLane))
proofOfRender: public(immutable(IProofOfRenderForLane))
deployer: immutable(address)
# @dev The batch committee (votes), wired once after its deployment.
committee: public(ICommitteeForLane)


batches: public(HashMap[bytes32, Batch])
# @dev Per batch and worker group: (first leaf << 160) | worker; groups are in leaf order.
groups: public(HashMap[bytes32, HashMap[uint256, uint256]])
# @dev Per batch and worker group: the Merkle root of its result CIDs (empty: nothing delivered).
results: public(HashMap[bytes32, HashMap[uint256, bytes32]])
# @dev Open challenges, by keccak256(abi_encode(batchId, index)).
disputes: public(HashMap[bytes32, Dispute])
bondsHeld: public(uint256)


event BatchPosted:
    batchId: indexed(bytes32)
    jobId: indexed(uint256)
    manager: indexed(address)
    root: bytes32
    escrowRound: uint64
    seedEscrow: Bytes[SEED_ESCROW_BYTES]
    renderEnds: uint256
    count: uint256

event ResultsSubmitted:
    batchId: indexed(bytes32)
    worker: indexed(address)
    group: uint256
    first: uint256
    root: bytes32

event SeedRevealed:
    batchId: indexed(bytes32)
    seed: bytes32
    revealer: address
    late: bool

event BatchSettled:
    batchId: indexed(bytes32)
    passed: uint256
    failed: uint256
    burned: uint256
    toTreasury: uint256
    refund: uint256

event TaskChallenged:
    batchId: indexed(bytes32)
    index: uint256
    challenger: address
    bond: uint256

event TaskResolved:
    batchId: indexed(bytes32)
    index: uint256
    passed: bool
    overturned: bool

event ManagerSlashed:
    batchId: indexed(bytes32)
    manager: address
    amount: uint256
    toWorkers: uint256
    late: bool

event BadManifestProven:
    batchId: indexed(bytes32)
    index: uint256
    prover: address
    defect: String[32]

event OracleSlashed:
    batchId: indexed(bytes32)
    index: uint256
    oracle: address
    amount: uint256

event NoShow:
    batchId: indexed(bytes32)
    oracle: address


@deploy
def __init__(
    token_: IIFXToken,
    staking_: IStaking,
    issuance_: IBMWIssuance,
    beacon_: IRandomnessBeacon,
    escrow_: IEscrowForLane,
    proofOfRender_: IProofOfRenderForLane,
):
    """
    @param token_ The IFX token (challenge bonds, payments from slashes).
    @param staking_ Staking (collateral, slashes, misses, the draw).
    @param issuance_ BMW issuance (work and verdict credits, penalties).
    @param beacon_ The randomness beacon (committee draws, seed escrows).
    @param escrow_ The job escrow: budgets, and the windows and rates
           both paths share.
    @param proofOfRender_ Proof of render: committee size, quorum, voting
           windows, the arbiter and the oracle slash.
    """
    token = token_
    staking = staking_
    issuance = issuance_
    beacon = beacon_
    escrow = escrow_
    proofOfRender = proofOfRender_
    deployer = msg.sender


@external
def wire(committee_: ICommitteeForLane):
    """
    @dev One-time wiring by the deployer: the batch committee.
    @param committee_ The `BatchCommittee` judging this lane's batches.
    """
    assert msg.sender == deployer and self.committee.address == empty(address), "lane: wired"
    assert committee_.address != empty(address), "lane: zero address"
    self.committee = committee_


# ---------------------------------------------------------------- views and hashing


@view
@external
def subject(batchId: bytes32) -> (bool, uint256, uint256, uint256, uint256):
    """
    @dev What the committee judges: whether the batch awaits a verdict
         (its seed out, not settled), its task count, when it was posted,
         when its seed came out, and the last moment to draw its committee.
    """
    revealedAt: uint256 = self.batches[batchId].revealedAt
    return (self.batches[batchId].stage == REVEALED, self.batches[batchId].count, self.batches[batchId].postedAt,
            revealedAt, revealedAt + staticcall escrow.verifyWindow())


@pure
@internal
def _leafNode(index: uint256, leaf: Leaf) -> bytes32:
    return keccak256(keccak256(abi_encode(index, leaf)))


@pure
@internal
def _resultNode(index: uint256, cid: String[100]) -> bytes32:
    return keccak256(keccak256(abi_encode(index, cid)))


@pure
@internal
def _root(nodes: DynArray[bytes32, MAX_LEAVES]) -> bytes32:
    # pairs hashed sorted (snekmate's and OpenZeppelin's proofs), an odd last node carried up
    level: DynArray[bytes32, MAX_LEAVES] = nodes
    n: uint256 = len(level)
    for _: uint256 in range(MAX_DEPTH + 1):
        if n <= 1:
            break
        half: uint256 = n // 2
        for k: uint256 in range(half, bound=MAX_LEAVES // 2):
            a: bytes32 = level[2 * k]
            b: bytes32 = level[2 * k + 1]
            if convert(a, uint256) < convert(b, uint256):
                level[k] = keccak256(concat(a, b))
            else:
                level[k] = keccak256(concat(b, a))
        if n % 2 == 1:
            level[half] = level[n - 1]
        n = half + n % 2
    return level[0]


@view
@internal
def _groupSpan(batchId: bytes32, group: uint256, count: uint256, workers: uint256) -> (address, uint256, uint256):
    assert group < workers, "lane: no such worker group"
    packed: uint256 = self.groups[batchId][group]
    end: uint256 = count
    if group + 1 < workers:
        end = self.groups[batchId][group + 1] >> 160
    return convert(convert(packed & ADDRESS_MASK, uint160), address), packed >> 160, end


@view
@internal
def _groupOf(batchId: bytes32, worker: address) -> uint256:
    # the group of `worker`'s leaves (a worker has one group per batch)
    workers: uint256 = self.batches[batchId].workers
    for g: uint256 in range(MAX_WORKERS):
        if g >= workers:
            break
        if self.groups[batchId][g] & ADDRESS_MASK == convert(convert(worker, uint160), uint256):
            return g
    raise "lane: no such worker group"


@pure
@internal
def _mask(count: uint256) -> uint256:
    if count == MAX_LEAVES:
        return max_value(uint256)
    return (1 << count) - 1


@view
@internal
def _checkLeaf(batchId: bytes32, index: uint256, leaf: Leaf, proof: DynArray[bytes32, MAX_DEPTH]):
    assert index < self.batches[batchId].count, "lane: no such task"
    assert merkle._verify(proof, self.batches[batchId].root, self._leafNode(index, leaf)), "lane: leaf not in batch"


@internal
def _release(batchId: bytes32, bits: uint256, burned: uint256, toTreasury: uint256, refund: uint256):
    # tasks closed: their money leaves the job (burn, treasury) or returns to it; the batch's hold on the job
    # ends with its last task
    done: uint256 = self.batches[batchId].doneBits | bits
    self.batches[batchId].doneBits = done
    last: bool = self.batches[batchId].stage == SETTLED and done == self._mask(self.batches[batchId].count)
    extcall escrow.releaseFor(self.batches[batchId].jobId, burned, toTreasury, refund, last)


# ---------------------------------------------------------------- posting


@external
def postBatch(
    jobId: uint256,
    nonce: uint256,
    leaves: DynArray[Leaf, MAX_LEAVES],
    packages: DynArray[String[100], MAX_LEAVES],
    acceptances: DynArray[Acceptance, MAX_WORKERS],
    seedCommit: bytes32,
    escrowRound: uint64,
    seedEscrow: Bytes[SEED_ESCROW_BYTES],
    renderWindow: uint256,
) -> bytes32:
    """
    @dev The job's manager posts a batch. Leaves are grouped by worker
         (each worker's leaves consecutive, no worker twice), and each
         group carries its worker's acceptance: an EIP-712
         `Accept(batchId, leaves, renderWindow, acceptBy)` signature in the batch
         committee's domain (`BatchCommittee.acceptanceSigner`), `leaves` the
         keccak256 chain of its leaf nodes (h = keccak256(h ‖ node)). Fees
         are the workers' (they signed them) and at most the job's maximum
         price; they are reserved from the job's budget, and each worker's
         collateral (`collateralBps` of its fees) is locked.
    @param jobId The job (not a benchmark job).
    @param nonce The manager's batch number: the id is
           keccak256(abi_encode(manager, nonce)), never reused.
    @param leaves The tasks (at most 256, at most 32 workers, at most 64
           per worker).
    @param packages Their noised packages' CIDs (leaf.package hashes each).
    @param acceptances One per worker group, in order.
    @param seedCommit keccak256 of the batch seed; task i's seed is
           `taskSeed(batchId, seed, i)`.
    @param escrowRound The beacon round the batch seed is time-locked to.
    @param seedEscrow The time-lock ciphertext of the batch seed.
    @param renderWindow Seconds the workers have for their results.
    @return bytes32 The batch id.
    """
    batchId: bytes32 = keccak256(abi_encode(msg.sender, nonce))
    assert self.batches[batchId].stage == 0, "lane: batch id used"
    assert len(leaves) > 0 and len(packages) == len(leaves), "lane: no tasks or packages"
    assert seedCommit != empty(bytes32), "lane: empty seed commitment"
    assert renderWindow >= MIN_RENDER_WINDOW and renderWindow <= MAX_RENDER_WINDOW, "lane: bad render window"
    assert len(seedEscrow) == SEED_ESCROW_BYTES, "lane: malformed seed escrow"
    assert staticcall staking.isActive(msg.sender, protocol.ROLE_MANAGER), "lane: manager not active"
    # the seed escrow opens after the render deadline, and not much later
    renderEnds: uint256 = block.timestamp + renderWindow
    opens: uint256 = staticcall beacon.roundTime(escrowRound)
    assert opens > renderEnds, "lane: seed escrow round too early"
    assert opens <= renderEnds + staticcall escrow.escrowSlack(), "lane: seed escrow round too late"

    fees: uint256 = 0
    for leaf: Leaf in leaves:
        fees += leaf.fee
    rate: uint256 = 0
    maxPrice: uint256 = 0
    rate, maxPrice = extcall escrow.reserveFor(jobId, msg.sender, fees)
    collateralBps: uint256 = staticcall escrow.collateralBps()

    nodes: DynArray[bytes32, MAX_LEAVES] = []
    accepted: bytes32 = empty(bytes32)
    collateral: uint256 = 0
    group: uint256 = 0
    first: uint256 = 0
    index: uint256 = 0
    for leaf: Leaf in leaves:
        assert leaf.ibm > 0 and leaf.fee > 0, "lane: zero work or fee"
        assert leaf.fee <= (leaf.ibm * maxPrice // protocol.IBM_ONE) * 10**18 // rate, "lane: fee above job maximum"
        assert leaf.manifestDigest != empty(bytes32), "lane: empty manifest digest"
        assert leaf.frameEnd >= leaf.frameStart, "lane: bad frame range"
        assert keccak256(packages[index]) == leaf.package, "lane: package not the leaf's"
        node: bytes32 = self._leafNode(index, leaf)
        nodes.append(node)
        if index == 0 or leaves[index - 1].worker != leaf.worker:
            # a new group: its worker must not have one already
            for g: uint256 in range(MAX_WORKERS):
                if g >= group:
                    break
                assert self.groups[batchId][g] & ADDRESS_MASK != convert(convert(leaf.worker, uint160), uint256), "lane: worker in two groups"
            self.groups[batchId][group] = (index << 160) | convert(convert(leaf.worker, uint160), uint256)
            accepted = empty(bytes32)
            collateral = 0
            first = index
        accepted = keccak256(concat(accepted, node))
        collateral += leaf.fee * collateralBps // BPS
        index += 1
        if index == len(leaves) or leaves[index].worker != leaf.worker:
            # the group is complete: its size, its worker's signature, its collateral
            assert index - first <= MAX_GROUP, "lane: over 64 tasks for one worker"
            assert group < len(acceptances), "lane: one acceptance each"
            assert block.timestamp <= acceptances[group].acceptBy, "lane: acceptance expired"
            signer: address = staticcall self.committee.acceptanceSigner(
                batchId, accepted, renderWindow, acceptances[group].acceptBy, acceptances[group].signature
            )
            assert signer == leaf.worker, "lane: bad acceptance"
            extcall staking.lockCollateral(leaf.worker, collateral, rate, maxPrice)
            group += 1
    assert group == len(acceptances), "lane: one acceptance each"

    root: bytes32 = self._root(nodes)
    revealBy: uint256 = renderEnds + staticcall escrow.revealWindow()
    # field by field: a struct literal would also write its zero fields (a cold no-op SSTORE each)
    self.batches[batchId].jobId = jobId
    self.batches[batchId].manager = msg.sender
    self.batches[batchId].count = len(leaves)
    self.batches[batchId].root = root
    self.batches[batchId].fees = fees
    self.batches[batchId].collateralBps = collateralBps
    self.batches[batchId].seedCommit = seedCommit
    self.batches[batchId].escrowRound = escrowRound
    self.batches[batchId].stage = RENDERING
    self.batches[batchId].postedAt = block.timestamp
    self.batches[batchId].renderEnds = renderEnds
    self.batches[batchId].revealBy = revealBy
    self.batches[batchId].workers = group
    log BatchPosted(
        batchId=batchId, jobId=jobId, manager=msg.sender, root=root, escrowRound=escrowRound,
        seedEscrow=seedEscrow, renderEnds=renderEnds, count=len(leaves)
    )
    return batchId


# ---------------------------------------------------------------- results and the seed


@external
def submitResults(batchId: bytes32, group: uint256, cids: DynArray[String[100], MAX_GROUP]):
    """
    @dev The worker of a group submits the CIDs of all its tasks' frames,
         in its leaves' order, before the render deadline. Once every
         worker has, the seed is due within the reveal window.
    @param batchId The batch.
    @param group The caller's worker group.
    @param cids One result CID per leaf of the group.
    """
    count: uint256 = self.batches[batchId].count
    workers: uint256 = self.batches[batchId].workers
    assert self.batches[batchId].stage == RENDERING, "lane: not rendering"
    assert block.timestamp <= self.batches[batchId].renderEnds, "lane: render deadline passed"
    worker: address = empty(address)
    first: uint256 = 0
    end: uint256 = 0
    worker, first, end = self._groupSpan(batchId, group, count, workers)
    assert msg.sender == worker, "lane: not the group's worker"
    assert self.results[batchId][group] == empty(bytes32), "lane: results already submitted"
    assert len(cids) == end - first, "lane: one result per task"
    nodes: DynArray[bytes32, MAX_LEAVES] = []
    index: uint256 = first
    for cid: String[100] in cids:
        assert len(cid) > 0, "lane: empty result CID"
        nodes.append(self._resultNode(index, cid))
        index += 1
    root: bytes32 = self._root(nodes)
    self.results[batchId][group] = root
    submitted: uint256 = self.batches[batchId].submitted + 1
    self.batches[batchId].submitted = submitted
    if submitted == workers:
        self.batches[batchId].revealBy = min(self.batches[batchId].revealBy, block.timestamp + staticcall escrow.revealWindow())
    log ResultsSubmitted(batchId=batchId, worker=msg.sender, group=group, first=first, root=root)


@external
def revealSeed(batchId: bytes32, seed: bytes32):
    """
    @dev Publishes the batch seed once every worker has submitted or the
         render deadline has passed (anyone: the manager, or whoever
         opened the seed escrow; nobody is paid for it). Past `revealBy`
         the manager is slashed for lateness (once) and loses the batch's
         BMW credit.
    @param batchId The batch.
    @param seed The seed behind `seedCommit`.
    """
    assert self.batches[batchId].stage == RENDERING, "lane: not rendering"
    assert self.batches[batchId].submitted == self.batches[batchId].workers or block.timestamp > self.batches[batchId].renderEnds, "lane: results still due"
    assert keccak256(seed) == self.batches[batchId].seedCommit, "lane: seed not committed"
    if block.timestamp > self.batches[batchId].revealBy and not self.batches[batchId].late:
        self._slashManager(batchId, True, empty(DynArray[Leaf, MAX_LEAVES]))
    self.batches[batchId].seed = seed
    self.batches[batchId].stage = REVEALED
    self.batches[batchId].revealedAt = block.timestamp
    log SeedRevealed(batchId=batchId, seed=seed, revealer=msg.sender, late=self.batches[batchId].late)


@external
def expire(batchId: bytes32):
    """
    @dev Permissionless: the seed not revealed by `revealBy` → the manager
         is slashed for lateness (once; the batch's BMW manager credit is
         forfeited) and the reveal waits for the seed escrow, until a
         reveal window after its round; then `settle` voids the batch.
    @param batchId The batch.
    """
    assert self.batches[batchId].stage == RENDERING, "lane: nothing to expire"
    assert block.timestamp > self.batches[batchId].revealBy and not self.batches[batchId].late, "lane: nothing to expire"
    self._slashManager(batchId, True, empty(DynArray[Leaf, MAX_LEAVES]))
    opens: uint256 = staticcall beacon.roundTime(self.batches[batchId].escrowRound)
    self.batches[batchId].revealBy = max(block.timestamp, opens) + staticcall escrow.revealWindow()


@view
@internal
def _verdict(batchId: bytes32) -> (DynArray[address, MAX_COMMITTEE], uint256, DynArray[uint256, MAX_COMMITTEE], uint256, uint256, uint256):
    # the committee's outcome, and when the challenge window closes (0: no verdict yet)
    committee: DynArray[address, MAX_COMMITTEE] = []
    revealed: uint256 = 0
    votes: DynArray[uint256, MAX_COMMITTEE] = []
    passBits: uint256 = 0
    decided: uint256 = 0
    finalizedAt: uint256 = 0
    committee, revealed, votes, passBits, decided, finalizedAt = staticcall self.committee.outcome(batchId)
    ends: uint256 = 0
    if finalizedAt != 0:
        ends = finalizedAt + staticcall escrow.challengeWindow()
    return committee, revealed, votes, passBits, decided, ends


# ---------------------------------------------------------------- settlement


struct Totals:
    burned: uint256
    toTreasury: uint256
    refund: uint256
    passed: uint256
    failed: uint256


@external
def settle(batchId: bytes32, leaves: DynArray[Leaf, MAX_LEAVES]):
    """
    @dev Settles every task of the batch not closed on its own (anyone),
         after the challenge window; or voids a batch whose seed never
         came out (its escrow did not open: the manager is slashed again
         and the workers who delivered are paid their fees from the
         slash). A task passes when its committee said so and its worker
         delivered; it fails (`slashBps` of its collateral slashed) when
         the committee failed it or its worker delivered nothing;
         undecided, it closes without fault. The fees of failed and
         undecided tasks return to the job's budget (the manager posts
         them again). Work, collateral and verdict credits are aggregated
         per worker and per member.
    @param batchId The batch.
    @param leaves All its leaves, in order.
    """
    count: uint256 = self.batches[batchId].count
    assert len(leaves) == count and count > 0, "lane: not the batch's leaves"
    nodes: DynArray[bytes32, MAX_LEAVES] = []
    index: uint256 = 0
    for leaf: Leaf in leaves:
        nodes.append(self._leafNode(index, leaf))
        index += 1
    assert self._root(nodes) == self.batches[batchId].root, "lane: not the batch's leaves"
    stage: uint8 = self.batches[batchId].stage
    void: bool = False
    committee: DynArray[address, MAX_COMMITTEE] = []
    revealed: uint256 = 0
    votes: DynArray[uint256, MAX_COMMITTEE] = []
    passBits: uint256 = 0
    decided: uint256 = 0
    ends: uint256 = 0
    if stage == RENDERING:
        assert self.batches[batchId].late and block.timestamp > self.batches[batchId].revealBy, "lane: seed not revealed"
        void = True
        self._slashManager(batchId, False, leaves)
    else:
        assert stage == REVEALED, "lane: batch settled"
        committee, revealed, votes, passBits, decided, ends = self._verdict(batchId)
        if ends == 0:
            # no verdict: only when no committee was drawn in time (a drawn one is finalized by anyone)
            assert len(committee) == 0, "lane: verdict pending"
            assert block.timestamp > self.batches[batchId].revealedAt + staticcall escrow.verifyWindow(), "lane: verdict pending"
        else:
            assert block.timestamp > ends, "lane: challenge window open"
        seat: uint256 = 0
        for member: address in committee:
            if revealed & (1 << seat) == 0:
                extcall staking.recordNoShow(member)  # a seat that did not reveal: a miss
                log NoShow(batchId=batchId, oracle=member)
            seat += 1
    skip: uint256 = self.batches[batchId].doneBits | self.batches[batchId].disputed
    collateralBps: uint256 = self.batches[batchId].collateralBps
    manager: address = self.batches[batchId].manager
    if self.batches[batchId].late:
        manager = empty(address)  # a late reveal forfeits the manager's BMW credit
    burnBps: uint256 = staticcall escrow.burnBps()
    slashBps: uint256 = staticcall escrow.slashBps()
    weights: DynArray[uint256, MAX_COMMITTEE] = []
    for _: address in committee:
        weights.append(0)
    t: Totals = empty(Totals)
    workers: uint256 = self.batches[batchId].workers
    for g: uint256 in range(MAX_WORKERS):
        if g >= workers:
            break
        worker: address = empty(address)
        first: uint256 = 0
        end: uint256 = 0
        worker, first, end = self._groupSpan(batchId, g, count, workers)
        delivered: bool = self.results[batchId][g] != empty(bytes32)
        locked: uint256 = 0
        penalty: uint256 = 0
        ibm: uint256 = 0
        fees: uint256 = 0
        burned: uint256 = 0
        for i: uint256 in range(first, end, bound=MAX_LEAVES):
            bit: uint256 = 1 << i
            if skip & bit != 0:
                continue
            fee: uint256 = leaves[i].fee
            collateral: uint256 = fee * collateralBps // BPS
            locked += collateral
            if void:
                t.refund += fee
                continue
            # frames never delivered fail whatever the votes: only the members who failed them are credited
            passes: bool = passBits & bit != 0 and delivered
            if decided & bit != 0:
                seat: uint256 = 0
                for vote: uint256 in votes:
                    if revealed & (1 << seat) != 0 and (vote & bit != 0) == passes:
                        weights[seat] += fee
                    seat += 1
            if passes:
                part: uint256 = fee * burnBps // BPS
                burned += part
                fees += fee
                ibm += leaves[i].ibm
                t.passed += 1
            else:
                if not delivered or decided & bit != 0:
                    penalty += collateral * slashBps // BPS
                    t.failed += 1
                t.refund += fee
        if penalty > 0:
            extcall staking.slashCollateral(worker, locked, penalty, empty(address), 0)
        elif locked > 0:
            extcall staking.unlockCollateral(worker, locked)
        if fees > 0:
            extcall issuance.recordWork(worker, manager, ibm, fees, burned)
            t.burned += burned
            t.toTreasury += fees - burned
    seat: uint256 = 0
    for member: address in committee:
        if weights[seat] > 0:
            extcall issuance.creditVerdict(member, weights[seat])
        seat += 1
    self.batches[batchId].stage = SETTLED
    self._release(batchId, self._mask(count) & ~skip, t.burned, t.toTreasury, t.refund)
    log BatchSettled(batchId=batchId, passed=t.passed, failed=t.failed, burned=t.burned, toTreasury=t.toTreasury,
                     refund=t.refund)


# ---------------------------------------------------------------- one task: challenges, bogus manifests


@external
def challenge(batchId: bytes32, index: uint256, leaf: Leaf, proof: DynArray[bytes32, MAX_DEPTH]):
    """
    @dev Bonded challenge of one task's verdict within the challenge
         window (anyone: the creator, an oracle, the worker against a
         FAIL). Needs an allowance of `max(challengeBond, challengeBondBps
         × fee)`. The task then waits for the arbiter (`resolve`), or for
         `disputeWindow` (`settleTask`: the verdict stands, the bond comes
         back); the rest of the batch settles without it.
    @param batchId The batch.
    @param index The task's position.
    @param leaf The task's leaf.
    @param proof Its Merkle proof.
    """
    self._checkLeaf(batchId, index, leaf, proof)
    bit: uint256 = 1 << index
    c: CommitteeRecord = staticcall self.committee.committees(batchId)
    ends: uint256 = c.finalizedAt + staticcall escrow.challengeWindow()
    assert self.batches[batchId].stage == REVEALED and c.finalizedAt != 0 and block.timestamp <= ends, "lane: challenge window closed"
    assert c.decidedBits & bit != 0, "lane: task has no verdict"
    disputed: uint256 = self.batches[batchId].disputed
    assert (disputed | self.batches[batchId].doneBits) & bit == 0, "lane: task challenged or closed"
    bond: uint256 = max(staticcall escrow.challengeBond(), leaf.fee * staticcall escrow.challengeBondBps() // BPS)
    if bond > 0:
        assert extcall token.transferFrom(msg.sender, self, bond), "lane: transfer failed"
        self.bondsHeld += bond
    self.disputes[keccak256(abi_encode(batchId, index))] = Dispute(
        challenger=msg.sender, bond=bond, ends=block.timestamp + staticcall escrow.disputeWindow()
    )
    self.batches[batchId].disputed = disputed | bit
    log TaskChallenged(batchId=batchId, index=index, challenger=msg.sender, bond=bond)


@external
def resolve(batchId: bytes32, index: uint256, group: uint256, leaf: Leaf, proof: DynArray[bytes32, MAX_DEPTH], passed: bool):
    """
    @dev Closes a challenged task, which settles at once. The arbiter,
         within the dispute window, decides `passed`: members who voted the
         other way are slashed `oracleSlashBps` of their stake, members who
         voted this way are credited its fee value; a challenger who
         overturned the verdict gets its bond back and
         `challengerRewardBps` of every slash it caused, one who did not
         loses its bond to the penalty pool. After the dispute window,
         anyone: the arbiter's silence keeps the committee's verdict
         (`passed` is ignored), the bond comes back.
    @param batchId The batch.
    @param index The task.
    @param group Its worker group.
    @param leaf Its leaf.
    @param proof Its Merkle proof.
    @param passed The arbiter's verdict.
    """
    assert self.batches[batchId].disputed & (1 << index) != 0, "lane: task not disputed"
    judged: bool = block.timestamp <= self.disputes[keccak256(abi_encode(batchId, index))].ends
    if judged:
        assert msg.sender == staticcall proofOfRender.arbiter(), "lane: caller is not the arbiter"
    self._settleTask(batchId, index, group, leaf, proof, passed, judged)


@internal
def _settleTask(batchId: bytes32, index: uint256, group: uint256, leaf: Leaf, proof: DynArray[bytes32, MAX_DEPTH],
                decision: bool, judged: bool):
    # judged: the arbiter's `decision`; not judged: the committee's verdict stands
    self._checkLeaf(batchId, index, leaf, proof)
    worker: address = empty(address)
    first: uint256 = 0
    end: uint256 = 0
    worker, first, end = self._groupSpan(batchId, group, self.batches[batchId].count, self.batches[batchId].workers)
    assert index >= first and index < end, "lane: task not in the group"
    bit: uint256 = 1 << index
    key: bytes32 = keccak256(abi_encode(batchId, index))
    d: Dispute = self.disputes[key]
    self.disputes[key] = empty(Dispute)
    self.batches[batchId].disputed &= ~bit
    committee: DynArray[address, MAX_COMMITTEE] = []
    revealed: uint256 = 0
    votes: DynArray[uint256, MAX_COMMITTEE] = []
    passBits: uint256 = 0
    decided: uint256 = 0
    ends: uint256 = 0
    committee, revealed, votes, passBits, decided, ends = self._verdict(batchId)
    passed: bool = passBits & bit != 0
    if judged:
        passed = decision
    # frames never delivered fail whatever the votes or the decision (as at `settle`)
    delivered: bool = self.results[batchId][group] != empty(bytes32)
    passed = passed and delivered
    overturned: bool = passed != (passBits & bit != 0)
    rewardBps: uint256 = staticcall escrow.challengerRewardBps()
    challenger: address = empty(address)
    if overturned:
        challenger = d.challenger
    # the bond: back to a challenger who overturned the verdict or whom the arbiter did not answer
    if d.bond > 0:
        self.bondsHeld -= d.bond
        if overturned or not judged:
            assert extcall token.transfer(d.challenger, d.bond), "lane: transfer failed"
        else:
            assert extcall token.transfer(issuance.address, d.bond), "lane: transfer failed"
            extcall issuance.notifyPenalty(d.bond)
    # the members: the losing side slashed (when judged), the winning side credited
    seat: uint256 = 0
    for member: address in committee:
        if revealed & (1 << seat) != 0:
            if (votes[seat] & bit != 0) == passed:
                extcall issuance.creditVerdict(member, leaf.fee)
            elif judged:
                amount: uint256 = (staticcall staking.stakeOf(member)) * staticcall proofOfRender.oracleSlashBps() // BPS
                # the challenger's share of an oracle's slash is proof of render's, as on the single path
                share: uint256 = amount * staticcall proofOfRender.challengerRewardBps() // BPS
                slashed: uint256 = extcall staking.slash(member, amount, challenger, share)
                log OracleSlashed(batchId=batchId, index=index, oracle=member, amount=slashed)
        seat += 1
    # the task itself
    collateral: uint256 = leaf.fee * self.batches[batchId].collateralBps // BPS
    burned: uint256 = 0
    toTreasury: uint256 = 0
    refund: uint256 = 0
    if passed:
        burned = leaf.fee * staticcall escrow.burnBps() // BPS
        toTreasury = leaf.fee - burned
        extcall staking.unlockCollateral(leaf.worker, collateral)
        manager: address = self.batches[batchId].manager
        if self.batches[batchId].late:
            manager = empty(address)
        extcall issuance.recordWork(leaf.worker, manager, leaf.ibm, leaf.fee, burned)
    else:
        penalty: uint256 = collateral * staticcall escrow.slashBps() // BPS
        extcall staking.slashCollateral(leaf.worker, collateral, penalty, challenger, penalty * rewardBps // BPS)
        refund = leaf.fee
    self._release(batchId, bit, burned, toTreasury, refund)
    log TaskResolved(batchId=batchId, index=index, passed=passed, overturned=overturned)


@external
def proveBadManifest(batchId: bytes32, index: uint256, leaf: Leaf, proof: DynArray[bytes32, MAX_DEPTH],
                     head: Bytes[seal.SEAL_HEAD], bodyHash: bytes32):
    """
    @dev Anyone, once the seed is out and before the task settles: proves
         that the task's committed sealed manifest does not open with its
         seed (as `ProofOfRender.proveBadManifest`). The manager is slashed
         `max(managerSlash, managerSlashBps × fee)`, the worker paid its
         fee from the slash and its collateral released; the fee returns to
         the job (the manager posts the task again). A challenged task is
         the arbiter's to decide.
    @param batchId The batch.
    @param index The task.
    @param leaf Its leaf.
    @param proof Its Merkle proof.
    @param head The sealed manifest's first 104 bytes.
    @param bodyHash keccak256 of the rest.
    """
    defect: String[32] = ""  # declared first: a revert's trace decodes it
    self._checkLeaf(batchId, index, leaf, proof)
    bit: uint256 = 1 << index
    assert self.batches[batchId].stage != RENDERING, "lane: seed not revealed"
    assert (self.batches[batchId].doneBits | self.batches[batchId].disputed) & bit == 0, "lane: task closed or disputed"
    assert keccak256(concat(head, bodyHash)) == leaf.manifestDigest, "lane: not the committed manifest"
    # as on the single path (a result before the proof): a worker who delivered nothing is not paid from the
    # slash, and fails at settlement
    assert self.results[batchId][self._groupOf(batchId, leaf.worker)] != empty(bytes32), "lane: no frames delivered"
    seed: bytes32 = keccak256(abi_encode(self.batches[batchId].seed, batchId, index))
    defect = staticcall self.committee.sealDefect(seed, head, bodyHash, keccak256(seed))
    assert defect != "", "lane: seal is sound"
    manager: address = self.batches[batchId].manager
    amount: uint256 = max(staticcall escrow.managerSlash(), leaf.fee * staticcall escrow.managerSlashBps() // BPS)
    taken: uint256 = extcall staking.slash(manager, amount, leaf.worker, leaf.fee)
    log ManagerSlashed(batchId=batchId, manager=manager, amount=taken, toWorkers=min(taken, leaf.fee), late=False)
    extcall staking.unlockCollateral(leaf.worker, leaf.fee * self.batches[batchId].collateralBps // BPS)
    self._release(batchId, bit, 0, 0, leaf.fee)
    log BadManifestProven(batchId=batchId, index=index, prover=msg.sender, defect=defect)


@internal
def _slashManager(batchId: bytes32, late: bool, leaves: DynArray[Leaf, MAX_LEAVES]):
    # late: a fixed slash for a reveal left past its window, nobody paid from it (verification proceeds from the
    # seed escrow), and the batch's BMW manager credit is forfeited. Not late (the escrow never opened): the slash
    # pays each worker who delivered its fees, in group order while it lasts.
    manager: address = self.batches[batchId].manager
    amount: uint256 = max(staticcall escrow.managerSlash(), self.batches[batchId].fees * staticcall escrow.managerSlashBps() // BPS)
    count: uint256 = self.batches[batchId].count
    workers: uint256 = self.batches[batchId].workers
    payees: DynArray[address, MAX_WORKERS] = []
    dues: DynArray[uint256, MAX_WORKERS] = []
    owed: uint256 = 0
    if late:
        self.batches[batchId].late = True
    else:
        for g: uint256 in range(MAX_WORKERS):
            if g >= workers:
                break
            if self.results[batchId][g] != empty(bytes32):
                worker: address = empty(address)
                first: uint256 = 0
                end: uint256 = 0
                worker, first, end = self._groupSpan(batchId, g, count, workers)
                due: uint256 = 0
                for i: uint256 in range(first, end, bound=MAX_LEAVES):
                    due += leaves[i].fee
                payees.append(worker)
                dues.append(due)
                owed += due
    rewardTo: address = empty(address)
    if owed > 0:
        rewardTo = self
    taken: uint256 = extcall staking.slash(manager, amount, rewardTo, owed)
    paid: uint256 = min(taken, owed)
    log ManagerSlashed(batchId=batchId, manager=manager, amount=taken, toWorkers=paid, late=late)
    i: uint256 = 0
    for payee: address in payees:
        part: uint256 = min(dues[i], paid)
        paid -= part
        if part > 0:
            assert extcall token.transfer(payee, part), "lane: transfer failed"
        i += 1
