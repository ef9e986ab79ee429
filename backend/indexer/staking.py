"""Projections of Staking: nodes, their stakes, locks, unbonding, prices, IB and slashes.

One method per event, ``_on_Staking_<Event>(e, args, block_time)``; they run inside the range's transaction
(:class:`backend.indexer.base.IndexerBase`)."""

from __future__ import annotations

from backend.indexer.base import _add
from inferix.chain import Event
from inferix.protocol import ROLE_NAMES


class StakingProjections:
    def _on_Staking_Registered(self, e: Event, a: dict, t: int) -> None:
        self.conn.execute(
            "INSERT INTO workers (address, role, price_per_ibm, registered_block, updated_block) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (a["account"], ROLE_NAMES.get(a["role"], str(a["role"])), str(a["pricePerIBM"]), e.block, e.block))

    def _on_Staking_PriceChanged(self, e: Event, a: dict, t: int) -> None:
        self._node_change(a["worker"], e, lambda n: n.update(price_per_ibm=str(a["pricePerIBM"])))

    def _on_Staking_Staked(self, e: Event, a: dict, t: int) -> None:
        self._node_change(a["account"], e, lambda n: n.update(stake=str(a["stake"])))

    def _on_Staking_UnbondRequested(self, e: Event, a: dict, t: int) -> None:
        self._node_change(a["account"], e, lambda n: n.update(unbonding=_add(n["unbonding"], a["amount"]),
                                                              unbonding_at=a["unbondingAt"]))

    def _on_Staking_Withdrawn(self, e: Event, a: dict, t: int) -> None:
        self._node_change(a["account"], e, lambda n: n.update(stake=str(a["stake"]), unbonding="0",
                                                              unbonding_at=None))

    def _on_Staking_CollateralLocked(self, e: Event, a: dict, t: int) -> None:
        self._node_change(a["worker"], e, lambda n: n.update(locked=_add(n["locked"], a["amount"])))

    def _on_Staking_CollateralUnlocked(self, e: Event, a: dict, t: int) -> None:
        self._node_change(a["worker"], e, lambda n: n.update(locked=_add(n["locked"], -a["amount"])))

    def _on_Staking_Slashed(self, e: Event, a: dict, t: int) -> None:
        # `reward` of the slash went straight to `rewardTo` (a winning challenger, or the worker whose result the
        # manager did not reveal), the rest to the BMW penalty pool (PenaltyReceived)
        def change(node):
            node["stake"] = str(a["stake"])
            node["slashed"] = _add(node["slashed"], a["amount"])
            if node["role"] != "worker":
                # a worker's slash comes from slashCollateral: its collateral is released (and the unbonding
                # re-checked) by the TaskFailed that follows
                self._normalize_unbonding(node)
        self._node_change(a["account"], e, change)

    def _on_Staking_NoShowRecorded(self, e: Event, a: dict, t: int) -> None:
        # a missed duty (an oracle's committee seat, a worker's unaccepted assignment); every `noShowLimit`-th costs
        # stake (its Slashed came just before)
        def missed(node):
            node["no_shows"] += 1
            node["missed"] = a["missed"]  # duties missed since its last no-show slash
            node["no_show_slashed"] = _add(node["no_show_slashed"], a["slashed"])
        self._node_change(a["account"], e, missed)

    def _on_Staking_IBSet(self, e: Event, a: dict, t: int) -> None:
        # set by the escrow when a benchmark job's task settles passed
        self._node_change(a["worker"], e, lambda n: n.update(ib=str(a["ib"])))
