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
3. **Quality conformity**: the secret tiles of the delivered frame are compared with the manager's two reference
   renders of each tile at the ordered settings (sampling seeds s and s'). Pooled over the tiles i,
   ``Q = sum_i tmean_i((D - M)^2) / sum_i ((3/2) tmean_i((A - B)^2 / 2) + jpeg_i + floor)``: D delivered, A and B the
   references, M their mean, ``tmean_i`` the mean over tile i after leaving out its largest ``quality_trim`` of the
   values (fireflies), ``jpeg_i`` the error the delivered file's own JPEG tables put on the reference tile (0 for PNG
   and EXR). An honest render is a third independent draw, so Q is about 1; fewer samples raise the numerator, with
   the denoiser on as well. ``Q_half`` is the same ratio over the worst half of the tiles (largest per-tile ratio):
   a render cheap on part of the frame. The frame passes when ``Q <= quality_max``, ``Q_half <= quality_half_max``
   and the pooled high-frequency energy (mean squared Laplacian, plus a floor
   of 20 allowance^2) is at least hf_ratio_min x the smaller reference's: a lower resolution, upscaled, is smooth
   where the ordered render is grainy. (More energy is not a fault: fireflies add it, and fewer samples, which add
   it too, already raise Q.)

A frame is accepted when the calibrated rule and the quality check both pass. The network judges lossless frames
only (PNG as ordered; EXR too): a JPEG fails the quality check unless ``lossy=True`` (research and benchmarks), where
its own encoding error is allowed for, measured with the tables its components really use (docs/angv.md,
"Issue 14, part 2").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .adaptive import _ring_mask
from .frames import Frame
from .manifest import LUMA, FrameManifest, Region, Tile
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
    """Per-tile diagnostics; the decision is taken on the pooled scores of :class:`FrameResult`."""

    x0: int
    y0: int
    size: int
    rmse: float  # RMSE(delivered, mean of the two references)
    r0: float  # RMSE between the two references (the honest spread)
    ratio: float  # this tile's plain-mean quality score (1 ~ honest)
    hf_ratio: float  # high-frequency energy over the smaller reference's


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
    score: float  # the whole decision, in [0, 1]: noise_score scaled down by how far quality misses (see verify_frame)
    false_accept_bound: float
    quality: float = 0.0  # pooled quality score Q (<= quality_max passes); 0 when not checked
    quality_half: float = 0.0  # the worst half of the tiles' pooled score (<= quality_half_max passes)
    hf: float = 1.0  # pooled high-frequency energy over the smaller reference's
    quality_reason: str = ""
    regions: list[RegionScore] = field(default_factory=list)
    tiles: list[TileScore] = field(default_factory=list)
    noise_score: float = 0.0  # passed / n

    @property
    def reason(self) -> str:
        if self.accepted:
            return "accepted"
        parts = []
        if not self.noise_accepted:
            parts.append(f"noise: {self.passed}/{self.n} regions pass, {self.required} required")
        if not self.quality_accepted:
            parts.append("quality: " + self.quality_reason)
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


def _outside(r: Region) -> RegionScore:
    """A region whose padded envelope leaves the frame (a frame of another size): it fails."""
    return RegionScore(r.index, r.box, 0.0, False, 0.0, float("inf"), float("inf"), False)


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
        # sums over counts rather than .mean/.std: numpy's wrappers cost more than the arithmetic on ~200 pixels
        e = np.abs(lap.sum(axis=(1, 2)) / (9 * w * h) - lap[:, h : 2 * h, w : 2 * w].sum(axis=(1, 2)) / (w * h))
        ring = c[:, self.ring].astype(np.float64)
        m = ring.shape[1]
        ring_mean = ring.sum(axis=1) / m
        ring_std = np.sqrt(np.maximum((ring * ring).sum(axis=1) / m - ring_mean * ring_mean, 0.0))
        core = c[:, h + 1 : 2 * h - 1, w + 1 : 2 * w - 1].sum(axis=(1, 2)) / ((w - 2) * (h - 2))
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


def trimmed_mean(x: np.ndarray, trim: float) -> float:
    """Mean of ``x`` (flattened) without its largest ``trim`` fraction."""
    x = np.ravel(x)
    keep = len(x) - int(len(x) * trim)
    if keep <= 0:
        return 0.0
    if keep < len(x):
        x = np.partition(x, keep - 1)[:keep]
    return float(x.mean())


def _laplacian_sq(lum: np.ndarray) -> np.ndarray:
    """Squared 4-neighbour Laplacian of each (tiles, h, w) tile over its interior."""
    c = lum[:, 1:-1, 1:-1]
    lap = lum[:, :-2, 1:-1] + lum[:, 2:, 1:-1] + lum[:, 1:-1, :-2] + lum[:, 1:-1, 2:] - 4.0 * c
    return lap * lap


