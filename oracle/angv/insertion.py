"""Noise insertion with bpy: prepare a task's noised scene and its manifest.

``prepare`` opens the creator's scene (.blend or glTF), applies the render order, and for each frame of the task:

1. renders the reference (preview) of the original scene at low settings (``preview_samples``, denoised, within
   ``preview_pixels``: larger frames are previewed smaller and the preview resized to the frame for planning);
2. plans the n imprints with :func:`oracle.angv.adaptive.plan_regions`, the geometry check being bpy ray casts from
   the camera through every pixel corner of the imprint grown by one pixel: the carrier must sit strictly in front
   of the first surface hit by every ray (so it collides with nothing and nothing hides it, even partly), and its
   depth is ``min_hit_depth * (depth_lo + u * (depth_hi - depth_lo))`` (u from the key: varied distances);

then adds one carrier object per imprint: a camera-facing quad (world rotation = the camera's, so the imprint is an
axis-aligned rectangle) sized and placed so that it covers exactly the imprint's pixels; for animated cameras its
transform and colour are keyframed at every frame of the task (constant interpolation), so it follows the camera
and moves to the frame's own imprint. The carrier emits ``colour * (1 + A cos(2 pi (u M / X_i + v N / Y_i)))`` (its
atomic noise, UV space) where ``colour`` (the object colour, read by an Object Info node) is the target display
colour converted to scene-linear; it is visible to camera rays only. The imprints are then recomputed by projecting
the carriers' corners with ``world_to_camera_view`` (no rendering) and must match the plan.

Finally the noised scene is saved with the order applied, and the secret quality tiles of the task's tiled frames
(:func:`oracle.angv.adaptive.tiled_frames`) are rendered from it at the ordered settings with two sampling seeds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np
from bpy_extras.object_utils import world_to_camera_view
from mathutils import Matrix, Vector

from .adaptive import RegionPlan, fit_preview, plan_regions, plan_tiles, preview_size, tiled_frames
from .frames import display_to_linear, load_frame
from .keys import TASK_FRAME, derive_key, key_commit, scene_digest
from .manifest import FrameManifest, Manifest, RenderOrder, Tile
from .noise import AtomicNoise, draw_noises
from .params import AngvParams
from inferix.render.blend import apply_settings, open_scene, render_to_file

PREVIEW_SEED = 0
GENERIC_NAMES = ("Plane", "Cube", "Mesh", "Object")


class InsertionError(RuntimeError):
    pass


@dataclass
class CameraGeom:
    """The camera at one frame: pixel <-> camera-local <-> world."""

    matrix: Matrix  # camera world matrix without scale
    xmin: float
    xmax: float
    ymin: float
    ymax: float
    zf: float  # z of the view frame (negative) for perspective cameras
    ortho: bool
    width: int
    height: int
    clip_start: float
    clip_end: float

    @classmethod
    def of(cls, sc: bpy.types.Scene) -> "CameraGeom":
        dg = bpy.context.evaluated_depsgraph_get()
        cam = sc.camera.evaluated_get(dg)
        loc, rot, _ = cam.matrix_world.decompose()
        frame = cam.data.view_frame(scene=sc)
        xs, ys = [v.x for v in frame], [v.y for v in frame]
        return cls(Matrix.LocRotScale(loc, rot, Vector((1, 1, 1))), min(xs), max(xs), min(ys), max(ys),
                   frame[0].z, cam.data.type == "ORTHO", sc.render.resolution_x, sc.render.resolution_y,
                   cam.data.clip_start, cam.data.clip_end)

    def local(self, px: float, py: float, depth: float) -> Vector:
        """Camera-local point at ``depth`` (along -Z) seen through image point (px, py), y down."""
        x = self.xmin + (px / self.width) * (self.xmax - self.xmin)
        y = self.ymax - (py / self.height) * (self.ymax - self.ymin)
        if self.ortho:
            return Vector((x, y, -depth))
        s = depth / -self.zf
        return Vector((x * s, y * s, -depth))

    def ray(self, px: float, py: float) -> tuple[Vector, Vector, float]:
        """World origin, unit direction, and depth gained per unit of ray length."""
        if self.ortho:
            o = self.local(px, py, 0.0)
            return self.matrix @ o, (self.matrix.to_3x3() @ Vector((0, 0, -1))).normalized(), 1.0
        d = self.local(px, py, -self.zf)
        n = d.length
        return self.matrix.translation.copy(), (self.matrix.to_3x3() @ d).normalized(), -d.z / n


def _free_depth(sc, geom: CameraGeom, x0: int, y0: int, w: int, h: int) -> float:
    """Smallest depth of the first surface behind any pixel corner of the imprint grown by one pixel."""
    dg = bpy.context.evaluated_depsgraph_get()
    best = math.inf
    for py in range(y0 - 1, y0 + h + 2):
        for px in range(x0 - 1, x0 + w + 2):
            o, d, per = geom.ray(px, py)
            hit, loc, *_ = sc.ray_cast(dg, o, d, distance=geom.clip_end)
            if hit:
                best = min(best, (loc - o).length * per)
    return best


def _unique_name(taken: set[str], base: str, s) -> str:
    while True:
        name = f"{base}.{s.randint(1, 999):03d}"
        if name not in taken:
            taken.add(name)
            return name


def _carrier_names(sc, key, n: int) -> tuple[list[str], list[str]]:
    """Names in the scene's own style: base names of its meshes/materials with free numeric suffixes."""
    s = key.stream(b"names")
    obj_bases = sorted({o.name.split(".")[0] for o in sc.objects if o.type == "MESH"} | set(GENERIC_NAMES))
    mat_bases = sorted({m.name.split(".")[0] for m in bpy.data.materials} | {"Material"})
    taken_objs = {o.name for o in bpy.data.objects} | {m.name for m in bpy.data.meshes}
    taken_mats = {m.name for m in bpy.data.materials}
    objs, mats = [], []
    for _ in range(n):
        objs.append(_unique_name(taken_objs, obj_bases[s.randint(0, len(obj_bases) - 1)], s))
        mats.append(_unique_name(taken_mats, mat_bases[s.randint(0, len(mat_bases) - 1)], s))
    return objs, mats


