"""Frame decoding limits and errors, and the verification rules on synthetic frames; no Blender."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from oracle.angv.adaptive import plan_regions
from oracle.angv.frames import FrameError, load_frame
from oracle.angv.keys import derive_key
from oracle.angv.manifest import FrameManifest, Manifest, RenderOrder, Tile
from oracle.angv.params import AngvParams
from oracle.angv.verify import binom_tail, required_passes, trimmed_mean, verify_frame, whitepaper_full_frame

W, H = 320, 180


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def scene_image() -> np.ndarray:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:H, 0:W]
    lum = 50 + 150 * (x / W) + 10 * np.sin(y / 17.0)
    img = np.repeat(lum[..., None], 3, axis=2) + rng.normal(0, 0.8, (H, W, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def setup():
    p = AngvParams()
    clean = scene_image()
    plans = plan_regions(clean, derive_key(bytes(32), bytes(32), 1, 1, p.n, W, H), p)
    noised = clean.astype(np.float32)
    for pl in plans:
        r = pl.region
        noised[r.y0 : r.y0 + r.h, r.x0 : r.x0 + r.w] = pl.target_rgb
    noised = np.clip(np.rint(noised), 0, 255).astype(np.uint8)
    tile = Tile(10, 10, 24, noised[10:34, 10:34].copy(), noised[10:34, 10:34].copy())
    fm = FrameManifest(1, [pl.region for pl in plans], [tile])
    return p, clean, noised, fm


def test_required_passes_and_bound():
    assert required_passes(12, 0.10, 1e-6) == (9, pytest.approx(binom_tail(12, 9, 0.10)))
    k, bound = required_passes(12, 0.10, 1e-6)
    assert bound <= 1e-6 < binom_tail(12, k - 1, 0.10)
    assert required_passes(2, 0.10, 1e-6)[0] == 2  # small n cannot reach the target: all regions required
    assert binom_tail(12, 0, 0.3) == 1.0 and binom_tail(12, 12, 1.0) == pytest.approx(1.0)


def test_synthetic_noised_frame_passes_and_clean_fails(setup):
    p, clean, noised, fm = setup
    ok = verify_frame(noised, fm, p)
    assert ok.accepted and ok.passed == 12 and ok.whitepaper_accepted
    assert ok.false_accept_bound <= p.false_accept_target
    bad = verify_frame(clean, fm, p, quality=False)
    assert not bad.noise_accepted and bad.passed == 0 and not bad.whitepaper_accepted


def test_shifted_noise_fails(setup):
    p, _, noised, fm = setup
    shifted = np.roll(noised, 7, axis=1)
    assert not verify_frame(shifted, fm, p, quality=False).noise_accepted


def test_whitepaper_rule_matches_full_frame_baseline(setup):
    p, clean, noised, fm = setup
    assert whitepaper_full_frame(noised, fm) == verify_frame(noised, fm, p).whitepaper_accepted is True
    assert whitepaper_full_frame(clean, fm) == verify_frame(clean, fm, p).whitepaper_accepted is False


def test_manifest_roundtrip(setup):
    p, _, noised, fm = setup
    m = Manifest(1, p, 3, "00" * 32, "11" * 32, RenderOrder(W, H, 64, True, 2), ["Plane.001"], {1: fm})
    m2 = Manifest.from_json(m.to_json())
    assert m2.digest() == m.digest()
    assert verify_frame(noised, m2.frames[1], m2.params).accepted
    assert np.array_equal(m2.frames[1].tiles[0].ref_a, fm.tiles[0].ref_a)


def test_png_jpeg_roundtrip(setup):
    _, _, noised, _ = setup
    f = load_frame(png_bytes(noised), (W, H))
    assert f.codec == "png" and np.array_equal(f.pixels, noised)
    buf = io.BytesIO()
    Image.fromarray(noised).save(buf, "JPEG", quality=90)
    j = load_frame(buf.getvalue(), (W, H))
    assert j.codec == "jpeg" and j.pixels.shape == (H, W, 3)


def test_exr_roundtrip(tmp_path):
    import OpenEXR

    lin = np.random.default_rng(1).random((H, W, 3)).astype(np.float32)
    path = tmp_path / "f.exr"
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}, {"RGB": lin}).write(str(path))
    f = load_frame(path, (W, H))
    assert f.codec == "exr" and f.pixels.dtype == np.float32
    assert 0 <= f.pixels.min() and f.pixels.max() <= 255
    assert np.corrcoef(f.pixels.ravel(), lin.ravel())[0, 1] > 0.95
    data = path.read_bytes()
    with pytest.raises(FrameError):
        load_frame(data[: len(data) // 2], (W, H))
    with pytest.raises(FrameError):
        load_frame(path, (W + 1, H))


def test_bad_images_raise_frame_error(setup, tmp_path):
    _, _, noised, _ = setup
    good = png_bytes(noised)
    cases = {
        "truncated": good[: len(good) // 2],
        "garbage": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        "not an image": b"hello world",
        "empty": b"",
        "jpeg header only": b"\xff\xd8\xff\xe0" + b"\x00" * 20,
    }
    for name, data in cases.items():
        with pytest.raises(FrameError):
            load_frame(data, (W, H))
    with pytest.raises(FrameError, match="differs from the ordered"):
        load_frame(good, (W + 2, H))
    with pytest.raises(FrameError, match="limit"):
        load_frame(good, max_pixels=1000)
    with pytest.raises(FrameError, match="byte"):
        load_frame(good, max_bytes=100)
    with pytest.raises(FrameError):
        load_frame(tmp_path / "missing.png")


def test_decompression_bomb_header_is_refused_before_decoding():
    """A tiny PNG whose header claims 100000 x 100000 pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(
        b"IEND", b"")
    with pytest.raises(FrameError, match="limit"):
        load_frame(bomb)


