"""Projections of ProofOfRender: the oracles' signed verdicts and their slashes.

One method per event, ``_on_ProofOfRender_<Event>(e, args, block_time)``; they run inside the range's transaction
(:class:`backend.indexer.base.IndexerBase`)."""

from __future__ import annotations

from inferix.chain import Event


class ProofOfRenderProjections:
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
