"""Clean delivery on real renders (docs/angv.md, "Clean delivery"): the manager's prepare renders each carrier's
footprint from the clean scene (the patches); the worker's honest frame at the ordered seed, verified with its
imprints, becomes after compositing a frame in which no footprint differs from the clean render more than two clean
renders at different sampling seeds differ there (ꟻLIP, the perceptual metric), and at most 0.05; the imprints
themselves differ far more. The studio scene's backdrop is the flat background where imprints show most."""

from __future__ import annotations

import numpy as np
import pytest

from inferix.delivery import composite, decode_patches
from inferix.render import render_job, run_jobs
from oracle.angv import Manifest, load_frame, verify_frame

pytestmark = pytest.mark.integration

W, H = 192, 108
ORDER = {"width": W, "height": H, "samples": 16, "denoise": True, "seed": 3}


def _flip(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    import flip_evaluator

    error, _, _ = flip_evaluator.evaluate(a.astype(np.float32) / 255, b.astype(np.float32) / 255, "LDR",
                                          applyMagma=False)
    return np.asarray(error)[..., 0] if np.ndim(error) == 3 else np.asarray(error)


def test_delivered_frames_show_no_imprint_and_still_verify(tmp_path):
    scene = tmp_path / "studio.blend"
    run_jobs([{"op": "make_scene", "name": "studio", "path": str(scene), "width": W, "height": H}])
    run_jobs([{"op": "prepare", "scene": str(scene), "out_blend": str(tmp_path / "noised.blend"),
               "manifest": str(tmp_path / "manifest.json"), "seed": bytes(range(32)).hex(), "task_id": 5,
               "frames": [1], "order": ORDER, "workdir": str(tmp_path / "prep"), "patches": str(tmp_path / "p.json")}])
    run_jobs([render_job(str(tmp_path / "noised.blend"), str(tmp_path / "worker.png"), ORDER),
              render_job(str(scene), str(tmp_path / "clean.png"), ORDER),
              render_job(str(scene), str(tmp_path / "clean_99.png"), {**ORDER, "seed": 99})])
    m = Manifest.load(tmp_path / "manifest.json")
    worker = load_frame(tmp_path / "worker.png", (W, H))
    assert verify_frame(worker, m.frames[1], m.params).accepted  # the worker's frames are what the oracles judge
    width, height, patches = decode_patches((tmp_path / "p.json").read_bytes())
    assert (width, height) == (W, H) and len(patches[1]) == len(m.frames[1].regions) == 12
    delivered = composite(worker.pixels, patches[1])
    clean = load_frame(tmp_path / "clean.png", (W, H)).pixels
    other = load_frame(tmp_path / "clean_99.png", (W, H)).pixels
    noised_err, delivered_err, seeds_err = _flip(clean, worker.pixels), _flip(clean, delivered), _flip(clean, other)
    rows = []
    for r in m.frames[1].regions:
        box = (slice(r.y0, r.y0 + r.h), slice(r.x0, r.x0 + r.w))
        rows.append((float(noised_err[box].mean()), float(delivered_err[box].mean()), float(seeds_err[box].mean())))
    noised, cleaned, seeds = (np.array(c) for c in zip(*rows))
    assert noised.mean() > 0.1  # the imprints are visible before delivery
    assert cleaned.max() <= 0.01 and cleaned.max() <= seeds.min(), rows  # the clean render itself, to the pixel
    # outside the patches the delivered frame is the worker's, pixel for pixel
    mask = np.ones((H, W), bool)
    for p in patches[1]:
        x0, y0, x1, y1 = p.box
        mask[y0:y1, x0:x1] = False
    assert np.array_equal(delivered[mask], worker.pixels[mask])
