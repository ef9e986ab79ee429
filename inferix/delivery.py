"""Clean delivery: the frames a creator receives carry no ANGV imprint.

The manager renders, when it noises a task, each carrier's footprint (its imprint's box plus a margin) from the
*clean* scene at the ordered settings and sampling seed: the task's **patches**. They travel in the task's package
sealed with the task's seed (``PACKAGE_PATCHES``, label ``b"patches"``), so nobody opens them before the seed is
revealed, when the worker's frames are already committed; from then on they are public, as the frames are.

Delivery is a pure function of public data: ``delivered = composite(worker frame, patches of that frame)``, each
patch's pixels replacing the frame's at its box, written as PNG with fixed settings. Anyone can recompute a
delivered frame from the worker's frames (which the oracles verified and which stay on IPFS) and the opened patches,
and get the same bytes: the creator's SDK does it on download (``InferixClient.download``), and a dApp can do the
same in the browser. A CPU worker's honest render at the ordered seed equals the clean render outside the carriers'
reach, so the delivered frame equals the clean render there too; a GPU's other sampling noise differs from the patch
by no more than two clean renders differ (docs/angv.md, "Clean delivery").
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from inferix.sealing import seal, unseal

PATCHES_VERSION = 1
PATCHES_LABEL = b"patches"
MAX_PATCHES_PER_FRAME = 64  # ANGV places n = 12 carriers per frame; more is a malformed (or hostile) file


class PatchError(ValueError):
    """A patches file that is malformed, or patches that do not fit the frame they are applied to."""


@dataclass(frozen=True)
class Patch:
    x0: int
    y0: int
    pixels: np.ndarray  # uint8 (h, w, 3), the clean render at the box (x0, y0, x0 + w, y0 + h)

    @property
    def box(self) -> tuple[int, int, int, int]:
        h, w = self.pixels.shape[:2]
        return self.x0, self.y0, self.x0 + w, self.y0 + h


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8), "RGB").save(buf, "PNG", optimize=False,
                                                                             compress_level=6)
    return buf.getvalue()


def encode_patches(frames: dict[int, list[Patch]], width: int, height: int) -> bytes:
    """The patches file (JSON; each patch a PNG in base64), before sealing."""
    body = {"version": PATCHES_VERSION, "width": width, "height": height,
            "frames": {str(f): [{"x0": p.x0, "y0": p.y0, "png": base64.b64encode(_png(p.pixels)).decode()}
                                for p in patches] for f, patches in sorted(frames.items())}}
    return json.dumps(body, separators=(",", ":")).encode()


def decode_patches(blob: bytes) -> tuple[int, int, dict[int, list[Patch]]]:
    """``(width, height, {frame: patches})`` of a patches file; :class:`PatchError` says what is wrong with it."""
    try:
        body = json.loads(blob)
        if body.get("version") != PATCHES_VERSION:
            raise PatchError(f"patches version {body.get('version')!r}, expected {PATCHES_VERSION}")
        width, height = int(body["width"]), int(body["height"])
        frames: dict[int, list[Patch]] = {}
        for f, items in body["frames"].items():
            if len(items) > MAX_PATCHES_PER_FRAME:
                raise PatchError(f"frame {f}: {len(items)} patches (at most {MAX_PATCHES_PER_FRAME})")
            patches = []
            for item in items:
                img = Image.open(io.BytesIO(base64.b64decode(item["png"], validate=True)))
                if img.format != "PNG" or img.width * img.height > width * height:
                    raise PatchError(f"frame {f}: a patch is not a PNG within the frame's size")
                patch = Patch(int(item["x0"]), int(item["y0"]), np.asarray(img.convert("RGB")))
                _check_box(patch, width, height)
                patches.append(patch)
            frames[int(f)] = patches
    except PatchError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise PatchError(f"malformed patches file: {exc}") from exc
    return width, height, frames


def _check_box(patch: Patch, width: int, height: int) -> None:
    x0, y0, x1, y1 = patch.box
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height or x1 <= x0 or y1 <= y0:
        raise PatchError(f"patch box {patch.box} is outside the {width}x{height} frame")


def seal_patches(plaintext: bytes, seed: bytes) -> bytes:
    return seal(plaintext, seed, PATCHES_LABEL)


def open_patches(sealed: bytes, seed: bytes) -> tuple[int, int, dict[int, list[Patch]]]:
    """Unseal with the task's seed and decode; ``ValueError`` (or :class:`PatchError`) when it does not open."""
    return decode_patches(unseal(sealed, seed, PATCHES_LABEL))


RING = 2  # px: the outermost ring of a patch lies outside its carrier's footprint (the patches' margin is 4 px)
#: mean absolute difference (levels, 0-255) allowed between a patch's ring and the verified frame there: the ring is
#: the same clean picture in both, so it differs by sampling noise only (a GPU's other seed: a few levels); a
#: manager's garbage or another frame's patch differs by tens
MAX_RING_DIFFERENCE = 24.0


def ring_difference(pixels: np.ndarray, patch: Patch, ring: int = RING) -> float:
    """Mean absolute difference between the patch's outer ``ring`` px and the frame's pixels there."""
    x0, y0, x1, y1 = patch.box
    here = pixels[y0:y1, x0:x1].astype(np.int16)
    mask = np.ones(here.shape[:2], bool)
    mask[ring:-ring or None, ring:-ring or None] = False
    if not mask.any():
        return 0.0
    return float(np.abs(here[mask] - patch.pixels.astype(np.int16)[mask]).mean())


def composite(pixels: np.ndarray, patches: list[Patch]) -> np.ndarray:
    """The delivered frame: a copy of ``pixels`` (uint8 (H, W, 3)) with each patch's box replaced by the patch."""
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise PatchError(f"frame pixels must be uint8 (H, W, 3), got {pixels.dtype} {pixels.shape}")
    out = pixels.copy()
    height, width = pixels.shape[:2]
    for patch in patches:
        _check_box(patch, width, height)
        off = ring_difference(pixels, patch)
        if off > MAX_RING_DIFFERENCE:
            raise PatchError(f"the patch at {patch.box} does not match the frame around the imprint (mean "
                             f"difference {off:.1f} levels > {MAX_RING_DIFFERENCE}): not this frame's clean render")
        x0, y0, x1, y1 = patch.box
        out[y0:y1, x0:x1] = patch.pixels
    return out


def deliver_png(frame: Path | bytes, patches: list[Patch]) -> bytes:
    """The delivered PNG of a verified frame (a PNG path or its bytes) and its patches: the same bytes for the same
    inputs, on every machine (:func:`_png`'s fixed settings)."""
    with Image.open(io.BytesIO(frame) if isinstance(frame, bytes) else frame) as img:
        if img.format != "PNG":
            raise PatchError(f"clean delivery needs the verified PNG, got {img.format}")
        pixels = np.asarray(img.convert("RGB"))
    return _png(composite(pixels, patches))
