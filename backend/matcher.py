"""Choosing a worker for a task: qualified first (active, price within the job's maximum, enough free stake
for the minimum stake and the collateral, few recent failures, spare capacity), then at random among the
best, so that nobody can steer which tasks they get."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from inferix.protocol import BPS, COLLATERAL_BPS, task_ifx



@dataclass(frozen=True)
class Candidate:
    address: str
    price_per_ibm: int
    bonded: int  # stake − unbonding
    locked: int
    min_stake: int  # S(n) at the job's rate
    failures: int
    in_flight: int


def collateral_for(ibm: int, price_per_ibm: int, usd_per_ifx: int, collateral_bps: int = COLLATERAL_BPS) -> int:
    return task_ifx(ibm, price_per_ibm, usd_per_ifx) * collateral_bps // BPS


def qualified(c: Candidate, ibm: int, max_price: int, usd_per_ifx: int, max_failures: int, max_in_flight: int,
              collateral_bps: int = COLLATERAL_BPS) -> bool:
    return (c.price_per_ibm <= max_price
            and c.bonded >= c.min_stake
            and c.bonded - c.locked >= collateral_for(ibm, c.price_per_ibm, usd_per_ifx, collateral_bps)
            and c.failures <= max_failures
            and c.in_flight < max_in_flight)


def choose(candidates: list[Candidate], ibm: int, max_price: int, usd_per_ifx: int, max_failures: int = 2,
           max_in_flight: int = 2, exclude: set[str] = frozenset(), collateral_bps: int = COLLATERAL_BPS
           ) -> Candidate | None:
    pool = [c for c in candidates if c.address not in exclude
            and qualified(c, ibm, max_price, usd_per_ifx, max_failures, max_in_flight, collateral_bps)]
    if not pool:
        return None
    # "equals": the same failure record; among them the draw is uniform and unpredictable
    best = min(c.failures for c in pool)
    equals = [c for c in pool if c.failures == best]
    return equals[secrets.randbelow(len(equals))]
