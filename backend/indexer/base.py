"""The indexer's machinery: reading logs by block range, applying each range in one transaction, the cursor,
the loop, and the helpers the projections share (``_row``, ``_update``, ``_set_task``, ``_job_change``, …)."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Iterable

from eth_utils import event_abi_to_log_topic

from inferix.chain import ChainError, Event
from inferix.protocol import TASK_STATE_NAMES
from backend.db import Connection
from backend.indexer.schema import INDEXER_MIGRATIONS
from inferix.service import run_loop

log = logging.getLogger("inferix.indexer")

CONTRACTS = ("JobEscrow", "ProofOfRender", "Staking", "BMWIssuance", "BatchLane", "BatchCommittee", "Governor",
             "VotePower", "VestingFactory", "CommunityFund", "NodeLicense", "Timelock")

# the names the index stores for the escrow's task states (one definition: inferix.protocol)
STATE_NAMES = TASK_STATE_NAMES
TASK_STATES = tuple(STATE_NAMES.values())
JOB_STATUSES = ("created", "running", "completed", "partial", "failed", "closing", "closed")
ATTEMPT_OUTCOMES = ("settled", "rejected", "missed_deadline", "timed_out")
ZERO_ADDRESS = "0x" + "0" * 40
ZERO_HASH = "0x" + "0" * 64  # an empty bytes32 (a re-queued task's cleared key commitment and manifest digest)

# event args never stored (the seed is public once revealed, but reads never serve seeds)
_DROPPED_ARGS = {("JobEscrow", "KeyRevealed"): ("seed",), ("BatchLane", "SeedRevealed"): ("seed",)}


def job_status(job: dict) -> str:
    """A job's status from its counters: created (no task yet), running (tasks open), completed (every task
    settled), partial (all ended, some settled, some failed or cancelled), failed (all ended, none settled),
    closing (closed by the creator, tasks still open), closed.

    A job's batches (the lane) count as its tasks: a batch open is an open task (as the escrow counts it), and once
    nothing is open the batches' part is done when every frame they were posted for is covered by a task that
    passed (a task that failed in one batch is posted again in a later one, with the same frames)."""
    if job["closed"]:
        return "closing" if job["open_tasks"] > 0 else "closed"
    batches = job.get("batches", 0)
    if job["tasks_total"] == 0 and batches == 0:
        return "created"
    if job["open_tasks"] > 0:
        return "running"
    frames, passed = job.get("batch_frames", 0), job.get("batch_frames_passed", 0)
    if job["tasks_settled"] == job["tasks_total"] and passed == frames:
        return "completed"
    return "partial" if job["tasks_settled"] > 0 or passed > 0 else "failed"


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


class IndexerBase:
    """Indexes the deployment's events into ``conn`` (migrated with ``INDEXER_MIGRATIONS`` here).

    ``chain`` is an ``inferix.chain.Chain`` (no account needed). ``confirmations`` keeps that many of the
    newest blocks out of the index (reorg safety on a real chain; 0 on anvil). ``max_blocks`` bounds the block
    range of one ``eth_getLogs`` call and of one transaction.
    """

    def __init__(self, chain, conn: Connection, *, start_block: int | None = None,
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
            if name not in chain.deployments.contracts:
                continue  # a deployment from before the lane: nothing of it to index
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
        """Every log of the indexed contracts in [from_block, to_block], decoded, in chain order."""
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
            times = self._timestamps([*(e.block for e in events), end])  # the range's end: the index's clock
            self._prefetch(events)  # what the projections read from the chain, before the range's transaction
            applied += self.apply(events, times, next_block=end + 1)
            start = end + 1
        return applied

    def apply(self, events: list[Event], times: dict[int, int], next_block: int) -> int:
        """Apply ``events`` (a whole block range, in chain order) and move the cursor, in one transaction. The
        cursor keeps the timestamp of the range's last block when ``times`` has it (``poll_once`` reads it): the
        chain time the index has reached, at which proposal states and vested amounts are read."""
        self._expired = {}
        applied = 0
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for event in events:
                applied += self._apply_one(event, times[event.block])
            self.conn.execute(
                "INSERT INTO indexer_cursor (id, next_block, updated_at, block_time) VALUES (1, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET next_block = excluded.next_block, updated_at = excluded.updated_at, "
                "block_time = COALESCE(excluded.block_time, indexer_cursor.block_time)",
                (next_block, int(time.time()), times.get(next_block - 1)))
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

    def _prefetch(self, events: list[Event]) -> None:
        """Read what applying ``events`` needs beyond their logs (the lane's calldata), outside the transaction."""

    def _first_run(self) -> None:
        # the open epoch 0 is listed from the start (its start time is read once from the chain)
        try:
            start = self.chain.call("BMWIssuance", "epochs", 0)[0]
        except ChainError:
            start = None
        self.conn.execute("INSERT INTO epochs (epoch, started_at) VALUES (0, ?) ON CONFLICT DO NOTHING", (start,))

    # ------------------------------------------------------------ applying one event
    def _apply_one(self, e: Event, block_time: int) -> int:
        args = e.args
        job_id = args.get("jobId")
        task_id = args.get("taskId")
        if task_id is not None and job_id is None and e.name != "TaskPosted":
            row = self.conn.execute("SELECT job_id FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
            job_id = row[0] if row else None
        batch_id = args.get("batchId")
        if batch_id is not None:
            batch_id = _hex(batch_id)
            if job_id is None:  # a lane or committee event: the batch's job (its stream shows it)
                row = self.conn.execute("SELECT job_id FROM lane_batches WHERE batch_id = ?",
                                        (batch_id,)).fetchone()
                job_id = row[0] if row else None
        stored = {k: _json_arg(v) for k, v in args.items() if k not in _DROPPED_ARGS.get((e.contract, e.name), ())}
        cur = self.conn.execute(
            "INSERT INTO events (block, log_index, tx_hash, contract, name, job_id, task_id, batch_id, block_time, "
            "args) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (e.block, e.log_index, e.tx_hash, e.contract, e.name, job_id, task_id, batch_id, block_time,
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
        self.conn.execute("INSERT INTO epochs (epoch) VALUES (?) ON CONFLICT DO NOTHING", (epoch,))
        row = self._row("epochs", "epoch", epoch)
        before = dict(row)
        fn(row)
        self._update("epochs", "epoch", epoch, {k: v for k, v in row.items() if before.get(k) != v})

    def _attempt(self, task: dict, e: Event, **changes: Any) -> None:
        self._update_attempt(task["task_id"], task["attempts"], changes)

    def _update_attempt(self, task_id: int, attempt: int, changes: dict) -> None:
        sets = ", ".join(f"{column} = ?" for column in changes)
        self.conn.execute(f"UPDATE task_attempts SET {sets} WHERE task_id = ? AND attempt = ?",
                          (*changes.values(), task_id, attempt))
