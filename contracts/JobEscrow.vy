# pragma version ~=0.4.3
# pragma optimize codesize
"""
@title Inferix job escrow: jobs, tasks, deadlines and settlement
@custom:contract-name JobEscrow
@license MIT
@notice A creator locks an IFX budget and the IFX/USD rate for the job's
        life (`createJob`). The job's manager posts tasks with a key
        commitment `keccak256(seed)` and the digest of the sealed manifest,
        and assigns them; a worker accepts (collateral locked in
        `Staking`), renders and submits a result CID; anyone holding the
        seed reveals it; the proof-of-render contract records the verdict;
        after the challenge window anyone settles. Passed: the fee
        `W_t × P` at the job's rate is 80 % burned and 20 % owed to the
        treasury, and the work is credited to the BMW epoch. Every attempt
        has its own secret: a re-queued task waits for the manager's
        `rekey` (a new seed commitment, manifest digest and noised
        package), a manager never reuses a commitment, and a task never
        accepts the same result CID twice. Every seed is escrowed from the
        moment its task is posted: time-locked to a beacon round after the
        task's last possible render deadline (`seedEscrow`, opened off
        chain with that round's signature), so anyone can reveal it even
        if the manager disappears. A reveal the manager lets expire costs
        it a fixed slash and its BMW credit, and verification proceeds
        from the escrow; an escrow that never opens slashes the manager
        again and pays the worker its fee from the slash; a challenge the arbiter leaves undecided keeps the
        verdict. Benchmark jobs (`createBenchmarkJob`) are the only way IB
        is measured: their task's work is the governance-set standard.
        Every deadline has a permissionless `expire`; every payout is a
        pull (`withdraw`). A creator without ETH creates, closes and
        withdraws through the job relay (`trustedForwarder`, ERC-2771),
        which appends the creator it verified to the calldata: only
        `createJob`, `closeJob` and `withdraw` read it (`_sender`).
@custom:security The escrow's IFX balance always equals the unreserved
        budgets + the reservations of live tasks + the batch lane's held
        fees (`laneHeld`) + `claimable` + bonds held.
"""

from .modules import protocol
from .modules import governed

initializes: governed

exports: (governed.governance, governed.wired)

from .interfaces import IIFXToken
from .interfaces import IStaking
from .interfaces import IBMWIssuance
from .interfaces import IPriceFeed
from .interfaces import IRandomnessBeacon
from .interfaces import IJobEscrow
implements: IJobEscrow


interface IProofOfRender:
    def beacon() -> address: view
    def votingWindows() -> uint256: view


POSTED: constant(uint8) = protocol.POSTED
ASSIGNED: constant(uint8) = protocol.ASSIGNED
ACCEPTED: constant(uint8) = protocol.ACCEPTED
SUBMITTED: constant(uint8) = protocol.SUBMITTED
REVEALED: constant(uint8) = protocol.REVEALED
VERIFIED: constant(uint8) = protocol.VERIFIED
DISPUTED: constant(uint8) = protocol.DISPUTED
SETTLED: constant(uint8) = protocol.SETTLED
FAILED: constant(uint8) = protocol.FAILED
CANCELLED: constant(uint8) = protocol.CANCELLED
BPS: constant(uint256) = protocol.BPS
IBM_ONE: constant(uint256) = protocol.IBM_ONE
IB_ONE: constant(uint256) = protocol.IB_ONE
MIN_IB: constant(uint256) = IB_ONE // 100
MAX_IB: constant(uint256) = 1000 * IB_ONE
MIN_RENDER_WINDOW: constant(uint256) = 60
# a time-lock ciphertext of a 32-byte seed: U (G2, compressed) || V || W (inferix/timelock.py)
SEED_ESCROW_BYTES: constant(uint256) = 160
MAX_RENDER_WINDOW: constant(uint256) = 7 * 86400
MAX_BATCH: constant(uint256) = 64


struct Job:
    creator: address
    manager: address
    budget: uint256
    usdPerIfx: uint256
    maxPricePerIBM: uint256
    openTasks: uint256
    closed: bool
    benchmark: bool


struct TaskSpec:
    ibm: uint256
    keyCommit: bytes32
    manifestDigest: bytes32
    escrowRound: uint64
    seedEscrow: Bytes[SEED_ESCROW_BYTES]
    frameStart: uint32
    frameEnd: uint32
    renderWindow: uint256
    sceneCid: String[100]


token: public(immutable(IIFXToken))
staking: public(immutable(IStaking))
priceFeed: public(immutable(IPriceFeed))
issuance: public(immutable(IBMWIssuance))
treasury: public(immutable(address))
# @dev The job relay (ERC-2771): a call from it acts for the address in its calldata's last 20 bytes.
trustedForwarder: public(immutable(address))
proofOfRender: public(address)
# @dev The batch lane: reserves and releases job funds for batches of tasks (docs/protocol.md, "Batches").
lane: public(address)
# @dev The fees of batches still held for the lane (reserved, not yet burned, owed or refunded).
laneHeld: public(uint256)
# @dev The proof-of-render contract's randomness beacon: seed escrows are time-locked to its rounds.
beacon: public(IRandomnessBeacon)

jobs: public(HashMap[uint256, Job])
# the Task struct is IJobEscrow's, so that proof of render reads the same layout
tasks: public(HashMap[uint256, IJobEscrow.Task])
jobCount: public(uint256)
taskCount: public(uint256)
claimable: public(HashMap[address, uint256])
# @dev The challenge bond held for a disputed task.
bonds: public(HashMap[uint256, uint256])
bondsHeld: public(uint256)
# @dev keccak256(manager, seed commitment) and keccak256(taskId, result CID hash) ever used: none is accepted
# twice. Scoped so that nobody can block another's post or submission by copying its value from the mempool.
usedCommits: HashMap[bytes32, bool]
usedResults: HashMap[bytes32, bool]

burnBps: public(uint256)
slashBps: public(uint256)
collateralBps: public(uint256)
maxAttempts: public(uint256)
acceptWindow: public(uint256)
revealWindow: public(uint256)
verifyWindow: public(uint256)
challengeWindow: public(uint256)
disputeWindow: public(uint256)
challengeBond: public(uint256)
challengeBondBps: public(uint256)
challengerRewardBps: public(uint256)
managerSlash: public(uint256)
managerSlashBps: public(uint256)
# @dev How far past a task's last possible render deadline its seed escrow may open (s).
escrowSlack: public(uint256)
# @dev The standard benchmark: its task's work (micro-IBM) and keccak256 of its scene CID (0 = any scene).
benchmarkWork: public(uint256)
benchmarkScene: public(bytes32)


