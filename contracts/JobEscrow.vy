# pragma version ~=0.4.3
"""
@title Inferix job escrow: jobs, tasks, deadlines and settlement
@custom:contract-name JobEscrow
@license MIT
@notice A creator locks an IFX budget and the IFX/USD rate for the job's
        life (`createJob`). The job's manager posts tasks with a key
        commitment `keccak256(seed)` and assigns them; a worker accepts
        (collateral locked in `Staking`), renders and submits a result CID;
        anyone holding the seed reveals it; the proof-of-render contract
        records the quorum verdict; after the challenge window anyone settles.
        Passed: the fee `W_t × P` at the job's rate is 80 % burned and 20 %
        owed to the treasury, and the work is credited to the BMW epoch.
        Failed or missed deadline: collateral slashed, task re-queued up to
        `maxAttempts`, else its reservation returns to the job. Every
        deadline has a permissionless `expire`; every payout is a pull
        (`withdraw`).
@custom:security The escrow's IFX balance always equals the unreserved
        budgets + the reservations of live tasks + `claimable` + bonds held.
"""

from .interfaces import IIFXToken
from .interfaces import IStaking
from .interfaces import IBMWIssuance
from .interfaces import IPriceFeed
from .interfaces import IJobEscrow
implements: IJobEscrow

# task states
POSTED: constant(uint8) = 1
ASSIGNED: constant(uint8) = 2
ACCEPTED: constant(uint8) = 3
SUBMITTED: constant(uint8) = 4
REVEALED: constant(uint8) = 5
VERIFIED: constant(uint8) = 6
DISPUTED: constant(uint8) = 7
SETTLED: constant(uint8) = 8
FAILED: constant(uint8) = 9
CANCELLED: constant(uint8) = 10

ROLE_MANAGER: constant(uint8) = 3
BPS: constant(uint256) = 10_000
IBM_ONE: constant(uint256) = 10**6
MIN_RENDER_WINDOW: constant(uint256) = 60
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


struct Task:
    jobId: uint256
    worker: address
    state: uint8
    attempts: uint256
    ibm: uint256
    reserved: uint256
    fee: uint256
    collateral: uint256
    keyCommit: bytes32
    resultHash: bytes32
    deadline: uint256
    renderWindow: uint256
    passed: bool
    challenger: address


struct TaskSpec:
    ibm: uint256
    keyCommit: bytes32
    frameStart: uint32
    frameEnd: uint32
    renderWindow: uint256
    sceneCid: String[100]


token: public(immutable(IIFXToken))
staking: public(immutable(IStaking))
priceFeed: public(immutable(IPriceFeed))
issuance: public(immutable(IBMWIssuance))
governance: public(immutable(address))
treasury: public(immutable(address))
deployer: immutable(address)
proofOfRender: public(address)

jobs: public(HashMap[uint256, Job])
tasks: public(HashMap[uint256, Task])
jobCount: public(uint256)
taskCount: public(uint256)
claimable: public(HashMap[address, uint256])
# @dev The challenge bond held for a disputed task.
bonds: public(HashMap[uint256, uint256])
bondsHeld: public(uint256)

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

event JobClosed:
    jobId: indexed(uint256)
    refunded: uint256

