"""Attacks on ANGV, implemented so that tests and benchmarks can measure them.

(a) no rendering: :func:`blank`, :func:`random_image`, a stock image;
(b) frames of another task / key: verify a frame against another manifest;
(c) a render at 1/4 of the pixels, upscaled: :func:`upscale`;
(d) a render with 1/8 of the samples (a render job);
(e) carriers removed by :func:`find_carriers`, then rendered;
(f) a cheap render plus forged imprints at guessed positions: :func:`forge_patches`;
(g) the splice: a cheap render plus the carriers' patches re-rendered at full quality: :func:`splice`;
(h) the partial render: full quality where the quality tiles are likeliest, cheap elsewhere: the attacker runs the
    public tile planner with random keys on its own cheap render (:func:`tile_coverage`), renders the likeliest
    fraction of the frame at full quality (:func:`likeliest_area`) and the rest cheaply (:func:`partial_render`).

:func:`find_carriers` is the attacker's best heuristic on the delivered .blend (it imports bpy): a carrier is a
mesh of at most 8 vertices whose world rotation equals the camera's, that no light path but camera rays sees, and
whose imprint is at most 12 pixels wide.
"""

from __future__ import annotations

import numpy as np

from collections.abc import Callable

from .adaptive import plan_regions, plan_tiles
from .keys import FrameKey
from .manifest import LUMA
from .params import AngvParams


def blank(width: int, height: int, value: int = 128) -> np.ndarray:
    return np.full((height, width, 3), value, np.uint8)


def random_image(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def upscale(img: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(np.asarray(img, np.uint8)).resize((width, height), Image.BICUBIC))


def forge_patches(cheap: np.ndarray, count: int, rng: np.random.Generator, params: AngvParams) -> np.ndarray:
    """Paint ``count`` imprint-like steps where the selection algorithm could have put them (the attacker knows it,
    not the key): positions drawn by the same algorithm with a random key, steps of the designed size and polarity."""
    from PIL import Image, ImageFilter

    img = np.asarray(cheap, np.float32).copy()
    # the attacker looks for smooth places on a blurred copy (a cheap render is grainy)
    smooth = np.asarray(Image.fromarray(np.asarray(cheap, np.uint8)).filter(ImageFilter.GaussianBlur(1.5)),
                        np.float32)
    p = AngvParams(**{**params.to_dict(), "n": 40, "max_tries": 20000})
    plans: list = []
    for _ in range((count + 39) // 40):
        plans += plan_regions(smooth, FrameKey(rng.bytes(32), 0), p, partial=True)
    for pl in plans[:count]:
        r = pl.region
        img[r.y0 : r.y0 + r.h, r.x0 : r.x0 + r.w] = pl.target_rgb
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def splice(cheap: np.ndarray, patches: list[tuple[int, int, np.ndarray]]) -> np.ndarray:
    """Paste full-quality patches (x0, y0, pixels) into a cheap render."""
    img = np.asarray(cheap).copy()
    for x0, y0, px in patches:
        h, w = px.shape[:2]
        img[y0 : y0 + h, x0 : x0 + w] = px[: img.shape[0] - y0, : img.shape[1] - x0]
    return img


def find_carriers(sc, frames: list[int]) -> tuple[list[str], dict[int, list[tuple[int, int, int, int]]]]:
    """The attacker's heuristic on an opened scene: carrier names and their pixel boxes per frame (bpy)."""
    from .insertion import project_box

    names: list[str] = []
    sc.frame_set(frames[0])
    import bpy

    dg = bpy.context.evaluated_depsgraph_get()
    cam_rot = sc.camera.evaluated_get(dg).matrix_world.to_quaternion()
    for o in sc.objects:
        if o.type != "MESH" or len(o.data.vertices) > 8:
            continue
        camera_only = o.visible_camera and not (o.visible_shadow or o.visible_diffuse or o.visible_glossy)
        aligned = o.evaluated_get(dg).matrix_world.to_quaternion().rotation_difference(cam_rot).angle < 1e-3
        if not (camera_only or aligned):
            continue
        x0, y0, x1, y1, _, _ = project_box(sc, o)
        if x1 - x0 <= 12 and y1 - y0 <= 12:
            names.append(o.name)
    boxes: dict[int, list[tuple[int, int, int, int]]] = {}
    for f in frames:
        sc.frame_set(f)
        boxes[f] = []
        for n in names:
            x0, y0, x1, y1, _, _ = project_box(sc, bpy.data.objects[n])
            boxes[f].append((int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1))))
    return names, boxes