def test_region_at_frame_edge_does_not_crash(setup):
    p, _, noised, fm = setup
    r = fm.regions[0]
    from dataclasses import replace

    edge = FrameManifest(1, [replace(r, x0=W - r.w, y0=0)] + fm.regions[1:], [])
    res = verify_frame(noised, edge, p)
    assert not res.regions[0].passed and res.passed == 11


def test_trimmed_mean():
    x = np.arange(100, dtype=np.float64)
    assert trimmed_mean(x, 0.0) == pytest.approx(49.5)
    assert trimmed_mean(x, 0.1) == pytest.approx(44.5)  # the 10 largest left out
    assert trimmed_mean(np.array([1.0, 1e9]), 0.5) == 1.0


def _noisy_tiles(rng, sigma: float, count: int = 8, size: int = 32, texture: bool = True):
    """A frame, two reference renders of its tiles and the truth, with Gaussian sampling noise."""
    truth = scene_image().astype(np.float64)
    if texture:
        truth[:, ::3] += 25
    draw = lambda s: np.clip(np.rint(truth + rng.normal(0, s, truth.shape[:2])[..., None]), 0, 255).astype(np.uint8)
    a, b = draw(sigma), draw(sigma)
    pos = [(int(x), int(y)) for x, y in zip(rng.integers(0, W - size, count), rng.integers(0, H - size, count))]
    tiles = [Tile(x, y, size, a[y : y + size, x : x + size].copy(), b[y : y + size, x : x + size].copy())
             for x, y in pos]
    return truth, draw, FrameManifest(1, [], tiles)


def test_quality_score_separates_fewer_samples_and_ignores_fireflies():
    p = AngvParams()
    rng = np.random.default_rng(3)
    sigma = 4.0
    _, draw, fm = _noisy_tiles(rng, sigma)
    honest = [verify_frame(draw(sigma), fm, p) for _ in range(20)]
    assert all(r.quality_accepted for r in honest)
    assert 0.8 < np.mean([r.quality for r in honest]) < 1.2  # a third independent draw: Q ~ 1
    eighth = [verify_frame(draw(sigma * np.sqrt(8)), fm, p) for _ in range(20)]  # 1/8 of the samples
    assert all(not r.quality_accepted and r.quality > 3 * p.quality_max for r in eighth)
    half = verify_frame(draw(sigma * 1.6), fm, p)  # 0.4x the samples, variance x2.56: Q ~ 2
    assert not half.quality_accepted
    # an honest render with fireflies in 2 % of its pixels passes thanks to the trimmed means...
    spiky = draw(sigma)
    mask = rng.random(spiky.shape[:2]) < 0.02
    spiky[mask] = 255
    assert verify_frame(spiky, fm, p).quality_accepted
    # ...and would not with plain means
    from dataclasses import replace

    assert not verify_frame(spiky, fm, replace(p, quality_trim=0.0)).quality_accepted


def test_quality_rejects_a_smooth_upscale_by_high_frequency_energy():
    p = AngvParams()
    rng = np.random.default_rng(4)
    truth, _, fm = _noisy_tiles(rng, 6.0, texture=False)
    smooth = np.clip(np.rint(truth), 0, 255).astype(np.uint8)  # no grain at all: closer to the mean than a render
    r = verify_frame(smooth, fm, p)
    assert r.quality <= p.quality_max  # the score alone is fooled...
    assert not r.quality_accepted and r.hf < p.hf_ratio_min  # ...the high-frequency energy is not
    assert "high-frequency energy" in r.reason


def test_tiles_outside_the_frame_fail_clearly():
    p = AngvParams()
    _, draw, fm = _noisy_tiles(np.random.default_rng(5), 3.0)
    small = draw(3.0)[: H // 2, : W // 2]
    r = verify_frame(small, fm, p)
    assert not r.quality_accepted and "outside the frame" in r.reason