event JobCreated:
    jobId: indexed(uint256)
    creator: indexed(address)
    manager: indexed(address)
    sceneCid: String[100]
    frameStart: uint32
    frameEnd: uint32
    outputSettings: String[200]
    budget: uint256
    usdPerIfx: uint256
    maxPricePerIBM: uint256
    benchmark: bool

event JobClosed:
    jobId: indexed(uint256)
    refunded: uint256

event TaskPosted:
    taskId: indexed(uint256)
    jobId: indexed(uint256)
    ibm: uint256
    reserved: uint256
    keyCommit: bytes32
    manifestDigest: bytes32
    escrowRound: uint64
    seedEscrow: Bytes[SEED_ESCROW_BYTES]
    frameStart: uint32
    frameEnd: uint32
    renderWindow: uint256
    sceneCid: String[100]
    jobBudget: uint256

event TaskRekeyed:
    taskId: indexed(uint256)
    attempt: uint256
    keyCommit: bytes32
    manifestDigest: bytes32
    escrowRound: uint64
    seedEscrow: Bytes[SEED_ESCROW_BYTES]
    sceneCid: String[100]

event ManagerSlashed:
    taskId: indexed(uint256)
    manager: indexed(address)
    amount: uint256
    toWorker: uint256
    late: bool

event TaskAssigned:
    taskId: indexed(uint256)
    worker: indexed(address)
    deadline: uint256

event TaskAccepted:
    taskId: indexed(uint256)
    worker: indexed(address)
    fee: uint256
    collateral: uint256
    deadline: uint256

event ResultSubmitted:
    taskId: indexed(uint256)
    worker: indexed(address)
    resultCid: String[100]

event KeyRevealed:
    taskId: indexed(uint256)
    seed: bytes32
    revealer: indexed(address)
    late: bool

event VerdictRecorded:
    taskId: indexed(uint256)
    passed: bool
    challengeEnds: uint256

event TaskDisputed:
    taskId: indexed(uint256)
    challenger: indexed(address)
    bond: uint256

event DisputeResolved:
    taskId: indexed(uint256)
    passed: bool
    overturned: bool

event TaskSettled:
    taskId: indexed(uint256)
    worker: indexed(address)
    fee: uint256
    burned: uint256
    toTreasury: uint256

event TaskFailed:
    taskId: indexed(uint256)
    worker: indexed(address)
    slashed: uint256
    requeued: bool
    attempts: uint256

event TaskExpired:
    taskId: indexed(uint256)
    state: uint8

event TaskCancelled:
    taskId: indexed(uint256)

event Withdrawal:
    account: indexed(address)
    amount: uint256

event ParameterChanged:
    name: String[32]
    newValue: uint256


@deploy
def __init__(
    token_: IIFXToken,
    staking_: IStaking,
    priceFeed_: IPriceFeed,
    issuance_: IBMWIssuance,
    governance_: address,
    treasury_: address,
    benchmarkWork_: uint256,
    trustedForwarder_: address,
):
    """
    @param token_ The IFX token.
    @param staking_ The staking contract (collateral).
    @param priceFeed_ The IFX/USD adapter.
    @param issuance_ The BMW issuance contract (work credits, penalties).
    @param governance_ The timelock allowed to change parameters.
    @param treasury_ The foundation treasury (20 % of fees, pulled).
    @param benchmarkWork_ The standard benchmark task's work, micro-IBM.
    @param trustedForwarder_ The job relay (`JobRelay`): creates, closes and withdraws for creators who sign.
    """
    assert treasury_ != empty(address), "escrow: zero treasury"
    governed.__init__(governance_)
    token = token_
    staking = staking_
    priceFeed = priceFeed_
    issuance = issuance_
    treasury = treasury_
    trustedForwarder = trustedForwarder_
    self.benchmarkWork = benchmarkWork_
    self.challengeBondBps = 10000
    self.challengerRewardBps = 5000
    self.managerSlash = 100 * 10**18
    self.managerSlashBps = 20000
    self.escrowSlack = 86400
    self.burnBps = 8000
    self.slashBps = 1000
    self.collateralBps = 20000
    self.maxAttempts = 3
    self.acceptWindow = 900
    self.revealWindow = 3600
    self.verifyWindow = 6 * 3600
    self.challengeWindow = 3600
    self.disputeWindow = 3 * 86400
    self.challengeBond = 100 * 10**18


@external
def wire(proofOfRender_: address, lane_: address):
    """
    @dev One-time wiring by the deployer.
    @param proofOfRender_ The proof-of-render contract.
    @param lane_ The batch lane.
    """
    governed._wire_once()
    assert proofOfRender_ != empty(address) and lane_ != empty(address), "escrow: zero address"
    self.proofOfRender = proofOfRender_
    self.lane = lane_
    self.beacon = IRandomnessBeacon(staticcall IProofOfRender(proofOfRender_).beacon())


# ---------------------------------------------------------------- creator


@internal
def _createJob(
    creator: address,
    manager: address,
    sceneCid: String[100],
    frameStart: uint32,
    frameEnd: uint32,
    outputSettings: String[200],
    maxPricePerIBM: uint256,
    budget: uint256,
    benchmark: bool,
) -> uint256:
    assert len(sceneCid) > 0, "escrow: empty scene CID"
    assert frameEnd >= frameStart, "escrow: bad frame range"
    assert maxPricePerIBM > 0, "escrow: zero max price"
    assert budget > 0, "escrow: zero budget"
    assert block.timestamp >= staticcall staking.pausedUntil(), "escrow: new jobs paused"
    assert staticcall staking.isActive(manager, protocol.ROLE_MANAGER), "escrow: manager not active"
    rate: uint256 = staticcall priceFeed.price()
    # from the caller: the relay holds the creator's IFX for the moment of a relayed call
    self._pull(budget)
    jobId: uint256 = self.jobCount + 1
    self.jobCount = jobId
    self.jobs[jobId] = Job(
        creator=creator,
        manager=manager,
        budget=budget,
        usdPerIfx=rate,
        maxPricePerIBM=maxPricePerIBM,
        openTasks=0,
        closed=False,
        benchmark=benchmark,
    )
    log JobCreated(
        jobId=jobId,
        creator=creator,
        manager=manager,
        sceneCid=sceneCid,
        frameStart=frameStart,
        frameEnd=frameEnd,
        outputSettings=outputSettings,
        budget=budget,
        usdPerIfx=rate,
        maxPricePerIBM=maxPricePerIBM,
        benchmark=benchmark,
    )
    return jobId