def plan_tiles_v2(key: FrameKey, width: int, height: int, params: AngvParams,
                  preview: np.ndarray) -> list[tuple[int, int, int]]:
    """The tile rule of ANGV version 2, kept to measure attack (h) against it: per tile, 8 key-drawn positions that
    do not overlap the tiles already chosen, and the most textured of them in the reference render is kept."""
    t = min(params.tile_side(width), width, height)
    s = key.stream(b"tiles")
    lum = np.asarray(preview, np.float32) @ LUMA
    tiles: list[tuple[int, int, int]] = []
    for _ in range(params.tiles):
        cands: list[tuple[int, int]] = []
        for _ in range(64):
            c = (s.randint(0, width - t), s.randint(0, height - t))
            if all(abs(c[0] - x) >= t or abs(c[1] - y) >= t for x, y, _ in tiles):
                cands.append(c)
                if len(cands) == 8:
                    break
        if not cands:
            cands = [c]
        x, y = max(cands, key=lambda c: float(lum[c[1] : c[1] + t, c[0] : c[0] + t].std()))
        tiles.append((x, y, t))
    return tiles


def tile_coverage(cheap: np.ndarray, params: AngvParams, keys: int, rng: np.random.Generator,
                  planner: Callable | None = None) -> np.ndarray:
    """How often each pixel falls in a quality tile over ``keys`` random keys, by the public planner run on the
    attacker's own cheap render (``planner(key, W, H, params, preview)``; the current rule when None)."""
    h, w = cheap.shape[:2]
    cov = np.zeros((h, w), np.float64)
    for _ in range(keys):
        key = FrameKey(rng.bytes(32), 0)
        tiles = plan_tiles(key, w, h, params) if planner is None else planner(key, w, h, params, cheap)
        for x, y, t in tiles:
            cov[y : y + t, x : x + t] += 1
    return cov


def likeliest_area(coverage: np.ndarray, fraction: float, block: int = 16) -> np.ndarray:
    """Boolean mask of the ``fraction`` of the frame, in ``block``-pixel squares (what a border render can do
    cheaply), where the tiles are likeliest."""
    h, w = coverage.shape
    bh, bw = -(-h // block), -(-w // block)
    pad = np.pad(coverage, ((0, bh * block - h), (0, bw * block - w)))
    score = pad.reshape(bh, block, bw, block).mean(axis=(1, 3))
    mask = np.zeros((h, w), bool)
    for k in np.argsort(-score.ravel(), kind="stable"):
        if mask.sum() >= fraction * h * w:
            break
        i, j = divmod(int(k), bw)
        mask[i * block : (i + 1) * block, j * block : (j + 1) * block] = True
    return mask


def block_texture(cheap: np.ndarray, block: int = 16) -> np.ndarray:
    """Per pixel, the luminance standard deviation of its ``block``-pixel square in the attacker's cheap render: the
    attacker of (h) who ignores the tile rule renders the textured part at full quality (where a cheap render
    differs most from the ordered one) and the flat part cheaply (where the denoiser hides the missing samples);
    use with :func:`likeliest_area`."""
    lum = np.asarray(cheap, np.float32) @ LUMA
    h, w = lum.shape
    bh, bw = -(-h // block), -(-w // block)
    pad = np.pad(lum, ((0, bh * block - h), (0, bw * block - w)), mode="edge")
    std = pad.reshape(bh, block, bw, block).std(axis=(1, 3))
    return np.repeat(np.repeat(std, block, axis=0), block, axis=1)[:h, :w]


def partial_render(full: np.ndarray, cheap: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The frame of attack (h): ``full`` where ``mask``, ``cheap`` elsewhere."""
    return np.where(mask[..., None], full, cheap)
