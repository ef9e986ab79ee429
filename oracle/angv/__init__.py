"""ANGV (Active Noise Generation and Verification): Inferix's proof of rendering.

Pure algorithm: the modules below import numpy, Pillow, OpenEXR and hashing only, except :mod:`.insertion` (noise
placement), :mod:`.attacks` and :mod:`.ops`, which import bpy and run only in the render layer's sandboxed child
(:func:`inferix.render.run_jobs`; ``ops`` registers ANGV's ops there). See docs/angv.md.
"""

from .frames import Frame, FrameError, load_frame
from .keys import derive_key, key_commit, scene_digest
from .manifest import FrameManifest, Manifest, Region, RenderOrder, Tile
from .params import AngvParams
from .verify import FrameResult, required_passes, verify_frame

__all__ = [
    "AngvParams",
    "Frame",
    "FrameError",
    "FrameManifest",
    "FrameResult",
    "Manifest",
    "Region",
    "RenderOrder",
    "Tile",
    "derive_key",
    "key_commit",
    "load_frame",
    "required_passes",
    "scene_digest",
    "verify_frame",
]
