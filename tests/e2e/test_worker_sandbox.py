"""Hostile task packages through the worker agent (its real render step: IPFS download, the sandboxed Blender run,
pinning): a File Output node writes nothing outside the frames directory, a scene that renders forever fails its
task at the render window naming the limit, and the agent goes on. The agent reports its render device."""

from __future__ import annotations

import json
import shutil

import pytest

from inferix.nodedb import NodeDB
from inferix.protocol import PACKAGE_ORDER, PACKAGE_SCENE, frame_name
from worker.agent import SUBMIT_MARGIN, WorkerAgent, WorkerConfig

ORDER = {"width": 32, "height": 18, "samples": 2, "denoise": False, "seed": 0}


@pytest.fixture
def agent(devnet, store, tmp_path):
    node = WorkerAgent(devnet.chain(11), store, NodeDB(tmp_path / "worker.sqlite"),
                       WorkerConfig(price_per_ibm=10**18, stake=0, work_dir=tmp_path / "work"))
    node.device = node.choose_device()
    return node


def _package(store, tmp_path, blend) -> str:
    package = tmp_path / f"package-{blend.stem}"
    package.mkdir()
    shutil.copy(blend, package / PACKAGE_SCENE)
    (package / PACKAGE_ORDER).write_text(json.dumps({**ORDER, "frames": [1, 1], "format": "png"}))
    return store.add_directory(package)


def _assign(agent, task_id: int, cid: str, seconds: int) -> None:
    now = agent.chain.w3.eth.get_block("latest")["timestamp"]
    agent.db.put(f"posted:{task_id}", {"sceneCid": cid, "frames": [1, 1], "ibm": 1, "renderWindow": seconds})
    agent.db.set_task(task_id, 1, "accepted", deadline=now + seconds)


def test_worker_reports_its_device(agent):
    status = agent.db.get("status")
    assert status["device"] == agent.device == "CPU"  # this machine has no GPU; Cycles' enumeration says so
    assert status["sandbox"].startswith("bubblewrap")


@pytest.mark.parametrize("scene", ["file_output_abs", "file_output_rel"])
def test_file_output_node_writes_nothing_on_the_worker(agent, hostile, store, tmp_path, scene):
    before = hostile.canary_state()
    _assign(agent, 9001, _package(store, tmp_path, hostile.path(scene)), 600)
    agent.advance()
    status, data = agent.db.task(9001, 1)
    assert status == "rendered", data
    work = tmp_path / "work" / "task-9001-1"
    assert (work / "frames" / frame_name(1)).stat().st_size > 0
    assert hostile.canary_state() == before
    assert not (work / "canary").exists()  # //../canary from the package directory
    assert {p.name for p in work.iterdir()} <= {"download", "frames", "package"}


def test_a_scene_that_renders_forever_fails_its_task_at_the_window(agent, hostile, store, tmp_path):
    _assign(agent, 9002, _package(store, tmp_path, hostile.path("forever")), SUBMIT_MARGIN + 8)
    agent.advance()
    status, data = agent.db.task(9002, 1)
    assert status == "failed" and data["reason"].startswith("wall-clock limit"), data
    # the agent goes on: the next task renders
    _assign(agent, 9003, _package(store, tmp_path, hostile.path("studio")), 600)
    agent.advance()
    assert agent.db.task(9003, 1)[0] == "rendered"
