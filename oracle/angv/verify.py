"""Noise verification of one delivered frame.

Three checks, all on 8-bit display-level luminance ``Y = 0.2126 R + 0.7152 G + 0.0722 B``, touching only the
pixels of the enveloping regions and of the quality tiles:

1. **Whitepaper rule** (kept for comparison): for each imprint k_i, the enveloping region v_i (3x, k_i at its centre),
   the 4-neighbour Laplacian, ``e_i = |mean(lap v_i) - mean(lap k_i)|``; every ``e_i >= 5`` or the frame is rejected.
2. **Calibrated rule** (the network's): region i passes when its normalised signed step
   ``z_i = polarity_i * (mean(core_i) - mean(ring_i)) / |step_i|`` lies in [z_min, z_max], the ring is smooth
   (std <= ring_std_max) and the ring's mean is within bg_tolerance of the reference render's. ``core`` is k_i shrunk
   by one pixel (out of reach of the pixel filter), ``ring`` is v_i minus k_i grown by one pixel. The frame passes
   when at least ``k`` of n regions pass, ``k`` the smallest integer with ``P[Bin(n, p0) >= k] <= target``: if a
   region of a frame without the right noise passes with probability at most p0 (``null_pass_bound``),
   independently, the false-accept probability is at most that tail (reported as ``false_accept_bound``).
3. **Quality conformity**: each secret tile of the delivered frame is compared with the manager's reference render
   of that tile at the ordered settings: ``RMSE <= tile_ratio_max * sqrt(r0^2 + allowance^2)`` with r0 the RMSE
   between two reference renders that differ only in sampling seed (the honest spread), allowance the codec's; and
   its high-frequency energy (mean squared Laplacian, plus a floor of 20 allowance^2) lies within
   [hf_ratio_min x the smaller, hf_ratio_max x the larger] of the two references'. Fewer samples raise both; a lower resolution, upscaled, lowers the
   high-frequency energy (it is smooth where the ordered render is grainy); every tile must pass.

A frame is accepted when the calibrated rule and the quality check both pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .adaptive import _ring_mask
from .frames import Frame
from .manifest import LUMA, FrameManifest, Region, Tile, hf_energy
from .params import AngvParams


@dataclass(frozen=True)
class RegionScore:
    index: int
    box: tuple[int, int, int, int]
    e: float  # whitepaper deviation
    whitepaper_pass: bool
    z: float  # normalised signed step
    ring_std: float
    bg_dev: float
    passed: bool  # calibrated rule


@dataclass(frozen=True)
class TileScore:
    x0: int
    y0: int
    size: int
    rmse: float
    r0: float
    ratio: float  # RMSE / sqrt(r0^2 + allowance^2)
    hf_ratio: float  # high-frequency energy over the references' range (1 inside it, <1 below, >1 above)
    passed: bool


@dataclass
class FrameResult:
    frame: int
    accepted: bool  # the network's verdict: calibrated noise rule and quality conformity
    noise_accepted: bool
    quality_accepted: bool
    whitepaper_accepted: bool
    passed: int  # regions passing the calibrated rule
    required: int
    n: int
    score: float  # passed / n
    false_accept_bound: float
    regions: list[RegionScore] = field(default_factory=list)
    tiles: list[TileScore] = field(default_factory=list)

    @property
    def reason(self) -> str:
        if self.accepted:
            return "accepted"
        parts = []
        if not self.noise_accepted:
            parts.append(f"noise: {self.passed}/{self.n} regions pass, {self.required} required")
        if not self.quality_accepted:
            bad = [t for t in self.tiles if not t.passed]
            parts.append("quality: " + ", ".join(f"tile ({t.x0},{t.y0}) rmse ratio {t.ratio:.2f} hf ratio "
                                                 f"{t.hf_ratio:.2f}" for t in bad))
        return "; ".join(parts)


def binom_tail(n: int, k: int, p: float) -> float:
    """P[Bin(n, p) >= k]."""
    if k <= 0:
        return 1.0
    return float(sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1)))


@lru_cache(maxsize=256)
def required_passes(n: int, p0: float, target: float) -> tuple[int, float]:
    """Smallest k with P[Bin(n, p0) >= k] <= target (k = n if none), and that tail."""
    for k in range(1, n + 1):
        t = binom_tail(n, k, p0)
        if t <= target:
            return k, t
    return n, binom_tail(n, n, p0)


def _score_region(img: np.ndarray, r: Region, params: AngvParams) -> RegionScore:
    w, h = r.w, r.h
    x0, y0 = r.x0 - w - 1, r.y0 - h - 1
    if x0 < 0 or y0 < 0 or r.x0 + 2 * w + 1 > img.shape[1] or r.y0 + 2 * h + 1 > img.shape[0]:
        return RegionScore(r.index, r.box, 0.0, False, 0.0, float("inf"), float("inf"), False)
    patch = img[y0 : r.y0 + 2 * h + 1, x0 : r.x0 + 2 * w + 1]
    lum = patch.astype(np.float32) @ LUMA  # (3h + 2, 3w + 2): v padded by one pixel
    c = lum[1:-1, 1:-1]
    lap = lum[:-2, 1:-1] + lum[2:, 1:-1] + lum[1:-1, :-2] + lum[1:-1, 2:] - 4.0 * c
    e = abs(float(lap.mean()) - float(lap[h : 2 * h, w : 2 * w].mean()))
    wp = e >= params.whitepaper_threshold
    ring = c[_ring_mask(w, h)]
    ring_mean = float(ring.mean())
    ring_std = float(ring.std())
    core = float(c[h + 1 : 2 * h - 1, w + 1 : 2 * w - 1].mean())
    z = r.polarity * (core - ring_mean) / max(abs(r.step), 1e-6)
    bg_dev = abs(ring_mean - r.bg)
    ok = params.z_min <= z <= params.z_max and ring_std <= params.ring_std_max and bg_dev <= params.bg_tolerance
    return RegionScore(r.index, r.box, e, wp, z, ring_std, bg_dev, ok)


class _Group:
    """Regions of one size, scored together: one fancy-index gather and batched arithmetic."""

    def __init__(self, regions: list[Region], w: int, h: int) -> None:
        self.regions = regions
        self.w, self.h = w, h
        ys = np.array([r.y0 - h - 1 for r in regions])[:, None] + np.arange(3 * h + 2)[None, :]
        xs = np.array([r.x0 - w - 1 for r in regions])[:, None] + np.arange(3 * w + 2)[None, :]
        self.iy, self.ix = ys[:, :, None], xs[:, None, :]
        self.ring = _ring_mask(w, h)
        self.pol = np.array([r.polarity for r in regions], np.float32)
        self.step = np.array([max(abs(r.step), 1e-6) for r in regions], np.float32)
        self.bg = np.array([r.bg for r in regions], np.float32)

    def score(self, img: np.ndarray, params: AngvParams) -> list[RegionScore]:
        w, h = self.w, self.h
        lum = img[self.iy, self.ix].astype(np.float32) @ LUMA  # (g, 3h + 2, 3w + 2)
        c = lum[:, 1:-1, 1:-1]
        lap = lum[:, :-2, 1:-1] + lum[:, 2:, 1:-1] + lum[:, 1:-1, :-2] + lum[:, 1:-1, 2:] - 4.0 * c
        e = np.abs(lap.mean(axis=(1, 2)) - lap[:, h : 2 * h, w : 2 * w].mean(axis=(1, 2)))
        ring = c[:, self.ring]
        ring_mean = ring.mean(axis=1)
        ring_std = ring.std(axis=1)
        core = c[:, h + 1 : 2 * h - 1, w + 1 : 2 * w - 1].mean(axis=(1, 2))
        z = self.pol * (core - ring_mean) / self.step
        bg_dev = np.abs(ring_mean - self.bg)
        ok = ((z >= params.z_min) & (z <= params.z_max) & (ring_std <= params.ring_std_max)
              & (bg_dev <= params.bg_tolerance))
        wp = e >= params.whitepaper_threshold
        return [RegionScore(r.index, r.box, float(e[i]), bool(wp[i]), float(z[i]), float(ring_std[i]),
                            float(bg_dev[i]), bool(ok[i])) for i, r in enumerate(self.regions)]


def _groups(fm: FrameManifest, shape: tuple[int, ...]) -> tuple[list[_Group], list[Region]]:
    """Regions grouped by size (cached on the manifest entry); regions not fully inside the frame apart."""
    key = ("_angv_groups", shape[0], shape[1])
    cache = fm.__dict__.setdefault("_cache", {})
    if key not in cache:
        inside: dict[tuple[int, int], list[Region]] = {}
        outside = []
        for r in fm.regions:
            if r.x0 - r.w - 1 < 0 or r.y0 - r.h - 1 < 0 or r.x0 + 2 * r.w + 1 > shape[1] or \
                    r.y0 + 2 * r.h + 1 > shape[0]:
                outside.append(r)
            else:
                inside.setdefault((r.w, r.h), []).append(r)
        cache[key] = ([_Group(rs, w, h) for (w, h), rs in sorted(inside.items())], outside)
    return cache[key]


def _score_tile(img: np.ndarray, t: Tile, allowance: float, params: AngvParams) -> TileScore:
    ref, r0, hf_ref = t.luma_refs()
    sub = img[t.y0 : t.y0 + t.size, t.x0 : t.x0 + t.size]
    if sub.shape[:2] != (t.size, t.size):
        return TileScore(t.x0, t.y0, t.size, float("inf"), r0, float("inf"), float("inf"), False)
    lum = sub.astype(np.float32) @ LUMA
    d = lum - ref
    rmse = float(np.sqrt(np.mean(d * d)))
    ratio = rmse / math.sqrt(r0 * r0 + allowance * allowance)
    floor = 20.0 * allowance * allowance  # Laplacian energy of i.i.d. noise of std `allowance`
    e = hf_energy(lum) + floor
    lo, hi = min(hf_ref) + floor, max(hf_ref) + floor
    hf = e / lo if e < lo else (e / hi if e > hi else 1.0)  # 1 inside the references' range
    ok = ratio <= params.tile_ratio_max and params.hf_ratio_min <= hf <= params.hf_ratio_max
    return TileScore(t.x0, t.y0, t.size, rmse, r0, ratio, hf, ok)


def _score_tiles(img: np.ndarray, fm: FrameManifest, allowance: float, params: AngvParams) -> list[TileScore]:
    """All tiles of one size in one gather; tiles outside the frame fail."""
    ts = fm.tiles
    if not ts:
        return []
    size = ts[0].size
    if any(t.size != size or t.x0 < 0 or t.y0 < 0 or t.x0 + size > img.shape[1] or t.y0 + size > img.shape[0]
           for t in ts):
        return [_score_tile(img, t, allowance, params) for t in ts]
    cache = fm.__dict__.setdefault("_cache", {})
    if "tiles" not in cache:
        iy = (np.array([t.y0 for t in ts])[:, None] + np.arange(size)[None, :])[:, :, None]
        ix = (np.array([t.x0 for t in ts])[:, None] + np.arange(size)[None, :])[:, None, :]
        refs = [t.luma_refs() for t in ts]
        cache["tiles"] = (iy, ix, np.stack([r[0] for r in refs]), np.array([r[1] for r in refs]),
                          np.array([min(r[2]) for r in refs]), np.array([max(r[2]) for r in refs]))
    iy, ix, ref, r0, hf_lo, hf_hi = cache["tiles"]
    lum = img[iy, ix].astype(np.float32) @ LUMA  # (m, size, size)
    d = lum - ref
    rmse = np.sqrt(np.mean(d * d, axis=(1, 2)))
    ratio = rmse / np.sqrt(r0 * r0 + allowance * allowance)
    c = lum[:, 1:-1, 1:-1]
    lap = lum[:, :-2, 1:-1] + lum[:, 2:, 1:-1] + lum[:, 1:-1, :-2] + lum[:, 1:-1, 2:] - 4.0 * c
    floor = 20.0 * allowance * allowance
    e = np.mean(lap * lap, axis=(1, 2)) + floor
    lo, hi = hf_lo + floor, hf_hi + floor
    hf = np.where(e < lo, e / lo, np.where(e > hi, e / hi, 1.0))
    ok = (ratio <= params.tile_ratio_max) & (hf >= params.hf_ratio_min) & (hf <= params.hf_ratio_max)
    return [TileScore(t.x0, t.y0, size, float(rmse[i]), float(r0[i]), float(ratio[i]), float(hf[i]), bool(ok[i]))
            for i, t in enumerate(ts)]


def verify_frame(
    frame: Frame | np.ndarray,
    fm: FrameManifest,
    params: AngvParams,
    codec: str | None = None,
    quality: bool = True,
) -> FrameResult:
    """Verify one decoded frame against its manifest entry.

    ``frame`` is a :class:`Frame` or an (H, W, 3) array of display levels; ``codec`` ("png", "jpeg", "exr") sets the
    quality check's allowance (taken from the Frame when omitted). ``quality=False`` skips the tiles.
    """
    if isinstance(frame, Frame):
        img, codec = frame.pixels, codec or frame.codec
    else:
        img = frame
    groups, outside = _groups(fm, img.shape)
    scored = {s.index: s for g in groups for s in g.score(img, params)}
    for r in outside:
        scored[r.index] = _score_region(img, r, params)
    regions = [scored[r.index] for r in fm.regions]
    n = len(regions)
    passed = sum(1 for s in regions if s.passed)
    k, bound = required_passes(n, params.null_pass_bound, params.false_accept_target)
    noise_ok = n > 0 and passed >= k
    allowance = params.allowance_jpeg if codec == "jpeg" else params.allowance_lossless
    tiles = _score_tiles(img, fm, allowance, params) if quality else []
    quality_ok = all(t.passed for t in tiles)
    return FrameResult(
        frame=fm.frame,
        accepted=noise_ok and quality_ok,
        noise_accepted=noise_ok,
        quality_accepted=quality_ok,
        whitepaper_accepted=n > 0 and all(s.whitepaper_pass for s in regions),
        passed=passed,
        required=k,
        n=n,
        score=passed / n if n else 0.0,
        false_accept_bound=bound,
        regions=regions,
        tiles=tiles,
    )


def whitepaper_full_frame(img: np.ndarray, fm: FrameManifest, threshold: float = 5.0) -> bool:
    """A straightforward implementation of the whitepaper's rule: Laplacian of the whole frame, then the regions.

    Used by the speed benchmark as the baseline; gives the same e_i as :func:`verify_frame`.
    """
    lum = img.astype(np.float32) @ LUMA
    p = np.pad(lum, 1, mode="edge")
    lap = p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4.0 * lum
    for r in fm.regions:
        vx0, vy0, vx1, vy1 = r.envelope()
        v = lap[vy0:vy1, vx0:vx1]
        k = lap[r.y0 : r.y0 + r.h, r.x0 : r.x0 + r.w]
        if abs(float(v.mean()) - float(k.mean())) < threshold:
            return False
    return True
