"""Generated test scenes (the tests, the demo and the benchmark scene G), built with bpy (run inside a Blender process, see :mod:`inferix.render.runner`).

Each scene mixes textured and flat surfaces, dark areas, glossy and glass materials:

* ``studio``: a checker floor, a flat back wall, diffuse, metal and glass spheres, a dark box; static camera.
* ``dark_room``: a dim room lit by one small lamp (large dark areas), a noise-textured floor, a glossy floor strip,
  a glass monkey; static camera.
* ``flyby``: a textured ground with columns under a gradient sky, camera moving over frames 1..3 (keyframed
  location and a Track To constraint).

All use the Standard view transform and Cycles.
"""

from __future__ import annotations

import math

import bpy

SCENES = ("studio", "dark_room", "flyby")


def _reset() -> bpy.types.Scene:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    sc = bpy.context.scene
    sc.render.engine = "CYCLES"
    sc.cycles.device = "CPU"
    sc.view_settings.view_transform = "Standard"
    sc.view_settings.look = "None"
    sc.render.dither_intensity = 0.0
    sc.cycles.use_adaptive_sampling = False
    return sc


def _material(name: str, color=(0.8, 0.8, 0.8), rough=0.5, metal=0.0, transmission=0.0, ior=1.45, tex=None,
              tex_scale=8.0, color2=(0.1, 0.1, 0.1)) -> bpy.types.Material:
    m = bpy.data.materials.new(name)
    m.use_nodes = True
    nt = m.node_tree
    bsdf = nt.nodes.get("Principled BSDF")
    bsdf.inputs["Base Color"].default_value = (*color, 1.0)
    bsdf.inputs["Roughness"].default_value = rough
    bsdf.inputs["Metallic"].default_value = metal
    bsdf.inputs["Transmission Weight"].default_value = transmission
    bsdf.inputs["IOR"].default_value = ior
    if tex == "checker":
        t = nt.nodes.new("ShaderNodeTexChecker")
        t.inputs["Scale"].default_value = tex_scale
        t.inputs["Color1"].default_value = (*color, 1.0)
        t.inputs["Color2"].default_value = (*color2, 1.0)
        nt.links.new(t.outputs["Color"], bsdf.inputs["Base Color"])
    elif tex == "noise":
        t = nt.nodes.new("ShaderNodeTexNoise")
        t.inputs["Scale"].default_value = tex_scale
        ramp = nt.nodes.new("ShaderNodeValToRGB")
        ramp.color_ramp.elements[0].color = (*color2, 1.0)
        ramp.color_ramp.elements[1].color = (*color, 1.0)
        nt.links.new(t.outputs["Fac"], ramp.inputs["Fac"])
        nt.links.new(ramp.outputs["Color"], bsdf.inputs["Base Color"])
    return m


def _add(prim: str, name: str, mat, **kw) -> bpy.types.Object:
    getattr(bpy.ops.mesh, f"primitive_{prim}_add")(**kw)
    o = bpy.context.active_object
    o.name = name
    o.data.name = name
    if mat is not None:
        o.data.materials.append(mat)
    if prim in ("uv_sphere", "monkey", "cylinder"):
        bpy.ops.object.shade_smooth()
    return o


def _camera(sc, loc, target=(0, 0, 0.8), lens=35.0) -> bpy.types.Object:
    cam_data = bpy.data.cameras.new("Camera")
    cam_data.lens = lens
    cam_data.clip_start = 0.1
    cam_data.clip_end = 200.0
    cam = bpy.data.objects.new("Camera", cam_data)
    sc.collection.objects.link(cam)
    cam.location = loc
    empty = bpy.data.objects.new("Target", None)
    sc.collection.objects.link(empty)
    empty.location = target
    c = cam.constraints.new("TRACK_TO")
    c.target = empty
    c.track_axis = "TRACK_NEGATIVE_Z"
    c.up_axis = "UP_Y"
    sc.camera = cam
    return cam