def _carrier(sc, name: str, mat_name: str, noise: AtomicNoise, gain: float) -> bpy.types.Object:
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([(-0.5, -0.5, 0), (0.5, -0.5, 0), (0.5, 0.5, 0), (-0.5, 0.5, 0)], [], [(0, 1, 2, 3)])
    uv = mesh.uv_layers.new(name="UVMap")
    for loop, co in zip(uv.data, ((0, 0), (1, 0), (1, 1), (0, 1))):
        loop.uv = co
    mat = bpy.data.materials.new(mat_name)
    mat.use_nodes = True
    nt = mat.node_tree
    nt.nodes.clear()
    tc = nt.nodes.new("ShaderNodeTexCoord")
    sep = nt.nodes.new("ShaderNodeSeparateXYZ")
    mx = nt.nodes.new("ShaderNodeMath")
    mx.operation = "MULTIPLY"
    my = nt.nodes.new("ShaderNodeMath")
    my.operation = "MULTIPLY_ADD"
    ph = nt.nodes.new("ShaderNodeMath")
    ph.operation = "MULTIPLY"
    cs = nt.nodes.new("ShaderNodeMath")
    cs.operation = "COSINE"
    amp = nt.nodes.new("ShaderNodeMath")
    amp.operation = "MULTIPLY_ADD"
    info = nt.nodes.new("ShaderNodeObjectInfo")
    scale = nt.nodes.new("ShaderNodeVectorMath")
    scale.operation = "SCALE"
    em = nt.nodes.new("ShaderNodeEmission")
    out = nt.nodes.new("ShaderNodeOutputMaterial")
    nt.links.new(tc.outputs["UV"], sep.inputs[0])
    nt.links.new(sep.outputs[0], mx.inputs[0])
    mx.inputs[1].default_value = noise.m / noise.period_x
    nt.links.new(sep.outputs[1], my.inputs[0])
    my.inputs[1].default_value = noise.n / noise.period_y
    nt.links.new(mx.outputs[0], my.inputs[2])
    nt.links.new(my.outputs[0], ph.inputs[0])
    ph.inputs[1].default_value = 2.0 * math.pi
    nt.links.new(ph.outputs[0], cs.inputs[0])
    nt.links.new(cs.outputs[0], amp.inputs[0])
    amp.inputs[1].default_value = noise.amplitude
    amp.inputs[2].default_value = 1.0
    nt.links.new(info.outputs["Color"], scale.inputs[0])
    nt.links.new(amp.outputs[0], scale.inputs["Scale"])
    nt.links.new(scale.outputs[0], em.inputs["Color"])
    em.inputs["Strength"].default_value = gain
    nt.links.new(em.outputs[0], out.inputs["Surface"])
    mesh.materials.append(mat)
    obj = bpy.data.objects.new(name, mesh)
    sc.collection.objects.link(obj)
    obj.visible_shadow = False
    obj.visible_diffuse = False
    obj.visible_glossy = False
    obj.visible_transmission = False
    obj.visible_volume_scatter = False
    obj.rotation_mode = "QUATERNION"
    return obj