event TaskPosted:
    taskId: indexed(uint256)
    jobId: indexed(uint256)
    ibm: uint256
    reserved: uint256
    keyCommit: bytes32
    frameStart: uint32
    frameEnd: uint32
    renderWindow: uint256
    sceneCid: String[100]

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
):
    """
    @param token_ The IFX token.
    @param staking_ The staking contract (collateral).
    @param priceFeed_ The IFX/USD adapter.
    @param issuance_ The BMW issuance contract (work credits, penalties).
    @param governance_ The timelock allowed to change parameters.
    @param treasury_ The foundation treasury (20 % of fees, pulled).
    """
    assert treasury_ != empty(address), "escrow: zero treasury"
    token = token_
    staking = staking_
    priceFeed = priceFeed_
    issuance = issuance_
    governance = governance_
    treasury = treasury_
    deployer = msg.sender
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
def wire(proofOfRender_: address):
    """
    @dev One-time wiring by the deployer.
    @param proofOfRender_ The proof-of-render contract.
    """
    assert msg.sender == deployer, "escrow: caller is not the deployer"
    assert self.proofOfRender == empty(address), "escrow: already wired"
    assert proofOfRender_ != empty(address), "escrow: zero address"
    self.proofOfRender = proofOfRender_


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
) -> uint256:
    assert len(sceneCid) > 0, "escrow: empty scene CID"
    assert frameEnd >= frameStart, "escrow: bad frame range"
    assert maxPricePerIBM > 0, "escrow: zero max price"
    assert budget > 0, "escrow: zero budget"
    assert staticcall staking.isActive(manager, ROLE_MANAGER), "escrow: manager not active"
    rate: uint256 = staticcall priceFeed.price()
    assert extcall token.transferFrom(creator, self, budget), "escrow: transfer failed"
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
    @param manager The manager node that will prepare, post and match tasks.
    @param sceneCid The IPFS CID of the uploaded scene.
    @param frameStart First frame.
    @param frameEnd Last frame (inclusive).
    @param outputSettings Output settings (resolution, samples, format).
    @param maxPricePerIBM Highest USD price per IBM accepted (18 decimals).
    @param budget IFX wei locked for the job.
    @return uint256 The job id.
    """
    return self._createJob(msg.sender, manager, sceneCid, frameStart, frameEnd, outputSettings, maxPricePerIBM, budget)


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
    return self._createJob(msg.sender, manager, sceneCid, frameStart, frameEnd, outputSettings, maxPricePerIBM, budget)


@external
def closeJob(jobId: uint256):
    """
    @dev The creator stops the job: its unreserved budget, and every
         reservation released later, becomes claimable by the creator.
    @param jobId The job.
    """
    job: Job = self.jobs[jobId]
    assert job.creator != empty(address), "escrow: unknown job"
    assert msg.sender == job.creator, "escrow: caller is not the creator"
    assert not job.closed, "escrow: job closed"
    self.jobs[jobId].closed = True
    self.jobs[jobId].budget = 0
    self.claimable[job.creator] += job.budget
    log JobClosed(jobId=jobId, refunded=job.budget)


@external
def withdraw():
    """
    @dev Pays the caller everything owed to them (pull payment).
    """
    amount: uint256 = self.claimable[msg.sender]
    assert amount > 0, "escrow: nothing to withdraw"
    self.claimable[msg.sender] = 0
    assert extcall token.transfer(msg.sender, amount), "escrow: transfer failed"
    log Withdrawal(account=msg.sender, amount=amount)


# ---------------------------------------------------------------- manager


@external
def postTasks(jobId: uint256, specs: DynArray[TaskSpec, MAX_BATCH]) -> uint256:
    """
    @dev The job's manager posts tasks; each reserves `ibm × maxPrice` at
         the job's rate from the budget.
    @param jobId The job.
    @param specs The tasks: work in micro-IBM, key commitment, frames,
           render window (s), noised scene CID.
    @return uint256 The id of the first task posted.
    """
    job: Job = self.jobs[jobId]
    assert job.creator != empty(address), "escrow: unknown job"
    assert msg.sender == job.manager, "escrow: caller is not the job's manager"
    assert not job.closed, "escrow: job closed"
    assert len(specs) > 0, "escrow: no tasks"
    first: uint256 = self.taskCount + 1
    taskId: uint256 = first - 1
    budget: uint256 = job.budget
    for spec: TaskSpec in specs:
        assert spec.ibm > 0, "escrow: zero work"
        assert spec.keyCommit != empty(bytes32), "escrow: empty key commitment"
        assert spec.frameEnd >= spec.frameStart, "escrow: bad frame range"
        assert spec.renderWindow >= MIN_RENDER_WINDOW and spec.renderWindow <= MAX_RENDER_WINDOW, "escrow: render window out of bounds"
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
        self.tasks[taskId].renderWindow = spec.renderWindow
        log TaskPosted(
            taskId=taskId,
            jobId=jobId,
            ibm=spec.ibm,
            reserved=reserved,
            keyCommit=spec.keyCommit,
            frameStart=spec.frameStart,
            frameEnd=spec.frameEnd,
            renderWindow=spec.renderWindow,
            sceneCid=spec.sceneCid,
        )
    self.taskCount = taskId
    self.jobs[jobId].budget = budget
    self.jobs[jobId].openTasks = job.openTasks + len(specs)
    return first


@external
def assign(taskId: uint256, worker: address):
    """
    @dev The job's manager offers a posted task to a worker, who must
         accept within `acceptWindow`.
    @param taskId The task.
    @param worker The chosen worker.
    """
    # field-by-field reads: copying the whole struct costs a cold read per field
    assert self.tasks[taskId].state == POSTED, "escrow: task not open"
    assert msg.sender == self.jobs[self.tasks[taskId].jobId].manager, "escrow: caller is not the job's manager"
    assert worker != empty(address), "escrow: zero worker"
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
    task: Task = self.tasks[taskId]
    assert task.state == POSTED, "escrow: task not open"
    job: Job = self.jobs[task.jobId]
    assert msg.sender == job.manager or (msg.sender == job.creator and job.closed), "escrow: caller may not cancel"
    self.tasks[taskId].state = CANCELLED
    self._release(task.jobId, task.reserved)
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
    self.tasks[taskId].state = SUBMITTED
    self.tasks[taskId].resultHash = keccak256(resultCid)
    self.tasks[taskId].deadline = block.timestamp + self.revealWindow
    log ResultSubmitted(taskId=taskId, worker=msg.sender, resultCid=resultCid)


# ---------------------------------------------------------------- verification


@external
def revealKey(taskId: uint256, seed: bytes32):
    """
    @dev Publishes the task's secret seed (anyone may, it must match the
         commitment); oracles can now verify.
    @param taskId The task.
    @param seed The 32-byte secret behind `keyCommit`.
    """
    assert self.tasks[taskId].state == SUBMITTED, "escrow: task not submitted"
    assert keccak256(seed) == self.tasks[taskId].keyCommit, "escrow: seed does not match commitment"
    self.tasks[taskId].state = REVEALED
    self.tasks[taskId].deadline = block.timestamp + self.verifyWindow
    log KeyRevealed(taskId=taskId, seed=seed)


@view
@external
def verdictSubject(taskId: uint256) -> (uint8, bytes32, uint256):
    """
    @dev What an oracle verdict on `taskId` must bind.
    @param taskId The task.
    @return The state, keccak256 of the result CID, the attempt number.
    """
    return self.tasks[taskId].state, self.tasks[taskId].resultHash, self.tasks[taskId].attempts


@external
def onVerdict(taskId: uint256, passed: bool):
    """
    @dev Proof of render only: a quorum verdict; opens the challenge window.
    @param taskId The task.
    @param passed The verdict.
    """
    assert msg.sender == self.proofOfRender, "escrow: caller is not proof of render"
    assert self.tasks[taskId].state == REVEALED, "escrow: task not revealed"
    ends: uint256 = block.timestamp + self.challengeWindow
    self.tasks[taskId].state = VERIFIED
    self.tasks[taskId].passed = passed
    self.tasks[taskId].deadline = ends
    log VerdictRecorded(taskId=taskId, passed=passed, challengeEnds=ends)


@external
def onConflict(taskId: uint256):
    """
    @dev Proof of render only: oracles disagree; the task goes to dispute.
    @param taskId The task.
    """
    assert msg.sender == self.proofOfRender, "escrow: caller is not proof of render"
    assert self.tasks[taskId].state == REVEALED, "escrow: task not revealed"
    self._dispute(taskId, empty(address), 0)


@external
def challenge(taskId: uint256):
    """
    @dev Bonded challenge of a verdict within the challenge window; this is
         also the creator's bad-result claim. Needs an allowance of
         `challengeBond`. The bond is returned if the verdict is
         overturned, else it goes to the penalty pool.
    @param taskId The task.
    """
    assert self.tasks[taskId].state == VERIFIED, "escrow: task not verified"
    assert block.timestamp <= self.tasks[taskId].deadline, "escrow: challenge window closed"
    bond: uint256 = self.challengeBond
    if bond > 0:
        assert extcall token.transferFrom(msg.sender, self, bond), "escrow: transfer failed"
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
    assert msg.sender == self.proofOfRender, "escrow: caller is not proof of render"
    task: Task = self.tasks[taskId]
    assert task.state == DISPUTED, "escrow: task not disputed"
    if task.challenger != empty(address):
        self._returnBond(taskId, task.challenger, passed != task.passed)
        self.tasks[taskId].challenger = empty(address)
    self.tasks[taskId].state = VERIFIED
    self.tasks[taskId].passed = passed
    # the arbiter's decision is final: the challenge window is already closed (no re-challenge, even in
    # this block) and the task can be settled at once
    self.tasks[taskId].deadline = block.timestamp - 1
    log DisputeResolved(taskId=taskId, passed=passed)


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
            feeUsd: uint256 = fee * self.jobs[jobId].usdPerIfx // 10**18
            extcall issuance.recordWork(worker, self.jobs[jobId].manager, self.tasks[taskId].ibm, feeUsd)
            self._release(jobId, self.tasks[taskId].reserved - fee)
            log TaskSettled(taskId=taskId, worker=worker, fee=fee, burned=burned, toTreasury=fee - burned)
        else:
            self._fail(taskId, self.tasks[taskId], True)
    if burnTotal > 0:
        extcall token.burn(burnTotal)
    if treasuryTotal > 0:
        self.claimable[treasury] += treasuryTotal


@external
def expire(taskId: uint256):
    """
    @dev Permissionless way out of every missed deadline:
         assigned but not accepted → re-opened; accepted but not
         submitted → worker's fault (slash, re-queue); submitted but not
         revealed, revealed but no quorum, or dispute not resolved in
         time → no worker fault (collateral released, re-queue).
    @param taskId The task.
    """
    task: Task = self.tasks[taskId]
    state: uint8 = task.state
    assert state >= ASSIGNED and state <= DISPUTED and state != VERIFIED, "escrow: nothing to expire"
    assert block.timestamp > task.deadline, "escrow: deadline not passed"
    log TaskExpired(taskId=taskId, state=state)
    if state == ASSIGNED:
        self.tasks[taskId].state = POSTED
        self.tasks[taskId].worker = empty(address)
        self.tasks[taskId].deadline = 0
    elif state == ACCEPTED:
        self._fail(taskId, task, True)
    else:
        if task.challenger != empty(address):
            self._returnBond(taskId, task.challenger, True)
        self._fail(taskId, task, False)


# ---------------------------------------------------------------- governance


@external
def setParameter(name: String[32], newValue: uint256):
    """
    @dev Governance: changes one parameter within its bounds.
         burnBps [5000, 10000]; slashBps [0, 10000]; collateralBps
         [0, 50000]; maxAttempts [1, 10]; acceptWindow [60 s, 1 day];
         revealWindow, verifyWindow [10 min, 3 days]; challengeWindow
         [10 min, 3 days]; disputeWindow [1 day, 14 days];
         challengeBond [0, 1,000,000 IFX].
    @param name The parameter.
    @param newValue The value.
    """
    assert msg.sender == governance, "escrow: caller is not governance"
    h: bytes32 = keccak256(name)
    if h == keccak256("burnBps"):
        assert newValue >= 5000 and newValue <= BPS, "escrow: out of bounds"
        self.burnBps = newValue
    elif h == keccak256("slashBps"):
        assert newValue <= BPS, "escrow: out of bounds"
        self.slashBps = newValue
    elif h == keccak256("collateralBps"):
        assert newValue <= 5 * BPS, "escrow: out of bounds"
        self.collateralBps = newValue
    elif h == keccak256("maxAttempts"):
        assert newValue >= 1 and newValue <= 10, "escrow: out of bounds"
        self.maxAttempts = newValue
    elif h == keccak256("acceptWindow"):
        assert newValue >= 60 and newValue <= 86400, "escrow: out of bounds"
        self.acceptWindow = newValue
    elif h == keccak256("revealWindow"):
        assert newValue >= 600 and newValue <= 3 * 86400, "escrow: out of bounds"
        self.revealWindow = newValue
    elif h == keccak256("verifyWindow"):
        assert newValue >= 600 and newValue <= 3 * 86400, "escrow: out of bounds"
        self.verifyWindow = newValue
    elif h == keccak256("challengeWindow"):
        assert newValue >= 600 and newValue <= 3 * 86400, "escrow: out of bounds"
        self.challengeWindow = newValue
    elif h == keccak256("disputeWindow"):
        assert newValue >= 86400 and newValue <= 14 * 86400, "escrow: out of bounds"
        self.disputeWindow = newValue
    elif h == keccak256("challengeBond"):
        assert newValue <= 10**6 * 10**18, "escrow: out of bounds"
        self.challengeBond = newValue
    else:
        raise "escrow: unknown parameter"
    log ParameterChanged(name=name, newValue=newValue)


# ---------------------------------------------------------------- internal


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
        assert extcall token.transfer(issuance.address, bond), "escrow: transfer failed"
        extcall issuance.notifyPenalty(bond)


@internal
def _fail(taskId: uint256, task: Task, workerFault: bool):
    slashed: uint256 = 0
    if workerFault:
        slashed = task.collateral * self.slashBps // BPS
        extcall staking.slashCollateral(task.worker, task.collateral, slashed)
    else:
        extcall staking.unlockCollateral(task.worker, task.collateral)
    attempts: uint256 = task.attempts + 1
    requeued: bool = attempts < self.maxAttempts and not self.jobs[task.jobId].closed
    self.tasks[taskId].attempts = attempts
    self.tasks[taskId].worker = empty(address)
    self.tasks[taskId].fee = 0
    self.tasks[taskId].collateral = 0
    self.tasks[taskId].resultHash = empty(bytes32)
    self.tasks[taskId].passed = False
    self.tasks[taskId].challenger = empty(address)
    self.tasks[taskId].deadline = 0
    if requeued:
        self.tasks[taskId].state = POSTED
    else:
        self.tasks[taskId].state = FAILED
        self._release(task.jobId, task.reserved)
    log TaskFailed(taskId=taskId, worker=task.worker, slashed=slashed, requeued=requeued)
