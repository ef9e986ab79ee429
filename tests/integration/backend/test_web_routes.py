"""What the web app reads from its manager (backend/api/web.py) on a real chain and IPFS: the network it runs on,
a read-only IPFS gateway for frames that answers bad paths with a clear status, and the app's static build."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.settings import BackendSettings
from inferix.storage import IPFSStore

pytestmark = pytest.mark.integration


@pytest.fixture
def client(devnet, ipfs_node, tmp_path):
    def make(web_dir=None, max_bytes: int = 10_000_000):
        store = IPFSStore(ipfs_node.api_multiaddr, timeout=10, max_bytes=max_bytes)
        settings = BackendSettings(database=tmp_path / "backend.sqlite", work_dir=tmp_path / "work",
                                   web_dir=web_dir or tmp_path / "no-build", public_rpc_url="https://rpc.example")
        return TestClient(create_app(settings, chain=devnet.chain(), store=store, manager_address="0x" + "ab" * 20))
    return make


def test_network_names_the_chain_its_public_rpc_the_contracts_and_the_manager(client, devnet):
    reply = client().get("/v1/network")
    assert reply.status_code == 200
    body = reply.json()
    deployment = devnet.chain().deployments
    assert body["chain_id"] == deployment.chain_id
    assert body["rpc_url"] == "https://rpc.example"  # what browsers use, not the manager's own node
    assert body["contracts"] == dict(deployment.contracts) and "JobEscrow" in body["contracts"]
    assert body["manager"] == "0x" + "ab" * 20 and body["gateway"] == "/ipfs/"


def test_the_gateway_serves_files_and_directory_entries_and_answers_bad_paths(client, store, tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + b"frame" * 100
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "frame_0001.png").write_bytes(png)
    directory = store.add_directory(frames)
    api = client(max_bytes=4096)

    reply = api.get(f"/ipfs/{directory}/frame_0001.png")
    assert reply.status_code == 200 and reply.content == png
    assert reply.headers["content-type"] == "image/png"
    assert "immutable" in reply.headers["cache-control"] and reply.headers["x-content-type-options"] == "nosniff"
    single = store.add_bytes(b"plain bytes")
    assert api.get(f"/ipfs/{single}").content == b"plain bytes"

    assert api.get(f"/ipfs/{directory}/frame_0002.png").status_code == 404  # no such entry
    bad = api.get("/ipfs/not-a-cid")
    assert bad.status_code == 400 and "CID" in bad.json()["detail"].upper()
    assert api.get("/ipfs/").status_code in (400, 404)
    large = store.add_bytes(b"x" * 10_000)
    too_large = api.get(f"/ipfs/{large}")
    assert too_large.status_code == 413 and "limit" in too_large.json()["detail"]
    assert api.get(f"/ipfs/{single}").status_code == 200  # still serving after the refusals


def test_the_app_is_served_when_built_and_says_how_to_build_it_otherwise(client, tmp_path):
    unbuilt = client().get("/app/")
    assert unbuilt.status_code == 404 and "make web" in unbuilt.json()["detail"]
    build = tmp_path / "dist"
    build.mkdir()
    (build / "index.html").write_text("<!doctype html><title>Inferix</title>")
    (build / "app.js").write_text("export {};")
    api = client(web_dir=build)
    page = api.get("/app/")
    assert page.status_code == 200 and "<title>Inferix</title>" in page.text
    assert api.get("/app/app.js").headers["content-type"].startswith(("text/javascript", "application/javascript"))
    root = api.get("/", follow_redirects=False)
    assert root.status_code in (302, 307) and root.headers["location"] == "/app/"
