"""Hostile scenes and requests through the manager's API (the real app, a real chain, IPFS and Blender in the
sandbox). Each attack gets a clear answer; nothing is written outside the run's output directory (the canary
directory and the manager's secrets are unchanged); the API still answers afterwards."""

from __future__ import annotations

import hashlib
import shutil

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.settings import BackendSettings
from inferix.storage import IPFSStore
from tests.integration.render.fixtures import HUGE, gltf_with_uri

from tests.integration.backend.conftest import prepare
from tests.integration.backend.test_auth_uploads import DOMAIN, URI, sign_in

MIB = 1024 * 1024


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def api(devnet, ipfs_node, tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-api")
    work = root / "work"
    settings = BackendSettings(database=root / "backend.sqlite", siwe_domain=DOMAIN, siwe_uri=URI, work_dir=work,
                               seed_key_file=root / "secrets" / "seed.key", max_upload_bytes=8 * MIB,
                               upload_rate="100/hour", quote_rate="100/hour", quote_timeout=15)
    settings.seed_key_file.parent.mkdir(parents=True)
    settings.seed_key_file.write_bytes(b"k" * 32)
    store = IPFSStore(ipfs_node.api_multiaddr, timeout=10, max_bytes=64 * MIB)
    with TestClient(create_app(settings, chain=devnet.chain(), store=store)) as client:
        client.headers_auth = {"Authorization": f"Bearer {sign_in(client, Account.create())}"}
        # where a relative //../canary path from the manager's scene cache (WORK/scenes/) points
        client.canary = work / "canary"
        client.canary.mkdir(parents=True)
        (client.canary / "seed.key").write_bytes(b"s" * 32)
        yield client


@pytest.fixture
def untouched(api):
    """Asserts, after the test, that the canary and the manager's secrets are unchanged and the API answers."""
    settings = api.app.state.settings
    secrets = {p: _digest(p) for p in (settings.seed_key_file, settings.database)}
    canary = {p.name: _digest(p) for p in api.canary.iterdir()}
    yield
    assert {p.name: _digest(p) for p in api.canary.iterdir()} == canary
    assert _digest(settings.seed_key_file) == secrets[settings.seed_key_file]
    assert api.get("/v1/auth/me", headers=api.headers_auth).status_code == 200


def _upload(api, path, name=None):
    return api.post("/v1/scenes", files={"file": (name or path.name, path.read_bytes())}, headers=api.headers_auth)


def _quote(api, cid, **kw):
    return api.post("/v1/quotes", json={"scene_cid": cid, "frame_start": 1, "frame_end": 1, "samples": 4, **kw},
                    headers=api.headers_auth)


@pytest.mark.parametrize("scene", ["file_output_abs", "file_output_rel"])
def test_file_output_node_writes_nothing(api, hostile, untouched, scene):
    # absolute: aimed at the hostile scenes' canary; relative: at WORK/canary from the manager's scene cache
    uploaded = _upload(api, hostile.path(scene))
    assert uploaded.status_code == 201, uploaded.text  # the node is dropped, not a reason to refuse the scene
    quoted = _quote(api, uploaded.json()["cid"])
    # the reference render ran (the answer is about prices or workers, never the render)
    assert quoted.status_code in (201, 409), quoted.text
    assert hostile.canary_state() == {"seed.key": hashlib.sha256(b"s" * 32).hexdigest()}


def test_gltf_buffer_uri_is_refused(api, untouched, tmp_path):
    settings = api.app.state.settings
    for uri in ("../../secrets/seed.key", str(settings.seed_key_file)):
        gltf = gltf_with_uri(tmp_path / "scene.gltf", uri)
        reply = _upload(api, gltf)
        assert reply.status_code == 422 and "external file" in reply.json()["detail"] and uri in reply.json()["detail"]


@pytest.mark.parametrize("scene, named", [("image_abs", "wood.png"), ("library", "studio.blend")])
def test_external_references_are_refused_at_upload(api, hostile, untouched, scene, named):
    reply = _upload(api, hostile.path(scene))
    assert reply.status_code == 422
    detail = reply.json()["detail"]
    assert detail.startswith("scene refused") and named in detail and "inferix pack" in detail


def test_a_scene_that_renders_forever_fails_its_quote(api, hostile, untouched):
    uploaded = _upload(api, hostile.path("forever"))
    assert uploaded.status_code == 201, uploaded.text
    reply = _quote(api, uploaded.json()["cid"])
    assert reply.status_code == 422 and "wall-clock limit" in reply.json()["detail"]


def test_sixteen_k_frames_are_refused_before_rendering(api, hostile, untouched):
    uploaded = _upload(api, hostile.path("huge"))
    assert uploaded.status_code == 201 and uploaded.json()["width"] == HUGE
    reply = _quote(api, uploaded.json()["cid"])
    assert reply.status_code == 422 and f"{HUGE}x{HUGE}" in reply.json()["detail"]
    assert "pixels per frame" in reply.json()["detail"]


def test_quote_budget_and_rate_limit(api, hostile, untouched):
    settings = api.app.state.settings
    cid = _upload(api, hostile.path("studio")).json()["cid"]
    old = settings.quote_render_budget
    settings.quote_render_budget = 100  # less than one 16x16 reference frame at 4 samples
    try:
        reply = _quote(api, cid)
        assert reply.status_code == 422 and "quote budget" in reply.json()["detail"]
    finally:
        settings.quote_render_budget = old
    from backend.ratelimit import RateLimiter

    api.app.state.limiters["quote"] = RateLimiter("2/hour")
    codes = [_quote(api, cid).status_code for _ in range(3)]
    assert codes[2] == 429 and 429 not in codes[:2]


@pytest.fixture
def server(api):
    """The same app behind a real HTTP server (uvicorn), for what the in-process client cannot send."""
    import threading

    import uvicorn

    from inferix.testing.ipfs import free_port

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(api.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        thread.join(0.05)
    yield port
    srv.should_exit = True
    thread.join(10)


def chunked_upload(port: int, size: int, headers: dict) -> tuple[int, str, int]:
    """POST a multipart body of ``size`` bytes with chunked transfer encoding, as a raw client would, stopping
    when the server answers; returns (status, body, bytes of the file sent)."""
    import select
    import socket

    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = "".join(f"{k}: {v}\r\n" for k, v in {**headers, "Transfer-Encoding": "chunked",
                                                  "Content-Type": "multipart/form-data; boundary=x"}.items())
    sock.sendall(f"POST /v1/scenes HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode())
    part = b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.blend"\r\n\r\nBLENDER-v500'
    chunk = b"\0" * (256 * 1024)
    sent = 0
    try:
        sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        while sent < size and not select.select([sock], [], [], 0)[0]:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    reply = b""
    while b"\r\n\r\n" not in reply or len(reply.split(b"\r\n\r\n", 1)[1]) < 10:
        data = sock.recv(65536)
        if not data:
            break
        reply += data
    sock.close()
    status = int(reply.split(b" ", 2)[1])
    return status, reply.split(b"\r\n\r\n", 1)[1].decode(errors="replace"), sent


def test_chunked_upload_is_cut_at_the_limit(api, server, untouched):
    limit = api.app.state.settings.max_upload_bytes
    status, body, sent = chunked_upload(server, 200 * MIB, api.headers_auth)
    assert status == 413 and "larger than" in body
    # refused as soon as it passed the limit, not after 200 MiB (what was sent beyond it sat in socket buffers)
    assert sent <= limit + 16 * MIB
    assert not any((api.app.state.settings.work_dir / "uploads").iterdir())  # nothing left spooled
    status, body, sent = chunked_upload(server, 200 * MIB, {})
    assert status == 401 and "sign in" in body and sent <= 16 * MIB  # no session: the file is not read


def test_manager_loop_rejects_a_job_whose_scene_renders_forever(devnet, store, hostile, tmp_path):
    """The noise insertion of a scene that never finishes fails that job, named; the loop returns and goes on."""
    import json
    import time

    from backend.state import scene_path
    from backend.db import connect, migrate
    from backend.manager import Manager, ManagerConfig
    from backend.state import APP_MIGRATIONS
    from inferix.protocol import IFX

    db = connect(tmp_path / "backend.sqlite")
    migrate(db, "app", APP_MIGRATIONS)
    cid = store.add_file(hostile.path("forever"))
    local = scene_path(tmp_path / "work", cid, "blend")
    local.parent.mkdir(parents=True)
    shutil.copy(hostile.path("forever"), local)
    quote = {"scene_cid": cid, "frame_start": 1, "frame_end": 1, "width": 64, "height": 36, "samples": 4,
             "denoise": False, "tasks": [{"frame_start": 1, "frame_end": 1, "ibm": 1000}]}
    db.execute("INSERT INTO scenes VALUES (?, 'x', 'forever.blend', 1, 'blend', '{}', ?)", (cid, time.time()))
    db.execute("INSERT INTO quotes VALUES ('00000000000000aa', 'x', ?, ?, ?)", (cid, json.dumps(quote), time.time()))
    event = {"outputSettings": json.dumps({"q": "00000000000000aa"}), "sceneCid": cid, "frameStart": 1, "frameEnd": 1}
    db.execute("INSERT INTO prepared_jobs (job_id, status, updated_at, event) VALUES (777, 'pending', ?, ?)",
               (time.time(), json.dumps(event)))
    manager = Manager(devnet.chain(9), store, db, ManagerConfig(stake=1_000 * IFX, seed_key=b"k" * 32,
                                                                work_dir=tmp_path / "work", prepare_timeout=8))
    prepare(manager)
    row = db.execute("SELECT status, error FROM prepared_jobs WHERE job_id = 777").fetchone()
    assert row["status"] == "rejected" and row["error"].startswith("wall-clock limit"), dict(row)
    started = time.monotonic()
    prepare(manager)  # not tried again
    assert time.monotonic() - started < 2
