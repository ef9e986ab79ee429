"""The oracle (verifier) daemon.

It follows the escrow's events from a cursor kept in SQLite; when a task's key is revealed it fetches the
frames, verifies them with ANGV, signs an EIP-712 ``Verdict`` and submits its own signature: signatures of
independent oracles accumulate on chain until the quorum, with no coordinator. Each (task, attempt) moves
through ``to_verify → signed → submitted`` (``signed → attest → submitted`` for a passed benchmark task; or
``closed`` when the quorum was reached without us), and each state is written before the next step, so a
restart never signs or submits twice: the contract also refuses a second vote by the same oracle.

After a passing verdict on a *benchmark* task (its job's output settings contain ``benchmark``), the oracle
attests the worker's IB: the task's work in IBM is, by definition, the standard node's minutes, so
``IB = W_t / (minutes between accept and submit on chain)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from eth_utils import keccak

from inferix.chain import ChainError, TransactionReverted
from inferix.eip712 import Verdict, sign_ib_attestation, sign_verdict
from inferix.service import PollingNode
from inferix.protocol import IB_ONE, IBM, ROLE_ORACLE, TaskState, ensure_staked, get_task
from oracle.angv.task import VerificationUnavailable, open_manifest, verify_result

log = logging.getLogger("inferix.oracle")

# the contract's answers that mean "nothing left for us to do": not errors
DONE_REASONS = ("por: task not awaiting a verdict", "por: oracle already voted")
MIN_IB, MAX_IB = 10_000, 1_000 * IB_ONE  # 0.01 .. 1000


@dataclass
class OracleConfig:
    stake: int
    work_dir: Path
    poll_interval: float = 1.0


class OracleDaemon(PollingNode):
    log = log

    def ensure_ready(self) -> None:
        node = ensure_staked(self.chain, ROLE_ORACLE, self.config.stake)
        log.info("oracle %s ready: stake %.2f IFX", self.me, node.stake / 1e18)

    # ------------------------------------------------------------ events
    def poll_events(self) -> None:
        start = self.db.cursor("escrow", self.chain.deployments.block_number)
        head = self.chain.block_number()
        if start > head:
            return
        names = ["JobCreated", "TaskPosted", "TaskAccepted", "ResultSubmitted", "KeyRevealed"]
        for ev in self.chain.events("JobEscrow", names, start, head):
            a = ev.args
            if ev.name == "JobCreated":
                self.db.put(f"job:{a['jobId']}", {"settings": a["outputSettings"], "manager": a["manager"]})
            elif ev.name == "TaskPosted":
                self.db.put(f"posted:{a['taskId']}", {"jobId": a["jobId"], "sceneCid": a["sceneCid"],
                                                      "ibm": a["ibm"]})
            elif ev.name == "TaskAccepted":
                self.db.put(f"accepted:{a['taskId']}", self._timestamp(ev.block))
            elif ev.name == "ResultSubmitted":
                self.db.put(f"result:{a['taskId']}", {"cid": a["resultCid"], "at": self._timestamp(ev.block),
                                                      "worker": a["worker"]})
            elif ev.name == "KeyRevealed":
                attempt = get_task(self.chain, a["taskId"]).attempts
                if self.db.task(a["taskId"], attempt) is None:
                    self.db.set_task(a["taskId"], attempt, "to_verify", seed=a["seed"].hex())
        self.db.set_cursor("escrow", head + 1)

    def _timestamp(self, block: int) -> int:
        return self.chain.w3.eth.get_block(block)["timestamp"]

    # ------------------------------------------------------------ steps
    def _verify(self, task_id: int, attempt: int, data: dict) -> None:
        task = get_task(self.chain, task_id)
        if task.state != TaskState.REVEALED or task.attempts != attempt:
            self.db.set_task(task_id, attempt, "closed", reason=f"task is {task.state.name}")
            return
        posted = self.db.get(f"posted:{task_id}")
        result = self.db.get(f"result:{task_id}")
        if not posted or not result:
            raise VerificationUnavailable("task events not seen yet")
        if keccak(text=result["cid"]) != task.result_hash:
            raise VerificationUnavailable("the result CID seen does not match the chain's")
        seed = bytes.fromhex(data["seed"])
        manifest = open_manifest(self.store, posted["sceneCid"], seed, task.key_commit)
        verdict = verify_result(self.store, result["cid"], manifest)
        log.info("task %s attempt %s: %s, score %s (%s)", task_id, attempt, "PASS" if verdict.passed else "FAIL",
                 verdict.score, verdict.reason)
        message = Verdict(task_id, attempt, result["cid"], verdict.passed, verdict.score)
        signature = sign_verdict(self.chain.account.key, self.chain.deployments.chain_id,
                                 self.chain.deployments.address("ProofOfRender"), message)
        self.db.set_task(task_id, attempt, "signed", passed=verdict.passed, score=verdict.score,
                         reason=verdict.reason, frames=verdict.frames, signature=signature.hex(),
                         resultCid=result["cid"])

    def _submit(self, task_id: int, attempt: int, data: dict) -> None:
        try:
            receipt = self.chain.transact("ProofOfRender", "submitVerdict", task_id, data["passed"], data["score"],
                                          [bytes.fromhex(data["signature"])])
        except TransactionReverted as exc:
            if exc.reason in DONE_REASONS:
                log.info("task %s: %s", task_id, exc.reason)
                self.db.set_task(task_id, attempt, "closed", reason=exc.reason)
                return
            raise
        log.info("task %s: verdict submitted (tx %s)", task_id, receipt["transactionHash"].hex())
        posted = self.db.get(f"posted:{task_id}") or {}
        job = self.db.get(f"job:{posted.get('jobId')}") or {}
        benchmark = data["passed"] and "benchmark" in job.get("settings", "")
        self.db.set_task(task_id, attempt, "attest" if benchmark else "submitted",
                         tx=receipt["transactionHash"].hex())

    def _attest_ib(self, task_id: int, attempt: int, data: dict) -> None:
        """Attest the worker's IB after our passing verdict on its benchmark task; retried until the chain
        answers (a ``ChainError`` leaves the state as it is)."""
        posted = self.db.get(f"posted:{task_id}")
        accepted_at = self.db.get(f"accepted:{task_id}")
        result = self.db.get(f"result:{task_id}")
        minutes = max(result["at"] - accepted_at, 1) / 60
        ib = int(posted["ibm"] / IBM / minutes * IB_ONE)
        ib = max(MIN_IB, min(MAX_IB, ib))
        worker = result["worker"]
        nonce = self.chain.call("ProofOfRender", "ibNonce", worker)
        signature = sign_ib_attestation(self.chain.account.key, self.chain.deployments.chain_id,
                                        self.chain.deployments.address("ProofOfRender"), worker, ib, nonce)
        try:
            self.chain.transact("ProofOfRender", "attestIB", worker, ib, [signature])
            log.info("attested IB %.3f for worker %s (benchmark task %s)", ib / IB_ONE, worker, task_id)
        except TransactionReverted as exc:
            log.warning("IB attestation for %s refused: %s", worker, exc.reason)
        self.db.set_task(task_id, attempt, "submitted")

    def task_steps(self) -> dict:
        return {"to_verify": self._verify, "signed": self._submit, "attest": self._attest_ib}

    def task_failed(self, task_id: int, attempt: int, status: str, data: dict, exc: Exception) -> bool:
        if isinstance(exc, VerificationUnavailable):
            log.warning("task %s: cannot verify yet: %s", task_id, exc)
        elif isinstance(exc, TransactionReverted):
            log.error("task %s: %s", task_id, exc)
            self.db.set_task(task_id, attempt, "rejected", reason=exc.reason)
        elif isinstance(exc, ChainError):
            log.warning("task %s: chain error, will retry: %s", task_id, exc)
        else:
            return False
        return True
