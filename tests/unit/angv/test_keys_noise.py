"""Key derivation (determinism, binding, commitment), random streams and atomic noises; no Blender."""

from __future__ import annotations

import hashlib
import itertools
import hmac

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle.angv.adaptive import plan_regions, plan_tiles
from oracle.angv.keys import TASK_FRAME, derive_key, key_commit, scene_digest
from oracle.angv.noise import AtomicNoise, draw_noises
from oracle.angv.params import ANGV_VERSION, KEY_DOMAIN, AngvParams

SEED = bytes(range(32))
SCENE = hashlib.sha256(b"scene").digest()
W, H = 320, 180


def smooth_preview() -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W]
    base = 60 + 120 * (x / W)  # a smooth ramp: everything is eligible
    return np.repeat(base[..., None], 3, axis=2).astype(np.float32)


def boxes(seed=SEED, scene=SCENE, task=1, frame=0, n=12, w=W, h=H):
    key = derive_key(seed, scene, task, frame, n, w, h)
    return [p.region.box for p in plan_regions(smooth_preview(), key, AngvParams(n=n))]


def test_derivation_matches_the_documented_formula():
    msg = (KEY_DOMAIN + b"\x00" + SCENE + (5).to_bytes(32, "big") + (3).to_bytes(4, "big") + (12).to_bytes(2, "big")
           + W.to_bytes(4, "big") + H.to_bytes(4, "big") + ANGV_VERSION.to_bytes(2, "big"))
    assert derive_key(SEED, SCENE, 5, 3, 12, W, H).key == hmac.new(SEED, msg, hashlib.sha256).digest()


def test_key_commit_is_keccak256_of_the_seed():
    from eth_utils import keccak

    assert key_commit(SEED) == keccak(SEED)
    assert key_commit(SEED) != key_commit(bytes(32))
    with pytest.raises(ValueError):
        key_commit(b"short")


def test_regions_are_deterministic_and_bound_to_every_input():
    ref = boxes()
    assert ref == boxes()
    assert len(ref) == 12 and len(set(ref)) == 12
    variants = [boxes(seed=bytes(31) + b"\x01"), boxes(scene=hashlib.sha256(b"other").digest()), boxes(task=2),
                boxes(frame=1)]
    for v in variants:
        assert v != ref
        assert len(set(v) & set(ref)) <= 2  # not a shifted copy: almost no box in common


@settings(max_examples=50, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), task=st.integers(0, 2**256 - 1), frame=st.integers(0, 2**32 - 2))
def test_keys_differ_across_frames_and_tasks(seed, task, frame):
    k = derive_key(seed, SCENE, task, frame, 12, W, H)
    assert k == derive_key(seed, SCENE, task, frame, 12, W, H)
    assert k.key != derive_key(seed, SCENE, task, frame + 1, 12, W, H).key
    assert k.key != derive_key(seed, SCENE, (task + 1) % 2**256, frame, 12, W, H).key
    assert k.key != derive_key(seed, SCENE, task, TASK_FRAME, 12, W, H).key


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError):
        derive_key(b"x" * 31, SCENE, 1, 0, 12, W, H)
    with pytest.raises(ValueError):
        derive_key(SEED, b"short", 1, 0, 12, W, H)
    with pytest.raises(ValueError):
        derive_key(SEED, SCENE, -1, 0, 12, W, H)
    with pytest.raises(ValueError):
        AngvParams(n=41)
    with pytest.raises(ValueError):
        AngvParams(imprint_max=8)


def test_stream_draws_are_in_range_and_roughly_uniform():
    s = derive_key(SEED, SCENE, 1, 0, 12, W, H).stream(b"test")
    draws = [s.randint(3, 9) for _ in range(7000)]
    assert min(draws) == 3 and max(draws) == 9
    counts = np.bincount(draws)[3:]
    assert counts.min() > 850 and counts.max() < 1150
    u = np.array([s.uniform() for _ in range(4000)])
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    z = np.array([s.normal(25, 5) for _ in range(4000)])
    assert abs(z.mean() - 25) < 0.3 and abs(z.std() - 5) < 0.3


