"""Clean delivery's patches (inferix.delivery): sealed with the task's seed, decoded strictly (a manager's or a
stranger's crafted file is answered with PatchError, never applied half-way), composited deterministically, and a
patch that is not the frame's clean render (its ring does not match the frame) is refused."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from inferix.delivery import (MAX_RING_DIFFERENCE, Patch, PatchError, composite, decode_patches, deliver_png,
                              encode_patches, open_patches, ring_difference, seal_patches)

W, H = 64, 40
SEED = bytes(range(32))


def _frame(rng) -> np.ndarray:
    return rng.integers(0, 256, (H, W, 3), dtype=np.uint8)


def _imprinted(clean: np.ndarray, patches: list[Patch]) -> np.ndarray:
    """The clean picture with a +20-level square inside each patch's footprint (4 px in from its edges)."""
    out = clean.astype(np.int16)
    for p in patches:
        x0, y0, x1, y1 = p.box
        out[y0 + 4:y1 - 4, x0 + 4:x1 - 4] += 20
    return np.clip(out, 0, 255).astype(np.uint8)


def _patches(clean: np.ndarray) -> list[Patch]:
    return [Patch(x, y, clean[y:y + 13, x:x + 12].copy()) for x, y in ((3, 2), (40, 20))]


def test_delivered_frames_are_the_clean_render_and_the_same_bytes_everywhere():
    rng = np.random.default_rng(1)
    clean = _frame(rng)
    patches = _patches(clean)
    worker = _imprinted(clean, patches)
    assert not np.array_equal(worker, clean)
    assert np.array_equal(composite(worker, patches), clean)
    buf = io.BytesIO()
    Image.fromarray(worker).save(buf, "PNG")
    first, second = deliver_png(buf.getvalue(), patches), deliver_png(buf.getvalue(), patches)
    assert first == second and np.array_equal(np.asarray(Image.open(io.BytesIO(first))), clean)


def test_patches_round_trip_sealed_and_open_only_with_the_seed():
    rng = np.random.default_rng(2)
    clean = _frame(rng)
    blob = encode_patches({1: _patches(clean), 2: []}, W, H)
    sealed = seal_patches(blob, SEED)
    assert blob not in sealed and b"png" not in sealed
    width, height, frames = open_patches(sealed, SEED)
    assert (width, height, sorted(frames)) == (W, H, [1, 2])
    assert all(np.array_equal(a.pixels, b.pixels) and a.box == b.box for a, b in zip(frames[1], _patches(clean)))
    with pytest.raises(ValueError):
        open_patches(sealed, bytes(32))
    with pytest.raises(ValueError):  # a manifest's seal is not a patches seal
        from inferix.sealing import seal
        open_patches(seal(blob, SEED), SEED)


def _body(**change) -> bytes:
    rng = np.random.default_rng(3)
    body = json.loads(encode_patches({1: _patches(_frame(rng))}, W, H))
    body.update(change)
    return json.dumps(body).encode()


@pytest.mark.parametrize("blob,says", [
    (b"not json", "malformed"),
    (_body(version=2), "version"),
    (_body(width="wide"), "malformed"),
    (_body(frames={"1": [{"x0": 60, "y0": 0, "png": json.loads(_body())["frames"]["1"][0]["png"]}]}), "outside"),
    (_body(frames={"1": [{"x0": -1, "y0": 0, "png": json.loads(_body())["frames"]["1"][0]["png"]}]}), "outside"),
    (_body(frames={"1": [{"x0": 0, "y0": 0, "png": base64.b64encode(b"GIF89a....").decode()}]}), "malformed"),
    (_body(frames={"1": [{"x0": 0, "y0": 0, "png": "***"}]}), "malformed"),
    (_body(frames={"1": [{"x0": 0, "y0": 0}]}), "malformed"),
    (_body(frames={"1": [json.loads(_body())["frames"]["1"][0]] * 65}), "at most 64"),
])
def test_a_crafted_patches_file_is_refused_with_a_reason(blob, says):
    with pytest.raises(PatchError, match=says):
        decode_patches(blob)


def test_a_patch_that_is_not_the_frames_clean_render_is_refused_and_nothing_is_half_applied():
    rng = np.random.default_rng(4)
    clean = _frame(rng)
    good, = _patches(clean)[:1]
    worker = _imprinted(clean, [good])
    assert ring_difference(worker, good) == 0.0
    # another frame's picture (a manager's garbage, a replayed patch): the ring does not match
    foreign = Patch(good.x0, good.y0, _frame(np.random.default_rng(5))[:13, :12])
    assert ring_difference(worker, foreign) > MAX_RING_DIFFERENCE
    with pytest.raises(PatchError, match="does not match the frame"):
        composite(worker, [good, foreign])
    # sampling noise of another seed (a GPU's) in the ring stays under the bound
    noisy = np.clip(worker.astype(np.int16) + np.random.default_rng(6).integers(-8, 9, worker.shape), 0, 255)
    assert np.array_equal(composite(noisy.astype(np.uint8), [good])[2:15, 3:15], good.pixels)
    with pytest.raises(PatchError, match="uint8"):
        composite(worker.astype(np.float32), [good])
    with pytest.raises(PatchError, match="needs the verified PNG"):
        buf = io.BytesIO()
        Image.fromarray(worker).save(buf, "JPEG")
        deliver_png(buf.getvalue(), [good])
