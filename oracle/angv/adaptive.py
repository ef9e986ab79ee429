"""Adaptive noise spreading: where the imprints go and how strong they are (pure numpy).

Input: the reference (preview) render of the frame, a low-settings denoised render of the original scene, in
display levels. Candidates are drawn from the frame key's ``b"regions"`` stream; per try, in this order:
``w = randint(imin, imax)``, ``h = randint(imin, imax)``, ``x0 = randint(w + 1, W - 2w - 1)``,
``y0 = randint(h + 1, H - 2h - 1)``, ``u = uniform()`` (the depth fraction). A candidate is kept when

* its enveloping region v (3w x 3h, k at the centre), grown by ``region_gap``, overlaps no kept one;
* v is smooth in the preview (luminance std <= ``smooth_std_max`` and range <= ``smooth_range_max``) -- the
  perceptually significant "high energy, low frequency" areas where denoising and anti-aliasing keep a step;
* the step is unclipped: with polarity +1 (brighter) when the imprint's luminance is below ``polarity_split`` and -1
  otherwise, every channel of ``colour + polarity * step`` stays within [clip_margin, 255 - clip_margin] and no
  preview pixel of v is clipped at 0 or 255;
* the scene geometry accepts it (``accept`` callback: frustum, occlusion, collisions, done with bpy ray casts).

Each kept candidate gets the target display colour ``c + polarity * step`` that its carrier must emit.
The stream is consumed identically whatever the outcome of a try, so the result depends only on the key, the
preview and the geometry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .keys import FrameKey
from .manifest import LUMA, Region, Tile
from .params import AngvParams


class PlacementError(RuntimeError):
    """Not enough smooth, unclipped, unoccluded positions for n imprints in this frame."""


@dataclass(frozen=True)
class RegionPlan:
    region: Region
    target_rgb: tuple[float, float, float]  # display levels the carrier must produce
    depth_u: float  # depth fraction in [0, 1) (mapped to [depth_lo, depth_hi] of the free distance)


def plan_regions(
    preview: np.ndarray,
    key: FrameKey,
    params: AngvParams,
    accept: Callable[[int, int, int, int, float], bool] | None = None,
    partial: bool = False,
) -> list[RegionPlan]:
    """Choose the n imprints of one frame; ``preview`` is (H, W, 3) in display levels.

    Raises :class:`PlacementError` when fewer than n fit, unless ``partial`` (then returns those found)."""
    img = np.asarray(preview, dtype=np.float32)
    H, W = img.shape[:2]
    lum = img @ LUMA
    s = key.stream(b"regions")
    taken: list[tuple[int, int, int, int]] = []
    plans: list[RegionPlan] = []
    g = params.region_gap
    for _ in range(params.max_tries):
        if len(plans) == params.n:
            break
        w = s.randint(params.imprint_min, params.imprint_max)
        h = s.randint(params.imprint_min, params.imprint_max)
        if W - 2 * w - 1 < w + 1 or H - 2 * h - 1 < h + 1:
            raise PlacementError("angv: frame too small for an imprint")
        x0 = s.randint(w + 1, W - 2 * w - 1)
        y0 = s.randint(h + 1, H - 2 * h - 1)
        u = s.uniform()
        vx0, vy0, vx1, vy1 = x0 - w, y0 - h, x0 + 2 * w, y0 + 2 * h
        if any(vx0 - g < b[2] and b[0] < vx1 + g and vy0 - g < b[3] and b[1] < vy1 + g for b in taken):
            continue
        lv = lum[vy0:vy1, vx0:vx1]
        if float(lv.std()) > params.smooth_std_max or float(np.ptp(lv)) > params.smooth_range_max:
            continue
        pv = img[vy0:vy1, vx0:vx1]
        if float(pv.min()) <= 0.5 or float(pv.max()) >= 254.5:
            continue
        colour = img[y0 : y0 + h, x0 : x0 + w].reshape(-1, 3).mean(axis=0)
        lk = float(colour @ LUMA)
        pol = 1 if lk < params.polarity_split else -1
        target = colour + pol * params.step
        if target.min() < params.clip_margin or target.max() > 255.0 - params.clip_margin:
            continue
        if accept is not None and not accept(x0, y0, w, h, u):
            continue
        ring = _ring_mask(w, h)
        bg = float(lv[ring].mean())
        step = float((target - colour) @ LUMA)
        region = Region(len(plans), x0, y0, w, h, pol, step, bg)
        plans.append(RegionPlan(region, (float(target[0]), float(target[1]), float(target[2])), u))
        taken.append((vx0, vy0, vx1, vy1))
    if len(plans) < params.n and not partial:
        raise PlacementError(f"angv: only {len(plans)} of {params.n} imprints placed after {params.max_tries} tries")
    return plans


_RINGS: dict[tuple[int, int], np.ndarray] = {}


def _ring_mask(w: int, h: int) -> np.ndarray:
    """Boolean (3h, 3w) mask of the enveloping region minus the imprint dilated by one pixel."""
    m = _RINGS.get((w, h))
    if m is None:
        m = np.ones((3 * h, 3 * w), dtype=bool)
        m[h - 1 : 2 * h + 1, w - 1 : 2 * w + 1] = False
        m.setflags(write=False)
        _RINGS[(w, h)] = m
    return m


def plan_tiles(key: FrameKey, width: int, height: int, params: AngvParams) -> list[tuple[int, int, int]]:
    """Secret quality tiles (x0, y0, size) of one frame, drawn uniformly over the frame from the key's ``b"tiles"``
    stream; nothing else (the picture, the scene) plays a part, so no worker can tell where they fall.

    Each tile: x = clamp(randint(-t/2, W - t/2), 0, W - t), then y likewise (t/2 = t // 2), drawn again (at most
    ``tile_candidates`` times; then the last draw is kept) while it overlaps a tile already chosen. The clamp piles
    the draws that fall off the frame on its edges, so that the border band is covered about as often as the middle
    (a plain uniform draw of x0 would almost never cover the outermost pixels, which a worker would then render
    cheaply); at 256x144 with 16 tiles of 32 px the least-covered half of the frame still holds 42 % of the tiles'
    area (docs/angv.md). (Version
    2 kept the most textured of 8 candidates: a worker could run that public rule with random keys on its own cheap
    render and predict a third of the tiles' area from 15 % of the frame.) Separate tiles give the quality score
    more independent pixels than overlapping ones.
    """
    t = min(params.tile_side(width), width, height)
    s = key.stream(b"tiles")
    tiles: list[tuple[int, int, int]] = []
    for _ in range(params.tiles):
        for _ in range(max(1, params.tile_candidates)):
            x = min(max(s.randint(-(t // 2), width - t + t // 2), 0), width - t)
            y = min(max(s.randint(-(t // 2), height - t + t // 2), 0), height - t)
            if all(abs(x - a) >= t or abs(y - b) >= t for a, b, _ in tiles):
                break
        tiles.append((x, y, t))
    return tiles


def preview_size(width: int, height: int, params: AngvParams) -> tuple[int, int]:
    """The preview's size: the frame's within ``preview_pixels``, else the frame scaled (aspect kept) to fit it."""
    if width * height <= params.preview_pixels:
        return width, height
    s = math.sqrt(params.preview_pixels / (width * height))
    return max(1, round(width * s)), max(1, round(height * s))


def fit_preview(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """A preview (h, w, 3) brought to the frame's size for planning: itself when it has it, else resized bilinearly
    (Pillow, channel by channel in float: deterministic, so anyone re-deriving the plan gets the same picture)."""
    img = np.asarray(pixels, dtype=np.float32)
    if img.shape[:2] == (height, width):
        return img
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(img[..., c]), mode="F").resize(
        (width, height), Image.Resampling.BILINEAR)) for c in range(3)], axis=-1)


def tiled_frames(key: FrameKey, frames: list[int], params: AngvParams) -> set[int]:
    """The frames of a task that carry quality tiles: k = max(min(m, tile_frames_min), ceil(tile_share x m)) of the
    task's m frames, drawn without replacement from the task key's ``b"tiled-frames"`` stream (a partial Fisher-Yates
    shuffle of the sorted frames)."""
    fs = sorted(set(frames))
    m = len(fs)
    k = min(m, max(params.tile_frames_min, math.ceil(params.tile_share * m - 1e-9)))
    s = key.stream(b"tiled-frames")
    for i in range(k):
        j = s.randint(i, m - 1)
        fs[i], fs[j] = fs[j], fs[i]
    return set(fs[:k])


def empty_tile(x0: int, y0: int, size: int) -> Tile:
    z = np.zeros((size, size, 3), np.uint8)
    return Tile(x0, y0, size, z, z.copy())