def _world(sc, color=(0.05, 0.05, 0.06), strength=1.0, gradient=None) -> None:
    w = bpy.data.worlds.new("World")
    sc.world = w
    w.use_nodes = True
    bg = w.node_tree.nodes.get("Background")
    bg.inputs["Color"].default_value = (*color, 1.0)
    bg.inputs["Strength"].default_value = strength
    if gradient:
        nt = w.node_tree
        tc = nt.nodes.new("ShaderNodeTexCoord")
        sep = nt.nodes.new("ShaderNodeSeparateXYZ")
        ramp = nt.nodes.new("ShaderNodeValToRGB")
        ramp.color_ramp.elements[0].color = (*gradient[0], 1.0)
        ramp.color_ramp.elements[1].color = (*gradient[1], 1.0)
        nt.links.new(tc.outputs["Generated"], sep.inputs["Vector"])
        nt.links.new(sep.outputs["Z"], ramp.inputs["Fac"])
        nt.links.new(ramp.outputs["Color"], bg.inputs["Color"])
        w.cycles.sampling_method = "MANUAL"  # a small importance map: the automatic one dominates tiny renders
        w.cycles.sample_map_resolution = 64


def _light(sc, kind: str, name: str, loc, energy: float, size: float = 1.0, rot=(0, 0, 0)) -> bpy.types.Object:
    ld = bpy.data.lights.new(name, kind)
    ld.energy = energy
    if kind == "AREA":
        ld.size = size
    elif kind in ("POINT", "SPOT"):
        ld.shadow_soft_size = size
    o = bpy.data.objects.new(name, ld)
    sc.collection.objects.link(o)
    o.location = loc
    o.rotation_euler = rot
    return o


def build_studio(sc) -> None:
    _add("plane", "Floor", _material("FloorMat", (0.75, 0.72, 0.68), 0.6, tex="checker", tex_scale=12.0,
                                     color2=(0.25, 0.24, 0.22)), size=20)
    wall = _add("plane", "Wall", _material("WallMat", (0.55, 0.6, 0.65), 0.9), size=20,
                location=(0, 4, 5), rotation=(math.pi / 2, 0, 0))
    wall.name = "Wall"
    _add("uv_sphere", "Sphere", _material("Clay", (0.7, 0.15, 0.1), 0.5), radius=0.8, location=(-1.6, 0.5, 0.8))
    _add("uv_sphere", "Sphere.001", _material("Chrome", (0.9, 0.9, 0.9), 0.08, metal=1.0), radius=0.8,
         location=(0.2, 0.9, 0.8))
    _add("uv_sphere", "Sphere.002", _material("Glass", (1.0, 1.0, 1.0), 0.0, transmission=1.0), radius=0.7,
         location=(1.8, 0.2, 0.7))
    _add("cube", "Cube", _material("Soot", (0.02, 0.02, 0.02), 0.7), size=1.2, location=(3.2, 2.2, 0.6))
    _light(sc, "AREA", "Key", (-3, -3, 6), 900.0, size=4.0, rot=(0.6, -0.5, 0))
    _light(sc, "SUN", "Fill", (0, 0, 10), 1.2, rot=(0.4, 0.3, 0))
    _world(sc, (0.06, 0.07, 0.09), 1.0)
    _camera(sc, (0.5, -8.5, 2.6), target=(0.3, 0.8, 1.0), lens=40)


