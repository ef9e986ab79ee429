"""Rendering with bpy: open a scene (with its hygiene checks), apply a render order, render a frame or a tile.

Runs only in the sandboxed child (:mod:`inferix.render.child`). Used by noise insertion (reference render,
quality tiles), the quote's reference render, the worker node, the tests and the benchmarks. Renders are
pixel-deterministic for a given Blender build, sampling seed and settings: adaptive sampling and 8-bit dither are
off, the seed is fixed, and the denoiser is OpenImageDenoise on the CPU whatever the render device.
"""

from __future__ import annotations

import os
from pathlib import Path

import bpy

from inferix.render import devices, hygiene

FORMATS = {"png": "PNG", "exr": "OPEN_EXR", "jpeg": "JPEG"}


def open_scene(path: str, bundle: str | None = None) -> bpy.types.Scene:
    """Open a .blend, or import a glTF/GLB into an empty file (its first camera becomes the scene camera), with
    Python auto-execution off; refuse external references outside ``bundle`` (default: none allowed) and remove
    compositor File Output nodes (see :mod:`inferix.render.hygiene`)."""
    p = str(path)
    if hygiene.autoexec_enabled():
        raise RuntimeError("Python auto-execution is on: refusing to open a scene")
    if p.endswith((".glb", ".gltf")):
        hygiene.check_gltf(p)
        bpy.ops.wm.read_factory_settings(use_empty=True)
        bpy.ops.import_scene.gltf(filepath=p)
        sc = bpy.context.scene
        cams = [o for o in sc.objects if o.type == "CAMERA"]
        if not cams:
            raise hygiene.SceneRefusedError("the glTF scene has no camera")
        sc.camera = cams[0]
        sc.render.engine = "CYCLES"
    else:
        bpy.ops.wm.open_mainfile(filepath=p, load_ui=False, use_scripts=False)
        sc = bpy.context.scene
    hygiene.check_references(bundle)
    hygiene.remove_file_outputs()
    if sc.camera is None:
        raise hygiene.SceneRefusedError("the scene has no camera")
    return sc


def apply_settings(sc: bpy.types.Scene, width: int, height: int, samples: int, denoise: bool, seed: int,
                   device: str | None = None) -> None:
    """The render order; ``device`` (a Cycles device type, default ``INFERIX_RENDER_DEVICE`` or CPU) renders on it.
    The denoiser is pinned to OpenImageDenoise on the CPU so that every device gives comparable pixels."""
    sc.render.engine = "CYCLES"
    devices.use(sc, device or os.environ.get("INFERIX_RENDER_DEVICE", "CPU"))
    sc.cycles.shading_system = False  # no OSL
    sc.render.resolution_x, sc.render.resolution_y = int(width), int(height)
    sc.render.resolution_percentage = 100
    sc.render.pixel_aspect_x = sc.render.pixel_aspect_y = 1.0
    sc.cycles.samples = int(samples)
    sc.cycles.use_adaptive_sampling = False
    sc.cycles.seed = int(seed)
    sc.cycles.use_animated_seed = False
    sc.cycles.use_denoising = bool(denoise)
    if denoise:
        sc.cycles.denoiser = "OPENIMAGEDENOISE"
        if hasattr(sc.cycles, "denoising_use_gpu"):
            sc.cycles.denoising_use_gpu = False
    sc.render.dither_intensity = 0.0
    sc.render.use_motion_blur = False
    sc.render.use_border = False
    sc.render.use_crop_to_border = False


def _set_format(sc: bpy.types.Scene, fmt: str, quality: int) -> None:
    s = sc.render.image_settings
    s.file_format = FORMATS[fmt]
    s.color_mode = "RGB"
    if fmt == "png":
        s.color_depth = "8"
        s.compression = 15
    elif fmt == "jpeg":
        s.quality = int(quality)
    elif fmt == "exr":
        s.color_depth = "32"
        s.exr_codec = "ZIP"


def save_render_as(sc: bpy.types.Scene, out: str, fmt: str, quality: int = 90) -> str:
    """Save the last render result again in another format."""
    _set_format(sc, fmt, quality)
    bpy.data.images["Render Result"].save_render(filepath=str(out), scene=sc)
    return str(out)


def render_to_file(
    sc: bpy.types.Scene,
    out: str,
    frame: int,
    fmt: str = "png",
    quality: int = 90,
    border: tuple[int, int, int, int] | None = None,
    percentage: int = 100,
) -> str:
    """Render ``frame``; ``border`` = (x0, y0, x1, y1) in pixels (y down, exclusive) renders and crops a tile."""
    sc.frame_set(int(frame))
    r = sc.render
    r.resolution_percentage = int(percentage)
    _set_format(sc, fmt, quality)
    if border is not None:
        w = r.resolution_x * percentage // 100
        h = r.resolution_y * percentage // 100
        x0, y0, x1, y1 = border
        r.use_border = True
        r.use_crop_to_border = True
        # a quarter-pixel nudge: the border is stored as float32 and Blender truncates it to pixels
        r.border_min_x, r.border_max_x = min(1.0, (x0 + 0.25) / w), min(1.0, (x1 + 0.25) / w)
        r.border_min_y, r.border_max_y = min(1.0, (h - y1 + 0.25) / h), min(1.0, (h - y0 + 0.25) / h)
    else:
        r.use_border = False
    r.filepath = str(out)
    r.use_file_extension = False
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.render.render(write_still=True)
    r.use_border = False
    r.resolution_percentage = 100
    if not os.path.exists(out):
        raise RuntimeError(f"render did not write {out}")
    return str(out)
