"""A pure-Python reference model of the escrow, staking, proof-of-render and issuance contracts.

The stateful tests drive the contracts and this model side by side. Each model method mirrors one
contract entry point: it returns the revert reason the contract must give in the current state, or
``None`` after applying the call's effects, so that every expected revert is checked by its reason and
every success is checked against independently computed balances, pools and mints.
"""

from __future__ import annotations

from inferix.protocol import BPS, COLLATERAL_BPS, ROLE_MANAGER, ROLE_ORACLE, ROLE_WORKER, TaskState

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from boa.contracts.base_evm_contract import BoaError

# task states (JobEscrow)
POSTED, ASSIGNED, ACCEPTED, SUBMITTED, REVEALED, VERIFIED, DISPUTED, SETTLED, FAILED, CANCELLED = tuple(TaskState)[1:]
LIVE_STATES = frozenset(range(POSTED, SETTLED))  # their reservation is still held by the escrow

IBM_ONE = 10**6
WAD = 10**18
MAX_SUPPLY = 10**9 * WAD

# contract defaults the model relies on (the tests change only burnBps, epochCap and emissionRate)
SLASH_BPS = 1_000
MAX_ATTEMPTS = 3
ACCEPT_WINDOW = 900
REVEAL_WINDOW = 3_600
VERIFY_WINDOW = 6 * 3_600
CHALLENGE_WINDOW = 3_600
DISPUTE_WINDOW = 3 * 86_400
CHALLENGE_BOND = 100 * WAD
QUORUM = 2
ORACLE_SLASH_BPS = 1_000
UNBONDING_PERIOD = 7 * 86_400
STAKE_MULTIPLIER = 2
EPOCH_MINUTES = 4_320
PRICE_MAX_AGE = 86_400
WORKER_MINT_BPS, ORACLE_MINT_BPS, MANAGER_MINT_BPS, TREASURY_MINT_BPS = 7_500, 1_500, 250, 750


def revert_reason(error: BoaError) -> str:
    """The reason string of the innermost failing frame (the contract that actually reverted)."""
    frame = error.stack_trace.last_frame
    if isinstance(frame, str):
        return frame
    return str(frame.pretty_vm_reason)


@contextmanager
def expect(reason: str | None) -> Iterator[None]:
    """Run a call that must succeed (``reason is None``) or revert with exactly ``reason``.

    A revert with any other reason, or a success where a revert was predicted, fails the test.
    """
    if reason is None:
        yield
        return
    try:
        yield
    except BoaError as error:
        actual = revert_reason(error)
        assert actual == reason, f"expected revert {reason!r}, got {actual!r}"
    else:
        raise AssertionError(f"expected revert {reason!r}, but the call succeeded")


@dataclass
class JobM:
    creator: str
    manager: str
    budget: int
    rate: int  # USD per IFX (18 decimals), locked at creation
    max_price: int  # USD per IBM (18 decimals)
    closed: bool = False
    open_tasks: int = 0


@dataclass
class TaskM:
    job_id: int
    ibm: int  # micro-IBM
    reserved: int
    render_window: int
    seed_index: int = 0
    state: int = POSTED
    attempts: int = 0
    worker: str | None = None
    fee: int = 0
    collateral: int = 0
    deadline: int = 0
    passed: bool = False
    challenger: str | None = None
    bond: int = 0
    cid: str = ""


@dataclass
class NodeM:
    role: int = 0
    price: int = 0
    stake: int = 0
    locked: int = 0
    unbonding: int = 0
    unbonding_at: int = 0
    ib: int = 0


@dataclass
class Vote:
    epoch: int
    passed: bool
    slashed: bool = False


@dataclass
class EpochM:
    start: int
    length: int
    work_ibm: int = 0
    fee_usd: int = 0
    verdicts: int = 0
    tasks: int = 0
    penalty: int = 0
    worker_fees: dict[str, int] = field(default_factory=dict)
    oracle_verdicts: dict[str, int] = field(default_factory=dict)
    manager_tasks: dict[str, int] = field(default_factory=dict)
    # filled at close
    closed: bool = False
    carried_in: int = 0  # penalties of earlier epochs paid out through this epoch's oracle pool
    cap: int = 0  # min(epochCap, W_p x E_p) with the parameters in force at close
    minted: int = 0
    worker_pool: int = 0
    oracle_pool: int = 0
    manager_pool: int = 0
    to_treasury: int = 0
    claimed: int = 0

    @property
    def pools(self) -> int:
        return self.worker_pool + self.oracle_pool + self.manager_pool


