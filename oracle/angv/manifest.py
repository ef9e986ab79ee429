"""The task manifest: everything a verifier needs, written by noise insertion.

It holds, per frame, the imprint boxes ``k_i`` with their expected polarity and step, and the secret quality tiles
with their reference pixels. The manifest stays with the manager until the seed is revealed; it is a deterministic
function of (seed, original scene, task id, frames, render order, params) computed with the pinned Blender build,
so anyone holding the revealed seed and the scene recomputes it (``oracle.angv.insertion.prepare``) and compares
:meth:`Manifest.digest`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .params import AngvParams

LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


@dataclass(frozen=True)
class RenderOrder:
    """What the creator ordered for every frame of the task."""

    width: int
    height: int
    samples: int
    denoise: bool
    seed: int = 0  # Cycles sampling seed written into the noised scene

    def to_dict(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "samples": self.samples, "denoise": self.denoise,
                "seed": self.seed}


@dataclass(frozen=True)
class Region:
    """One imprint ``k_i`` = [x0, x0 + w) x [y0, y0 + h) in image pixels (y down), and what it should show."""

    index: int
    x0: int
    y0: int
    w: int
    h: int
    polarity: int  # +1 brighter than its surround, -1 darker
    step: float  # designed luminance step in 8-bit levels (signed by polarity)
    bg: float  # mean luminance of the enveloping ring in the reference render

    @property
    def box(self) -> tuple[int, int, int, int]:
        """Whitepaper notation (x_ul, y_ul, x_lr, y_lr), inclusive."""
        return (self.x0, self.y0, self.x0 + self.w - 1, self.y0 + self.h - 1)

    def envelope(self) -> tuple[int, int, int, int]:
        """The enveloping region v_i (3x the imprint, k_i at its centre), as x0, y0, x1, y1 exclusive."""
        return (self.x0 - self.w, self.y0 - self.h, self.x0 + 2 * self.w, self.y0 + 2 * self.h)


@dataclass
class Tile:
    """A secret quality tile and its two reference renders (ordered settings, sampling seeds s and s')."""

    x0: int
    y0: int
    size: int
    ref_a: np.ndarray  # uint8 (size, size, 3), the ordered seed
    ref_b: np.ndarray  # uint8 (size, size, 3), another seed


@dataclass
class FrameManifest:
    frame: int
    regions: list[Region]
    tiles: list[Tile]


@dataclass
class Manifest:
    version: int
    params: AngvParams
    task_id: int
    scene_digest: str  # hex
    seed_commit: str  # hex keccak256(seed)
    order: RenderOrder
    carriers: list[str]  # object names of the carriers in the noised scene
    frames: dict[int, FrameManifest]

    def to_json(self) -> str:
        def tile(t: Tile) -> dict[str, Any]:
            return {"x0": t.x0, "y0": t.y0, "size": t.size,
                    "ref_a": base64.b64encode(np.ascontiguousarray(t.ref_a, np.uint8).tobytes()).decode(),
                    "ref_b": base64.b64encode(np.ascontiguousarray(t.ref_b, np.uint8).tobytes()).decode()}

        doc = {
            "version": self.version,
            "params": self.params.to_dict(),
            "task_id": self.task_id,
            "scene_digest": self.scene_digest,
            "seed_commit": self.seed_commit,
            "order": self.order.to_dict(),
            "carriers": self.carriers,
            "frames": [
                {"frame": fm.frame,
                 "regions": [{"index": r.index, "x0": r.x0, "y0": r.y0, "w": r.w, "h": r.h, "polarity": r.polarity,
                              "step": round(r.step, 4), "bg": round(r.bg, 4)} for r in fm.regions],
                 "tiles": [tile(t) for t in fm.tiles]}
                for _, fm in sorted(self.frames.items())
            ],
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        """SHA-256 of the canonical JSON."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @classmethod
    def from_json(cls, text: str | bytes) -> "Manifest":
        d = json.loads(text)

        def tile(t: dict[str, Any]) -> Tile:
            s = int(t["size"])
            a = np.frombuffer(base64.b64decode(t["ref_a"]), np.uint8).reshape(s, s, 3)
            b = np.frombuffer(base64.b64decode(t["ref_b"]), np.uint8).reshape(s, s, 3)
            return Tile(int(t["x0"]), int(t["y0"]), s, a, b)

        frames = {}
        for f in d["frames"]:
            regions = [Region(**r) for r in f["regions"]]
            frames[int(f["frame"])] = FrameManifest(int(f["frame"]), regions, [tile(t) for t in f["tiles"]])
        return cls(int(d["version"]), AngvParams.from_dict(d["params"]), int(d["task_id"]), d["scene_digest"],
                   d["seed_commit"], RenderOrder(**d["order"]), list(d["carriers"]), frames)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> "Manifest":
        return cls.from_json(Path(path).read_text())