def _place(obj, geom: CameraGeom, plan: RegionPlan, depth: float, gain_lin: tuple[float, float, float]) -> None:
    r = plan.region
    a = geom.local(r.x0, r.y0, depth)
    b = geom.local(r.x0 + r.w, r.y0 + r.h, depth)
    centre = (a + b) / 2
    size = Vector((abs(b.x - a.x), abs(a.y - b.y), 1.0))
    loc, rot, _ = (geom.matrix @ Matrix.Translation(centre)).decompose()
    obj.location = loc
    obj.rotation_quaternion = rot
    obj.scale = size
    obj.color = (*gain_lin, 1.0)


def project_box(sc, obj) -> tuple[float, float, float, float, float, float]:
    """Pixel box (x0, y0, x1, y1) of a carrier by projection, and its min/max depth; current frame."""
    dg = bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(dg)
    cam = sc.camera.evaluated_get(dg)
    W, H = sc.render.resolution_x, sc.render.resolution_y
    pts = [world_to_camera_view(sc, cam, ev.matrix_world @ v.co) for v in ev.data.vertices]
    xs = [p.x * W for p in pts]
    ys = [(1.0 - p.y) * H for p in pts]
    zs = [p.z for p in pts]
    return min(xs), min(ys), max(xs), max(ys), min(zs), max(zs)


