"""Hostile scenes, built with bpy in the render layer's child (``{"op": "tests.integration.render.hostile:make"}``).

Each is the generated ``studio`` scene plus one attack:

* ``file_output``: a compositor File Output node writing to ``target`` (an absolute or ``//..`` path)
* ``image``: an image texture read from ``target`` (absolute, not packed)
* ``library``: an object linked from the .blend at ``target``
* ``forever``: a geometry-nodes repeat zone of 2^31 - 1 iterations (the render never ends)
* ``huge``: asks for frames of ``width`` x ``height``
* ``probe``: nothing; :func:`probe` is what code running in the sandbox can see
"""

from __future__ import annotations

import os
import socket


def make(job: dict) -> dict:
    import bpy

    from inferix.render.scenes import make_scene

    path, kind, target = job["path"], job["kind"], job.get("target", "")
    make_scene("studio", path, job.get("width", 64), job.get("height", 36))
    bpy.ops.wm.open_mainfile(filepath=path)
    sc = bpy.context.scene
    if kind == "file_output":
        tree = bpy.data.node_groups.new("Compositing", "CompositorNodeTree")
        sc.compositing_node_group = tree
        layers = tree.nodes.new("CompositorNodeRLayers")
        out = tree.nodes.new("CompositorNodeOutputFile")
        out.directory, out.file_name = os.path.dirname(target) + "/", os.path.basename(target)
        out.file_output_items.new("RGBA", "Image")
        tree.links.new(layers.outputs["Image"], out.inputs[0])
        sc.render.use_compositing = True
    elif kind == "image":
        img = bpy.data.images.load(target)
        mat = bpy.data.materials[0]
        node = mat.node_tree.nodes.new("ShaderNodeTexImage")
        node.image = img
    elif kind == "library":
        with bpy.data.libraries.load(target, link=True) as (src, dst):
            dst.objects = [src.objects[0]]
        sc.collection.objects.link(dst.objects[0])
    elif kind == "forever":
        obj = next(o for o in sc.objects if o.type == "MESH")
        tree = bpy.data.node_groups.new("Forever", "GeometryNodeTree")
        tree.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
        tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
        gin, gout = tree.nodes.new("NodeGroupInput"), tree.nodes.new("NodeGroupOutput")
        rin, rout = tree.nodes.new("GeometryNodeRepeatInput"), tree.nodes.new("GeometryNodeRepeatOutput")
        rin.pair_with_output(rout)
        rin.inputs["Iterations"].default_value = 2**31 - 1
        move = tree.nodes.new("GeometryNodeTransform")
        tree.links.new(gin.outputs[0], rin.inputs["Geometry"])
        tree.links.new(rin.outputs["Geometry"], move.inputs["Geometry"])
        tree.links.new(move.outputs["Geometry"], rout.inputs["Geometry"])
        tree.links.new(rout.outputs["Geometry"], gout.inputs[0])
        mod = obj.modifiers.new("forever", "NODES")
        mod.node_group = tree
        mod.show_viewport = False  # evaluated only when rendering
    elif kind == "huge":
        sc.render.resolution_x, sc.render.resolution_y = job["width_asked"], job["height_asked"]
    bpy.ops.wm.save_as_mainfile(filepath=path, compress=False)
    return {"path": path}


def render_raw(job: dict) -> dict:
    """The control experiment: render with plain bpy, no hygiene (run it with the sandbox off)."""
    import bpy

    bpy.ops.wm.open_mainfile(filepath=job["blend"])
    sc = bpy.context.scene
    sc.render.resolution_x, sc.render.resolution_y, sc.cycles.samples = 32, 18, 1
    sc.render.filepath = job["out"]
    bpy.ops.render.render(write_still=True)
    return {}


def probe(job: dict) -> dict:
    """What a scene's code would see, run inside the sandbox."""
    seen = {}
    for name, path in job["paths"].items():
        try:
            seen[name] = sorted(os.listdir(path)) if os.path.isdir(path) else open(path, "rb").read(16).hex()
        except OSError as exc:
            seen[name] = f"error: {exc.strerror}"
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect(("127.0.0.1", job["port"]))
        seen["socket"] = "connected"
    except OSError as exc:
        seen["socket"] = f"error: {exc.strerror or exc}"
    finally:
        s.close()
    seen["uid"] = os.getuid()
    return seen



