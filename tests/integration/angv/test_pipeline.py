"""End to end on tiny Blender renders: honest frames pass, attacks (a)-(g) fail, geometry holds."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from oracle.angv import verify_frame
from oracle.angv.attacks import (blank, forge_patches, likeliest_area, partial_render, random_image, splice,
                                 tile_coverage, upscale)
from oracle.angv.frames import load_frame

W, H = 192, 108  # as in conftest.py
FLYBY_FRAMES = [1, 3]


# Regions of a frame without the right imprints still pass now and then: the measured null rate is ~1 % per
# region (docs/angv.md), and the keys change from run to run with the scene file's digest (a saved .blend differs
# byte for byte). At up to 5 % per region, 5 or more of 12 happen with probability < 3e-4; 9 are needed.
CHANCE_PASSES = 4


def _verify(corpus, manifest: str, render: str, frame: int = 1):
    m = corpus.manifest(manifest)
    return verify_frame(corpus.frame(render), m.frames[frame], m.params)


@pytest.mark.parametrize(
    "manifest,render,frame",
    [("studio_t7", "studio_honest", 1), ("dark_room_t7", "dark_room_honest", 1),
     ("flyby_t7", "flyby_honest_1", 1), ("flyby_t7", "flyby_honest_3", 3),
     ("studio_t7", "studio_jpeg", 1), ("studio_t7", "studio_exr", 1)],
)
def test_honest_frames_pass(corpus, manifest, render, frame):
    """PNG and EXR as the network judges them; the honest JPEG in the research mode (``lossy``), where its own
    encoding error is allowed for (the network refuses JPEG: test_network_refuses_jpeg_of_any_quality)."""
    m = corpus.manifest(manifest)
    r = verify_frame(corpus.frame(render), m.frames[frame], m.params, lossy=render.endswith("jpeg"))
    assert r.accepted, r.reason
    assert r.passed == r.n == 12
    assert r.whitepaper_accepted
    assert all(0.7 < s.z < 1.3 for s in r.regions)


def test_honest_render_with_another_sampling_seed_passes(corpus):
    """A worker whose device gives other sampling noise (e.g. a GPU) is not rejected by the quality tiles."""
    r = _verify(corpus, "studio_t7", "studio_otherseed")
    assert r.accepted, r.reason
    assert r.quality > 0.5  # an independent third draw (Q ~ 1), not a copy of the manager's reference (Q ~ 1/3)


def test_codec_is_detected(corpus):
    assert corpus.frame("studio_jpeg").codec == "jpeg"
    assert corpus.frame("studio_exr").codec == "exr"
    assert corpus.frame("studio_honest").pixels.dtype == np.uint8


def test_attack_a_no_rendering(corpus):
    m = corpus.manifest("studio_t7")
    rng = np.random.default_rng(1)
    stock = load_frame(corpus.renders["dark_room_honest"]).pixels  # an unrelated picture of the right size
    for img in (blank(W, H), blank(W, H, 30), random_image(W, H, rng), stock):
        r = verify_frame(img, m.frames[1], m.params)
        assert not r.accepted
        assert not r.noise_accepted
        assert r.passed <= CHANCE_PASSES


def test_attack_b_other_task_and_other_key(corpus):
    mine, other = corpus.manifest("studio_t7"), corpus.manifest("studio_other")
    assert {r.box for r in mine.frames[1].regions} != {r.box for r in other.frames[1].regions}
    r = verify_frame(corpus.frame("studio_other_honest"), mine.frames[1], mine.params)
    assert not r.accepted and r.passed <= CHANCE_PASSES
    # and the other task's own frame is fine under its own key (the attack, not the frame, is wrong)
    assert verify_frame(corpus.frame("studio_other_honest"), other.frames[1], other.params).accepted


@pytest.mark.parametrize("scene", ["studio", "dark_room"])
def test_attack_c_quarter_resolution_upscaled(corpus, scene):
    small = load_frame(corpus.renders[f"{scene}_quarter"]).pixels
    assert small.shape[:2] == (H // 2, W // 2)
    m = corpus.manifest(f"{scene}_t7")
    r = verify_frame(upscale(small, W, H), m.frames[1], m.params, codec="png")
    assert not r.accepted
    assert not r.quality_accepted or not r.noise_accepted


def test_attack_d_eighth_samples_caught_by_quality_check(corpus):
    for manifest, render, frame in (("studio_t7", "studio_eighth", 1), ("flyby_t7", "flyby_eighth_1", 1)):
        r = _verify(corpus, manifest, render, frame)
        if manifest == "studio_t7":  # 4 samples: the imprints are there, the noise test alone cannot tell
            assert r.noise_accepted
        assert not r.quality_accepted and not r.accepted
        assert r.quality > 2 * corpus.manifest(manifest).params.quality_max


def test_attack_d_eighth_samples_with_the_denoiser_on(corpus):
    """The denoiser hides most of the missing samples; the pooled, trimmed tile score still separates them."""
    m = corpus.manifest("studio_dn")
    honest = _verify(corpus, "studio_dn", "studio_dn_otherseed")
    assert honest.accepted, honest.reason
    cheap = _verify(corpus, "studio_dn", "studio_dn_eighth")
    assert cheap.noise_accepted  # the imprints survive 4 denoised samples
    assert not cheap.quality_accepted and not cheap.accepted
    assert cheap.quality > m.params.quality_max > honest.quality
    assert "quality: score" in cheap.reason


def _jpeg(px: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(px).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _png(px: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(px).save(buf, "PNG")
    return buf.getvalue()


def test_jpeg_allowance_is_measured_with_the_files_own_tables(corpus):
    """Research mode (lossy=True): an honest frame saved as JPEG passes because the verifier re-encodes its
    references with the tables the file's components use."""
    m = corpus.manifest("studio_dn")
    frame = load_frame(_jpeg(corpus.frame("studio_dn_otherseed").pixels, 85), (W, H))
    assert frame.codec == "jpeg" and len(frame.jpeg_options["qtables"]) == 3  # Y, Cb, Cr
    r = verify_frame(frame, m.frames[1], m.params, lossy=True)
    assert r.accepted, r.reason
    as_lossless = verify_frame(frame.pixels, m.frames[1], m.params, codec="png")  # the same pixels, no allowance
    assert as_lossless.quality > r.quality