class _TileSet:
    """A frame's tiles; the references' statistics computed once per manifest."""

    def __init__(self, tiles: list[Tile], params: AngvParams) -> None:
        self.tiles = tiles
        size = tiles[0].size
        self.windows = [(slice(t.y0, t.y0 + size), slice(t.x0, t.x0 + size)) for t in tiles]
        la = np.stack([t.ref_a.astype(np.float32) @ LUMA for t in tiles])
        lb = np.stack([t.ref_b.astype(np.float32) @ LUMA for t in tiles])
        self.mean = (la + lb) / 2
        half_sq = (la - lb) ** 2 / 2  # per-pixel estimate of one render's noise variance
        self.r0 = np.sqrt(np.mean(2 * half_sq, axis=(1, 2)))
        self.sigma2 = np.mean(half_sq, axis=(1, 2))
        self.den = _per_tile_trimmed(half_sq, params.quality_trim)  # per tile, one render's noise variance
        ta, tb = _laplacian_sq(la).mean(axis=(1, 2)), _laplacian_sq(lb).mean(axis=(1, 2))
        self.tile_hf = np.minimum(ta, tb)  # per tile, for diagnostics
        self.hf = float(min(ta.mean(), tb.mean()))  # pooled: the smaller reference's
        self.jpeg: dict[str, tuple[float, np.ndarray]] = {}

    def jpeg_error(self, options: dict | None, trim: float) -> tuple[float, np.ndarray]:
        """The trimmed mean squared luminance error that the delivered file's JPEG encoding puts on the reference
        tiles, pooled and per tile.

        Each reference tile is placed at its position modulo 16 (the frame's block grid), encoded with the
        delivered file's quantisation tables and subsampling (Pillow's quality 90 when unknown) and decoded.
        """
        import io
        import json

        from PIL import Image

        key = json.dumps([options, trim], sort_keys=True)
        if key not in self.jpeg:
            errs = []
            for t in self.tiles:
                ox, oy = t.x0 % 16, t.y0 % 16
                h, w = oy + t.size, ox + t.size
                canvas = np.pad(t.ref_a, ((oy, -h % 16), (ox, -w % 16), (0, 0)), mode="edge")
                buf = io.BytesIO()
                Image.fromarray(canvas).save(buf, "JPEG", **(options or {"quality": 90}))
                dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
                back = dec[oy:h, ox:w].astype(np.float32) @ LUMA
                errs.append((back - t.ref_a.astype(np.float32) @ LUMA) ** 2)
            errs = _per_tile_trimmed(np.stack(errs), trim)
            self.jpeg[key] = (float(errs.mean()), errs)
        return self.jpeg[key]


def _per_tile_trimmed(x: np.ndarray, trim: float) -> np.ndarray:
    """Per tile (first axis), the mean without its largest ``trim`` fraction."""
    flat = x.reshape(len(x), -1)
    keep = max(1, flat.shape[1] - int(flat.shape[1] * trim))
    return np.partition(flat, keep - 1, axis=1)[:, :keep].mean(axis=1)


