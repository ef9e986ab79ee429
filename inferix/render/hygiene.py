"""Scene hygiene: the rules a scene must meet before anyone renders it (see docs/security.md).

* Every external file a scene refers to (linked libraries, images, movie clips, sounds, fonts, volumes, caches,
  text files, geometry-node imports, sequencer strips, OSL scripts) is packed into the ``.blend`` or lies inside
  the uploaded bundle, by a relative path; otherwise the scene is refused with the offending path named.
* glTF only as ``.glb`` or ``.gltf`` whose buffers and images are ``data:`` URIs (or, in a ``.glb``, its own
  binary chunk): a URI such as ``../../.inferix/seed.key`` would make the importer read a file of the node.
* Compositor File Output nodes are removed: they write files of the scene's naming wherever the renderer may write.
* Python auto-execution stays off: drivers and registered scripts in a scene never run.

:func:`gltf_external_uris` is pure Python (the upload runs it before Blender); the rest imports bpy lazily and
runs in the sandboxed child.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path


class SceneRefusedError(ValueError):
    """Raised in the child; the runner turns it into :class:`inferix.render.runner.SceneRefused`."""


PACK_HINT = "pack it into the .blend (inferix pack SCENE) and upload again"


def gltf_json(path: str | Path) -> dict:
    """The JSON document of a ``.gltf`` or ``.glb`` file."""
    data = Path(path).read_bytes()
    if data[:4] == b"glTF":
        if len(data) < 20:
            raise SceneRefusedError("truncated GLB file")
        length, kind = struct.unpack_from("<II", data, 12)
        if kind != 0x4E4F534A or 20 + length > len(data):
            raise SceneRefusedError("the GLB file's first chunk is not its JSON")
        raw = data[20:20 + length]
    else:
        raw = data
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SceneRefusedError(f"the glTF JSON is not valid: {exc}") from None
    if not isinstance(doc, dict):
        raise SceneRefusedError("the glTF JSON is not an object")
    return doc


def gltf_external_uris(path: str | Path) -> list[str]:
    """Every buffer or image URI of a glTF that is not a ``data:`` URI (empty when the scene is self-contained)."""
    doc = gltf_json(path)
    found = []
    for kind in ("buffers", "images"):
        items = doc.get(kind) or []
        if not isinstance(items, list):
            raise SceneRefusedError(f"glTF {kind} is not a list")
        for item in items:
            uri = item.get("uri") if isinstance(item, dict) else None
            if uri is not None and not (isinstance(uri, str) and uri.startswith("data:")):
                found.append(str(uri))
    return found


def check_gltf(path: str | Path) -> None:
    bad = gltf_external_uris(path)
    if bad:
        raise SceneRefusedError(f"the glTF refers to an external file {bad[0]!r}: glTF scenes must be .glb or use "
                                "data: URIs only")


# ---------------------------------------------------------------- bpy side (in the child)

def _inside(path: str, bundle: str) -> bool:
    return os.path.commonpath([os.path.normpath(path), bundle]) == bundle


def external_references(bundle: str | Path | None = None) -> list[tuple[str, str, str]]:
    """(kind, name, path) of every external file the open scene refers to that is neither packed nor a relative
    path to an existing file inside ``bundle`` (the scene's own directory)."""
    import bpy

    bundle = os.path.normpath(str(bundle)) if bundle else None
    bad: list[tuple[str, str, str]] = []

    def check(kind: str, name: str, raw: str, packed: bool = False, lib=None) -> None:
        if packed or not raw or raw.startswith("<builtin>"):
            return
        absolute = bpy.path.abspath(raw, library=lib)
        if bundle and raw.startswith("//") and _inside(absolute, bundle) and os.path.exists(absolute):
            return
        bad.append((kind, name, raw))

    for lib in bpy.data.libraries:
        check("linked library", lib.name, lib.filepath, lib.packed_file is not None)
    for img in bpy.data.images:
        if img.source in ("FILE", "SEQUENCE", "MOVIE", "TILED"):
            packed = img.packed_file is not None or len(getattr(img, "packed_files", ())) > 0
            check("image", img.name, img.filepath, packed, img.library)
    for clip in bpy.data.movieclips:
        check("movie clip", clip.name, clip.filepath, False, clip.library)
    for sound in bpy.data.sounds:
        check("sound", sound.name, sound.filepath, sound.packed_file is not None, sound.library)
    for font in bpy.data.fonts:
        check("font", font.name, font.filepath, font.packed_file is not None, font.library)
    for vol in bpy.data.volumes:
        check("volume", vol.name, vol.filepath, vol.packed_file is not None, vol.library)
    for cache in bpy.data.cache_files:
        check("cache file", cache.name, cache.filepath, False, cache.library)
    for text in bpy.data.texts:
        check("text", text.name, text.filepath, text.is_in_memory or not text.filepath, text.library)
    for tree in _node_trees():
        for node in tree.nodes:
            if node.bl_idname.startswith("GeometryNodeImport"):
                sock = node.inputs.get("Path")
                if sock is not None and sock.is_linked:
                    bad.append(("geometry import node", node.name, "<computed path>"))
                elif sock is not None:
                    check("geometry import node", node.name, sock.default_value)
            elif node.bl_idname == "ShaderNodeScript" and node.mode == "EXTERNAL":
                check("OSL script", node.name, node.filepath)
    for obj in bpy.data.objects:
        for mod in obj.modifiers:
            if mod.type == "FLUID" and getattr(mod, "domain_settings", None) is not None:
                check("fluid cache", obj.name, mod.domain_settings.cache_directory)
            elif mod.type == "OCEAN" and mod.use_foam:
                check("ocean cache", obj.name, mod.filepath)
    for sc in bpy.data.scenes:
        ed = sc.sequence_editor
        strips = getattr(ed, "strips_all", None) or getattr(ed, "sequences_all", None) or [] if ed else []
        for strip in strips:
            if strip.type == "IMAGE":
                check("sequencer image", strip.name, strip.directory)
            elif strip.type == "MOVIE":
                check("sequencer movie", strip.name, strip.filepath)
    return bad


def _node_trees():
    import bpy

    trees = list(bpy.data.node_groups)
    for coll in (bpy.data.materials, bpy.data.worlds, bpy.data.lights, bpy.data.textures, bpy.data.scenes):
        trees += [d.node_tree for d in coll if getattr(d, "node_tree", None) is not None]
    trees += [sc.compositing_node_group for sc in bpy.data.scenes
              if getattr(sc, "compositing_node_group", None) is not None]
    return trees


def check_references(bundle: str | Path | None = None) -> None:
    bad = external_references(bundle)
    if bad:
        kind, name, path = bad[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise SceneRefusedError(f"the scene refers to a file outside it: {kind} {name!r} at {path!r}{more}; "
                                f"{PACK_HINT}")


def remove_file_outputs() -> list[str]:
    """Remove every compositor File Output node; returns their names."""
    removed = []
    for tree in _node_trees():
        for node in list(tree.nodes):
            if node.bl_idname == "CompositorNodeOutputFile":
                removed.append(node.name)
                tree.nodes.remove(node)
    return removed


def autoexec_enabled() -> bool:
    import bpy

    return bool(bpy.context.preferences.filepaths.use_scripts_auto_execute)