def prepare(
    scene_path: str,
    out_blend: str,
    seed: bytes,
    task_id: int,
    frames: list[int],
    order: RenderOrder,
    params: AngvParams = AngvParams(),
    workdir: str | None = None,
    tiles: bool = True,
    previews: dict[int, str] | None = None,
    tile_refs: str = "auto",
    patches: bool = False,
    patch_context: int | None = None,
) -> tuple[Manifest, dict[str, float], dict[int, list[tuple[int, int, np.ndarray]]]]:
    """Insert the noise of task ``task_id`` into the scene; return the manifest, timings (seconds) and, with
    ``patches``, clean delivery's patches (:func:`render_patches`; otherwise ``{}``).

    ``previews`` maps frames to already rendered reference renders (the same low settings), which are then reused.
    ``tile_refs``: how the quality tiles' references are rendered (:func:`render_boxes`).
    """
    times = {"load": 0.0, "preview": 0.0, "insert": 0.0, "save": 0.0, "tiles": 0.0}
    work = Path(workdir or Path(out_blend).parent)
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    digest = scene_digest(scene_path)
    sc = open_scene(scene_path)
    W, H = order.width, order.height
    times["load"] = time.perf_counter() - t

    task_key = derive_key(seed, digest, task_id, TASK_FRAME, params.n, W, H)
    noises = draw_noises(task_key, params)
    vs = sc.view_settings
    gain = 1.0 / (2.0 ** vs.exposure)

    pw, ph = preview_size(W, H, params)
    plans: dict[int, list[RegionPlan]] = {}
    depths: dict[tuple[int, int], float] = {}
    for f in frames:
        t = time.perf_counter()
        prev_path = (previews or {}).get(f)
        if prev_path is None:
            apply_settings(sc, pw, ph, params.preview_samples, True, PREVIEW_SEED)
            prev_path = str(work / f"preview_{f}.png")
            render_to_file(sc, prev_path, f)
        preview = fit_preview(load_frame(prev_path, (pw, ph)).pixels, W, H)
        # the geometry below works in the frame's pixels: the preview's (or the scene file's) size must not leak in
        apply_settings(sc, W, H, order.samples, order.denoise, order.seed)
        times["preview"] += time.perf_counter() - t
        t = time.perf_counter()
        sc.frame_set(f)
        geom = CameraGeom.of(sc)

        def accept(x0: int, y0: int, w: int, h: int, u: float, f=f, geom=geom) -> bool:
            free = _free_depth(sc, geom, x0, y0, w, h)
            if math.isinf(free):
                free = 0.5 * geom.clip_end
            d = free * (params.depth_lo + u * (params.depth_hi - params.depth_lo))
            if d <= 1.5 * geom.clip_start:
                return False
            depths[(f, x0, y0)] = d
            return True

        plans[f] = plan_regions(preview, derive_key(seed, digest, task_id, f, params.n, W, H), params, accept)
        times["insert"] += time.perf_counter() - t

    t = time.perf_counter()
    names, mat_names = _carrier_names(sc, task_key, params.n)
    prefs = bpy.context.preferences.edit
    old_interp = prefs.keyframe_new_interpolation_type
    prefs.keyframe_new_interpolation_type = "CONSTANT"
    objs = [_carrier(sc, names[i], mat_names[i], noises[i], gain) for i in range(params.n)]
    animate = len(frames) > 1
    for f in frames:
        sc.frame_set(f)
        geom = CameraGeom.of(sc)
        for obj, plan in zip(objs, plans[f]):
            lin = tuple(float(c) for c in display_to_linear(np.array(plan.target_rgb)))
            _place(obj, geom, plan, depths[(f, plan.region.x0, plan.region.y0)], lin)
            if animate:
                for path in ("location", "rotation_quaternion", "scale", "color"):
                    obj.keyframe_insert(path, frame=f)
    prefs.keyframe_new_interpolation_type = old_interp
    # the imprints, recomputed by projection, must be the planned ones
    for f in frames:
        sc.frame_set(f)
        for obj, plan in zip(objs, plans[f]):
            x0, y0, x1, y1, z0, z1 = project_box(sc, obj)
            r = plan.region
            if (round(x0), round(y0), round(x1), round(y1)) != (r.x0, r.y0, r.x0 + r.w, r.y0 + r.h):
                raise InsertionError(f"angv: carrier {obj.name} projects to {(x0, y0, x1, y1)}, planned {r.box}")
    times["insert"] += time.perf_counter() - t

    t = time.perf_counter()
    apply_settings(sc, W, H, order.samples, order.denoise, order.seed)
    sc.frame_set(frames[0])
    bpy.ops.wm.save_as_mainfile(filepath=str(out_blend), compress=False)
    times["save"] = time.perf_counter() - t

    t = time.perf_counter()
    fms: dict[int, FrameManifest] = {}
    tiled = tiled_frames(task_key, frames, params)
    for f in frames:
        fkey = derive_key(seed, digest, task_id, f, params.n, W, H)
        ts: list[Tile] = []
        if tiles and params.tiles and f in tiled:
            planned = plan_tiles(fkey, W, H, params)
            refs = render_tile_references(sc, work, f, planned, order, params.tile_margin, tile_refs)
            ts = [Tile(tx, ty, size, a, b) for (tx, ty, size), (a, b) in zip(planned, refs)]
        fms[f] = FrameManifest(f, [p.region for p in plans[f]], ts)
    apply_settings(sc, W, H, order.samples, order.denoise, order.seed)
    times["tiles"] = time.perf_counter() - t

    clean: dict[int, list[tuple[int, int, np.ndarray]]] = {}
    if patches:
        t = time.perf_counter()
        clean = render_patches(sc, work, frames, plans, objs, order, params, mode=tile_refs, context=patch_context)
        apply_settings(sc, W, H, order.samples, order.denoise, order.seed)
        times["patches"] = time.perf_counter() - t

    manifest = Manifest(params.version, params, task_id, digest.hex(), key_commit(seed).hex(), order, names, fms)
    return manifest, times, clean


def alt_seed(seed: int) -> int:
    """The second sampling seed of the quality references."""
    return (seed + 0x9E37) % (1 << 31)