@external
def createJob(
    manager: address,
    sceneCid: String[100],
    frameStart: uint32,
    frameEnd: uint32,
    outputSettings: String[200],
    maxPricePerIBM: uint256,
    budget: uint256,
) -> uint256:
    """
    @dev Locks `budget` IFX (needs an allowance) and the current IFX/USD rate.
         Through the job relay, the creator is the address it appends and
         the budget comes from the relay (which holds it for the call).
    @param manager The manager node that will prepare, post and match tasks.
    @param sceneCid The IPFS CID of the uploaded scene.
    @param frameStart First frame.
    @param frameEnd Last frame (inclusive).
    @param outputSettings Output settings (resolution, samples, format).
    @param maxPricePerIBM Highest USD price per IBM accepted (18 decimals).
    @param budget IFX wei locked for the job.
    @return uint256 The job id.
    """
    return self._createJob(self._sender(), manager, sceneCid, frameStart, frameEnd, outputSettings, maxPricePerIBM, budget, False)


@external
def createBenchmarkJob(
    manager: address,
    sceneCid: String[100],
    frameStart: uint32,
    frameEnd: uint32,
    outputSettings: String[200],
    maxPricePerIBM: uint256,
    budget: uint256,
) -> uint256:
    """
    @dev A benchmark job: one task on the standard benchmark scene, of the
         governance-set work; its settlement sets the worker's IB to
         `benchmarkWork / minutes between accept and submit`. Nothing
         else sets IB.
    @param manager See `createJob`.
    @param sceneCid The standard benchmark scene (checked when governance set it).
    @param frameStart See `createJob`.
    @param frameEnd See `createJob`.
    @param outputSettings See `createJob`.
    @param maxPricePerIBM See `createJob`.
    @param budget See `createJob`.
    @return uint256 The job id.
    """
    assert self.benchmarkWork > 0, "escrow: no benchmark standard"
    standard: bytes32 = self.benchmarkScene
    assert standard == empty(bytes32) or keccak256(sceneCid) == standard, "escrow: not the standard benchmark scene"
    return self._createJob(msg.sender, manager, sceneCid, frameStart, frameEnd, outputSettings, maxPricePerIBM, budget, True)


@external
def createJobWithPermit(
    manager: address,
    sceneCid: String[100],
    frameStart: uint32,
    frameEnd: uint32,
    outputSettings: String[200],
    maxPricePerIBM: uint256,
    budget: uint256,
    permitDeadline: uint256,
    v: uint8,
    r: bytes32,
    s: bytes32,
) -> uint256:
    """
    @dev `createJob` with an EIP-2612 permit instead of an approval. A
         permit already used (e.g. front-run) is ignored when the
         allowance is in place anyway.
    @param manager See `createJob`.
    @param sceneCid See `createJob`.
    @param frameStart See `createJob`.
    @param frameEnd See `createJob`.
    @param outputSettings See `createJob`.
    @param maxPricePerIBM See `createJob`.
    @param budget See `createJob`.
    @param permitDeadline The permit's deadline.
    @param v Permit signature v.
    @param r Permit signature r.
    @param s Permit signature s.
    @return uint256 The job id.
    """
    # ignore the permit's outcome: a front-run permit leaves the allowance
    # in place, and a missing allowance makes transferFrom fail clearly
    permitted: bool = raw_call(
        token.address,
        abi_encode(msg.sender, self, budget, permitDeadline, v, r, s, method_id=method_id("permit(address,address,uint256,uint256,uint8,bytes32,bytes32)")),
        revert_on_failure=False,
    )
    return self._createJob(msg.sender, manager, sceneCid, frameStart, frameEnd, outputSettings, maxPricePerIBM, budget, False)


@external
def closeJob(jobId: uint256):
    """
    @dev The creator (directly or through the job relay) stops the job:
         its unreserved budget, and every reservation released later,
         becomes claimable by the creator.
    @param jobId The job.
    """
    job: Job = self.jobs[jobId]
    assert job.creator != empty(address), "escrow: unknown job"
    assert self._sender() == job.creator, "escrow: caller is not the creator"
    assert not job.closed, "escrow: job closed"
    self.jobs[jobId].closed = True
    self.jobs[jobId].budget = 0
    self.claimable[job.creator] += job.budget
    log JobClosed(jobId=jobId, refunded=job.budget)


@external
def withdraw():
    """
    @dev Pays the caller everything owed to them (pull payment); through
         the job relay, the creator it appends.
    """
    account: address = self._sender()
    amount: uint256 = self.claimable[account]
    assert amount > 0, "escrow: nothing to withdraw"
    self.claimable[account] = 0
    self._pay(account, amount)
    log Withdrawal(account=account, amount=amount)


# ---------------------------------------------------------------- manager


