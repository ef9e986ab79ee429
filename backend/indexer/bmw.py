"""Projections of BMWIssuance: the epochs' work, fees, burns, verdict weights, penalties and mints.

One method per event, ``_on_BMWIssuance_<Event>(e, args, block_time)``; they run inside the range's transaction
(:class:`backend.indexer.base.IndexerBase`)."""

from __future__ import annotations

from backend.indexer.base import _add
from inferix.chain import Event


class BMWProjections:
    def _on_BMWIssuance_WorkRecorded(self, e: Event, a: dict, t: int) -> None:
        # a passed task settled: its work, its fee (IFX wei) credited to the worker and to the job's manager, and
        # the part of the fee burned; the epoch's fee and burn totals come with the event
        def epoch(row):
            row["work_ibm"] = _add(row["work_ibm"], a["ibm"])
            row["fees"] = str(a["epochFees"])
            row["burned"] = str(a["epochBurned"])
            row["tasks"] += 1
        self._epoch_change(a["epoch"], epoch)
        self._node_change(a["worker"], e, lambda n: n.update(work_ibm=_add(n["work_ibm"], a["ibm"]),
                                                             fees=_add(n["fees"], a["fee"])))
        self._node_change(a["manager"], e, lambda n: n.update(fees=_add(n["fees"], a["fee"])))

    def _on_BMWIssuance_VerdictCredited(self, e: Event, a: dict, t: int) -> None:
        # an oracle voted for a verdict that became final: credited the task's fee (IFX wei) as weight
        self._epoch_change(a["epoch"], lambda r: r.update(verdict_weight=_add(r["verdict_weight"], a["weight"])))
        self._node_change(a["oracle"], e, lambda n: n.update(verdict_weight=_add(n["verdict_weight"], a["weight"])))

    def _on_BMWIssuance_VerdictRevoked(self, e: Event, a: dict, t: int) -> None:
        # the arbiter overturned it while its epoch was open: `weight` is what was actually taken back
        self._epoch_change(a["epoch"], lambda r: r.update(verdict_weight=_add(r["verdict_weight"], -a["weight"])))
        self._node_change(a["oracle"], e, lambda n: n.update(verdict_weight=_add(n["verdict_weight"], -a["weight"])))

    def _on_BMWIssuance_PenaltyReceived(self, e: Event, a: dict, t: int) -> None:
        self._epoch_change(a["epoch"], lambda r: r.update(penalty=_add(r["penalty"], a["amount"])))

    def _on_BMWIssuance_EpochClosed(self, e: Event, a: dict, t: int) -> None:
        self._epoch_change(a["epoch"], lambda r: r.update(
            work_ibm=str(a["workIBM"]), burned=str(a["burned"]), minted=str(a["minted"]),
            worker_pool=str(a["workerPool"]), oracle_pool=str(a["oraclePool"]), manager_pool=str(a["managerPool"]),
            to_treasury=str(a["toTreasury"]), closed=1, closed_block=e.block, closed_at=t))
        self._epoch_change(a["epoch"] + 1, lambda r: r.update(started_at=t))
