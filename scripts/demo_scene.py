"""Build the demo's scene: ``python -m scripts.demo_scene OUT.blend WIDTH HEIGHT FRAMES`` (bpy).

The "flyby" test scene (textured ground, stone columns, a glass orb, sky light) with the camera moving along
a smooth path over FRAMES frames.
"""

from __future__ import annotations

import math
import sys


def main(out: str, width: int, height: int, frames: int) -> int:
    import bpy

    from oracle.angv.scenes import make_scene

    make_scene("flyby", out, width, height)
    bpy.ops.wm.open_mainfile(filepath=out)
    sc = bpy.context.scene
    cam = sc.camera
    cam.animation_data_clear()
    sc.frame_start, sc.frame_end = 1, frames
    for f in range(1, frames + 1):
        t = (f - 1) / max(frames - 1, 1)
        cam.location = (-6.0 + 5.0 * t, -9.0 - 1.5 * math.sin(math.pi * t), 3.0 + 0.6 * t)
        cam.keyframe_insert("location", frame=f)
    sc.frame_set(1)
    bpy.ops.wm.save_as_mainfile(filepath=out, compress=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