@external
def postTasks(jobId: uint256, specs: DynArray[TaskSpec, MAX_BATCH]) -> uint256:
    """
    @dev The job's manager posts tasks; each reserves `ibm × maxPrice` at
         the job's rate from the budget. A benchmark job takes one task of
         exactly `benchmarkWork`.
    @param jobId The job.
    @param specs The tasks: work in micro-IBM, key commitment, digest of
           the sealed manifest, the seed escrow (beacon round and the
           seed time-locked to it), frames, render window (s), noised
           scene CID.
    @return uint256 The id of the first task posted.
    """
    job: Job = self.jobs[jobId]
    assert job.creator != empty(address), "escrow: unknown job"
    self._checkManager(jobId)
    assert not job.closed, "escrow: job closed"
    assert len(specs) > 0, "escrow: no tasks"
    assert staticcall staking.isActive(msg.sender, protocol.ROLE_MANAGER), "escrow: manager not active"
    if job.benchmark:
        assert len(specs) == 1 and job.openTasks == 0, "escrow: one task per benchmark job"
        assert specs[0].ibm == self.benchmarkWork, "escrow: benchmark work is the standard's"
    first: uint256 = self.taskCount + 1
    taskId: uint256 = first - 1
    budget: uint256 = job.budget
    for spec: TaskSpec in specs:
        assert spec.ibm > 0, "escrow: zero work"
        self._useCommit(msg.sender, spec.keyCommit, spec.manifestDigest)
        assert spec.frameEnd >= spec.frameStart, "escrow: bad frame range"
        assert spec.renderWindow >= MIN_RENDER_WINDOW and spec.renderWindow <= MAX_RENDER_WINDOW, "escrow: render window out of bounds"
        self._checkEscrow(spec.escrowRound, spec.seedEscrow, spec.renderWindow)
        assert len(spec.sceneCid) > 0, "escrow: empty scene CID"
        reserved: uint256 = self._ifx(spec.ibm * job.maxPricePerIBM // IBM_ONE, job.usdPerIfx)
        assert reserved <= budget, "escrow: budget exceeded"
        budget -= reserved
        taskId += 1
        self.tasks[taskId].jobId = jobId
        self.tasks[taskId].state = POSTED
        self.tasks[taskId].ibm = spec.ibm
        self.tasks[taskId].reserved = reserved
        self.tasks[taskId].keyCommit = spec.keyCommit
        self.tasks[taskId].manifestDigest = spec.manifestDigest
        self.tasks[taskId].renderWindow = spec.renderWindow
        self.tasks[taskId].escrowRound = spec.escrowRound
        log TaskPosted(
            taskId=taskId,
            jobId=jobId,
            ibm=spec.ibm,
            reserved=reserved,
            keyCommit=spec.keyCommit,
            manifestDigest=spec.manifestDigest,
            escrowRound=spec.escrowRound,
            seedEscrow=spec.seedEscrow,
            frameStart=spec.frameStart,
            frameEnd=spec.frameEnd,
            renderWindow=spec.renderWindow,
            sceneCid=spec.sceneCid,
            jobBudget=budget,
        )
    self.taskCount = taskId
    self.jobs[jobId].budget = budget
    self.jobs[jobId].openTasks = job.openTasks + len(specs)
    return first


@external
def rekey(
    taskId: uint256,
    keyCommit: bytes32,
    manifestDigest: bytes32,
    escrowRound: uint64,
    seedEscrow: Bytes[SEED_ESCROW_BYTES],
    sceneCid: String[100],
):
    """
    @dev The job's manager gives an open task a new secret: a re-queued
         task (its key spent) or one whose seed escrow would open before
         a new assignment could end. A new seed commitment, the digest of
         the new sealed manifest, the new seed escrow and the newly noised
         package. Nothing of an earlier attempt (seed, manifest, result)
         helps this one.
    @param taskId The task, open and waiting for a key.
    @param keyCommit keccak256 of the new seed (never used before).
    @param manifestDigest keccak256 of the new sealed manifest.
    @param escrowRound The beacon round the new seed is time-locked to.
    @param seedEscrow The new seed, time-locked to `escrowRound`.
    @param sceneCid The new noised package.
    """
    self._checkOpen(taskId)
    renderWindow: uint256 = self.tasks[taskId].renderWindow
    assert self.tasks[taskId].keyCommit == empty(bytes32) or not self._escrowHolds(taskId, renderWindow), "escrow: task already has a key"
    self._checkManager(self.tasks[taskId].jobId)
    assert len(sceneCid) > 0, "escrow: empty scene CID"
    self._useCommit(msg.sender, keyCommit, manifestDigest)
    self._checkEscrow(escrowRound, seedEscrow, renderWindow)
    self.tasks[taskId].keyCommit = keyCommit
    self.tasks[taskId].manifestDigest = manifestDigest
    self.tasks[taskId].escrowRound = escrowRound
    log TaskRekeyed(taskId=taskId, attempt=self.tasks[taskId].attempts, keyCommit=keyCommit,
                    manifestDigest=manifestDigest, escrowRound=escrowRound, seedEscrow=seedEscrow,
                    sceneCid=sceneCid)


@external
def assign(taskId: uint256, worker: address):
    """
    @dev The job's manager offers a posted task to a worker, who must
         accept within `acceptWindow`.
    @param taskId The task.
    @param worker The chosen worker.
    """
    # field-by-field reads: copying the whole struct costs a cold read per field
    self._checkOpen(taskId)
    assert self.tasks[taskId].keyCommit != empty(bytes32), "escrow: task needs a fresh key (rekey)"
    self._checkManager(self.tasks[taskId].jobId)
    assert worker != empty(address), "escrow: zero worker"
    # the seed must stay locked until every deadline this assignment can reach
    assert self._escrowHolds(taskId, self.tasks[taskId].renderWindow), "escrow: seed escrow opens too soon (rekey)"
    deadline: uint256 = block.timestamp + self.acceptWindow
    self.tasks[taskId].worker = worker
    self.tasks[taskId].state = ASSIGNED
    self.tasks[taskId].deadline = deadline
    log TaskAssigned(taskId=taskId, worker=worker, deadline=deadline)


@external
def cancelTask(taskId: uint256):
    """
    @dev Withdraws an unassigned task: by its manager, or by the creator
         once the job is closed. Its reservation returns to the job.
    @param taskId The task.
    """
    self._checkOpen(taskId)
    jobId: uint256 = self.tasks[taskId].jobId
    assert msg.sender == self.jobs[jobId].manager or (msg.sender == self.jobs[jobId].creator and self.jobs[jobId].closed), "escrow: caller may not cancel"
    self.tasks[taskId].state = CANCELLED
    self._release(jobId, self.tasks[taskId].reserved)
    log TaskCancelled(taskId=taskId)


# ---------------------------------------------------------------- worker


@external
def accept(taskId: uint256):
    """
    @dev The assigned worker accepts: fee fixed at its price and the job's
         rate, collateral locked, render deadline starts.
    @param taskId The task.
    """
    assert self.tasks[taskId].state == ASSIGNED, "escrow: task not assigned"
    assert msg.sender == self.tasks[taskId].worker, "escrow: caller is not the assigned worker"
    assert block.timestamp <= self.tasks[taskId].deadline, "escrow: acceptance deadline passed"
    jobId: uint256 = self.tasks[taskId].jobId
    rate: uint256 = self.jobs[jobId].usdPerIfx
    price: uint256 = staticcall staking.pricePerIBM(msg.sender)
    fee: uint256 = self._ifx(self.tasks[taskId].ibm * price // IBM_ONE, rate)
    assert fee <= self.tasks[taskId].reserved, "escrow: price above job maximum"
    collateral: uint256 = fee * self.collateralBps // BPS
    extcall staking.lockCollateral(msg.sender, collateral, rate, self.jobs[jobId].maxPricePerIBM)
    deadline: uint256 = block.timestamp + self.tasks[taskId].renderWindow
    # before the seed escrow opens: `assign` checked assignedAt + acceptWindow + renderWindow < its time, and this
    # acceptance comes by assignedAt + acceptWindow
    self.tasks[taskId].state = ACCEPTED
    self.tasks[taskId].fee = fee
    self.tasks[taskId].collateral = collateral
    self.tasks[taskId].deadline = deadline
    log TaskAccepted(taskId=taskId, worker=msg.sender, fee=fee, collateral=collateral, deadline=deadline)


@external
def submitResult(taskId: uint256, resultCid: String[100]):
    """
    @dev The worker submits the CID of its pinned frame directory.
    @param taskId The task.
    @param resultCid IPFS CID of the frames.
    """
    assert self.tasks[taskId].state == ACCEPTED, "escrow: task not accepted"
    assert msg.sender == self.tasks[taskId].worker, "escrow: caller is not the assigned worker"
    assert block.timestamp <= self.tasks[taskId].deadline, "escrow: render deadline passed"
    assert len(resultCid) > 0, "escrow: empty result CID"
    resultHash: bytes32 = keccak256(resultCid)
    used: bytes32 = keccak256(abi_encode(taskId, resultHash))
    assert not self.usedResults[used], "escrow: result CID already submitted"
    self.usedResults[used] = True
    acceptedAt: uint256 = self.tasks[taskId].deadline - self.tasks[taskId].renderWindow
    self.tasks[taskId].state = SUBMITTED
    self.tasks[taskId].resultHash = resultHash
    self.tasks[taskId].renderTime = block.timestamp - acceptedAt
    self.tasks[taskId].submittedAt = block.timestamp
    self.tasks[taskId].deadline = block.timestamp + self.revealWindow
    log ResultSubmitted(taskId=taskId, worker=msg.sender, resultCid=resultCid)


# ---------------------------------------------------------------- verification


@external
def revealKey(taskId: uint256, seed: bytes32):
    """
    @dev Publishes the task's secret seed; oracles can now verify. Anyone
         may (the manager, or anyone who opened the seed escrow), and
         nobody is paid for it; it must match the commitment. Past the
         reveal window the manager is slashed for lateness (once) and
         loses the task's BMW credit.
    @param taskId The task.
    @param seed The 32-byte secret behind `keyCommit`.
    """
    assert self.tasks[taskId].state == SUBMITTED, "escrow: task not submitted"
    assert keccak256(seed) == self.tasks[taskId].keyCommit, "escrow: seed does not match commitment"
    if block.timestamp > self.tasks[taskId].deadline and not self.tasks[taskId].late:
        self._slashManager(taskId, True)
    self.tasks[taskId].state = REVEALED
    self.tasks[taskId].deadline = block.timestamp + self.verifyWindow
    log KeyRevealed(taskId=taskId, seed=seed, revealer=msg.sender, late=self.tasks[taskId].late)


@view
@external
def verdictSubject(taskId: uint256) -> (uint8, bytes32, uint256, uint256, uint256):
    """
    @dev What a verdict on `taskId` judges, its weight, and when its
         result was committed (committees are drawn from the beacon round
         after that).
    @param taskId The task.
    @return The state, keccak256 of the result CID, the attempt number,
            the fee (IFX wei), the submission time.
    """
    # field by field: copying the whole struct would read every one of its slots
    return (self.tasks[taskId].state, self.tasks[taskId].resultHash, self.tasks[taskId].attempts,
            self.tasks[taskId].fee, self.tasks[taskId].submittedAt)


@view
@external
def disputeOf(taskId: uint256) -> (address, bool):
    """
    @dev The challenger of a disputed task and the verdict it challenged.
    @param taskId The task.
    @return The challenger (empty for a conflict of votes), the verdict.
    """
    return self.tasks[taskId].challenger, self.tasks[taskId].passed


@external
def onVerdict(taskId: uint256, passed: bool):
    """
    @dev Proof of render only: a quorum verdict; opens the challenge window.
    @param taskId The task.
    @param passed The verdict.
    """
    self._onlyFrom(self.proofOfRender)
    assert self.tasks[taskId].state == REVEALED, "escrow: task not revealed"
    ends: uint256 = block.timestamp + self.challengeWindow
    self.tasks[taskId].state = VERIFIED
    self.tasks[taskId].passed = passed
    self.tasks[taskId].deadline = ends
    log VerdictRecorded(taskId=taskId, passed=passed, challengeEnds=ends)


@external
def onBadManifest(taskId: uint256):
    """
    @dev Proof of render only: the attempt's sealed manifest was proven
         bogus. The manager is slashed (the worker gets its fee from the
         slash); the attempt is re-queued with a fresh key, no worker fault.
    @param taskId The task (revealed or verified: proof of render checked).
    """
    self._onlyFrom(self.proofOfRender)
    self._slashManager(taskId, False)
    self._fail(taskId, False)


@external
def challenge(taskId: uint256):
    """
    @dev Bonded challenge of a verdict within the challenge window, by
         anyone: the creator (its bad-result claim), an oracle, or the
         worker against a FAIL. Needs an allowance of `bondFor(taskId)`.
         Overturned: the bond comes back and the challenger gets
         `challengerRewardBps` of the slashes; upheld: the bond goes to the
         penalty pool; undecided by the arbiter in time: the verdict
         stands and the bond comes back.
    @param taskId The task.
    """
    assert self.tasks[taskId].state == VERIFIED, "escrow: task not verified"
    assert block.timestamp <= self.tasks[taskId].deadline, "escrow: challenge window closed"
    bond: uint256 = self._bondFor(taskId)
    if bond > 0:
        self._pull(bond)
        self.bondsHeld += bond
        self.bonds[taskId] = bond
    self._dispute(taskId, msg.sender, bond)


@external
def onDisputeResolved(taskId: uint256, passed: bool):
    """
    @dev Proof of render only: the arbiter's decision; settle-able at once.
    @param taskId The task.
    @param passed The final verdict.
    """
    self._onlyFrom(self.proofOfRender)
    assert self.tasks[taskId].state == DISPUTED, "escrow: task not disputed"
    challenger: address = self.tasks[taskId].challenger
    overturned: bool = challenger != empty(address) and passed != self.tasks[taskId].passed
    if challenger != empty(address):
        self._returnBond(taskId, challenger, overturned)
        if not overturned:
            # only a winning challenger stays on the task, to be rewarded from the worker's slash
            self.tasks[taskId].challenger = empty(address)
    self.tasks[taskId].state = VERIFIED
    self.tasks[taskId].passed = passed
    # the arbiter's decision is final: the challenge window is already closed (no re-challenge, even in
    # this block) and the task can be settled at once
    self.tasks[taskId].deadline = block.timestamp - 1
    log DisputeResolved(taskId=taskId, passed=passed, overturned=overturned)


# ---------------------------------------------------------------- settlement


@external
def settle(taskIds: DynArray[uint256, MAX_BATCH]):
    """
    @dev Settles verified tasks whose challenge window has passed
         (permissionless). Passed: fee burned/treasury, work credited,
         collateral released. Failed: collateral slashed, task re-queued
         or its reservation released.
    @param taskIds The tasks.
    """
    assert len(taskIds) > 0, "escrow: no tasks"
    burnBps_: uint256 = self.burnBps
    burnTotal: uint256 = 0
    treasuryTotal: uint256 = 0
    for taskId: uint256 in taskIds:
        assert self.tasks[taskId].state == VERIFIED, "escrow: task not verified"
        assert block.timestamp > self.tasks[taskId].deadline, "escrow: challenge window open"
        if self.tasks[taskId].passed:
            jobId: uint256 = self.tasks[taskId].jobId
            worker: address = self.tasks[taskId].worker
            fee: uint256 = self.tasks[taskId].fee
            burned: uint256 = fee * burnBps_ // BPS
            burnTotal += burned
            treasuryTotal += fee - burned
            self.tasks[taskId].state = SETTLED
            extcall staking.unlockCollateral(worker, self.tasks[taskId].collateral)
            ibm: uint256 = self.tasks[taskId].ibm
            manager: address = self.jobs[jobId].manager
            if self.tasks[taskId].late:
                manager = empty(address)  # a late reveal forfeits the manager's BMW credit
            extcall issuance.recordWork(worker, manager, ibm, fee, burned)
            if self.jobs[jobId].benchmark:
                # IB = the standard's work / the minutes it took, clamped to [0.01, 1000]
                ib: uint256 = ibm * 60 // max(self.tasks[taskId].renderTime, 1)
                extcall staking.setIB(worker, min(max(ib, MIN_IB), MAX_IB))
            self._release(jobId, self.tasks[taskId].reserved - fee)
            log TaskSettled(taskId=taskId, worker=worker, fee=fee, burned=burned, toTreasury=fee - burned)
        else:
            self._fail(taskId, True)
    if burnTotal > 0:
        extcall token.burn(burnTotal)
    if treasuryTotal > 0:
        self.claimable[treasury] += treasuryTotal


@external
def reserveFor(jobId: uint256, manager: address, amount: uint256) -> (uint256, uint256):
    """
    @dev Batch lane only: `manager` (the caller of the lane) posts a batch
         of the job costing `amount`, taken from its budget; the batch
         counts as one open task until `releaseFor(..., last=True)`.
    @param jobId The job (not a benchmark job, not closed).
    @param manager Who posts.
    @param amount The batch's fees, IFX wei.
    @return The job's locked rate (USD per IFX, 18 decimals) and maximum
            price per IBM.
    """
    self._onlyFrom(self.lane)
    assert manager == self.jobs[jobId].manager and not self.jobs[jobId].closed and not self.jobs[jobId].benchmark, "escrow: not the manager's open job"
    assert amount <= self.jobs[jobId].budget, "escrow: budget exceeded"
    self.jobs[jobId].budget -= amount
    self.jobs[jobId].openTasks += 1
    self.laneHeld += amount
    return self.jobs[jobId].usdPerIfx, self.jobs[jobId].maxPricePerIBM


@external
def releaseFor(jobId: uint256, burned: uint256, toTreasury: uint256, refund: uint256, last: bool):
    """
    @dev Batch lane only: tasks of a batch closed; `burned` is burned,
         `toTreasury` owed to the treasury, `refund` returns to the job's
         budget (to the creator once the job is closed); `last`: the batch
         is over.
    """
    self._onlyFrom(self.lane)
    self.laneHeld -= burned + toTreasury + refund
    if burned > 0:
        extcall token.burn(burned)
    self.claimable[treasury] += toTreasury
    if not last:
        self.jobs[jobId].openTasks += 1  # `_release` counts one task ended: the batch is not over yet
    self._release(jobId, refund)


@external
def expire(taskId: uint256):
    """
    @dev Permissionless way out of every missed deadline:
         assigned but not accepted → re-opened, a no-show of the worker
         (`Staking.recordNoShow`); accepted but not
         submitted → worker's fault (slash, re-queue); submitted but not
         revealed → the manager is late (a fixed slash, no BMW credit)
         and the task waits for its seed escrow to open, until a reveal
         window after the escrow round; an escrow that never opened → the
         manager's fault again (slashed, the worker paid its fee from the
         slash, re-queue with a fresh key);
         revealed but no verdict, or a conflict of votes the arbiter did
         not decide → no worker fault (collateral released, re-queue); a
         challenge the arbiter did not decide → the verdict stands.
    @param taskId The task.
    """
    state: uint8 = self.tasks[taskId].state
    assert state >= ASSIGNED and state <= DISPUTED and state != VERIFIED, "escrow: nothing to expire"
    assert block.timestamp > self.tasks[taskId].deadline, "escrow: deadline not passed"
    challenger: address = self.tasks[taskId].challenger
    log TaskExpired(taskId=taskId, state=state)
    if state == ASSIGNED:
        # an assignment left unaccepted is the worker's no-show (every `noShowLimit`-th costs stake)
        extcall staking.recordNoShow(self.tasks[taskId].worker)
        self.tasks[taskId].state = POSTED
        self.tasks[taskId].worker = empty(address)
        self.tasks[taskId].deadline = 0
    elif state == ACCEPTED:
        self._fail(taskId, True)
    elif state == DISPUTED and challenger != empty(address):
        # the arbiter's silence keeps the verdict: a challenge cannot unpay a worker for free
        self._returnBond(taskId, challenger, True)
        self.tasks[taskId].challenger = empty(address)
        self.tasks[taskId].state = VERIFIED
        self.tasks[taskId].deadline = block.timestamp - 1
    elif state == SUBMITTED and not self.tasks[taskId].late:
        self._slashManager(taskId, True)
        opens: uint256 = staticcall self.beacon.roundTime(self.tasks[taskId].escrowRound)
        self.tasks[taskId].deadline = max(block.timestamp, opens) + self.revealWindow
    else:
        if state == SUBMITTED:
            self._slashManager(taskId, False)
        self._fail(taskId, False)


# ---------------------------------------------------------------- governance


@external
def setParameter(name: String[32], newValue: uint256):
    """
    @dev Governance: changes one parameter within its bounds.
         burnBps [5000, 10000]; slashBps [0, 10000]; collateralBps
         [0, 50000]; maxAttempts [1, 10]; acceptWindow [60 s, 1 day];
         revealWindow, verifyWindow [10 min, 3 days] (verify longer than
         the committee's voting windows); challengeWindow
         [10 min, 3 days]; disputeWindow [1 day, 14 days] (challenge +
         dispute windows stay below staking's unbonding period);
         challengeBond [0, 1,000,000 IFX]; challengeBondBps [0, 50000];
         challengerRewardBps [0, 10000]; managerSlash [0, 1,000,000 IFX];
         managerSlashBps [10000, 50000] (a missed reveal costs at least
         the fee it withheld); escrowSlack [10 min, 7 days];
         benchmarkWork [1, 1,000 IBM];
         benchmarkScene: use `setBenchmarkScene`.
    @param name The parameter.
    @param newValue The value.
    """
    governed._check_governance()
    h: bytes32 = keccak256(name)
    if h == keccak256("burnBps"):
        self._inBounds(newValue, 5000, BPS)
        self.burnBps = newValue
    elif h == keccak256("slashBps"):
        self._inBounds(newValue, 0, BPS)
        self.slashBps = newValue
    elif h == keccak256("collateralBps"):
        self._inBounds(newValue, 0, 5 * BPS)
        self.collateralBps = newValue
    elif h == keccak256("maxAttempts"):
        self._inBounds(newValue, 1, 10)
        self.maxAttempts = newValue
    elif h == keccak256("acceptWindow"):
        self._inBounds(newValue, 60, 86400)
        self.acceptWindow = newValue
    elif h == keccak256("revealWindow"):
        self._inBounds(newValue, 600, 3 * 86400)
        self.revealWindow = newValue
    elif h == keccak256("verifyWindow"):
        self._inBounds(newValue, 600, 3 * 86400)
        assert newValue > staticcall IProofOfRender(self.proofOfRender).votingWindows(), "escrow: committee voting must fit"
        self.verifyWindow = newValue
    elif h == keccak256("challengeWindow"):
        self._inBounds(newValue, 600, 3 * 86400)
        self._checkUnbonding(newValue + self.disputeWindow)
        self.challengeWindow = newValue
    elif h == keccak256("disputeWindow"):
        self._inBounds(newValue, 86400, 14 * 86400)
        self._checkUnbonding(self.challengeWindow + newValue)
        self.disputeWindow = newValue
    elif h == keccak256("challengeBond"):
        self._inBounds(newValue, 0, 10**6 * 10**18)
        self.challengeBond = newValue
    elif h == keccak256("challengeBondBps"):
        self._inBounds(newValue, 0, 5 * BPS)
        self.challengeBondBps = newValue
    elif h == keccak256("challengerRewardBps"):
        self._inBounds(newValue, 0, BPS)
        self.challengerRewardBps = newValue
    elif h == keccak256("managerSlash"):
        self._inBounds(newValue, 0, 10**6 * 10**18)
        self.managerSlash = newValue
    elif h == keccak256("managerSlashBps"):
        self._inBounds(newValue, BPS, 5 * BPS)
        self.managerSlashBps = newValue
    elif h == keccak256("escrowSlack"):
        self._inBounds(newValue, 600, 7 * 86400)
        self.escrowSlack = newValue
    elif h == keccak256("benchmarkWork"):
        self._inBounds(newValue, 1, 1000 * IBM_ONE)
        self.benchmarkWork = newValue
    else:
        raise "escrow: unknown parameter"
    log ParameterChanged(name=name, newValue=newValue)


@external
def setBenchmarkScene(sceneCid: String[100]):
    """
    @dev Governance: the standard benchmark scene (empty = any scene).
    @param sceneCid Its CID.
    """
    governed._check_governance()
    h: bytes32 = empty(bytes32)
    if len(sceneCid) > 0:
        h = keccak256(sceneCid)
    self.benchmarkScene = h
    log ParameterChanged(name="benchmarkScene", newValue=convert(h, uint256))


@view
@external
def commitUsed(manager: address, keyCommit: bytes32) -> bool:
    """
    @dev Whether `manager` has already used this seed commitment.
    @param manager The manager.
    @param keyCommit The commitment.
    @return bool True once used (it can never be used again).
    """
    return self.usedCommits[keccak256(abi_encode(manager, keyCommit))]


@view
@external
def resultUsed(taskId: uint256, resultCid: String[100]) -> bool:
    """
    @dev Whether a result CID was already submitted for `taskId` (any attempt).
    @param taskId The task.
    @param resultCid The CID.
    @return bool True once submitted (it can never be submitted again).
    """
    return self.usedResults[keccak256(abi_encode(taskId, keccak256(resultCid)))]


@view
@external
def bondFor(taskId: uint256) -> uint256:
    """
    @dev The bond a challenge of `taskId` takes: `challengeBond`, or
         `challengeBondBps` of the task's fee when that is more.
    @param taskId The task.
    @return uint256 IFX wei.
    """
    return self._bondFor(taskId)


# ---------------------------------------------------------------- internal


@view
@internal
def _bondFor(taskId: uint256) -> uint256:
    return max(self.challengeBond, self.tasks[taskId].fee * self.challengeBondBps // BPS)


# one copy of each IFX transfer and its check (code size: EIP-170)
@internal
def _pull(amount: uint256):
    assert extcall token.transferFrom(msg.sender, self, amount), "escrow: transfer failed"


@internal
def _pay(to: address, amount: uint256):
    assert extcall token.transfer(to, amount), "escrow: transfer failed"


@view
@internal
def _sender() -> address:
    # ERC-2771: the relay appends the creator it verified to the calldata; anyone else is msg.sender
    if msg.sender == trustedForwarder and len(msg.data) >= 20:
        return convert(convert(slice(msg.data, len(msg.data) - 20, 20), bytes20), address)
    return msg.sender


@view
@internal
def _onlyFrom(hook: address):
    # the hooks of proof of render and of the batch lane
    assert msg.sender == hook, "escrow: caller may not call this hook"


@view
@internal
def _checkOpen(taskId: uint256):
    assert self.tasks[taskId].state == POSTED, "escrow: task not open"


@view
@internal
def _checkManager(jobId: uint256):
    assert msg.sender == self.jobs[jobId].manager, "escrow: caller is not the job's manager"


@pure
@internal
def _inBounds(amount: uint256, low: uint256, high: uint256):
    assert amount >= low and amount <= high, "escrow: out of bounds"


@view
@internal
def _checkUnbonding(windows: uint256):
    assert staticcall staking.unbondingPeriod() > windows, "escrow: challenge + dispute windows must stay below unbonding"


@internal
def _useCommit(manager: address, keyCommit: bytes32, manifestDigest: bytes32):
    assert keyCommit != empty(bytes32), "escrow: empty key commitment"
    assert manifestDigest != empty(bytes32), "escrow: empty manifest digest"
    used: bytes32 = keccak256(abi_encode(manager, keyCommit))
    assert not self.usedCommits[used], "escrow: key commitment already used"
    self.usedCommits[used] = True


@view
@internal
def _escrowHolds(taskId: uint256, renderWindow: uint256) -> bool:
    # whether the task's seed escrow stays locked past every deadline an assignment made now can reach
    return self._lastDeadline(renderWindow) < staticcall self.beacon.roundTime(self.tasks[taskId].escrowRound)


@view
@internal
def _lastDeadline(renderWindow: uint256) -> uint256:
    # the latest render deadline an assignment made now can reach
    return block.timestamp + self.acceptWindow + renderWindow


@view
@internal
def _checkEscrow(escrowRound: uint64, seedEscrow: Bytes[SEED_ESCROW_BYTES], renderWindow: uint256):
    # the escrow opens after the last render deadline an assignment made now can reach, and not much later:
    # a worker whose manager disappeared waits at most `acceptWindow + renderWindow + escrowSlack`
    assert len(seedEscrow) == SEED_ESCROW_BYTES, "escrow: malformed seed escrow"
    opens: uint256 = staticcall self.beacon.roundTime(escrowRound)
    earliest: uint256 = self._lastDeadline(renderWindow)
    assert opens > earliest, "escrow: seed escrow round too early"
    assert opens <= earliest + self.escrowSlack, "escrow: seed escrow round too late"


@internal
def _slashManager(taskId: uint256, late: bool):
    # a fixed slash, at least `managerSlashBps` of the fee. Late (a reveal left past its window): the task loses
    # the manager's BMW credit, and nobody is paid from the slash, since verification proceeds from the seed
    # escrow. Not late (the escrow never opened: a bogus ciphertext): the worker, whose frames were delivered but
    # cannot be verified, gets its fee from it.
    manager: address = self.jobs[self.tasks[taskId].jobId].manager
    fee: uint256 = self.tasks[taskId].fee
    amount: uint256 = max(self.managerSlash, fee * self.managerSlashBps // BPS)
    worker: address = empty(address)
    toWorker: uint256 = 0
    if late:
        self.tasks[taskId].late = True
    else:
        worker = self.tasks[taskId].worker
        toWorker = fee
    taken: uint256 = extcall staking.slash(manager, amount, worker, toWorker)
    log ManagerSlashed(taskId=taskId, manager=manager, amount=taken, toWorker=min(taken, toWorker), late=late)


@pure
@internal
def _ifx(usd: uint256, usdPerIfx: uint256) -> uint256:
    return usd * 10**18 // usdPerIfx


@internal
def _release(jobId: uint256, amount: uint256):
    # a task has ended: its unspent reservation returns to the job, or to
    # the creator once the job is closed
    self.jobs[jobId].openTasks -= 1
    if amount == 0:
        return
    if self.jobs[jobId].closed:
        self.claimable[self.jobs[jobId].creator] += amount
    else:
        self.jobs[jobId].budget += amount


@internal
def _dispute(taskId: uint256, challenger: address, bond: uint256):
    self.tasks[taskId].state = DISPUTED
    self.tasks[taskId].challenger = challenger
    self.tasks[taskId].deadline = block.timestamp + self.disputeWindow
    log TaskDisputed(taskId=taskId, challenger=challenger, bond=bond)


@internal
def _returnBond(taskId: uint256, challenger: address, toChallenger: bool):
    bond: uint256 = self.bonds[taskId]
    if bond == 0:
        return
    self.bonds[taskId] = 0
    self.bondsHeld -= bond
    if toChallenger:
        self.claimable[challenger] += bond
    else:
        self._pay(issuance.address, bond)
        extcall issuance.notifyPenalty(bond)


@internal
def _fail(taskId: uint256, workerFault: bool):
    worker: address = self.tasks[taskId].worker
    collateral: uint256 = self.tasks[taskId].collateral
    jobId: uint256 = self.tasks[taskId].jobId
    slashed: uint256 = 0
    if workerFault:
        slashed = collateral * self.slashBps // BPS
        # a challenger who overturned a PASS shares the worker's slash
        challenger: address = self.tasks[taskId].challenger
        reward: uint256 = 0
        if challenger != empty(address):
            reward = slashed * self.challengerRewardBps // BPS
        extcall staking.slashCollateral(worker, collateral, slashed, challenger, reward)
    else:
        extcall staking.unlockCollateral(worker, collateral)
    attempts: uint256 = self.tasks[taskId].attempts + 1
    requeued: bool = attempts < self.maxAttempts and not self.jobs[jobId].closed
    self.tasks[taskId].attempts = attempts
    self.tasks[taskId].worker = empty(address)
    self.tasks[taskId].fee = 0
    self.tasks[taskId].collateral = 0
    self.tasks[taskId].resultHash = empty(bytes32)
    self.tasks[taskId].passed = False
    self.tasks[taskId].challenger = empty(address)
    self.tasks[taskId].deadline = 0
    self.tasks[taskId].renderTime = 0
    self.tasks[taskId].submittedAt = 0
    self.tasks[taskId].late = False
    # the attempt's secret is spent: the next attempt waits for `rekey`
    self.tasks[taskId].keyCommit = empty(bytes32)
    self.tasks[taskId].manifestDigest = empty(bytes32)
    if requeued:
        self.tasks[taskId].state = POSTED
    else:
        self.tasks[taskId].state = FAILED
        self._release(jobId, self.tasks[taskId].reserved)
    log TaskFailed(taskId=taskId, worker=worker, slashed=slashed, requeued=requeued, attempts=attempts)
