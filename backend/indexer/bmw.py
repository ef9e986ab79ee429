"""Projections of BMWIssuance: the epochs' work, verdicts, penalties and mints.

One method per event, ``_on_BMWIssuance_<Event>(e, args, block_time)``; they run inside the range's transaction
(:class:`backend.indexer.base.IndexerBase`)."""

from __future__ import annotations

from backend.indexer.base import _add
from inferix.chain import Event


class BMWProjections:
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