def test_network_refuses_jpeg_of_any_quality(corpus):
    """The network judges lossless frames only (docs/angv.md): honest PNG passes, an honest JPEG is refused with a
    clear reason, and the issue's cheat -- 1/8 of the samples, denoised, saved as JPEG q30 or q20 -- is refused
    both as a JPEG and as its decoded pixels delivered in PNG."""
    m = corpus.manifest("studio_dn")
    honest = corpus.frame("studio_dn_otherseed")
    assert verify_frame(honest, m.frames[1], m.params).accepted
    for q in (90, 30, 20):
        r = verify_frame(load_frame(_jpeg(honest.pixels, q), (W, H)), m.frames[1], m.params)
        assert not r.accepted and "lossless frames only" in r.reason
    cheap = corpus.frame("studio_dn_eighth").pixels
    for q in (30, 20):
        as_jpeg = verify_frame(load_frame(_jpeg(cheap, q), (W, H)), m.frames[1], m.params)
        assert not as_jpeg.accepted
        decoded = load_frame(_png(load_frame(_jpeg(cheap, q)).pixels), (W, H))
        as_png = verify_frame(decoded, m.frames[1], m.params)
        assert decoded.codec == "png" and not as_png.quality_accepted and not as_png.accepted


@pytest.mark.parametrize("manifest,render,frame", [("studio_t7", "studio_stripped", 1),
                                                   ("dark_room_t7", "dark_room_stripped", 1),
                                                   ("flyby_t7", "flyby_stripped_3", 3)])
def test_attack_e_carriers_removed(corpus, manifest, render, frame):
    assert sorted(corpus.removed[render]) == sorted(corpus.manifest(manifest).carriers)  # the heuristic works...
    r = _verify(corpus, manifest, render, frame)
    assert not r.accepted and not r.noise_accepted  # ...and gains nothing
    assert r.passed <= CHANCE_PASSES


def test_attack_f_cheap_render_plus_forged_patches(corpus):
    """A render without the noise (carriers stripped) plus imprint-like steps where the algorithm could put them."""
    m = corpus.manifest("studio_t7")
    rng = np.random.default_rng(5)
    for base in ("studio_stripped", "studio_eighth"):
        cheap = corpus.frame(base).pixels
        for count in (12, 40):
            forged = forge_patches(cheap, count, rng, m.params)
            assert np.count_nonzero(np.any(forged != cheap, axis=2)) >= 4 * count
            r = verify_frame(forged, m.frames[1], m.params)
            assert not r.accepted
            if base == "studio_stripped":
                assert not r.noise_accepted and r.passed <= CHANCE_PASSES  # guessing positions does not work


def test_attack_g_splice_passes_noise_but_fails_quality(corpus):
    m = corpus.manifest("studio_t7")
    honest = corpus.frame("studio_honest").pixels
    cheap = upscale(load_frame(corpus.renders["studio_quarter"]).pixels, W, H)
    boxes = corpus.found["boxes"]["1"]
    assert len(boxes) == m.params.n  # the attacker finds every carrier and its imprint in the .blend
    pad = 6  # re-render each carrier patch with its surround at full quality (here: cut from an honest render)
    patches = []
    for x0, y0, x1, y1 in boxes:
        a, b = max(0, x0 - pad), max(0, y0 - pad)
        patches.append((a, b, honest[b : y1 + pad, a : x1 + pad]))
    r = verify_frame(splice(cheap, patches), m.frames[1], m.params)
    assert r.noise_accepted  # the noise test is fooled by the splice
    assert not r.quality_accepted and not r.accepted  # the secret tiles are not


