"""The read API's response models and parameter types (they document the JSON the handlers build; OpenAPI)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, Field
from typing_extensions import Annotated

from backend.indexer import (ATTEMPT_OUTCOMES, BATCH_STAGES, BATCH_TASK_OUTCOMES, JOB_STATUSES, PROPOSAL_STATES,
                             TASK_STATES)


MAX_ID = 2**63 - 1  # SQLite INTEGER, PostgreSQL BIGINT; larger ids cannot exist in the index
MAX_OFFSET = 10**9
STREAM_POLL_S = 0.5  # how often the job stream looks for new events
STREAM_BATCH = 500


Amount = Annotated[str, Field(pattern=r"^[0-9]+$", description="uint256 as a decimal string",
                              examples=["1000000000000000000"])]
Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="checksummed address",
                               examples=["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"])]
JobStatus = Literal["created", "running", "completed", "partial", "failed", "closing", "closed"]
TaskState = Literal[TASK_STATES]
Outcome = Literal["settled", "rejected", "missed_deadline", "timed_out"]
Role = Literal["worker", "oracle", "manager"]
assert set(JobStatus.__args__) == set(JOB_STATUSES)
assert set(Outcome.__args__) == set(ATTEMPT_OUTCOMES)
BatchStage = Literal["rendering", "revealed", "settled"]
BatchTaskOutcome = Literal["passed", "failed", "undecided", "bad_manifest", "void"]
assert set(BatchStage.__args__) == set(BATCH_STAGES)
assert set(BatchTaskOutcome.__args__) == set(BATCH_TASK_OUTCOMES)
Bitmap = Annotated[str, Field(pattern=r"^0x[0-9a-f]+$", description="a bitmap (uint256) in hex: bit i is task i "
                                                                      "(or seat i)", examples=["0x7"])]
Bytes32 = Annotated[str, Field(pattern=r"^0x[0-9a-f]{64}$", description="32 bytes in hex")]


class ErrorDetail(BaseModel):
    detail: str = Field(description="what is wrong", examples=["job 42 not found"])


class InvalidField(BaseModel):
    loc: list[str | int] = Field(description="where: location and name of the parameter")
    msg: str


class InvalidRequest(BaseModel):
    detail: str = Field(examples=["invalid request"])
    errors: list[InvalidField]


class TaskCounts(BaseModel):
    total: int = Field(description="tasks posted")
    open: int = Field(description="tasks not yet settled, failed for good or cancelled")
    settled: int
    failed: int = Field(description="tasks failed after their last attempt")
    cancelled: int


class Job(BaseModel):
    job_id: int
    creator: Address
    manager: Address
    scene_cid: str = Field(description="IPFS CID of the uploaded scene")
    frame_start: int
    frame_end: int = Field(description="last frame, inclusive")
    output_settings: str
    budget: Amount = Field(description="IFX wei locked at creation")
    budget_left: Amount = Field(description="IFX wei not reserved by tasks (the escrow's job budget)")
    refunded: Amount = Field(description="IFX wei made claimable to the creator (job closed)")
    fees_paid: Amount = Field(description="IFX wei of fees of settled tasks")
    usd_per_ifx: Amount = Field(description="the IFX/USD rate locked for the job (18 decimals)")
    max_price_per_ibm: Amount = Field(description="highest USD price per IBM accepted (18 decimals)")
    benchmark: bool = Field(description="a benchmark job (one task on the standard scene; its passed settlement "
                                        "sets the worker's IB)")
    closed: bool
    status: JobStatus = Field(description="created: no task yet; running: tasks open; completed: every task "
                                          "settled; partial: ended, some failed or cancelled; failed: ended, none "
                                          "settled; closing/closed: the creator closed it")
    created_block: int
    created_at: str = Field(description="time of the creation block, ISO 8601 UTC",
                            examples=["2026-01-01T12:00:00Z"])
    updated_block: int
    task_counts: TaskCounts


class TaskSummary(BaseModel):
    task_id: int
    state: TaskState
    frame_start: int
    frame_end: int
    attempts: int = Field(description="attempts that ended (failed or timed out); the current one is this number")
    worker: Address | None = Field(description="the assigned worker, if any")
    ibm: Amount = Field(description="work in micro-IBM")
    fee: Amount = Field(description="the current attempt's fee in IFX wei (0 until accepted)")
    passed: bool | None = Field(description="the quorum verdict of the current attempt, once known")
    package_cid: str = Field(description="IPFS CID of the task package (noised scene) of the current attempt")
    result_cid: str | None = Field(description="IPFS CID of the submitted frames (current attempt)")
    deadline: int | None = Field(description="unix time of the current deadline, when an event gave it")
    updated_block: int


class BatchSettlement(BaseModel):
    passed: int = Field(description="tasks settled as passed by `settle` (challenged ones close on their own)")
    failed: int = Field(description="tasks failed by `settle`: failed by the committee, or never delivered")
    burned: Amount = Field(description="IFX wei of the passed tasks' fees burned")
    to_treasury: Amount = Field(description="IFX wei of them owed to the treasury")
    refund: Amount = Field(description="IFX wei returned to the job's budget (failed, undecided or void tasks)")
    block: int
    at: int = Field(description="unix time of the settlement's block")


class BatchSummary(BaseModel):
    batch_id: Bytes32 = Field(description="keccak256(abi.encode(manager, nonce))")
    job_id: int
    manager: Address
    count: int = Field(description="tasks in the batch")
    workers: int = Field(description="worker groups (one per worker)")
    stage: BatchStage = Field(description="rendering: posted, results due; revealed: the seed is out, the committee "
                                          "judges; settled: `settle` ran (challenged tasks may still be open)")
    late: bool = Field(description="the manager revealed the seed late (slashed, its BMW credit forfeited)")
    fees: Amount | None = Field(description="IFX wei reserved from the job for the batch's fees")
    escrow_round: int = Field(description="the beacon round the batch seed is time-locked to")
    posted_block: int
    posted_at: int = Field(description="unix time of the post")
    render_ends: int = Field(description="unix time of the render deadline")
    submitted: int = Field(description="worker groups that submitted their results")
    revealed_at: int | None = Field(description="unix time of the seed's reveal")
    verdict_at: int | None = Field(description="unix time of the committee's verdict (BatchVerdict)")
    challenged: int = Field(description="tasks challenged")
    settlement: BatchSettlement | None
    updated_block: int


class JobDetail(Job):
    tasks: list[TaskSummary]
    batches: list[BatchSummary] = Field(description="the job's batches (the lane), in posting order; their tasks are "
                                                    "at /v1/batches/{batch_id}")


class BatchTask(BaseModel):
    index: int = Field(description="its position in the batch (its leaf's and its seed's index)")
    group: int = Field(description="its worker group")
    worker: Address
    ibm: Amount = Field(description="work in micro-IBM")
    fee: Amount = Field(description="IFX wei, signed by the worker")
    collateral: Amount | None = Field(description="IFX wei of the worker's collateral locked for it")
    manifest_digest: Bytes32
    frame_start: int
    frame_end: int
    package_cid: str = Field(description="IPFS CID of its noised package (from the post's calldata)")
    delivered_block: int | None = Field(description="block of its group's submitResults")
    result_cid: str | None = Field(description="IPFS CID of its frames (from submitResults' calldata)")
    verdict: Literal["passed", "failed", "undecided"] | None = Field(
        description="the committee's: a quorum of pass bits, of fail bits, or neither; null before the verdict")
    challenger: Address | None
    challenge_bond: Amount | None
    challenged_block: int | None
    overturned: bool | None = Field(description="the arbiter's resolve overturned the verdict (null: not resolved)")
    defect: str | None = Field(description="what was wrong with its sealed manifest, once proven on chain")
    outcome: BatchTaskOutcome | None = Field(
        description="how it closed: passed or failed (at settlement or by resolve; frames never delivered fail), "
                    "undecided (no fault, fee back to the job), bad_manifest (proven: the manager slashed, fee back "
                    "to the job), void (the seed never came out); null while open")
    closed_block: int | None


class BatchMember(BaseModel):
    seat: int = Field(ge=0)
    oracle: Address
    committed_block: int | None
    revealed_block: int | None
    pass_bits: Bitmap | None = Field(description="its revealed bitmap: bit i set, task i passes")
    no_show: bool = Field(description="the batch settled without its reveal")
    slashed: Amount = Field(description="IFX wei of stake slashed for votes the arbiter decided against")
    slashed_tasks: int


class BatchCommittee(BaseModel):
    round: int = Field(description="the beacon round that drew it (the first after the reveal)")
    size: int
    commit_ends: int | None = Field(description="unix time the commit phase ends (the last commitment's once every "
                                                "member committed)")
    committed: int
    drawn_block: int
    members: list[BatchMember] = Field(description="in seat order")


class BatchVerdict(BaseModel):
    pass_bits: Bitmap = Field(description="tasks passed by a quorum")
    decided_bits: Bitmap = Field(description="tasks a quorum decided (passed or failed)")
    revealed_seats: Bitmap = Field(description="the seats that revealed")
    block: int
    at: int


class BatchEvent(BaseModel):
    block: int
    log_index: int
    tx_hash: str
    contract: str
    name: str
    time: int = Field(description="unix time of the block")
    args: dict[str, Any] = Field(description="the event's arguments; uint values as decimal strings")


class BatchDetail(BatchSummary):
    root: Bytes32 = Field(description="the Merkle root of its leaves")
    leaves_known: bool = Field(description="its tasks were read from the post's calldata (false: posted through "
                                           "another contract, tasks not indexed)")
    collateral_bps: int | None
    post_tx: str
    revealed_block: int | None
    revealer: Address | None
    manager_slashed: Amount = Field(description="IFX wei slashed from the manager for this batch")
    to_workers: Amount = Field(description="IFX wei of those slashes paid to its workers")
    done_bits: Bitmap = Field(description="tasks closed")
    committee: BatchCommittee | None
    verdict: BatchVerdict | None
    tasks: list[BatchTask]
    events: list[BatchEvent] = Field(description="the batch's lane and committee events, in chain order (at most "
                                                 "1,000)")


class BatchPage(BaseModel):
    items: list[BatchSummary]
    total: int
    limit: int
    offset: int


class JobPage(BaseModel):
    items: list[Job]
    total: int = Field(description="jobs matching the filters")
    limit: int
    offset: int


class Vote(BaseModel):
    oracle: Address
    passed: bool
    score: int = Field(ge=0, le=10_000, description="ANGV score in basis points")
    slashed: Amount | None = Field(description="stake slashed for this vote (on the losing side of a dispute)")
    block: int
    tx_hash: str


class FrameScores(BaseModel):
    frame: int
    frame_cid: str | None = Field(description="IPFS CID of the frame")
    scores: list[Any] | dict[str, Any] | None = Field(
        description="per-region ANGV scores of the frame, as the manager recorded them (JSON)")


class CommitteeMember(BaseModel):
    oracle: Address
    seat: int = Field(ge=0, description="its place in the draw (0 first)")
    committed_block: int | None = Field(description="block of its vote commitment, null until it committed")
    revealed_block: int | None = Field(description="block of its vote's reveal (its entry in votes), null until then")
    no_show: bool = Field(description="the committee ended without its reveal: it earns nothing for the task")
    no_show_slashed: Amount = Field(description="IFX wei of stake slashed because this no-show reached the "
                                                "no-show limit (0 otherwise)")


class Committee(BaseModel):
    round: int = Field(description="the beacon round whose randomness drew it (the first after the submission)")
    size: int = Field(description="members drawn (the committee size, or fewer when fewer oracles were eligible)")
    commit_ends: int = Field(description="unix time the commit phase ends (the time of the last commitment once "
                                         "every member committed)")
    committed: int = Field(description="members that committed to a vote")
    revealed: int = Field(description="members that revealed their vote")
    pass_votes: int
    fail_votes: int
    outcome: Literal["passed", "failed", "no_verdict", "bad_manifest"] | None = Field(
        description="passed/failed: a quorum agreed (the verdict is final); no_verdict: it ended without a quorum "
                    "(the escrow's deadline re-queues the task); bad_manifest: the manager's sealed manifest was "
                    "proven not to open with the seed (the manager slashed, the task re-queued); null while it is "
                    "voting")
    drawn_block: int
    ended_block: int | None
    members: list[CommitteeMember] = Field(description="in draw order")


class Verdict(BaseModel):
    attempt: int
    passed: bool | None = Field(description="the quorum verdict, null while oracles are still voting")
    committee: Committee | None = Field(description="the committee drawn to judge the attempt, null before the draw")
    votes: list[Vote]
    frames: list[FrameScores]


class Attempt(Verdict):
    worker: Address | None
    fee: Amount | None
    collateral: Amount | None
    result_cid: str | None
    outcome: Outcome | None = Field(description="how the attempt ended; null while in progress")
    slashed: Amount = Field(description="collateral slashed from the worker")
    overturned: bool | None = Field(description="a challenge of its verdict: true when the arbiter overturned the "
                                                "verdict, false when it stood (upheld, or left undecided in time); "
                                                "null when never challenged")
    manager_slashed: Amount = Field(description="IFX wei slashed from the manager's stake because it did not reveal "
                                                "the key in time (0 otherwise)")
    to_worker: Amount = Field(description="IFX wei of that slash paid to the worker (its fee, at most)")
    accepted_block: int | None
    ended_block: int | None


class Settlement(BaseModel):
    fee: Amount
    burned: Amount
    to_treasury: Amount


class TaskDetail(TaskSummary):
    job_id: int
    reserved: Amount = Field(description="IFX wei reserved from the job's budget")
    collateral: Amount = Field(description="the worker's collateral locked for the current attempt")
    key_commit: str = Field(description="keccak256 of the current attempt's secret seed; zero (0x00…) once an "
                                        "attempt failed, until the manager gives the next one its key (rekey)")
    manifest_digest: str = Field(description="keccak256 of the current attempt's sealed manifest (zero like "
                                             "key_commit)")
    key_revealed: bool = Field(description="the seed was revealed on chain (it is not served here)")
    render_window: int = Field(description="seconds allowed to render after acceptance")
    challenger: Address | None
    slashed: Amount = Field(description="collateral slashed over all attempts")
    settlement: Settlement | None
    posted_block: int
    verdict: Verdict | None = Field(description="the latest attempt's votes, verdict and frame scores")
    attempt_history: list[Attempt]


class Worker(BaseModel):
    address: Address
    role: Role
    price_per_ibm: Amount = Field(description="USD per IBM, 18 decimals (workers)")
    stake: Amount
    locked: Amount = Field(description="collateral locked by accepted tasks")
    unbonding: Amount
    unbonding_at: int | None
    ib: Amount = Field(description="Inferix Bench measured by the worker's last passed benchmark task, 6 decimals")
    completed: int = Field(description="tasks settled as passed")
    failed: int = Field(description="attempts failed by the worker's fault")
    last_failure_block: int | None
    work_ibm: Amount = Field(description="verified work credited, micro-IBM (workers)")
    fees: Amount = Field(description="IFX wei of fees of settled tasks credited in BMW epochs: earned (workers), "
                                     "of the manager's jobs (managers)")
    verdicts: int = Field(description="votes revealed in committees (oracles)")
    verdict_weight: Amount = Field(description="IFX wei of fee value credited for votes on verdicts that became "
                                               "final, less credits revoked by the arbiter (oracles)")
    manager_slashes: int = Field(description="reveals the manager let expire, each slashing its stake (managers)")
    committee_seats: int = Field(description="committee seats drawn (oracles)")
    no_shows: int = Field(description="duties missed: committee seats ended without its reveal (oracles), "
                                      "assignments left unaccepted (workers)")
    missed: int = Field(description="no-shows since its last no-show slash (every `Staking.noShowLimit`-th costs "
                                    "stake)")
    no_show_slashed: Amount = Field(description="IFX wei of stake slashed for no-shows (included in slashed)")
    slashed: Amount = Field(description="IFX wei of stake slashed over all time")
    registered_block: int
    updated_block: int


class WorkerPage(BaseModel):
    items: list[Worker]
    total: int
    limit: int
    offset: int


class Epoch(BaseModel):
    epoch: int
    closed: bool
    work_ibm: Amount = Field(description="verified work, micro-IBM")
    fees: Amount = Field(description="IFX wei of fees of the tasks settled in the epoch")
    burned: Amount = Field(description="IFX wei of those fees burned (the mint never exceeds the usage cap's share "
                                       "of it)")
    verdict_weight: Amount = Field(description="IFX wei of fee value credited to oracles for final verdicts")
    tasks: int = Field(description="tasks settled as passed in the epoch")
    penalty: Amount = Field(description="IFX wei of penalties received")
    minted: Amount = Field(description="IFX wei minted at close")
    worker_pool: Amount
    oracle_pool: Amount
    manager_pool: Amount
    to_treasury: Amount
    started_at: int | None
    closed_block: int | None
    closed_at: int | None


class EpochPage(BaseModel):
    items: list[Epoch]
    total: int
    limit: int
    offset: int


class IndexStatus(BaseModel):
    next_block: int | None = Field(description="the first block not yet indexed (null before the first run)")
    updated_at: int | None


class StreamEvent(BaseModel):
    """The `data` of each Server-Sent Event (its `event` is `name`, its `id` is `block:log_index`)."""

    block: int
    log_index: int
    tx_hash: str
    contract: str
    name: str
    task_id: int | None
    time: int = Field(description="unix time of the block")
    args: dict[str, Any] = Field(description="the event's arguments; uint values as decimal strings")


ProposalState = Literal["pending", "active", "canceled", "defeated", "succeeded", "queued", "expired", "executed",
                        "vetoed"]
assert ProposalState.__args__ == PROPOSAL_STATES
Support = Literal["against", "for", "abstain"]
ProposalId = Annotated[str, Field(pattern=r"^[0-9]+$", description="a proposal id: uint256 as a decimal string")]


class ProposalVote(BaseModel):
    voter: Address
    support: Support
    weight: Amount = Field(description="the voter's votes at the proposal's snapshot (IFX wei)")
    reason: str
    block: int
    cast_at: int = Field(description="unix time of the vote's block")
    tx_hash: str


class Proposal(BaseModel):
    proposal_id: ProposalId = Field(description="Governor.hashProposal(targets, values, calldatas, descriptionHash)")
    proposer: Address
    description: str
    targets: list[Address]
    values: list[Amount] = Field(description="wei sent with each call")
    calldatas: list[str] = Field(description="each call's ABI-encoded calldata, 0x hex")
    security: bool = Field(description="a security proposal: stakers may veto it while queued")
    state: ProposalState = Field(description="Governor.state at `as_of`: pending until vote_start, active until "
                                             "vote_end, then defeated (for <= against, or for + abstain under the "
                                             "quorum), succeeded (expired 14 days after vote_end if not queued), "
                                             "queued, executed; canceled and vetoed whenever they happen")
    as_of: int | None = Field(description="the chain time (unix) the state and quorum are read at: the timestamp "
                                          "of the last block indexed")
    vote_start: int = Field(description="unix time of the snapshot; voting opens after it")
    vote_end: int = Field(description="unix time voting closes (inclusive)")
    for_votes: Amount
    against_votes: Amount
    abstain_votes: Amount
    voters: int = Field(description="votes cast")
    quorum: Amount | None = Field(description="for + abstain votes needed: max(quorumFloor, voting units at the "
                                              "snapshot x quorumBps); null until the first vote")
    queued_at: int | None
    eta: int | None = Field(description="unix time the timelock may execute it")
    operation: Bytes32 | None = Field(description="the timelock operation id, once queued")
    executed_block: int | None
    executed_at: int | None
    canceled: bool
    vetoed: bool
    veto_votes: Amount = Field(description="bonded stake of the stakers who vetoed it (security proposals)")
    veto_needed: Amount | None = Field(description="bonded stake whose vetoes cancel it (known at the first veto)")
    vetoes: int
    created_block: int
    created_at: int
    tx_hash: str
    updated_block: int


class ProposalDetail(Proposal):
    votes: list[ProposalVote] = Field(description="every vote, in chain order")


class ProposalPage(BaseModel):
    items: list[Proposal]
    total: int
    limit: int
    offset: int


class Ballot(BaseModel):
    proposal_id: ProposalId
    support: Support
    weight: Amount
    reason: str
    block: int
    cast_at: int


class Voter(BaseModel):
    address: Address
    votes: Amount = Field(description="votes delegated to it now (VotePower.getVotes)")
    delegate: Address = Field(description="who its own units count for (itself until it delegates)")
    units: Amount = Field(description="its own voting units: IFX locked (half of it for a vesting escrow) plus "
                                      "bonded stake")
    locked: Amount = Field(description="IFX wei it locked in VotePower")
    staked: Amount = Field(description="its bonded stake in Staking (IFX wei), as Staking last pushed it")
    escrow: bool = Field(description="a vesting escrow (its lock votes at half weight)")
    updated_block: int
    ballots: list[Ballot] = Field(description="its votes on proposals, newest first (at most 100)")


class VestingSchedule(BaseModel):
    start: int = Field(description="unix time the TGE share vests")
    tge_bps: int = Field(description="the share vested at start, in basis points")
    cliff: int = Field(description="seconds after start before the linear part")
    duration: int = Field(description="seconds of the linear part")
    cliff_ends: int
    ends: int = Field(description="unix time everything has vested")


class VestingEscrowView(BaseModel):
    escrow: Address
    factory: Address
    factory_name: Literal["VestingFactory", "CommunityFund"]
    revocable: bool | None
    beneficiary: Address
    total: Amount
    schedule: VestingSchedule
    vested: Amount = Field(description="vested at `as_of` (frozen at the revocation)")
    claimed: Amount = Field(description="sent to the beneficiary")
    claimable: Amount = Field(description="vested, not yet claimed")
    revoked: bool
    revoked_at: int | None
    returned: Amount = Field(description="unvested IFX returned to the factory by a revocation")
    created_block: int
    updated_block: int


class Vesting(BaseModel):
    beneficiary: Address
    as_of: int | None = Field(description="the chain time (unix) `vested` is computed at")
    escrows: list[VestingEscrowView] = Field(description="oldest first")


class License(BaseModel):
    license_id: int
    node_types: int = Field(description="bitmask: 1 worker, 2 verifier, 4 manager (as issued)")
    roles: list[Literal["worker", "verifier", "manager"]]
    owner: Address = Field(description="its holder (Staking while locked by a node); the last one once revoked")
    staked_by: Address | None = Field(description="the node whose registration locks it in Staking")
    revoked: bool
    revoked_block: int | None
    issuer: Address
    issued_block: int
    updated_block: int


class Licenses(BaseModel):
    owner: Address
    licenses: list[License] = Field(description="held, or locked in Staking by this node; by id")


NOT_FOUND = {404: {"model": ErrorDetail, "description": "not in the index"}}
MALFORMED = {400: {"model": ErrorDetail, "description": "a malformed id"}}
MALFORMED_ADDRESS = {400: {"model": ErrorDetail, "description": "a malformed address"}}
INVALID = {422: {"model": InvalidRequest, "description": "invalid parameters"}}

JobId = Annotated[int, Path(ge=1, le=MAX_ID, description="the escrow's job id")]
TaskId = Annotated[int, Path(ge=1, le=MAX_ID, description="the escrow's task id")]
Limit = Annotated[int, Query(ge=1, le=100, description="page size")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
EVENT_ID_PATTERN = r"^[0-9]{1,18}:[0-9]{1,9}$"
