"""Version 4's cheaper preparation on real renders: a preview smaller than the frame still places imprints an honest
frame shows, and a task's quality tiles sit on the frames its key draws, which catch a cheap render there."""

from __future__ import annotations

import pytest
from PIL import Image

from oracle.angv import Manifest, load_frame, verify_frame
from oracle.angv.adaptive import tiled_frames
from oracle.angv.keys import TASK_FRAME, derive_key

from .conftest import _prepare

W, H = 192, 108
FRAMES = [1, 2, 3, 4, 5]
ORDER = {"width": W, "height": H, "samples": 16, "denoise": False, "seed": 3}
#: a 64x36 preview of the 192x108 frame: the scale 1920x1080 gets with the default budget (640x360)
PARAMS = {"preview_pixels": 64 * 36}
SEED = bytes(range(40, 72))


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    from inferix.render import render_job, run_jobs

    root = tmp_path_factory.mktemp("prep")
    scene = root / "flyby.blend"
    run_jobs([{"op": "make_scene", "name": "flyby", "path": str(scene), "width": W, "height": H}])
    run_jobs([_prepare(scene, root, "t", SEED, 3, FRAMES, ORDER, params=PARAMS)])
    m = Manifest.load(root / "t.json")
    tiled = sorted(f for f in FRAMES if m.frames[f].tiles)
    untiled = next(f for f in FRAMES if f not in tiled)
    jobs, renders = [], {}
    for name, frame, order in [("honest_tiled", tiled[0], {**ORDER, "seed": 99}),
                               ("honest_untiled", untiled, {**ORDER, "seed": 99}),
                               ("eighth_tiled", tiled[0], {**ORDER, "samples": 2, "seed": 99})]:
        renders[name] = (frame, root / f"{name}.png")
        jobs.append(render_job(str(root / "t.blend"), str(renders[name][1]), order, frame=frame))
    run_jobs(jobs)
    return root, m, tiled, renders


def test_the_preview_is_rendered_within_its_budget(task):
    root, m, _, _ = task
    assert m.params.preview_pixels == 64 * 36 and m.version == 4
    for f in FRAMES:
        assert Image.open(root / "t_work" / f"preview_{f}.png").size == (64, 36)


def test_tiles_sit_on_the_frames_the_task_key_draws(task):
    _, m, tiled, _ = task
    key = derive_key(SEED, bytes.fromhex(m.scene_digest), 3, TASK_FRAME, m.params.n, W, H)
    assert set(tiled) == tiled_frames(key, FRAMES, m.params)
    assert len(tiled) == 2  # max(min(5, 2), ceil(5 / 4))
    assert all(len(m.frames[f].tiles) == m.params.tiles for f in tiled)


@pytest.mark.parametrize("render", ["honest_tiled", "honest_untiled"])
def test_honest_frames_pass_with_imprints_placed_from_the_small_preview(task, render):
    """At another sampling seed, as a GPU renders: every imprint shows (a preview too coarse to see texture would put
    some where the frame is not smooth, and they would fail), and the tiled frame passes its quality check."""
    _, m, _, renders = task
    frame, path = renders[render]
    r = verify_frame(load_frame(path, (W, H)), m.frames[frame], m.params)
    assert r.accepted, r.reason
    assert r.passed == r.n == 12
    assert (r.quality > 0) == (render == "honest_tiled")


def test_a_cheap_render_of_a_tiled_frame_is_refused(task):
    _, m, _, renders = task
    frame, path = renders["eighth_tiled"]
    r = verify_frame(load_frame(path, (W, H)), m.frames[frame], m.params)
    assert not r.accepted and not r.quality_accepted
