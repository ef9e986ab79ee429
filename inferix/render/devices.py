"""Cycles render devices: what this machine has, the best of them, and using it for a render.

:func:`choose` is pure (the worker's choice, unit-tested); :func:`enumerate_devices` and :func:`use` import bpy
and run in the sandboxed child (``{"op": "devices"}`` through :func:`inferix.render.runner.run_jobs`).
"""

from __future__ import annotations

# best first: OptiX (RTX), CUDA, HIP (AMD), oneAPI (Intel), Metal (Apple), then the CPU
PREFERENCE = ("OPTIX", "CUDA", "HIP", "ONEAPI", "METAL", "CPU")


class DeviceError(ValueError):
    pass


def choose(available: dict[str, list[str]], override: str | None = None) -> str:
    """The Cycles device type to render on: ``override`` if given (it must be available), else the first of
    :data:`PREFERENCE` with at least one device. ``available`` maps device types to device names (the CPU is
    always available)."""
    have = {t.upper(): names for t, names in available.items() if names}
    if override:
        wanted = override.upper()
        if wanted not in PREFERENCE:
            raise DeviceError(f"unknown device {override!r}: use one of {', '.join(PREFERENCE)}")
        if wanted != "CPU" and wanted not in have:
            found = ", ".join(f"{t} ({', '.join(n)})" for t, n in have.items()) or "none"
            raise DeviceError(f"device {wanted} requested but Cycles finds no such device here (GPUs found: {found})")
        return wanted
    return next((t for t in PREFERENCE if t in have), "CPU")


def enumerate_devices() -> dict[str, list[str]]:
    """Cycles' own enumeration: device type -> names, GPU types only (bpy)."""
    import bpy

    prefs = bpy.context.preferences.addons["cycles"].preferences
    prefs.refresh_devices()
    out: dict[str, list[str]] = {}
    for kind in PREFERENCE[:-1]:
        try:
            names = [d.name for d in prefs.get_devices_for_type(kind) if d.type == kind]
        except (TypeError, ValueError, AttributeError):
            continue
        if names:
            out[kind] = names
    return out


def use(sc, kind: str) -> None:
    """Render ``sc`` on device type ``kind`` (all its devices), or on the CPU (bpy)."""
    import bpy

    kind = kind.upper()
    if kind == "CPU":
        sc.cycles.device = "CPU"
        return
    prefs = bpy.context.preferences.addons["cycles"].preferences
    prefs.compute_device_type = kind
    prefs.refresh_devices()
    found = [d for d in prefs.devices if d.type == kind]
    if not found:
        raise DeviceError(f"Cycles finds no {kind} device in this process")
    for d in prefs.devices:
        d.use = d.type == kind
    sc.cycles.device = "GPU"
