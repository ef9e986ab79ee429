"""The render layer: everything that starts Blender, opens a scene or renders goes through here.

* :mod:`.runner` (no bpy): :func:`run_jobs` starts one sandboxed Blender child for a list of jobs;
  :func:`scene_info`, :func:`time_frames`, :func:`render_frames` and :func:`find_devices` are the typed entry
  points the manager and the worker use.
* :mod:`.sandbox` (no bpy): bubblewrap, resource limits, ``--unsandboxed``.
* :mod:`.hygiene`: the rules a scene must meet (external files, glTF URIs, File Output nodes, auto-execution).
* :mod:`.child`, :mod:`.blend`, :mod:`.devices`, :mod:`.scenes` (bpy, in the child): the ops, opening and
  rendering scenes, Cycles devices, the generated scenes.

See docs/security.md.
"""

from inferix.render.runner import (BlenderJobError, RenderLimitError, SceneRefused, find_devices, render_frames,
                                   render_job, render_many, run_jobs, scene_info, time_frames)
from inferix.render.sandbox import Limits, SandboxUnavailable

__all__ = ["BlenderJobError", "Limits", "RenderLimitError", "SandboxUnavailable", "SceneRefused", "find_devices",
           "render_frames", "render_job", "render_many", "run_jobs", "scene_info", "time_frames"]