def _score_quality(img: np.ndarray, fm: FrameManifest, params: AngvParams, codec: str | None,
                   jpeg_options: dict | None) -> tuple[bool, float, float, float, str, list[TileScore]]:
    """Pooled quality score, the worst half's score and the high-frequency ratio of the delivered tiles (see the
    module docstring)."""
    ts = fm.tiles
    if not ts:
        return True, 0.0, 0.0, 1.0, "", []
    size = ts[0].size
    if any(t.size != size or t.x0 < 0 or t.y0 < 0 or t.x0 + size > img.shape[1] or t.y0 + size > img.shape[0]
           for t in ts):
        return False, float("inf"), float("inf"), 0.0, "quality tiles outside the frame", []
    cache = fm.__dict__.setdefault("_cache", {})
    key = ("tileset", params.quality_trim)  # the references' trimmed statistics depend on the trim
    if key not in cache:
        cache[key] = _TileSet(ts, params)
    s: _TileSet = cache[key]
    # (tiles, size, size); stacking slices copies 20x faster than one fancy-index gather of large tiles
    lum = np.stack([img[w] for w in s.windows]).astype(np.float32) @ LUMA
    sq = (lum - s.mean) ** 2
    jpeg, jpeg_t = s.jpeg_error(jpeg_options, params.quality_trim) if codec == "jpeg" else (0.0, 0.0)
    # trimmed per tile: a global trim would take the largest differences, which a cheap render puts in the
    # textured tiles, out of the evidence; per tile it takes out each tile's fireflies only
    flat = sq.reshape(len(ts), -1)
    keep = max(1, flat.shape[1] - int(flat.shape[1] * params.quality_trim))
    num = np.partition(flat, keep - 1, axis=1)[:, :keep].mean(axis=1)
    den = 1.5 * s.den + jpeg_t + params.quality_floor
    q = float(num.sum() / den.sum())
    # the worst half of the tiles, pooled: a render that is cheap on part of the frame raises it even when the
    # honest rest keeps the whole pool low
    worst = np.argsort(-(num / den), kind="stable")[: max(1, len(ts) // 2)]
    qh = float(num[worst].sum() / den[worst].sum())
    allowance = params.allowance_jpeg if codec == "jpeg" else params.allowance_lossless
    floor = 20.0 * allowance * allowance  # Laplacian energy of i.i.d. noise of std `allowance`
    lap_sq = _laplacian_sq(lum)
    tile_e = lap_sq.sum(axis=(1, 2)) / lap_sq[0].size
    hf = (float(tile_e.mean()) + floor) / (s.hf + floor)
    ok_q = q <= params.quality_max
    ok_half = qh <= params.quality_half_max
    ok_hf = hf >= params.hf_ratio_min
    reasons = []
    if not ok_q:
        reasons.append(f"score {q:.2f} > {params.quality_max} (the tiles differ from the ordered settings' renders "
                       "more than another honest render does)")
    if not ok_half:
        reasons.append(f"worst half of the tiles scores {qh:.2f} > {params.quality_half_max} (part of the frame "
                       "differs from the ordered settings' renders more than another honest render does)")
    if not ok_hf:
        reasons.append(f"high-frequency energy {hf:.2f}x the smaller reference's (< {params.hf_ratio_min}: smoother "
                       "than the ordered settings render, e.g. a lower resolution upscaled)")
    mse = sq.sum(axis=(1, 2)) / (size * size)
    ratio = (mse / (1.5 * s.sigma2 + jpeg + params.quality_floor)).tolist()
    tile_hf = ((tile_e + floor) / (s.tile_hf + floor)).tolist()
    rmse, r0 = np.sqrt(mse).tolist(), s.r0.tolist()  # plain floats at once: 16 float() calls cost more
    tiles = [TileScore(t.x0, t.y0, size, rmse[i], r0[i], ratio[i], tile_hf[i]) for i, t in enumerate(ts)]
    return ok_q and ok_half and ok_hf, q, qh, float(hf), "; ".join(reasons), tiles


LOSSY_REFUSED = ("lossy JPEG frame: the network verifies lossless frames only (PNG, EXR); lossy outputs are made "
                 "from verified frames")


def frame_score(noise_score: float, quality_checked: bool, quality_ok: bool, q: float, qh: float, hf: float,
                params: AngvParams) -> float:
    """One number for the whole decision: the share of regions passing, times min(1, quality_max / Q,
    quality_half_max / Q_half) and min(1, hf / hf_ratio_min) -- 1 only for a frame that passes everything, below 1
    when the quality misses, in proportion to how far; 0 when the frame could not be judged for quality (a refused
    container, tiles outside the frame)."""
    if not quality_checked:
        return noise_score
    if not quality_ok and not (math.isfinite(q) and math.isfinite(qh) and hf > 0):
        return 0.0
    f = min(1.0, params.quality_max / q if q > 0 else 1.0, params.quality_half_max / qh if qh > 0 else 1.0)
    g = min(1.0, hf / params.hf_ratio_min) if params.hf_ratio_min > 0 else 1.0
    score = noise_score * f * g
    return min(score, math.nextafter(1.0, 0.0)) if not quality_ok else score


def verify_frame(
    frame: Frame | np.ndarray,
    fm: FrameManifest,
    params: AngvParams,
    codec: str | None = None,
    quality: bool = True,
    lossy: bool = False,
) -> FrameResult:
    """Verify one decoded frame against its manifest entry.

    ``frame`` is a :class:`Frame` or an (H, W, 3) array of display levels; ``codec`` ("png", "jpeg", "exr") sets the
    quality check's allowance (taken from the Frame when omitted). ``quality=False`` skips the tiles. A JPEG fails
    the quality check (the network's rule: lossless frames only) unless ``lossy``, which judges it with its own
    encoding error allowed for.
    """
    jpeg_options = None
    if isinstance(frame, Frame):
        img, codec, jpeg_options = frame.pixels, codec or frame.codec, frame.jpeg_options
    else:
        img = frame
    groups, outside = _groups(fm, img.shape)
    scored = {s.index: s for g in groups for s in g.score(img, params)}
    for r in outside:
        scored[r.index] = _outside(r)
    regions = [scored[r.index] for r in fm.regions]
    n = len(regions)
    passed = sum(1 for s in regions if s.passed)
    k, bound = required_passes(n, params.null_pass_bound, params.false_accept_target)
    noise_ok = n > 0 and passed >= k
    if quality and codec == "jpeg" and not lossy:
        quality_ok, q, qh, hf, why, tiles = False, float("inf"), float("inf"), 0.0, LOSSY_REFUSED, []
    elif quality:
        quality_ok, q, qh, hf, why, tiles = _score_quality(img, fm, params, codec, jpeg_options)
    else:
        quality_ok, q, qh, hf, why, tiles = True, 0.0, 0.0, 1.0, "", []
    return FrameResult(
        frame=fm.frame,
        accepted=noise_ok and quality_ok,
        noise_accepted=noise_ok,
        quality_accepted=quality_ok,
        whitepaper_accepted=n > 0 and all(s.whitepaper_pass for s in regions),
        passed=passed,
        required=k,
        n=n,
        score=frame_score(passed / n if n else 0.0, quality, quality_ok, q, qh, hf, params),
        false_accept_bound=bound,
        quality=q,
        quality_half=qh,
        hf=hf,
        quality_reason=why,
        regions=regions,
        tiles=tiles,
        noise_score=passed / n if n else 0.0,
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
