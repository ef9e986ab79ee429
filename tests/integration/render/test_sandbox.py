"""The render layer's sandbox, limits, hygiene and device choice, each on a real Blender run."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from inferix.render import (BlenderJobError, Limits, RenderLimitError, SandboxUnavailable, SceneRefused,
                            find_devices, render_job, run_jobs, scene_info)
from inferix.render import sandbox
from inferix.render.devices import PREFERENCE, DeviceError, choose
from tests.integration.render.fixtures import ROOT, TESTS, gltf_with_uri

ORDER = {"width": 32, "height": 18, "samples": 1, "denoise": False}


@pytest.fixture
def listener():
    """A TCP server on the host's 127.0.0.1: the sandbox must not reach it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()


def test_sandbox_hides_the_node_and_the_network(tmp_path, listener):
    port, accepted = listener
    secret = tmp_path / "node" / ".inferix" / "seed.key"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(os.urandom(32))
    out = tmp_path / "out"
    (seen,) = run_jobs([{"op": "tests.integration.render.hostile:probe", "out_dir": str(out), "port": port,
                         "paths": {"home": str(Path.home()), "secret": str(secret), "secret_dir": str(secret.parent),
                                   "checkout": str(ROOT), "etc": "/etc", "output": str(out)}}], inputs=[TESTS])
    assert seen["secret"].startswith("error") and seen["secret_dir"].startswith("error")
    assert isinstance(seen["home"], str) or set(seen["home"]) <= {".pyenv"}  # only the Python runtime, if there
    assert set(seen["checkout"]) <= {"inferix", "oracle", ".venv", "tests"}  # no .inferix/, deployments, out/
    assert "shadow" not in seen["etc"] and "hostname" not in seen["etc"]
    assert seen["output"] == []  # the output directory is there, writable and empty
    assert seen["socket"].startswith("error") and not accepted


