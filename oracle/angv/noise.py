"""Atomic noises (whitepaper ``structure-of-noise``).

``w_i(x, y) = A exp(2 i pi (x / X_i + y / Y_i))`` on an M x N texture, periods ``X_i, Y_i ~ N(mu, sigma^2)``.
A carrier renders the real part: its emission is ``C_i * (1 + A cos(2 pi (x / X_i + y / Y_i)))`` where ``C_i`` is
the colour tuned by adaptive spreading. The periods are drawn from the task-level key, stream ``b"noise"``:
for i = 1..n, ``X_i`` then ``Y_i``, each clipped to [period_min, period_max].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .keys import FrameKey
from .params import AngvParams


@dataclass(frozen=True)
class AtomicNoise:
    period_x: float
    period_y: float
    amplitude: float
    m: int
    n: int

    def complex_texture(self) -> np.ndarray:
        """The whitepaper's complex signal, shape (N, M)."""
        y, x = np.mgrid[0 : self.n, 0 : self.m]
        return self.amplitude * np.exp(2j * np.pi * (x / self.period_x + y / self.period_y))

    def texture(self) -> np.ndarray:
        """The real rendering of it, ``A cos(2 pi (x/X + y/Y))``, shape (N, M), float32."""
        return np.real(self.complex_texture()).astype(np.float32)


def draw_noises(task_key: FrameKey, params: AngvParams) -> list[AtomicNoise]:
    """The n atomic noises of a task, drawn from its task-level key."""
    s = task_key.stream(b"noise")
    out = []
    for _ in range(params.n):
        px = float(np.clip(s.normal(params.period_mu, params.period_sigma), params.period_min, params.period_max))
        py = float(np.clip(s.normal(params.period_mu, params.period_sigma), params.period_min, params.period_max))
        out.append(AtomicNoise(px, py, params.amplitude, params.texture_m, params.texture_n))
    return out