# Only the likeliest 15 %: at 50 % of the frame rendered at full quality the check is not reliable -- measured 74 %
# accepted at 256x144 (docs/angv.md, "Partial renders, measured"), and on this corpus the worst half scored 2.32
# against the 2.5 bound in one run -- a known limit, not a property to assert.
@pytest.mark.parametrize("fraction", [0.15])
def test_attack_h_partial_render_is_caught(corpus, fraction):
    """Full quality on the likeliest part of the frame -- by the attacker's run of the public tile rule with random
    keys on its own cheap render -- and 1/8 of the samples, denoised, elsewhere (issue 14: 16 of 18 such frames
    passed version 2 at 15 %). The tiles are drawn uniformly by key, so any half the attacker picks holds about
    half of them, and the worst half of the tiles is judged on its own."""
    m = corpus.manifest("studio_dn")
    full = corpus.frame("studio_dn_otherseed").pixels
    cheap = corpus.frame("studio_dn_eighth").pixels
    cover = tile_coverage(cheap, m.params, 200, np.random.default_rng(3))
    mask = likeliest_area(cover, fraction)
    assert abs(mask.mean() - fraction) < 0.1
    r = verify_frame(partial_render(full, cheap, mask), m.frames[1], m.params, codec="png")
    assert r.noise_accepted  # the imprints are in both parts
    assert not r.quality_accepted and not r.accepted, (r.quality, r.quality_half)
    assert r.score < 1.0


def test_fidelity_psnr(corpus):
    clean = corpus.frame("studio_clean").pixels.astype(np.float64)
    noised = corpus.frame("studio_honest").pixels.astype(np.float64)
    mse = np.mean((clean - noised) ** 2)
    assert mse > 0
    psnr = 10 * np.log10(255**2 / mse)
    assert psnr > 38.0  # 12 imprints on a 192x108 frame; at 1080p the same imprints give > 60 dB


def test_geometry_on_animated_camera(corpus):
    m = corpus.manifest("flyby_t7")
    assert set(corpus.geometry) == set(FLYBY_FRAMES)
    boxes_by_frame = []
    for f, rows in corpus.geometry.items():
        assert len(rows) == m.params.n
        regions = {r.index: r for r in m.frames[f].regions}
        for i, row in enumerate(rows):
            assert row["rot_diff"] < 1e-4  # the camera's rotation
            assert all(row["visible"])  # corners and centre not occluded
            assert row["collisions"] == []  # no collision with scene geometry
            x0, y0, x1, y1 = row["box"]
            assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H  # inside the frustum
            z0, z1 = row["depth"]
            assert row["clip"][0] < z0 <= z1 < row["clip"][1]
            r = regions[i]
            assert (round(x0), round(y0), round(x1), round(y1)) == (r.x0, r.y0, r.x0 + r.w, r.y0 + r.h)
            assert 4 <= r.w <= 7 and 4 <= r.h <= 7
        # imprints do not overlap each other (no carrier hides another)
        bs = [tuple(row["box"]) for row in rows]
        for a in range(len(bs)):
            for b in range(a + 1, len(bs)):
                A, B = bs[a], bs[b]
                assert A[2] <= B[0] or B[2] <= A[0] or A[3] <= B[1] or B[3] <= A[1]
        boxes_by_frame.append(sorted(bs))
        depths = sorted(row["depth"][0] for row in rows)
        assert depths[-1] > 1.5 * depths[0]  # varied distances from the camera
    assert boxes_by_frame[0] != boxes_by_frame[1]  # the carriers follow the camera to each frame's own key


def test_preparation_is_deterministic(corpus):
    """Public re-verification: the same seed, scene, task and order give the same manifest."""
    assert corpus.digests["studio_t7"] == corpus.digests["studio_again"]
    assert corpus.digests["studio_t7"] != corpus.digests["studio_other"]


def test_gltf_scene(corpus):
    m = corpus.manifest("glb_t7")
    assert len(m.frames[1].regions) == m.params.n
    r = verify_frame(corpus.frame("glb_honest"), m.frames[1], m.params)
    assert r.noise_accepted and r.passed == r.n


def test_carrier_names_blend_in(corpus):
    m = corpus.manifest("studio_t7")
    for name in m.carriers:
        base, _, suffix = name.partition(".")
        assert suffix.isdigit() and len(suffix) == 3
        assert "noise" not in name.lower() and "angv" not in name.lower() and "carrier" not in name.lower()
    assert len(set(n.partition(".")[0] for n in m.carriers)) > 1