def test_file_output_attack_is_real_without_the_sandbox_and_blocked_with_it(hostile, tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    (victim / "scenes").mkdir(parents=True)
    canary = victim / "canary"
    shutil.copytree(hostile.canary, canary)
    before = hostile.canary_state()
    scene = victim / "scenes" / "scene.blend"
    shutil.copy(hostile.path("file_output_rel.blend"), scene)
    # with the render layer: the File Output node is removed, and the canary is out of reach anyway
    run_jobs([render_job(scene, tmp_path / "frames" / "1.png", ORDER)])
    assert {p.name: p.read_bytes() for p in canary.iterdir()} == {"seed.key": b"s" * 32}
    assert (tmp_path / "frames" / "1.png").stat().st_size > 0
    run_jobs([render_job(hostile.path("file_output_abs.blend"), tmp_path / "frames" / "2.png", ORDER)])
    assert hostile.canary_state() == before
    # the control experiment: plain bpy, no sandbox, no hygiene -- the scene overwrites the canary
    monkeypatch.setenv("INFERIX_UNSANDBOXED", "1")
    run_jobs([{"op": "tests.integration.render.hostile:render_raw", "blend": str(scene), "out": str(tmp_path / "raw.png")}],
             inputs=[TESTS])
    assert any(p.read_bytes() != b"s" * 32 for p in canary.iterdir())


def test_external_files_are_refused_with_the_path_named(hostile, tmp_path):
    with pytest.raises(SceneRefused, match=f"image .*{hostile.texture.name}.*inferix pack"):
        scene_info(hostile.path("image_abs.blend"))
    with pytest.raises(SceneRefused, match="linked library .*studio.blend"):
        scene_info(hostile.path("library.blend"))
    secret = tmp_path / "secret.bin"
    secret.write_bytes(os.urandom(36))
    for uri in (str(secret), "../" * 8 + str(secret)[1:]):
        gltf = gltf_with_uri(tmp_path / "scene.gltf", uri)
        with pytest.raises(SceneRefused, match="external file"):  # checked in the child too, before the importer
            scene_info(gltf)


def test_pack_makes_a_scene_acceptable(hostile, tmp_path):
    from inferix.cli import main

    result = CliRunner().invoke(main, ["pack", str(hostile.path("image_abs.blend")), "-o", str(tmp_path / "p.blend")])
    assert result.exit_code == 0, result.output
    assert "1 external files packed" in result.output
    assert scene_info(tmp_path / "p.blend")["camera"] == "Camera"
    bad = gltf_with_uri(tmp_path / "bad.gltf", "../secret.bin")
    refused = CliRunner().invoke(main, ["pack", str(bad)])
    assert refused.exit_code != 0 and "would be refused" in refused.output


def test_autoexec_stays_off(hostile):
    assert scene_info(hostile.path("file_output_abs.blend"))["autoexec"] is False
    (devices,) = run_jobs([{"op": "devices"}])
    assert devices["autoexec"] is False


@pytest.mark.parametrize("limit, limits, scene", [
    ("wall-clock", Limits(wall_seconds=8), "forever"),
    ("CPU time", Limits(cpu_seconds=3), "forever"),
    ("file size", Limits(file_size=300), "studio"),
    ("address space", Limits(address_space=300 * 2**20), "studio"),
    ("processes", Limits(processes=4), "studio"),
])
def test_each_limit_fails_the_run_and_names_itself(hostile, tmp_path, limit, limits, scene):
    with pytest.raises(RenderLimitError) as info:
        run_jobs([render_job(hostile.path(f"{scene}.blend"), tmp_path / "f.png", ORDER)], limits=limits)
    assert info.value.limit == limit
    assert str(info.value).startswith(f"{limit} limit: ")


def test_without_a_sandbox_untrusted_scenes_are_refused(hostile, tmp_path, monkeypatch):
    from inferix.cli import main

    monkeypatch.setattr(sandbox, "probe", lambda: "bubblewrap is not installed")
    monkeypatch.delenv("INFERIX_UNSANDBOXED", raising=False)
    with pytest.raises(SandboxUnavailable, match="bubblewrap is not installed.*--unsandboxed"):
        scene_info(hostile.path("studio.blend"))
    refused = CliRunner().invoke(main, ["worker", "run", "--account", "keyfile:/nonexistent", "--price", "1",
                                        "--stake", "1"])
    assert refused.exit_code != 0 and "no usable sandbox" in refused.output
    sandbox.allow_unsandboxed()  # the operator's explicit choice; monkeypatch restores the environment
    assert scene_info(hostile.path("studio.blend"))["width"] == 64


def test_device_choice():
    assert choose({}) == "CPU"
    assert choose({"CUDA": ["RTX 4090"], "OPTIX": ["RTX 4090"]}) == "OPTIX"
    assert choose({"HIP": ["RX 7900"], "ONEAPI": []}) == "HIP"
    assert choose({"CUDA": ["A100"]}, "cpu") == "CPU"
    assert choose({"CUDA": ["A100"], "OPTIX": ["A100"]}, "CUDA") == "CUDA"
    with pytest.raises(DeviceError, match="OPTIX requested.*CUDA"):
        choose({"CUDA": ["A100"]}, "OPTIX")
    with pytest.raises(DeviceError, match="unknown device"):
        choose({}, "TPU")
    # Cycles' own enumeration, in the sandbox with the GPU device nodes passed through
    found = find_devices()
    assert set(found) <= set(PREFERENCE[:-1]) and all(found.values())
    expected = next((kind for kind in PREFERENCE if kind in found), "CPU")
    assert choose(found) == expected
    if "OPTIX" not in found:
        with pytest.raises(DeviceError):
            choose(found, "OPTIX")


def test_a_crash_is_an_error_not_a_hang(tmp_path):
    broken = tmp_path / "broken.blend"
    broken.write_bytes(b"BLENDER-v500" + b"\0" * 300)
    with pytest.raises(BlenderJobError):
        scene_info(broken)
