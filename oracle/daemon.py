"""The oracle (verifier) daemon.

It follows the escrow's events from a cursor kept in SQLite; when a task's key is revealed it fetches the
frames, verifies them with ANGV, signs an EIP-712 ``Verdict`` and submits its own signature: signatures of
independent oracles accumulate on chain until the quorum, with no coordinator. Each (task, attempt) moves
through ``to_verify → signed → submitted`` (or ``closed`` when the quorum was reached without us), and each
state is written before the next step, so a restart never signs or submits twice: the contract also refuses a
second vote by the same oracle.

The sealed manifest must be the one the manager committed to when posting (``manifestDigest``); a re-queued
task's attempt has its own package, key and manifest (``TaskRekeyed``). IB is not the oracles' business any more:
the escrow measures it when a benchmark task settles.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from eth_utils import keccak

from inferix.chain import ChainError, TransactionReverted
from inferix.eip712 import Verdict, sign_verdict
from inferix.service import PollingNode
from inferix.protocol import ROLE_ORACLE, TaskState, ensure_staked, get_task
from oracle.angv.task import VerificationUnavailable, open_manifest, verify_result

log = logging.getLogger("inferix.oracle")

# the contract's answers that mean "nothing left for us to do": not errors
DONE_REASONS = ("por: task not awaiting a verdict", "por: oracle already voted")


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
        names = ["JobCreated", "TaskPosted", "TaskRekeyed", "ResultSubmitted", "KeyRevealed"]
        for ev in self.chain.events("JobEscrow", names, start, head):
            a = ev.args
            if ev.name == "JobCreated":
                self.db.put(f"job:{a['jobId']}", {"settings": a["outputSettings"], "manager": a["manager"]})
            elif ev.name == "TaskPosted":
                self.db.put(f"posted:{a['taskId']}", {"jobId": a["jobId"], "sceneCid": a["sceneCid"],
                                                      "ibm": a["ibm"]})
            elif ev.name == "TaskRekeyed":  # the attempt's own noised package
                posted = self.db.get(f"posted:{a['taskId']}") or {}
                self.db.put(f"posted:{a['taskId']}", {**posted, "sceneCid": a["sceneCid"]})
            elif ev.name == "ResultSubmitted":
                self.db.put(f"result:{a['taskId']}", {"cid": a["resultCid"], "worker": a["worker"]})
            elif ev.name == "KeyRevealed":
                attempt = get_task(self.chain, a["taskId"]).attempts
                if self.db.task(a["taskId"], attempt) is None:
                    self.db.set_task(a["taskId"], attempt, "to_verify", seed=a["seed"].hex())
        self.db.set_cursor("escrow", head + 1)

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
        manifest = open_manifest(self.store, posted["sceneCid"], seed, task.key_commit, task.manifest_digest)
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
        self.db.set_task(task_id, attempt, "submitted", tx=receipt["transactionHash"].hex())

    def task_steps(self) -> dict:
        return {"to_verify": self._verify, "signed": self._submit}

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