def test_scene_digest_of_bytes_and_file(tmp_path):
    p = tmp_path / "s.blend"
    p.write_bytes(b"blend bytes")
    assert scene_digest(p) == scene_digest(b"blend bytes") == hashlib.sha256(b"blend bytes").digest()


def test_atomic_noises():
    p = AngvParams()
    key = derive_key(SEED, SCENE, 1, TASK_FRAME, p.n, W, H)
    ws = draw_noises(key, p)
    assert ws == draw_noises(key, p) and len(ws) == p.n
    periods = [w.period_x for w in ws] + [w.period_y for w in ws]
    assert all(p.period_min <= q <= p.period_max for q in periods)
    assert len(set(periods)) == len(periods)
    w = AtomicNoise(16.0, 32.0, 0.5, 64, 64)
    t = w.texture()
    assert t.shape == (64, 64)
    assert np.allclose(t[:, :16], t[:, 16:32], atol=1e-5)  # horizontal period X
    assert np.allclose(t[:32], t[32:], atol=1e-5)  # vertical period Y
    assert np.isclose(np.abs(w.complex_texture()).max(), 0.5)
    # the whitepaper's Proposition 1: its DFT energy sits at frequency (M/X, N/Y)
    f = np.abs(np.fft.fft2(w.complex_texture()))
    assert np.unravel_index(f.argmax(), f.shape) == (64 // 32, 64 // 16)


def test_tiles_are_secret_per_frame():
    p = AngvParams()
    a = plan_tiles(derive_key(SEED, SCENE, 1, 0, 12, W, H), W, H, p)
    b = plan_tiles(derive_key(SEED, SCENE, 1, 1, 12, W, H), W, H, p)
    assert a != b and len(a) == p.tiles
    assert all(0 <= x <= W - s and 0 <= y <= H - s for x, y, s in a)


def _overlaps(tiles) -> bool:
    return any(abs(x1 - x2) < s and abs(y1 - y2) < s for (x1, y1, s), (x2, y2, _) in itertools.combinations(tiles, 2))


@pytest.mark.parametrize("width,height,allowed", [(192, 108, 40), (256, 144, 10), (1920, 1080, 0)])
def test_tiles_do_not_overlap_where_the_frame_allows(width, height, allowed):
    """Tiles are drawn again while they overlap; on small frames (16 tiles of 32 px are 79 % of 192x108 and 44 %
    of 256x144) random packing runs out of room and the last draw is kept."""
    p = AngvParams()
    overlapping = 0
    for frame in range(40):
        tiles = plan_tiles(derive_key(SEED, SCENE, 1, frame, 12, width, height), width, height, p)
        assert len(tiles) == p.tiles
        overlapping += _overlaps(tiles)
    assert overlapping <= allowed


def test_tile_positions_do_not_depend_on_the_picture_and_cover_the_frame_evenly():
    """Attack (h): the tiles must not be predictable. They depend on the key alone (the planner takes no picture),
    and no part of the frame, borders and corners included, is left to a cheap render: the least-covered half of
    the frame (in 16-px blocks, what a partial render can do) still holds about as much of the tiles' area as the
    likeliest half (a uniform draw of x0 without the clamp leaves the outermost pixels almost never covered)."""
    p = AngvParams()
    w, h = 256, 144
    cov = np.zeros((h, w))
    keys = 600
    for frame in range(keys):
        for x, y, s in plan_tiles(derive_key(SEED, SCENE, 2, frame, 12, w, h), w, h, p):
            cov[y : y + s, x : x + s] += 1
    cov /= keys
    middle = cov[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4].mean()
    assert cov.min() >= 0.3 * middle  # no pixel the tiles avoid
    blocks = np.sort(cov.reshape(h // 16, 16, w // 16, 16).mean(axis=(1, 3)).ravel())
    assert blocks[: len(blocks) // 2].sum() / blocks.sum() > 0.4


def test_tiles_fall_back_to_overlap_on_a_tiny_frame():
    p = AngvParams()
    tiles = plan_tiles(derive_key(SEED, SCENE, 1, 0, 12, 40, 40), 40, 40, p)
    assert len(tiles) == p.tiles and all(s == 32 for _, _, s in tiles)  # 8 tiles of 32 px cannot be separate


@pytest.mark.parametrize("m,k", [(1, 1), (2, 2), (3, 2), (8, 2), (9, 3), (10, 3), (16, 4), (100, 25)])
def test_a_task_tiles_a_share_of_its_frames_drawn_by_key(m, k):
    """Quality tiles on k = max(min(m, 2), ceil(m / 4)) of a task's m frames, chosen by the task key: another key
    chooses others, and over many keys every frame is chosen about equally often (no frame a worker can skimp)."""
    from oracle.angv.adaptive import tiled_frames

    p = AngvParams()
    frames = list(range(10, 10 + m))
    chosen = tiled_frames(derive_key(SEED, SCENE, 1, TASK_FRAME, 12, W, H), frames, p)
    assert len(chosen) == k and chosen <= set(frames)
    assert chosen == tiled_frames(derive_key(SEED, SCENE, 1, TASK_FRAME, 12, W, H), list(reversed(frames)), p)
    counts = dict.fromkeys(frames, 0)
    keys = 400
    for task in range(keys):
        for f in tiled_frames(derive_key(SEED, SCENE, task, TASK_FRAME, 12, W, H), frames, p):
            counts[f] += 1
    share = k / m
    assert all(abs(c / keys - share) < 0.12 for c in counts.values()), counts
    if k < m:
        assert len({frozenset(tiled_frames(derive_key(SEED, SCENE, t, TASK_FRAME, 12, W, H), frames, p))
                    for t in range(20)}) > 1


def test_every_frame_is_tiled_when_the_share_is_one():
    from oracle.angv.adaptive import tiled_frames

    p = AngvParams(tile_share=1.0)
    assert tiled_frames(derive_key(SEED, SCENE, 1, TASK_FRAME, 12, W, H), list(range(1, 9)), p) == set(range(1, 9))
    with pytest.raises(ValueError):
        AngvParams(tile_share=0.0)


@pytest.mark.parametrize("size,expected", [((640, 360), (640, 360)), ((192, 108), (192, 108)),
                                           ((1920, 1080), (640, 360)), ((3840, 2160), (640, 360)),
                                           ((1080, 1920), (360, 640)), ((1000, 1000), (480, 480))])
def test_the_preview_fits_its_pixel_budget_keeping_the_aspect(size, expected):
    from oracle.angv.adaptive import preview_size

    assert preview_size(*size, AngvParams()) == expected


def test_a_small_preview_is_brought_to_the_frame_size_for_planning():
    """The preview is resized (bilinear) to the frame before planning: levels are kept on smooth areas, an edge
    stays an edge (smoothness is judged on it), and the same input gives the same bytes (anyone re-derives the plan)."""
    from oracle.angv.adaptive import fit_preview

    small = np.full((36, 64, 3), 80.0, np.float32)
    small[:, 32:] = 200.0  # a hard edge down the middle
    big = fit_preview(small, 192, 108)
    assert big.shape == (108, 192, 3)
    assert np.allclose(big[:, :90], 80.0) and np.allclose(big[:, 102:], 200.0)
    assert big[:, 90:102].std() > 10  # the edge is there
    assert np.array_equal(big, fit_preview(small, 192, 108))
    assert np.array_equal(fit_preview(big, 192, 108), big)  # a preview of the frame's size is used as it is
    plans = plan_regions(big, derive_key(SEED, SCENE, 1, 1, 12, 192, 108), AngvParams(), partial=True)
    for p in plans:  # no imprint's enveloping region straddles the edge
        r = p.region
        assert r.x0 + 2 * r.w <= 96 or r.x0 - r.w >= 96
