"""Hostile scenes shared by the render, backend and worker tests (built once per session, in the sandbox;
the fixture is registered in tests/conftest.py)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TESTS = str(ROOT / "tests")  # bound read-only into the sandbox so that the child can import tests.integration.render.hostile
HUGE = 16384


@dataclass
class Hostile:
    root: Path
    canary: Path  # a directory no run may write to
    texture: Path  # a PNG outside any bundle

    def path(self, name: str) -> Path:
        """``name``: a scene name (``forever``) or a file name (``forever.blend``)."""
        return self.root / (name if "." in name else f"{name}.blend")

    def canary_state(self) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(self.canary.iterdir())}


def gltf_with_uri(path: Path, uri: str) -> Path:
    """A glTF whose one buffer is read from ``uri`` (the importer resolves it against the file's directory)."""
    doc = {"asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0, 1]}],
           "nodes": [{"mesh": 0}, {"camera": 0, "translation": [0, 0, 3]}],
           "cameras": [{"type": "perspective", "perspective": {"yfov": 0.8, "znear": 0.1}}],
           "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
           "buffers": [{"uri": uri, "byteLength": 36}],
           "bufferViews": [{"buffer": 0, "byteLength": 36}],
           "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                          "min": [-1, -1, -1], "max": [1, 1, 1]}]}
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture(scope="session")
def hostile(tmp_path_factory) -> Hostile:
    from inferix.render import render_job, run_jobs

    root = tmp_path_factory.mktemp("hostile")
    canary = root / "canary"
    canary.mkdir()
    (canary / "seed.key").write_bytes(b"s" * 32)
    texture = root / "textures" / "wood.png"
    run_jobs([{"op": "make_scene", "name": "studio", "path": str(root / "studio.blend"), "width": 64, "height": 36},
              render_job(root / "studio.blend", texture, {"width": 16, "height": 16, "samples": 1, "denoise": False})])
    scenes = [("file_output_abs", "file_output", str(canary / "seed.key")),
              ("file_output_rel", "file_output", "//../canary/seed.key"),  # from DIR/scenes/: DIR/canary
              ("image_abs", "image", str(texture)),
              ("library", "library", str(root / "studio.blend")),
              ("forever", "forever", "")]
    jobs = [{"op": "tests.integration.render.hostile:make", "path": str(root / f"{name}.blend"), "kind": kind, "target": target}
            for name, kind, target in scenes]
    jobs.append({"op": "tests.integration.render.hostile:make", "path": str(root / "huge.blend"), "kind": "huge",
                 "width_asked": HUGE, "height_asked": HUGE})
    run_jobs(jobs, inputs=[TESTS, texture.parent, root / "studio.blend"])
    return Hostile(root, canary, texture)
