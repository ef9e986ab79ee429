"""Does cheating pay? Each attack's measured detection against what it saves, at the protocol's default economics.

A worker paid a fee F for a task whose honest render costs it c can cheat with an attack that saves the share s of
that cost (render cost taken as proportional to samples x pixels: Cycles' path tracing; the denoiser, scene sync and
upload are left out, which overstates every saving). If the committee fails the task the worker gets no fee and
loses ``slashBps`` of its collateral (``collateralBps`` x F): it loses F x (1 + collateral x slash). The attack pays
in expectation when

    s x c  >  p x F x (1 + collateralBps x slashBps)

with p the probability that a cheated frame is refused. p is taken at its 95 % lower bound (1 - the Clopper-Pearson
upper bound on the measured acceptance), F = c (a worker priced at its cost, the case least deterred: any margin
raises the penalty and leaves the saving). A task of m frames with k tiled frames (``AngvParams.tile_share``): one
cheated frame is tiled with probability k/m and its fault costs the whole task's fee (m x F), so the expected penalty
per cheated frame is k x p x F x (...), at least the one-frame task's; the one-frame table is the worst case.

Used by ``benchmarks.angv_detection`` and ``benchmarks.angv_partial`` (printed after their tables).
"""

from __future__ import annotations

import re

from inferix.protocol import BPS, COLLATERAL_BPS, SLASH_BPS

#: (pattern of a benchmark case, the share of the honest render's cost the attack saves); cases that save nothing
#: (carriers removed, forged: a full render) or are not the network's verdict (lossy mode, honest rows) are left out
SAVINGS: list[tuple[str, float]] = [
    (r"^\(a\) ", 1.0),
    (r"^\(b\) ", 1.0),
    (r"^\(c\) 1/4 resolution", 15 / 16),
    (r"^\(d\) 1/8 samples", 7 / 8),
    (r"^\(d'\) 1/4 samples", 3 / 4),
    (r"^\(g\) splice 1/4 res", 15 / 16),
    (r"^\(g\) splice 1/8 samples", 7 / 8),
    (r"^\(i\) 1/8 samples (as|via) JPEG q\d+(, delivered as PNG)?$", 7 / 8),
    (r"^\(j\) crafted JPEG \(", 7 / 8),
]
_PARTIAL = re.compile(r"^\(h'?\) full quality on (the )?(likeliest|most textured) (\d+)%")


def saving(case: str) -> float | None:
    """The share of the render cost ``case`` saves, or None when it is not a cost-saving attack on the network."""
    if "lossy mode" in case:
        return None
    m = _PARTIAL.match(case)
    if m:
        return (1 - int(m.group(3)) / 100) * 7 / 8  # full quality on that share, 1/8 of the samples elsewhere
    for pattern, s in SAVINGS:
        if re.match(pattern, case):
            return s
    return None


def payoff_rows(counts: dict[str, tuple[int, int]], collateral_bps: int = COLLATERAL_BPS,
                slash_bps: int = SLASH_BPS, margin: float = 0.0) -> list[str]:
    """Markdown rows: for each attack in ``counts`` (case -> (trials, accepted)) that saves cost, its saving, the
    detection's 95 % lower bound, the expected penalty (in units of the honest render's cost), whether it pays, and
    the slashBps that would make it not pay."""
    from .angv_detection import clopper_pearson_upper

    fee = 1.0 + margin
    loss = fee * (1 + collateral_bps / BPS * slash_bps / BPS)
    out = [f"Does cheating pay? fee = honest render cost x {fee:.2f}; a failed task loses the fee and "
           f"{slash_bps / BPS:.0%} of a {collateral_bps / BPS:.1f}x-fee collateral = {loss:.2f} x cost; penalty = "
           f"detection x {loss:.2f}, at the measured detection and at its 95 % lower bound\n",
           "| attack | saves | refused (trials) | detection | penalty | ≥ (95 %) | penalty at the bound | pays? "
           "| slashBps that deters at the bound |",
           "|---|---:|---:|---:|---:|---:|---:|---|---:|"]
    for case, (n, acc) in counts.items():
        s = saving(case)
        if s is None or n == 0:
            continue
        rate = 1.0 - acc / n
        p = 1.0 - clopper_pearson_upper(acc, n)
        if s > rate * loss:
            pays = "**yes**"
        elif s > p * loss:
            pays = "no (yes at the bound: too few trials to say)"
        else:
            pays = "no"
        if p <= 0:
            deter = "none: not detected"
        else:
            need = (s / (p * fee) - 1) / (collateral_bps / BPS)  # slash share of the collateral at break-even
            deter = "any" if need <= 0 else (f"{need * BPS:,.0f}" if need <= 1 else
                                             f"> collateral ({need:.1f}x)")
        out.append(f"| {case} | {s:.0%} | {n - acc}/{n} | {rate:.1%} | {rate * loss:.2f} | {p:.1%} | "
                   f"{p * loss:.2f} | {pays} | {deter} |")
    return out