@dataclass
class Model:
    """Mirror of the contracts' storage, updated by the same rules the contracts document."""

    treasury: str
    price_answer: int  # 8-decimal aggregator answer
    price_updated_at: int
    epoch_start: int
    min_oracle_stake: int
    min_manager_stake: int
    ecosystem_remaining: int
    emission_rate: int
    epoch_cap: int
    epoch_length: int
    burn_bps: int = 8_000
    # escrow
    jobs: dict[int, JobM] = field(default_factory=dict)
    tasks: dict[int, TaskM] = field(default_factory=dict)
    claimable: dict[str, int] = field(default_factory=dict)
    bonds_held: int = 0
    # staking
    nodes: dict[str, NodeM] = field(default_factory=dict)
    # proof of render: (task, attempt) -> oracle -> vote
    votes: dict[tuple[int, int], dict[str, Vote]] = field(default_factory=dict)
    # issuance
    epochs: list[EpochM] = field(default_factory=list)
    treasury_owed: int = 0
    carried_penalty: int = 0
    issuance_balance: int = 0
    # token
    burned: int = 0
    minted: int = 0

    def __post_init__(self) -> None:
        self.epochs.append(EpochM(self.epoch_start, self.epoch_length))

    # ------------------------------------------------------------ views
    @property
    def current(self) -> EpochM:
        return self.epochs[-1]

    def rate(self) -> int:
        return self.price_answer * 10**10

    def price_fresh(self, now: int) -> bool:
        return self.price_updated_at + PRICE_MAX_AGE >= now

    def node(self, account: str) -> NodeM:
        return self.nodes.setdefault(account, NodeM())

    def is_active(self, account: str, role: int) -> bool:
        node = self.nodes.get(account)
        if node is None or node.role != role:
            return False
        bonded = node.stake - node.unbonding
        if role == ROLE_ORACLE:
            return bonded >= self.min_oracle_stake and bonded > 0
        if role == ROLE_MANAGER:
            return bonded >= self.min_manager_stake and bonded > 0
        return bonded > 0

    def min_stake(self, node: NodeM, rate: int) -> int:
        ib = node.ib or IBM_ONE
        usd = STAKE_MULTIPLIER * EPOCH_MINUTES * ib * node.price // IBM_ONE
        return usd * WAD // rate

    def escrow_liabilities(self) -> int:
        return (
            sum(job.budget for job in self.jobs.values())
            + sum(task.reserved for task in self.tasks.values() if task.state in LIVE_STATES)
            + sum(self.claimable.values())
            + self.bonds_held
        )

    @staticmethod
    def ifx(usd: int, rate: int) -> int:
        return usd * WAD // rate

    def claimable_reward(self, epoch: int, account: str) -> int:
        ep = self.epochs[epoch]
        if not ep.closed:
            return 0
        amount = 0
        if ep.fee_usd > 0:
            amount += ep.worker_pool * ep.worker_fees.get(account, 0) // ep.fee_usd
        if ep.verdicts > 0:
            amount += ep.oracle_pool * ep.oracle_verdicts.get(account, 0) // ep.verdicts
        if ep.tasks > 0:
            amount += ep.manager_pool * ep.manager_tasks.get(account, 0) // ep.tasks
        return amount

    # ------------------------------------------------------------ internal effects
    def _add_claimable(self, account: str, amount: int) -> None:
        self.claimable[account] = self.claimable.get(account, 0) + amount

    def _penalty(self, amount: int) -> None:
        self.current.penalty += amount
        self.issuance_balance += amount

    def _take(self, account: str, amount: int) -> None:
        """Staking._take: slash into the penalty pool, keeping stake >= locked + unbonding."""
        if amount == 0:
            return
        node = self.nodes[account]
        new_stake = node.stake - amount
        if new_stake < node.locked + node.unbonding:
            node.unbonding = new_stake - node.locked
        node.stake = new_stake
        self._penalty(amount)

    def _release(self, job_id: int, amount: int) -> None:
        job = self.jobs[job_id]
        job.open_tasks -= 1
        if amount == 0:
            return
        if job.closed:
            self._add_claimable(job.creator, amount)
        else:
            job.budget += amount

    def _return_bond(self, task: TaskM, to_challenger: bool) -> None:
        bond = task.bond
        if bond == 0:
            return
        task.bond = 0
        self.bonds_held -= bond
        if to_challenger:
            assert task.challenger is not None
            self._add_claimable(task.challenger, bond)
        else:
            self._penalty(bond)

    def _fail(self, task: TaskM, worker_fault: bool) -> None:
        assert task.worker is not None
        node = self.nodes[task.worker]
        node.locked -= task.collateral
        if worker_fault:
            self._take(task.worker, task.collateral * SLASH_BPS // BPS)
        task.attempts += 1
        requeued = task.attempts < MAX_ATTEMPTS and not self.jobs[task.job_id].closed
        task.worker, task.fee, task.collateral, task.cid = None, 0, 0, ""
        task.passed, task.challenger, task.deadline = False, None, 0
        if requeued:
            task.state = POSTED
        else:
            task.state = FAILED
            self._release(task.job_id, task.reserved)

    def _dispute(self, task: TaskM, challenger: str | None, now: int) -> None:
        task.state = DISPUTED
        task.challenger = challenger
        task.deadline = now + DISPUTE_WINDOW

    # ------------------------------------------------------------ escrow
    def create_job(self, creator: str, manager: str, max_price: int, budget: int, now: int) -> str | None:
        if budget == 0:
            return "escrow: zero budget"
        if not self.is_active(manager, ROLE_MANAGER):
            return "escrow: manager not active"
        if not self.price_fresh(now):
            return "pricefeed: stale price"
        job_id = len(self.jobs) + 1
        self.jobs[job_id] = JobM(creator, manager, budget, self.rate(), max_price)
        return None

    def post(self, job_id: int, ibm: int, n: int, window: int) -> str | None:
        job = self.jobs[job_id]
        if job.closed:
            return "escrow: job closed"
        reserved = self.ifx(ibm * job.max_price // IBM_ONE, job.rate)
        if reserved * n > job.budget:
            return "escrow: budget exceeded"
        first = len(self.tasks) + 1
        for task_id in range(first, first + n):
            self.tasks[task_id] = TaskM(job_id, ibm, reserved, window)
        job.budget -= reserved * n
        job.open_tasks += n
        return None

    def assign(self, task_id: int, worker: str, now: int) -> str | None:
        task = self.tasks[task_id]
        if task.state != POSTED:
            return "escrow: task not open"
        task.worker, task.state, task.deadline = worker, ASSIGNED, now + ACCEPT_WINDOW
        return None

    def cancel(self, task_id: int, sender: str) -> str | None:
        task = self.tasks[task_id]
        if task.state != POSTED:
            return "escrow: task not open"
        job = self.jobs[task.job_id]
        if not (sender == job.manager or (sender == job.creator and job.closed)):
            return "escrow: caller may not cancel"
        task.state = CANCELLED
        self._release(task.job_id, task.reserved)
        return None

    def accept(self, task_id: int, now: int) -> str | None:
        task = self.tasks[task_id]
        if task.state != ASSIGNED:
            return "escrow: task not assigned"
        if now > task.deadline:
            return "escrow: acceptance deadline passed"
        assert task.worker is not None
        job = self.jobs[task.job_id]
        node = self.node(task.worker)
        fee = self.ifx(task.ibm * node.price // IBM_ONE, job.rate)
        if fee > task.reserved:
            return "escrow: price above job maximum"
        collateral = fee * COLLATERAL_BPS // BPS
        if node.role != ROLE_WORKER:
            return "staking: not a worker"
        if node.price > job.max_price:
            return "staking: price above job maximum"
        bonded = node.stake - node.unbonding
        if bonded < self.min_stake(node, job.rate):
            return "staking: below minimum stake"
        if bonded < node.locked + collateral:
            return "staking: insufficient free stake"
        node.locked += collateral
        task.state, task.fee, task.collateral = ACCEPTED, fee, collateral
        task.deadline = now + task.render_window
        return None

    def submit(self, task_id: int, cid: str, now: int) -> str | None:
        task = self.tasks[task_id]
        if task.state != ACCEPTED:
            return "escrow: task not accepted"
        if now > task.deadline:
            return "escrow: render deadline passed"
        task.state, task.cid, task.deadline = SUBMITTED, cid, now + REVEAL_WINDOW
        return None

    def reveal(self, task_id: int, now: int) -> str | None:
        task = self.tasks[task_id]
        if task.state != SUBMITTED:
            return "escrow: task not submitted"
        task.state, task.deadline = REVEALED, now + VERIFY_WINDOW
        return None

    def challenge(self, task_id: int, challenger: str, now: int) -> str | None:
        task = self.tasks[task_id]
        if task.state != VERIFIED:
            return "escrow: task not verified"
        if now > task.deadline:
            return "escrow: challenge window closed"
        self.bonds_held += CHALLENGE_BOND
        task.bond = CHALLENGE_BOND
        self._dispute(task, challenger, now)
        return None

    def settle_refusal(self, task_ids: list[int], now: int) -> str | None:
        """Why ``settle(task_ids)`` would revert now, if it would; changes nothing."""
        seen: set[int] = set()
        for task_id in task_ids:
            task = self.tasks[task_id]
            # a task met earlier in the batch is no longer VERIFIED when met again
            if task_id in seen or task.state != VERIFIED:
                return "escrow: task not verified"
            if now <= task.deadline:
                return "escrow: challenge window open"
            seen.add(task_id)
        return None

    def settle(self, task_ids: list[int], now: int) -> str | None:
        if reason := self.settle_refusal(task_ids, now):
            return reason
        burn_bps = self.burn_bps
        burn_total = treasury_total = 0
        for task_id in task_ids:
            task = self.tasks[task_id]
            if not task.passed:
                self._fail(task, worker_fault=True)
                continue
            assert task.worker is not None
            job = self.jobs[task.job_id]
            burned = task.fee * burn_bps // BPS
            burn_total += burned
            treasury_total += task.fee - burned
            task.state = SETTLED
            self.nodes[task.worker].locked -= task.collateral
            self.record_work(task.worker, job.manager, task.ibm, task.fee * job.rate // WAD)
            self._release(task.job_id, task.reserved - task.fee)
        self.burned += burn_total
        if treasury_total:
            self._add_claimable(self.treasury, treasury_total)
        return None

    def expire(self, task_id: int, now: int) -> str | None:
        task = self.tasks[task_id]
        if task.state not in (ASSIGNED, ACCEPTED, SUBMITTED, REVEALED, DISPUTED):
            return "escrow: nothing to expire"
        if now <= task.deadline:
            return "escrow: deadline not passed"
        if task.state == ASSIGNED:
            task.state, task.worker, task.deadline = POSTED, None, 0
        elif task.state == ACCEPTED:
            self._fail(task, worker_fault=True)
        else:
            if task.challenger is not None:
                self._return_bond(task, to_challenger=True)
            self._fail(task, worker_fault=False)
        return None

    def close_job(self, job_id: int) -> str | None:
        job = self.jobs[job_id]
        if job.closed:
            return "escrow: job closed"
        job.closed = True
        self._add_claimable(job.creator, job.budget)
        job.budget = 0
        return None

    def withdraw(self, account: str) -> int | str:
        """The amount paid, or the revert reason."""
        amount = self.claimable.get(account, 0)
        if amount == 0:
            return "escrow: nothing to withdraw"
        self.claimable[account] = 0
        return amount

    # ------------------------------------------------------------ proof of render
    def submit_verdict(self, task_id: int, passed: bool, oracles: list[str], cid: str, now: int) -> str | None:
        task = self.tasks[task_id]
        if task.state != REVEALED:
            return "por: task not awaiting a verdict"
        key = (task_id, task.attempts)
        votes = self.votes.setdefault(key, {})
        seen: set[str] = set()
        for oracle in oracles:
            # a signature over another CID recovers some unrelated address
            if cid != task.cid or not self.is_active(oracle, ROLE_ORACLE):
                return "por: signer is not an active oracle"
            if oracle in votes or oracle in seen:
                return "por: oracle already voted"
            seen.add(oracle)
        epoch = len(self.epochs) - 1
        for oracle in oracles:
            votes[oracle] = Vote(epoch, passed)
            self.current.verdicts += 1
            self.current.oracle_verdicts[oracle] = self.current.oracle_verdicts.get(oracle, 0) + 1
        pass_votes = sum(v.passed for v in votes.values())
        fail_votes = len(votes) - pass_votes
        if pass_votes and fail_votes:
            self._dispute(task, None, now)
        elif (pass_votes if passed else fail_votes) >= QUORUM:
            task.state, task.passed, task.deadline = VERIFIED, passed, now + CHALLENGE_WINDOW
        return None

    def resolve(self, task_id: int, passed: bool, voters: list[str], now: int) -> str | None:
        task = self.tasks[task_id]
        if task.state != DISPUTED:
            return "por: task not disputed"
        votes = self.votes.get((task_id, task.attempts), {})
        if any(v not in votes for v in voters):
            return "por: not a voter"
        for oracle in voters:
            vote = votes[oracle]
            if vote.passed != passed and not vote.slashed:
                vote.slashed = True
                node = self.nodes[oracle]
                amount = min(node.stake * ORACLE_SLASH_BPS // BPS, node.stake - node.locked)
                self._take(oracle, amount)
                self._revoke_verdict(oracle, vote.epoch)
        if task.challenger is not None:
            self._return_bond(task, to_challenger=passed != task.passed)
            task.challenger = None
        task.state, task.passed, task.deadline = VERIFIED, passed, now - 1  # final: no re-challenge
        return None

    def _revoke_verdict(self, oracle: str, epoch: int) -> None:
        ep = self.epochs[epoch]
        if epoch != len(self.epochs) - 1 or ep.oracle_verdicts.get(oracle, 0) == 0:
            return
        ep.verdicts -= 1
        ep.oracle_verdicts[oracle] -= 1

    # ------------------------------------------------------------ staking
    def stake(self, account: str, amount: int) -> str | None:
        node = self.node(account)
        if node.role == 0:
            return "staking: not registered"
        if amount == 0:
            return "staking: zero amount"
        node.stake += amount
        return None

    def request_unbond(self, account: str, amount: int, now: int) -> str | None:
        node = self.node(account)
        if amount == 0:
            return "staking: zero amount"
        if node.stake < node.locked + node.unbonding + amount:
            return "staking: amount exceeds free stake"
        node.unbonding += amount
        node.unbonding_at = now + UNBONDING_PERIOD
        return None

    def withdraw_stake(self, account: str, now: int) -> int | str:
        """The amount paid, or the revert reason."""
        node = self.node(account)
        if node.unbonding == 0:
            return "staking: nothing unbonding"
        if now < node.unbonding_at:
            return "staking: still unbonding"
        amount = node.unbonding
        node.stake -= amount
        node.unbonding = 0
        return amount

    # ------------------------------------------------------------ issuance
    def record_work(self, worker: str, manager: str, ibm: int, fee_usd: int) -> None:
        ep = self.current
        ep.work_ibm += ibm
        ep.fee_usd += fee_usd
        ep.tasks += 1
        ep.worker_fees[worker] = ep.worker_fees.get(worker, 0) + fee_usd
        ep.manager_tasks[manager] = ep.manager_tasks.get(manager, 0) + 1

    def close_epoch(self, now: int) -> str | None:
        ep = self.current
        if now < ep.start + ep.length:
            return "bmw: epoch not over"
        if not self.price_fresh(now):
            return "pricefeed: stale price"
        # the mint is a function of verified work and parameters only, never of the amount burned
        ep.cap = min(ep.work_ibm * self.emission_rate // IBM_ONE, self.epoch_cap)
        total = min(ep.cap, self.ecosystem_remaining)
        oracle_mint = total * ORACLE_MINT_BPS // BPS if ep.verdicts > 0 else 0
        ep.worker_pool = total * WORKER_MINT_BPS // BPS if ep.fee_usd > 0 else 0
        ep.manager_pool = total * MANAGER_MINT_BPS // BPS if ep.tasks > 0 else 0
        ep.to_treasury = total * TREASURY_MINT_BPS // BPS if ep.work_ibm > 0 else 0
        if ep.verdicts > 0:
            ep.carried_in = self.carried_penalty
            ep.oracle_pool = oracle_mint + ep.penalty + self.carried_penalty
            self.carried_penalty = 0
        else:
            self.carried_penalty += ep.penalty
        ep.minted = ep.to_treasury + ep.worker_pool + oracle_mint + ep.manager_pool
        ep.closed = True
        self.ecosystem_remaining -= ep.minted
        self.treasury_owed += ep.to_treasury
        self.minted += ep.minted
        self.issuance_balance += ep.minted
        self.epochs.append(EpochM(now, self.epoch_length))
        return None

    def claim(self, epoch: int, account: str) -> int | str:
        """The amount paid, or the revert reason."""
        ep = self.epochs[epoch]
        if not ep.closed:
            return "bmw: epoch not closed"
        amount = self.claimable_reward(epoch, account)
        if amount == 0:
            return "bmw: nothing to claim"
        ep.worker_fees[account] = ep.oracle_verdicts[account] = ep.manager_tasks[account] = 0
        ep.claimed += amount
        self.issuance_balance -= amount
        return amount

    def claim_treasury(self) -> int | str:
        amount = self.treasury_owed
        if amount == 0:
            return "bmw: nothing to claim"
        self.treasury_owed = 0
        self.issuance_balance -= amount
        return amount