def build_dark_room(sc) -> None:
    _add("plane", "Floor", _material("Boards", (0.35, 0.25, 0.16), 0.7, tex="noise", tex_scale=6.0,
                                     color2=(0.12, 0.08, 0.05)), size=12)
    _add("plane", "Floor.001", _material("Lacquer", (0.05, 0.05, 0.06), 0.05), size=2, location=(0.8, -1.0, 0.01))
    _add("plane", "Wall", _material("Plaster", (0.3, 0.3, 0.3), 0.95), size=12, location=(0, 3, 3),
         rotation=(math.pi / 2, 0, 0))
    _add("plane", "Wall.001", _material("Plaster.001", (0.25, 0.22, 0.2), 0.95), size=12, location=(-3, 0, 3),
         rotation=(math.pi / 2, 0, math.pi / 2))
    _add("monkey", "Suzanne", _material("Glass", (0.95, 1.0, 0.95), 0.02, transmission=1.0), size=1.2,
         location=(0.3, 0.4, 0.9), rotation=(0, 0, 0.4))
    _add("cube", "Cabinet", _material("Walnut", (0.08, 0.05, 0.03), 0.4), size=1.0, location=(-2.0, 1.8, 0.5))
    _light(sc, "POINT", "Lamp", (1.2, 0.5, 2.6), 120.0, size=0.2)
    _world(sc, (0.005, 0.005, 0.008), 1.0)
    _camera(sc, (1.8, -5.5, 1.7), target=(-0.3, 0.8, 1.0), lens=32)


def build_flyby(sc) -> None:
    _add("plane", "Ground", _material("Turf", (0.3, 0.42, 0.18), 0.9, tex="noise", tex_scale=3.0,
                                      color2=(0.18, 0.3, 0.1)), size=60)
    for i, (x, y) in enumerate([(-3, 2), (0, 4), (3, 1), (-1, -1), (4, 5)]):
        _add("cylinder", f"Column.{i:03d}" if i else "Column",
             _material(f"Stone.{i:03d}" if i else "Stone", (0.6, 0.58, 0.55), 0.6 if i % 2 else 0.2,
                       metal=0.0), radius=0.4, depth=3.0, location=(x, y, 1.5))
    _add("uv_sphere", "Orb", _material("Glass", (1, 1, 1), 0.0, transmission=1.0), radius=0.6, location=(1.0, 0.5, 0.6))
    _light(sc, "SUN", "Sun", (0, 0, 10), 3.0, rot=(0.7, 0.2, 0.5))
    _world(sc, strength=1.0, gradient=((0.35, 0.45, 0.6), (0.08, 0.15, 0.4)))
    cam = _camera(sc, (-6.0, -9.0, 3.0), target=(0.5, 2.0, 1.2), lens=30)
    sc.frame_start, sc.frame_end = 1, 3
    for f, loc in ((1, (-6.0, -9.0, 3.0)), (2, (-3.5, -10.0, 3.3)), (3, (-1.0, -10.5, 3.6))):
        cam.location = loc
        cam.keyframe_insert("location", frame=f)


def camera_path(sc: bpy.types.Scene, frames: int) -> None:
    """The demo's flyby: the camera moves along a smooth path over ``frames`` frames."""
    cam = sc.camera
    cam.animation_data_clear()
    sc.frame_start, sc.frame_end = 1, frames
    for f in range(1, frames + 1):
        t = (f - 1) / max(frames - 1, 1)
        cam.location = (-6.0 + 5.0 * t, -9.0 - 1.5 * math.sin(math.pi * t), 3.0 + 0.6 * t)
        cam.keyframe_insert("location", frame=f)


def make_scene(name: str, path: str, width: int, height: int, frames: int | None = None) -> str:
    """Build scene ``name`` and save it to ``path`` (.blend, or .glb through the glTF exporter); ``frames``
    gives the camera a smooth path over that many frames (the demo's scene)."""
    sc = _reset()
    builder = {"studio": build_studio, "dark_room": build_dark_room, "flyby": build_flyby}.get(name)
    if builder is None:
        raise ValueError(f"unknown scene {name!r}; known: {SCENES}")
    builder(sc)
    if frames:
        camera_path(sc, frames)
    sc.render.resolution_x, sc.render.resolution_y, sc.render.resolution_percentage = width, height, 100
    sc.frame_set(sc.frame_start)
    if path.endswith((".glb", ".gltf")):
        bpy.ops.export_scene.gltf(filepath=path, export_cameras=True, export_lights=True,
                                  export_format="GLB" if path.endswith(".glb") else "GLTF_SEPARATE")
    else:
        bpy.ops.wm.save_as_mainfile(filepath=path, compress=False)
    return path
