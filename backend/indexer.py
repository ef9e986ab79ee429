"""Follows contract events into SQLite for fast reads.

The indexer reads every log of ``JobEscrow``, ``ProofOfRender``, ``Staking`` and ``BMWIssuance`` from its
cursor (initially the deployment's first block) up to the chain head (less ``confirmations``), in block and
log order, with one ``eth_getLogs`` call per block range. Each range is applied in ONE transaction: every log
is inserted into ``events`` keyed by ``(block, log_index)`` with ``INSERT OR IGNORE``, the derived tables are
updated only for logs that were newly inserted, and the cursor moves to the end of the range. A crash mid-range
rolls the whole range back; re-reading a range already applied changes nothing. So the index never counts an
event twice, whatever the restarts.

Amounts (IFX wei, USD with 18 decimals, micro-IBM) are uint256 on chain: they are stored as decimal TEXT,
since SQLite integers are 64-bit, and the API serves them as decimal strings. Block numbers, timestamps,
frames, counts and ids are INTEGERs. Addresses are stored checksummed, as web3 decodes them.

The tables (``docs/api-reads.md`` describes each column):

``jobs``           one row per ``JobCreated``; budget left, refunds, counters and a derived ``status``
``tasks``          one row per ``TaskPosted``; the task's current state and attempt, as the escrow holds it
``task_attempts``  one row per accepted attempt: worker, fee, result CID, verdict, outcome
``verdicts``       one row per oracle signature counted (``VerdictSigned``), for the attempt it was on
``task_scores``    per-frame, per-region ANGV scores and frame CIDs, written by the manager (not by this indexer)
``workers``        every registered node (worker, oracle, manager): price, stake, IB, completed/failed tasks
``epochs``         BMW epochs: verified work, verdicts, penalties, the mint and its pools once closed
``events``         every log of the four contracts (args as JSON, uint values as decimal strings), with the
                   job and task it concerns: the job progress stream reads it
``indexer_cursor`` the next block to read

The revealed task seed (``KeyRevealed.seed``) is public on chain once revealed, but the index does not keep
it: the API never serves seeds.

Give the indexer its own connection (``backend.db.connect``) when it runs beside the API in one process: a
transaction is per connection, and the API must not read half-applied ranges.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from typing import Any, Iterable

from eth_utils import event_abi_to_log_topic

from inferix.chain import ChainError, Event
from inferix.protocol import ROLE_NAMES, TASK_STATE_NAMES, TaskState
from inferix.service import run_loop

log = logging.getLogger("inferix.indexer")

INDEXER_MIGRATIONS: list[str] = [
    # 1: the read model
    """
    CREATE TABLE indexer_cursor (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        next_block INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE events (
        block INTEGER NOT NULL,
        log_index INTEGER NOT NULL,
        tx_hash TEXT NOT NULL,
        contract TEXT NOT NULL,
        name TEXT NOT NULL,
        job_id INTEGER,
        task_id INTEGER,
        block_time INTEGER NOT NULL,
        args TEXT NOT NULL,
        PRIMARY KEY (block, log_index)
    );
    CREATE INDEX events_job ON events (job_id, block, log_index);
    CREATE INDEX events_task ON events (task_id, block, log_index);
    CREATE TABLE jobs (
        job_id INTEGER PRIMARY KEY,
        creator TEXT NOT NULL,
        manager TEXT NOT NULL,
        scene_cid TEXT NOT NULL,
        frame_start INTEGER NOT NULL,
        frame_end INTEGER NOT NULL,
        output_settings TEXT NOT NULL,
        budget TEXT NOT NULL,
        budget_left TEXT NOT NULL,
        refunded TEXT NOT NULL DEFAULT '0',
        fees_paid TEXT NOT NULL DEFAULT '0',
        usd_per_ifx TEXT NOT NULL,
        max_price_per_ibm TEXT NOT NULL,
        open_tasks INTEGER NOT NULL DEFAULT 0,
        tasks_total INTEGER NOT NULL DEFAULT 0,
        tasks_settled INTEGER NOT NULL DEFAULT 0,
        tasks_failed INTEGER NOT NULL DEFAULT 0,
        tasks_cancelled INTEGER NOT NULL DEFAULT 0,
        closed INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,
        created_block INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_block INTEGER NOT NULL
    );
    CREATE INDEX jobs_creator ON jobs (creator, job_id);
    CREATE INDEX jobs_status ON jobs (status, job_id);
    CREATE INDEX jobs_creator_status ON jobs (creator, status, job_id);
    CREATE TABLE tasks (
        task_id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL,
        state TEXT NOT NULL,
        worker TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        ibm TEXT NOT NULL,
        reserved TEXT NOT NULL,
        fee TEXT NOT NULL DEFAULT '0',
        collateral TEXT NOT NULL DEFAULT '0',
        key_commit TEXT NOT NULL,
        key_revealed INTEGER NOT NULL DEFAULT 0,
        frame_start INTEGER NOT NULL,
        frame_end INTEGER NOT NULL,
        render_window INTEGER NOT NULL,
        package_cid TEXT NOT NULL,
        result_cid TEXT,
        passed INTEGER,
        deadline INTEGER,
        challenger TEXT,
        settled_fee TEXT,
        burned TEXT,
        to_treasury TEXT,
        slashed TEXT NOT NULL DEFAULT '0',
        posted_block INTEGER NOT NULL,
        updated_block INTEGER NOT NULL
    );
    CREATE INDEX tasks_job ON tasks (job_id, task_id);
    CREATE INDEX tasks_worker ON tasks (worker, task_id);
    CREATE TABLE task_attempts (
        task_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        worker TEXT NOT NULL,
        fee TEXT NOT NULL,
        collateral TEXT NOT NULL,
        result_cid TEXT,
        passed INTEGER,
        outcome TEXT,
        slashed TEXT NOT NULL DEFAULT '0',
        accepted_block INTEGER NOT NULL,
        ended_block INTEGER,
        PRIMARY KEY (task_id, attempt)
    );
    CREATE TABLE verdicts (
        task_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        oracle TEXT NOT NULL,
        passed INTEGER NOT NULL,
        score INTEGER NOT NULL,
        slashed TEXT,
        block INTEGER NOT NULL,
        log_index INTEGER NOT NULL,
        tx_hash TEXT NOT NULL,
        PRIMARY KEY (task_id, attempt, oracle)
    );
    CREATE TABLE task_scores (
        task_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        frame INTEGER NOT NULL,
        scores_json TEXT NOT NULL,
        frame_cid TEXT,
        PRIMARY KEY (task_id, attempt, frame)
    );
    CREATE TABLE workers (
        address TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        price_per_ibm TEXT NOT NULL DEFAULT '0',
        stake TEXT NOT NULL DEFAULT '0',
        locked TEXT NOT NULL DEFAULT '0',
        unbonding TEXT NOT NULL DEFAULT '0',
        unbonding_at INTEGER,
        ib TEXT NOT NULL DEFAULT '0',
        completed INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        last_failure_block INTEGER,
        work_ibm TEXT NOT NULL DEFAULT '0',
        fee_usd TEXT NOT NULL DEFAULT '0',
        verdicts INTEGER NOT NULL DEFAULT 0,
        slashed TEXT NOT NULL DEFAULT '0',
        registered_block INTEGER NOT NULL,
        updated_block INTEGER NOT NULL
    );
    CREATE INDEX workers_role ON workers (role, address);
    CREATE TABLE epochs (
        epoch INTEGER PRIMARY KEY,
        work_ibm TEXT NOT NULL DEFAULT '0',
        fee_usd TEXT NOT NULL DEFAULT '0',
        verdicts INTEGER NOT NULL DEFAULT 0,
        tasks INTEGER NOT NULL DEFAULT 0,
        penalty TEXT NOT NULL DEFAULT '0',
        minted TEXT NOT NULL DEFAULT '0',
        worker_pool TEXT NOT NULL DEFAULT '0',
        oracle_pool TEXT NOT NULL DEFAULT '0',
        manager_pool TEXT NOT NULL DEFAULT '0',
        to_treasury TEXT NOT NULL DEFAULT '0',
        closed INTEGER NOT NULL DEFAULT 0,
        started_at INTEGER,
        closed_block INTEGER,
        closed_at INTEGER
    )
    """,
]

CONTRACTS = ("JobEscrow", "ProofOfRender", "Staking", "BMWIssuance")

# the names the index stores for the escrow's task states (one definition: inferix.protocol)
STATE_NAMES = TASK_STATE_NAMES
TASK_STATES = tuple(STATE_NAMES.values())
JOB_STATUSES = ("created", "running", "completed", "partial", "failed", "closing", "closed")
ATTEMPT_OUTCOMES = ("settled", "rejected", "missed_deadline", "timed_out")
ZERO_ADDRESS = "0x" + "0" * 40

# event args never stored (the seed is public once revealed, but reads never serve seeds)
_DROPPED_ARGS = {("JobEscrow", "KeyRevealed"): ("seed",)}


def job_status(job: dict) -> str:
    """A job's status from its counters: created (no task yet), running (tasks open), completed (every task
    settled), partial (all ended, some settled, some failed or cancelled), failed (all ended, none settled),
    closing (closed by the creator, tasks still open), closed."""
    if job["closed"]:
        return "closing" if job["open_tasks"] > 0 else "closed"
    if job["tasks_total"] == 0:
        return "created"
    if job["open_tasks"] > 0:
        return "running"
    if job["tasks_settled"] == job["tasks_total"]:
        return "completed"
    return "partial" if job["tasks_settled"] > 0 else "failed"


def _json_arg(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)  # uint256: a decimal string, as every amount the API serves
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [_json_arg(v) for v in value]
    return str(value)


def _hex(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value).hex()
    else:
        text = str(value)
    return text if text.startswith("0x") else "0x" + text


def _add(a: str, b: int) -> str:
    return str(int(a) + b)


class Indexer:
    """Indexes the deployment's events into ``conn`` (migrated with ``INDEXER_MIGRATIONS`` here).

    ``chain`` is an ``inferix.chain.Chain`` (no account needed). ``confirmations`` keeps that many of the
    newest blocks out of the index (reorg safety on a real chain; 0 on anvil). ``max_blocks`` bounds the block
    range of one ``eth_getLogs`` call and of one transaction.
    """

    def __init__(self, chain, conn: sqlite3.Connection, *, start_block: int | None = None,
                 confirmations: int = 0, max_blocks: int = 2000) -> None:
        from backend.db import migrate

        if max_blocks < 1 or confirmations < 0:
            raise ValueError("max_blocks must be >= 1 and confirmations >= 0")
        self.chain = chain
        self.conn = conn
        self.start_block = chain.deployments.block_number if start_block is None else start_block
        self.confirmations = confirmations
        self.max_blocks = max_blocks
        migrate(conn, "indexer", INDEXER_MIGRATIONS)
        self._topics: dict[tuple[str, bytes], tuple[str, Any]] = {}
        self._addresses: list[str] = []
        for name in CONTRACTS:
            contract = chain.contract(name)
            self._addresses.append(contract.address)
            for item in contract.abi:
                if item.get("type") == "event":
                    topic = bytes(event_abi_to_log_topic(item))
                    self._topics[(contract.address.lower(), topic)] = (name, getattr(contract.events, item["name"])())
        self._expired: dict[tuple[str, int], int] = {}

    # ------------------------------------------------------------ cursor
    def next_block(self) -> int:
        """The first block not yet indexed."""
        row = self.conn.execute("SELECT next_block FROM indexer_cursor WHERE id = 1").fetchone()
        return row[0] if row else self.start_block

    # ------------------------------------------------------------ reading the chain
    def fetch(self, from_block: int, to_block: int) -> list[Event]:
        """Every log of the four contracts in [from_block, to_block], decoded, in chain order."""
        try:
            logs = self.chain.w3.eth.get_logs({"address": self._addresses, "fromBlock": from_block,
                                               "toBlock": to_block})
        except ChainError:
            raise
        except Exception as exc:  # noqa: BLE001 - web3 raises many kinds; all mean "try again later"
            raise ChainError(f"get_logs [{from_block}, {to_block}]: {exc.__class__.__name__}: {exc}") from None
        found: list[Event] = []
        for entry in logs:
            if not entry["topics"]:
                continue
            known = self._topics.get((entry["address"].lower(), bytes(entry["topics"][0])))
            if known is None:
                continue
            contract, event = known
            decoded = event.process_log(entry)
            found.append(Event(decoded["event"], contract, entry["blockNumber"], entry["logIndex"],
                               _hex(entry["transactionHash"]), dict(decoded["args"])))
        found.sort(key=lambda e: (e.block, e.log_index))
        return found

    def _timestamps(self, blocks: Iterable[int]) -> dict[int, int]:
        times = {}
        for number in sorted(set(blocks)):
            try:
                times[number] = int(self.chain.w3.eth.get_block(number)["timestamp"])
            except Exception as exc:  # noqa: BLE001
                raise ChainError(f"get_block {number}: {exc.__class__.__name__}: {exc}") from None
        return times

    # ------------------------------------------------------------ polling
    def poll_once(self, to_block: int | None = None) -> int:
        """Index from the cursor to the head (or ``to_block``); returns the number of events newly applied."""
        head = self.chain.block_number() - self.confirmations
        if to_block is not None:
            head = min(head, to_block)
        start = self.next_block()
        applied = 0
        if not self.conn.execute("SELECT 1 FROM indexer_cursor WHERE id = 1").fetchone():
            self._first_run()
        while start <= head:
            end = min(head, start + self.max_blocks - 1)
            events = self.fetch(start, end)
            times = self._timestamps(e.block for e in events)
            applied += self.apply(events, times, next_block=end + 1)
            start = end + 1
        return applied

    def apply(self, events: list[Event], times: dict[int, int], next_block: int) -> int:
        """Apply ``events`` (a whole block range, in chain order) and move the cursor, in one transaction."""
        self._expired = {}
        applied = 0
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for event in events:
                applied += self._apply_one(event, times[event.block])
            self.conn.execute(
                "INSERT INTO indexer_cursor (id, next_block, updated_at) VALUES (1, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET next_block = excluded.next_block, updated_at = excluded.updated_at",
                (next_block, int(time.time())))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        if applied:
            log.info("indexed %d events up to block %d", applied, next_block - 1)
        return applied

    def run(self, stop_event: threading.Event, interval: float = 1.0) -> None:
        """Poll until ``stop_event`` is set; a failure (a chain outage, a bug) is logged and retried."""
        log.info("indexer starting at block %d", self.next_block())
        run_loop(self.poll_once, interval, stop_event, log, "indexer")
        log.info("indexer stopped at block %d", self.next_block())

    def _first_run(self) -> None:
        # the open epoch 0 is listed from the start (its start time is read once from the chain)
        try:
            start = self.chain.call("BMWIssuance", "epochs", 0)[0]
        except ChainError:
            start = None
        self.conn.execute("INSERT OR IGNORE INTO epochs (epoch, started_at) VALUES (0, ?)", (start,))

    # ------------------------------------------------------------ applying one event
    def _apply_one(self, e: Event, block_time: int) -> int:
        args = e.args
        job_id = args.get("jobId")
        task_id = args.get("taskId")
        if task_id is not None and job_id is None and e.name != "TaskPosted":
            row = self.conn.execute("SELECT job_id FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
            job_id = row[0] if row else None
        stored = {k: _json_arg(v) for k, v in args.items() if k not in _DROPPED_ARGS.get((e.contract, e.name), ())}
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO events (block, log_index, tx_hash, contract, name, job_id, task_id, block_time, "
            "args) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (e.block, e.log_index, e.tx_hash, e.contract, e.name, job_id, task_id, block_time,
             json.dumps(stored, separators=(",", ":"))))
        if cur.rowcount == 0:
            return 0  # applied before: its effects are already in the tables
        handler = getattr(self, f"_on_{e.contract}_{e.name}", None)
        if handler is not None:
            handler(e, args, block_time)
        return 1

    # -- rows
    def _row(self, table: str, key: str, value: Any) -> dict | None:
        row = self.conn.execute(f"SELECT * FROM {table} WHERE {key} = ?", (value,)).fetchone()
        return dict(row) if row is not None else None

    def _update(self, table: str, key: str, value: Any, changes: dict) -> None:
        if not changes:
            return
        sets = ", ".join(f"{column} = ?" for column in changes)
        self.conn.execute(f"UPDATE {table} SET {sets} WHERE {key} = ?", (*changes.values(), value))

    def _task(self, e: Event, task_id: int) -> dict | None:
        task = self._row("tasks", "task_id", task_id)
        if task is None:
            log.warning("%s for unknown task %s in block %d (indexing started too late?)", e.name, task_id, e.block)
        return task

    def _set_task(self, task_id: int, e: Event, **changes: Any) -> None:
        self._update("tasks", "task_id", task_id, {**changes, "updated_block": e.block})

    def _job_change(self, job_id: int, e: Event, fn) -> None:
        job = self._row("jobs", "job_id", job_id)
        if job is None:
            return
        before = dict(job)
        fn(job)
        job["status"] = job_status(job)
        job["updated_block"] = e.block
        self._update("jobs", "job_id", job_id, {k: v for k, v in job.items() if before.get(k) != v})

    def _release(self, job: dict, amount: int) -> None:
        # JobEscrow._release: a task ended; its unspent reservation returns to the job, or to the creator
        job["open_tasks"] -= 1
        if job["closed"]:
            job["refunded"] = _add(job["refunded"], amount)
        else:
            job["budget_left"] = _add(job["budget_left"], amount)

    def _node_change(self, address: str, e: Event, fn) -> None:
        node = self._row("workers", "address", address)
        if node is None:
            log.warning("%s for unregistered account %s in block %d", e.name, address, e.block)
            return
        before = dict(node)
        fn(node)
        node["updated_block"] = e.block
        self._update("workers", "address", address, {k: v for k, v in node.items() if before.get(k) != v})

    @staticmethod
    def _normalize_unbonding(node: dict) -> None:
        # Staking._take: stake >= locked + unbonding, shrinking the pending unbonding first
        stake, locked, unbonding = int(node["stake"]), int(node["locked"]), int(node["unbonding"])
        if stake < locked + unbonding:
            node["unbonding"] = str(max(stake - locked, 0))

    def _epoch_change(self, epoch: int, fn) -> None:
        self.conn.execute("INSERT OR IGNORE INTO epochs (epoch) VALUES (?)", (epoch,))
        row = self._row("epochs", "epoch", epoch)
        before = dict(row)
        fn(row)
        self._update("epochs", "epoch", epoch, {k: v for k, v in row.items() if before.get(k) != v})

    # -- JobEscrow
    def _on_JobEscrow_JobCreated(self, e: Event, a: dict, t: int) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO jobs (job_id, creator, manager, scene_cid, frame_start, frame_end, output_settings, "
            "budget, budget_left, usd_per_ifx, max_price_per_ibm, status, created_block, created_at, updated_block) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'created', ?, ?, ?)",
            (a["jobId"], a["creator"], a["manager"], a["sceneCid"], a["frameStart"], a["frameEnd"],
             a["outputSettings"], str(a["budget"]), str(a["budget"]), str(a["usdPerIfx"]),
             str(a["maxPricePerIBM"]), e.block, t, e.block))

    def _on_JobEscrow_JobClosed(self, e: Event, a: dict, t: int) -> None:
        def change(job):
            job["closed"] = 1
            job["refunded"] = _add(job["refunded"], a["refunded"])
            job["budget_left"] = "0"
        self._job_change(a["jobId"], e, change)

    def _on_JobEscrow_TaskPosted(self, e: Event, a: dict, t: int) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO tasks (task_id, job_id, state, ibm, reserved, key_commit, frame_start, frame_end, "
            "render_window, package_cid, posted_block, updated_block) VALUES (?, ?, 'posted', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (a["taskId"], a["jobId"], str(a["ibm"]), str(a["reserved"]), _hex(a["keyCommit"]), a["frameStart"],
             a["frameEnd"], a["renderWindow"], a["sceneCid"], e.block, e.block))

        def change(job):
            job["budget_left"] = _add(job["budget_left"], -a["reserved"])
            job["open_tasks"] += 1
            job["tasks_total"] += 1
        self._job_change(a["jobId"], e, change)

    def _on_JobEscrow_TaskAssigned(self, e: Event, a: dict, t: int) -> None:
        self._set_task(a["taskId"], e, state="assigned", worker=a["worker"], deadline=a["deadline"])

    def _on_JobEscrow_TaskAccepted(self, e: Event, a: dict, t: int) -> None:
        task = self._task(e, a["taskId"])
        if task is None:
            return
        self._set_task(a["taskId"], e, state="accepted", worker=a["worker"], fee=str(a["fee"]),
                       collateral=str(a["collateral"]), deadline=a["deadline"], result_cid=None, passed=None)
        self.conn.execute(
            "INSERT OR IGNORE INTO task_attempts (task_id, attempt, worker, fee, collateral, accepted_block) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (a["taskId"], task["attempts"], a["worker"], str(a["fee"]), str(a["collateral"]), e.block))

    def _attempt(self, task: dict, e: Event, **changes: Any) -> None:
        self._update_attempt(task["task_id"], task["attempts"], changes)

    def _update_attempt(self, task_id: int, attempt: int, changes: dict) -> None:
        sets = ", ".join(f"{column} = ?" for column in changes)
        self.conn.execute(f"UPDATE task_attempts SET {sets} WHERE task_id = ? AND attempt = ?",
                          (*changes.values(), task_id, attempt))

    def _on_JobEscrow_ResultSubmitted(self, e: Event, a: dict, t: int) -> None:
        task = self._task(e, a["taskId"])
        if task is None:
            return
        self._set_task(a["taskId"], e, state="submitted", result_cid=a["resultCid"], deadline=None)
        self._attempt(task, e, result_cid=a["resultCid"])

    def _on_JobEscrow_KeyRevealed(self, e: Event, a: dict, t: int) -> None:
        self._set_task(a["taskId"], e, state="revealed", key_revealed=1, deadline=None)

    def _on_JobEscrow_VerdictRecorded(self, e: Event, a: dict, t: int) -> None:
        task = self._task(e, a["taskId"])
        if task is None:
            return
        self._set_task(a["taskId"], e, state="verified", passed=int(a["passed"]), deadline=a["challengeEnds"])
        self._attempt(task, e, passed=int(a["passed"]))

    def _on_JobEscrow_TaskDisputed(self, e: Event, a: dict, t: int) -> None:
        challenger = a["challenger"] if a["challenger"] != ZERO_ADDRESS else None
        self._set_task(a["taskId"], e, state="disputed", challenger=challenger, deadline=None)

    def _on_JobEscrow_DisputeResolved(self, e: Event, a: dict, t: int) -> None:
        task = self._task(e, a["taskId"])
        if task is None:
            return
        self._set_task(a["taskId"], e, state="verified", passed=int(a["passed"]), challenger=None, deadline=t)
        self._attempt(task, e, passed=int(a["passed"]))

    def _on_JobEscrow_TaskSettled(self, e: Event, a: dict, t: int) -> None:
        task = self._task(e, a["taskId"])
        if task is None:
            return
        fee = a["fee"]
        self._set_task(a["taskId"], e, state="settled", settled_fee=str(fee), burned=str(a["burned"]),
                       to_treasury=str(a["toTreasury"]), deadline=None)
        self._attempt(task, e, outcome="settled", ended_block=e.block)

        def change(job):
            job["tasks_settled"] += 1
            job["fees_paid"] = _add(job["fees_paid"], fee)
            self._release(job, int(task["reserved"]) - fee)
        self._job_change(task["job_id"], e, change)

        def worker(node):
            node["completed"] += 1
        self._node_change(a["worker"], e, worker)

    def _on_JobEscrow_TaskExpired(self, e: Event, a: dict, t: int) -> None:
        state = a["state"]
        if state == 2:  # assigned, not accepted: re-opened, no attempt spent
            self._set_task(a["taskId"], e, state="posted", worker=None, deadline=None)
        else:  # a TaskFailed follows in the same transaction
            self._expired[(e.tx_hash, a["taskId"])] = state

    def _on_JobEscrow_TaskFailed(self, e: Event, a: dict, t: int) -> None:
        task = self._task(e, a["taskId"])
        if task is None:
            return
        expired = self._expired.pop((e.tx_hash, a["taskId"]), None)
        # JobEscrow._fail: a failing verdict or a missed render deadline is the worker's fault; a task that timed
        # out later (no reveal, no quorum, dispute unresolved) is not
        if expired is None:
            outcome, fault = "rejected", True
        elif expired == TaskState.ACCEPTED:
            outcome, fault = "missed_deadline", True
        else:
            outcome, fault = "timed_out", False
        slashed = a["slashed"]
        self._attempt(task, e, outcome=outcome, slashed=str(slashed), ended_block=e.block)
        self._set_task(a["taskId"], e, state="posted" if a["requeued"] else "failed", attempts=task["attempts"] + 1,
                       worker=None, fee="0", collateral="0", result_cid=None, passed=None, challenger=None,
                       deadline=None, slashed=_add(task["slashed"], slashed))
        if not a["requeued"]:
            def change(job):
                job["tasks_failed"] += 1
                self._release(job, int(task["reserved"]))
            self._job_change(task["job_id"], e, change)
        if fault:
            def worker(node):
                # Staking.slashCollateral released the collateral without an event of its own
                node["locked"] = str(max(int(node["locked"]) - int(task["collateral"]), 0))
                self._normalize_unbonding(node)
                node["failed"] += 1
                node["last_failure_block"] = e.block
            self._node_change(a["worker"], e, worker)

    def _on_JobEscrow_TaskCancelled(self, e: Event, a: dict, t: int) -> None:
        task = self._task(e, a["taskId"])
        if task is None:
            return
        self._set_task(a["taskId"], e, state="cancelled", deadline=None)

        def change(job):
            job["tasks_cancelled"] += 1
            self._release(job, int(task["reserved"]))
        self._job_change(task["job_id"], e, change)

    # -- ProofOfRender
    def _on_ProofOfRender_VerdictSigned(self, e: Event, a: dict, t: int) -> None:
        task = self._task(e, a["taskId"])
        if task is None:
            return
        self.conn.execute(
            "INSERT OR IGNORE INTO verdicts (task_id, attempt, oracle, passed, score, block, log_index, tx_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (a["taskId"], task["attempts"], a["oracle"], int(a["passed"]), a["score"], e.block, e.log_index,
             e.tx_hash))

        def oracle(node):
            node["verdicts"] += 1
        self._node_change(a["oracle"], e, oracle)

    def _on_ProofOfRender_OracleSlashed(self, e: Event, a: dict, t: int) -> None:
        task = self._task(e, a["taskId"])
        if task is None:
            return
        self.conn.execute("UPDATE verdicts SET slashed = ? WHERE task_id = ? AND attempt = ? AND oracle = ?",
                          (str(a["amount"]), a["taskId"], task["attempts"], a["oracle"]))

    # -- Staking
    def _on_Staking_Registered(self, e: Event, a: dict, t: int) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO workers (address, role, price_per_ibm, registered_block, updated_block) "
            "VALUES (?, ?, ?, ?, ?)",
            (a["account"], ROLE_NAMES.get(a["role"], str(a["role"])), str(a["pricePerIBM"]), e.block, e.block))

    def _on_Staking_PriceChanged(self, e: Event, a: dict, t: int) -> None:
        self._node_change(a["worker"], e, lambda n: n.update(price_per_ibm=str(a["pricePerIBM"])))

    def _on_Staking_Staked(self, e: Event, a: dict, t: int) -> None:
        self._node_change(a["account"], e, lambda n: n.update(stake=str(a["stake"])))

    def _on_Staking_UnbondRequested(self, e: Event, a: dict, t: int) -> None:
        self._node_change(a["account"], e, lambda n: n.update(unbonding=_add(n["unbonding"], a["amount"]),
                                                              unbonding_at=a["unbondingAt"]))

    def _on_Staking_Withdrawn(self, e: Event, a: dict, t: int) -> None:
        self._node_change(a["account"], e, lambda n: n.update(stake=_add(n["stake"], -a["amount"]), unbonding="0",
                                                              unbonding_at=None))

    def _on_Staking_CollateralLocked(self, e: Event, a: dict, t: int) -> None:
        self._node_change(a["worker"], e, lambda n: n.update(locked=_add(n["locked"], a["amount"])))

    def _on_Staking_CollateralUnlocked(self, e: Event, a: dict, t: int) -> None:
        self._node_change(a["worker"], e, lambda n: n.update(locked=_add(n["locked"], -a["amount"])))

    def _on_Staking_Slashed(self, e: Event, a: dict, t: int) -> None:
        def change(node):
            node["stake"] = _add(node["stake"], -a["amount"])
            node["slashed"] = _add(node["slashed"], a["amount"])
            if node["role"] != "worker":
                # a worker's slash comes from slashCollateral: its collateral is released (and the unbonding
                # re-checked) by the TaskFailed that follows
                self._normalize_unbonding(node)
        self._node_change(a["account"], e, change)

    def _on_Staking_IBSet(self, e: Event, a: dict, t: int) -> None:
        self._node_change(a["worker"], e, lambda n: n.update(ib=str(a["ib"])))

    # -- BMWIssuance
    def _on_BMWIssuance_WorkRecorded(self, e: Event, a: dict, t: int) -> None:
        def epoch(row):
            row["work_ibm"] = _add(row["work_ibm"], a["ibm"])
            row["fee_usd"] = _add(row["fee_usd"], a["feeUsd"])
            row["tasks"] += 1
        self._epoch_change(a["epoch"], epoch)
        self._node_change(a["worker"], e, lambda n: n.update(work_ibm=_add(n["work_ibm"], a["ibm"]),
                                                             fee_usd=_add(n["fee_usd"], a["feeUsd"])))

    def _on_BMWIssuance_VerdictCredited(self, e: Event, a: dict, t: int) -> None:
        self._epoch_change(a["epoch"], lambda r: r.update(verdicts=r["verdicts"] + 1))

    def _on_BMWIssuance_VerdictRevoked(self, e: Event, a: dict, t: int) -> None:
        self._epoch_change(a["epoch"], lambda r: r.update(verdicts=r["verdicts"] - 1))

    def _on_BMWIssuance_PenaltyReceived(self, e: Event, a: dict, t: int) -> None:
        self._epoch_change(a["epoch"], lambda r: r.update(penalty=_add(r["penalty"], a["amount"])))

    def _on_BMWIssuance_EpochClosed(self, e: Event, a: dict, t: int) -> None:
        self._epoch_change(a["epoch"], lambda r: r.update(
            work_ibm=str(a["workIBM"]), minted=str(a["minted"]), worker_pool=str(a["workerPool"]),
            oracle_pool=str(a["oraclePool"]), manager_pool=str(a["managerPool"]), to_treasury=str(a["toTreasury"]),
            closed=1, closed_block=e.block, closed_at=t))
        self._epoch_change(a["epoch"] + 1, lambda r: r.update(started_at=t))
