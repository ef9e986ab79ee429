"""Projections of JobEscrow: jobs, tasks, attempts, the creator's budget and the workers' counters.

One method per event, ``_on_JobEscrow_<Event>(e, args, block_time)``; they run inside the range's transaction
(:class:`backend.indexer.base.IndexerBase`)."""

from __future__ import annotations

from backend.indexer.base import ZERO_ADDRESS, ZERO_HASH, _add, _hex
from inferix.chain import Event
from inferix.protocol import TaskState


class EscrowProjections:
    def _on_JobEscrow_JobCreated(self, e: Event, a: dict, t: int) -> None:
        self.conn.execute(
            "INSERT INTO jobs (job_id, creator, manager, scene_cid, frame_start, frame_end, output_settings, "
            "budget, budget_left, usd_per_ifx, max_price_per_ibm, benchmark, status, created_block, created_at, "
            "updated_block) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'created', ?, ?, ?) ON CONFLICT DO NOTHING",
            (a["jobId"], a["creator"], a["manager"], a["sceneCid"], a["frameStart"], a["frameEnd"],
             a["outputSettings"], str(a["budget"]), str(a["budget"]), str(a["usdPerIfx"]),
             str(a["maxPricePerIBM"]), int(a["benchmark"]), e.block, t, e.block))

    def _on_JobEscrow_JobClosed(self, e: Event, a: dict, t: int) -> None:
        def change(job):
            job["closed"] = 1
            job["refunded"] = _add(job["refunded"], a["refunded"])
            job["budget_left"] = "0"
        self._job_change(a["jobId"], e, change)

    def _on_JobEscrow_TaskPosted(self, e: Event, a: dict, t: int) -> None:
        self.conn.execute(
            "INSERT INTO tasks (task_id, job_id, state, ibm, reserved, key_commit, manifest_digest, "
            "frame_start, frame_end, render_window, package_cid, posted_block, updated_block) "
            "VALUES (?, ?, 'posted', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (a["taskId"], a["jobId"], str(a["ibm"]), str(a["reserved"]), _hex(a["keyCommit"]),
             _hex(a["manifestDigest"]), a["frameStart"], a["frameEnd"], a["renderWindow"], a["sceneCid"], e.block,
             e.block))

        def change(job):
            job["budget_left"] = str(a["jobBudget"])  # the job's budget after this task's reservation
            job["open_tasks"] += 1
            job["tasks_total"] += 1
        self._job_change(a["jobId"], e, change)

    def _on_JobEscrow_TaskRekeyed(self, e: Event, a: dict, t: int) -> None:
        # a re-queued task's next attempt: a fresh seed commitment, sealed manifest and noised package
        self._set_task(a["taskId"], e, key_commit=_hex(a["keyCommit"]), manifest_digest=_hex(a["manifestDigest"]),
                       package_cid=a["sceneCid"], key_revealed=0)

    def _on_JobEscrow_TaskAssigned(self, e: Event, a: dict, t: int) -> None:
        self._set_task(a["taskId"], e, state="assigned", worker=a["worker"], deadline=a["deadline"])

    def _on_JobEscrow_TaskAccepted(self, e: Event, a: dict, t: int) -> None:
        task = self._task(e, a["taskId"])
        if task is None:
            return
        self._set_task(a["taskId"], e, state="accepted", worker=a["worker"], fee=str(a["fee"]),
                       collateral=str(a["collateral"]), deadline=a["deadline"], result_cid=None, passed=None)
        self.conn.execute(
            "INSERT INTO task_attempts (task_id, attempt, worker, fee, collateral, accepted_block) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (a["taskId"], task["attempts"], a["worker"], str(a["fee"]), str(a["collateral"]), e.block))

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
        # an overturned challenge keeps its challenger on the task (it shares the worker's slash at settlement)
        overturned = bool(a["overturned"])
        self._set_task(a["taskId"], e, state="verified", passed=int(a["passed"]),
                       challenger=task["challenger"] if overturned else None, deadline=t - 1)
        self._attempt(task, e, passed=int(a["passed"]),
                      overturned=int(overturned) if task["challenger"] is not None else None)

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
        if state == TaskState.ASSIGNED:  # assigned, not accepted: re-opened, no attempt spent
            self._set_task(a["taskId"], e, state="posted", worker=None, deadline=None)
            return
        if state == TaskState.DISPUTED:
            task = self._task(e, a["taskId"])
            if task is not None and task["challenger"] is not None:
                # a challenge the arbiter left undecided: the verdict stands, the bond goes back, settle-able at once
                self._set_task(a["taskId"], e, state="verified", challenger=None, deadline=t - 1)
                self._attempt(task, e, overturned=0)
                return
        # a TaskFailed follows in the same transaction
        self._expired[(e.tx_hash, a["taskId"])] = state

    def _on_JobEscrow_ManagerSlashed(self, e: Event, a: dict, t: int) -> None:
        # a reveal left past its window (late: the task waits for its seed escrow, nobody is paid from the slash), or
        # a seed escrow that never opened (a TaskFailed without worker fault follows; the worker was paid its fee
        # from the slash). An attempt's slashes add up.
        task = self._task(e, a["taskId"])
        if task is None:
            return
        if a.get("late"):
            self._expired.pop((e.tx_hash, a["taskId"]), None)  # the expiry of a late reveal fails nothing
        row = self.conn.execute("SELECT manager_slashed, to_worker FROM task_attempts "
                                "WHERE task_id = ? AND attempt = ?", (task["task_id"], task["attempts"])).fetchone()
        slashed, paid = (row[0] or "0", row[1] or "0") if row else ("0", "0")
        self._attempt(task, e, manager_slashed=_add(slashed, a["amount"]), to_worker=_add(paid, a["toWorker"]))

        def manager(node):
            node["manager_slashes"] += 1
        self._node_change(a["manager"], e, manager)

    def _on_JobEscrow_TaskFailed(self, e: Event, a: dict, t: int) -> None:
        task = self._task(e, a["taskId"])
        if task is None:
            return
        expired = self._expired.pop((e.tx_hash, a["taskId"]), None)
        # JobEscrow._fail: a failing verdict or a missed render deadline is the worker's fault; a task that timed
        # out later (no reveal: the manager's fault; no verdict: a committee without a quorum, or none drawn in time) is not
        if expired is None:
            outcome, fault = "rejected", True
        elif expired == TaskState.ACCEPTED:
            outcome, fault = "missed_deadline", True
        else:
            outcome, fault = "timed_out", False
        slashed = a["slashed"]
        self._attempt(task, e, outcome=outcome, slashed=str(slashed), ended_block=e.block)
        # the attempt's secret is spent: the escrow clears the key commitment and manifest digest (a re-queued task
        # waits for the manager's rekey)
        self._set_task(a["taskId"], e, state="posted" if a["requeued"] else "failed", attempts=a["attempts"],
                       worker=None, fee="0", collateral="0", result_cid=None, passed=None, challenger=None,
                       deadline=None, slashed=_add(task["slashed"], slashed), key_commit=ZERO_HASH,
                       manifest_digest=ZERO_HASH, key_revealed=0)
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
