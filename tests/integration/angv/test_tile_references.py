"""The quality tiles' references rendered two ways (``oracle.angv.insertion.render_tile_references``): a border
render per tile and seed with the synced scene kept between them (large frames), or one full frame per seed the
tiles are cut from (small frames, where the crops would cover most of the picture). Without the denoiser a pixel's
samples do not depend on the border, so both ways give the same references; ``auto`` picks full frames at this
size; an unknown mode is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inferix.render import BlenderJobError, run_jobs
from oracle.angv import Manifest

pytestmark = pytest.mark.integration

ORDER = {"width": 192, "height": 108, "samples": 8, "denoise": False, "seed": 3}  # as the corpus: room for 12 imprints
SEED = bytes(range(32))


def _job(tmp_path, scene, mode: str) -> dict:
    return {"op": "prepare", "scene": str(scene), "out_blend": str(tmp_path / f"{mode}.blend"),
            "manifest": str(tmp_path / f"{mode}.json"), "seed": SEED.hex(), "task_id": 3, "frames": [1],
            "order": ORDER, "workdir": str(tmp_path / f"{mode}_work"), "tile_refs": mode}


def test_crops_and_full_frames_give_the_same_references(tmp_path):
    scene = tmp_path / "studio.blend"
    run_jobs([{"op": "make_scene", "name": "studio", "path": str(scene), "width": 192, "height": 108}])
    run_jobs([_job(tmp_path, scene, mode) for mode in ("crops", "full", "auto")])
    crops, full, auto = (Manifest.load(tmp_path / f"{m}.json").frames[1].tiles for m in ("crops", "full", "auto"))
    assert len(crops) == len(full) == 16
    assert [(t.x0, t.y0, t.size) for t in crops] == [(t.x0, t.y0, t.size) for t in full]
    for c, f in zip(crops, full):
        assert np.abs(c.ref_a.astype(int) - f.ref_a.astype(int)).max() <= 1
        assert np.abs(c.ref_b.astype(int) - f.ref_b.astype(int)).max() <= 1
        assert not np.array_equal(c.ref_a, c.ref_b)  # two sampling seeds
    assert (tmp_path / "auto_work" / "tiles_1_3.png").exists()  # auto: full frames at this size
    assert not list((tmp_path / "auto_work").glob("tile_1_*"))
    with pytest.raises(BlenderJobError, match="unknown tile reference mode"):
        run_jobs([_job(tmp_path, scene, "sideways")])
    assert json.loads((tmp_path / "full.json").read_text())  # the manifests were written whole