#: when the tiles' crops (with their margins) add up to at least this share of the frame's pixels, each reference
#: is one full-frame render the tiles are cut from: fewer pixels than the crops, one render call instead of one per
#: tile, and no crop at all for the denoiser to see differently from the worker's full frame
FULL_FRAME_SHARE = 0.5
#: px around a carrier's footprint that its clean patch also covers (its soft edge, and what the denoiser spreads)
PATCH_MARGIN = 4
#: px rendered around a patch and discarded when the denoiser is on: it reads a wide neighbourhood, and a patch
#: denoised with 8 px around it differed from the worker's full frame visibly; 16 px keeps the delivered footprints
#: under two clean seeds' difference at a third of 32 px's pixels (docs/angv.md, "Issue 14, part 3")
PATCH_CONTEXT = 16


def _grow(W: int, H: int, box: tuple[int, int, int, int], margin: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return max(0, x0 - margin), max(0, y0 - margin), min(W, x1 + margin), min(H, y1 + margin)


def render_boxes(sc, work: Path, frame: int, boxes: list[tuple[int, int, int, int]], order: RenderOrder,
                 seeds: tuple[int, ...], margin: int, mode: str = "auto", tag: str = "box") -> list[list[np.ndarray]]:
    """The pixels of each box (x0, y0, x1, y1) of ``frame`` rendered at the ordered settings, for each sampling seed
    in ``seeds``: ``[seed][box]``, uint8 (h, w, 3).

    Seed by seed, so that consecutive renders differ only in the border: Cycles keeps the synced scene between them
    (``use_persistent_data``), and each box costs its samples rather than a scene sync; each box is rendered with
    ``margin`` px around it and cropped (the denoiser sees the same neighbourhood). Small frames, where the crops
    would cover most of the picture anyway, render the full frame once per seed (``FULL_FRAME_SHARE``). ``mode``
    "crops" or "full" forces one way (benchmarks.angv_cost compares them)."""
    if mode not in ("auto", "crops", "full"):
        raise InsertionError(f"angv: unknown tile reference mode {mode!r}")
    W, H = sc.render.resolution_x, sc.render.resolution_y
    crops = [_grow(W, H, b, margin) for b in boxes]
    full = mode == "full" or mode == "auto" and sum(
        (x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in crops) >= FULL_FRAME_SHARE * W * H
    kept = sc.render.use_persistent_data
    sc.render.use_persistent_data = True
    by_seed = []
    try:
        for s in seeds:
            apply_settings(sc, W, H, order.samples, order.denoise, s)
            if full:
                out = str(work / f"{tag}_{frame}_{s}.png")
                render_to_file(sc, out, frame)
                img = load_frame(out, (W, H)).pixels
                by_seed.append([np.ascontiguousarray(img[y0:y1, x0:x1]) for x0, y0, x1, y1 in boxes])
            else:
                by_seed.append([_render_crop(sc, str(work / f"{tag}_{frame}_{i}_{s}.png"), frame, box, crop)
                                for i, (box, crop) in enumerate(zip(boxes, crops))])
    finally:
        sc.render.use_persistent_data = kept
    return by_seed


def render_tile_references(sc, work: Path, frame: int, tiles: list[tuple[int, int, int]], order: RenderOrder,
                           margin: int, mode: str = "auto") -> list[tuple[np.ndarray, np.ndarray]]:
    """Each tile's two quality references (the ordered sampling seed and :func:`alt_seed`), uint8 (size, size, 3)."""
    boxes = [(x, y, x + size, y + size) for x, y, size in tiles]
    a, b = render_boxes(sc, work, frame, boxes, order, (order.seed, alt_seed(order.seed)), margin, mode, "tiles")
    return list(zip(a, b))


def render_patches(sc, work: Path, frames: list[int], plans: dict[int, list[RegionPlan]], carriers: list,
                   order: RenderOrder, params: AngvParams, margin: int = PATCH_MARGIN, mode: str = "auto",
                   context: int | None = None) -> dict[int, list[tuple[int, int, np.ndarray]]]:
    """Clean delivery's patches (:mod:`inferix.delivery`): each carrier's footprint grown by ``margin`` px, rendered
    with the carriers hidden (the clean scene) at the ordered settings and sampling seed, with ``context`` px around
    it rendered and discarded (default: ``PATCH_CONTEXT`` when the denoiser is on, the tiles' margin otherwise).
    ``{frame: [(x0, y0, pixels)]}``."""
    W, H = sc.render.resolution_x, sc.render.resolution_y
    hidden = [o.hide_render for o in carriers]
    for o in carriers:
        o.hide_render = True
    if context is None:
        context = PATCH_CONTEXT if order.denoise else params.tile_margin
    try:
        out = {}
        for f in frames:
            boxes = [_grow(W, H, (p.region.x0, p.region.y0, p.region.x0 + p.region.w, p.region.y0 + p.region.h),
                           margin) for p in plans[f]]
            [pixels] = render_boxes(sc, work, f, boxes, order, (order.seed,), context, mode, "clean")
            out[f] = [(x0, y0, px) for (x0, y0, _, _), px in zip(boxes, pixels)]
    finally:
        for o, h in zip(carriers, hidden):
            o.hide_render = h
    return out


def _render_crop(sc, out: str, frame: int, box: tuple[int, int, int, int], crop: tuple[int, int, int, int]
                 ) -> np.ndarray:
    """Render ``crop`` (a border around ``box``) and cut ``box`` out of it; uint8."""
    bx0, by0, bx1, by1 = crop
    render_to_file(sc, out, frame, "png", border=crop)
    img = load_frame(out).pixels
    if img.shape[:2] != (by1 - by0, bx1 - bx0):
        raise InsertionError(f"angv: box render has shape {img.shape[:2]}, expected {(by1 - by0, bx1 - bx0)}")
    x0, y0, x1, y1 = box
    return np.ascontiguousarray(img[y0 - by0:y1 - by0, x0 - bx0:x1 - bx0])


def check_carriers(sc, names: list[str], frames: list[int]) -> dict[int, list[dict]]:
    """Re-check every geometric constraint of the carriers of an opened noised scene, frame by frame.

    Per carrier: rotation difference to the camera (radians), projected box and depth range, whether a camera ray
    through each corner (inset by 0.1 px) and the centre hits the carrier first (not occluded), and the names of
    scene meshes whose BVH overlaps it (collisions).
    """
    from mathutils.bvhtree import BVHTree

    out: dict[int, list[dict]] = {}
    for f in frames:
        sc.frame_set(f)
        dg = bpy.context.evaluated_depsgraph_get()
        geom = CameraGeom.of(sc)
        cam_rot = sc.camera.evaluated_get(dg).matrix_world.to_quaternion()
        def world_bvh(o):
            ev = o.evaluated_get(dg)
            mesh = ev.to_mesh()
            tree = BVHTree.FromPolygons([ev.matrix_world @ v.co for v in mesh.vertices],
                                        [tuple(p.vertices) for p in mesh.polygons])
            ev.to_mesh_clear()
            return tree

        scene_trees = {o.name: world_bvh(o) for o in sc.objects if o.type == "MESH" and o.name not in names}
        rows = []
        for name in names:
            obj = bpy.data.objects[name]
            ev = obj.evaluated_get(dg)
            x0, y0, x1, y1, z0, z1 = project_box(sc, obj)
            visible = []
            for px, py in ((x0 + 0.1, y0 + 0.1), (x1 - 0.1, y0 + 0.1), (x0 + 0.1, y1 - 0.1), (x1 - 0.1, y1 - 0.1),
                           ((x0 + x1) / 2, (y0 + y1) / 2)):
                o, d, _ = geom.ray(px, py)
                hit, _, _, _, hobj, _ = sc.ray_cast(dg, o, d, distance=geom.clip_end)
                visible.append(bool(hit and hobj is not None and hobj.name == name))
            tree = world_bvh(obj)
            collisions = [n for n, t in scene_trees.items() if tree.overlap(t)]
            rows.append({"name": name, "rot_diff": ev.matrix_world.to_quaternion().rotation_difference(cam_rot).angle,
                         "box": [x0, y0, x1, y1], "depth": [z0, z1], "visible": visible, "collisions": collisions,
                         "clip": [geom.clip_start, geom.clip_end]})
        out[f] = rows
    return out
