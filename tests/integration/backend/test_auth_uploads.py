"""Sign-in with Ethereum and scene uploads through the API, with every refusal a creator can meet."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient
from siwe import SiweMessage

from backend.app import create_app
from backend.settings import BackendSettings
from inferix.storage import IPFSStore

DOMAIN, URI = "app.inferix.test", "https://app.inferix.test"


def siwe_text(address: str, nonce: str, chain_id: int = 31337, domain: str = DOMAIN, uri: str = URI,
              expires_in: int = 300) -> str:
    now = datetime.now(timezone.utc)
    return SiweMessage(domain=domain, address=address, uri=uri, version="1", chain_id=chain_id, nonce=nonce,
                       statement="Sign in to Inferix", issued_at=now.isoformat().replace("+00:00", "Z"),
                       expiration_time=(now + timedelta(seconds=expires_in)).isoformat().replace("+00:00", "Z"),
                       ).prepare_message()


def sign(account, text: str) -> str:
    return "0x" + account.sign_message(encode_defunct(text=text)).signature.hex().removeprefix("0x")


def sign_in(client: TestClient, account) -> str:
    nonce = client.post("/v1/auth/nonce").json()["nonce"]
    text = siwe_text(account.address, nonce)
    reply = client.post("/v1/auth/verify", json={"message": text, "signature": sign(account, text)})
    assert reply.status_code == 200, reply.text
    return reply.json()["token"]


@pytest.fixture
def settings(tmp_path):
    return BackendSettings(database=tmp_path / "backend.sqlite", siwe_domain=DOMAIN, siwe_uri=URI,
                           work_dir=tmp_path / "work", max_upload_bytes=200_000, signin_rate="30/minute",
                           upload_rate="5/hour")


@pytest.fixture
def client(settings, ipfs_node):
    store = IPFSStore(ipfs_node.api_multiaddr, timeout=10, max_bytes=10 * 1024 * 1024)
    with TestClient(create_app(settings, store=store)) as c:
        yield c


def test_sign_in_and_me(client):
    alice = Account.create()
    token = sign_in(client, alice)
    me = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["address"] == alice.address


def test_bad_signature(client):
    alice, mallory = Account.create(), Account.create()
    nonce = client.post("/v1/auth/nonce").json()["nonce"]
    text = siwe_text(alice.address, nonce)
    reply = client.post("/v1/auth/verify", json={"message": text, "signature": sign(mallory, text)})
    assert reply.status_code == 401 and "signature" in reply.json()["detail"]


def test_replayed_nonce(client):
    alice = Account.create()
    nonce = client.post("/v1/auth/nonce").json()["nonce"]
    text = siwe_text(alice.address, nonce)
    body = {"message": text, "signature": sign(alice, text)}
    assert client.post("/v1/auth/verify", json=body).status_code == 200
    again = client.post("/v1/auth/verify", json=body)
    assert again.status_code == 401 and "nonce" in again.json()["detail"]


def test_unknown_and_expired_nonce(client, settings):
    alice = Account.create()
    text = siwe_text(alice.address, "neverissued123")
    reply = client.post("/v1/auth/verify", json={"message": text, "signature": sign(alice, text)})
    assert reply.status_code == 401 and "nonce" in reply.json()["detail"]
    nonce = client.post("/v1/auth/nonce").json()["nonce"]
    client.app.state.db.execute("UPDATE nonces SET expires_at = ? WHERE nonce = ?", (time.time() - 1, nonce))
    text = siwe_text(alice.address, nonce)
    reply = client.post("/v1/auth/verify", json={"message": text, "signature": sign(alice, text)})
    assert reply.status_code == 401 and "expired" in reply.json()["detail"]


@pytest.mark.parametrize("field,value,reason", [("domain", "evil.example", "domain"),
                                                 ("uri", "https://evil.example", "URI"),
                                                 ("chain_id", 1, "chain")])
def test_message_for_another_site_or_chain(client, field, value, reason):
    alice = Account.create()
    nonce = client.post("/v1/auth/nonce").json()["nonce"]
    text = siwe_text(alice.address, nonce, **{field: value})
    reply = client.post("/v1/auth/verify", json={"message": text, "signature": sign(alice, text)})
    assert reply.status_code == 401 and reason in reply.json()["detail"]


def test_expired_message(client):
    alice = Account.create()
    nonce = client.post("/v1/auth/nonce").json()["nonce"]
    text = siwe_text(alice.address, nonce, expires_in=-10)
    reply = client.post("/v1/auth/verify", json={"message": text, "signature": sign(alice, text)})
    assert reply.status_code == 401 and "expired" in reply.json()["detail"]


def test_garbage_message_and_signature(client):
    assert client.post("/v1/auth/verify", json={"message": "hello", "signature": "0x" + "11" * 65}).status_code == 422
    assert client.post("/v1/auth/verify", json={"message": "hello", "signature": "0x12"}).status_code == 422


def test_creator_endpoints_need_a_session(client):
    assert client.get("/v1/auth/me").status_code == 401
    assert client.get("/v1/auth/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.post("/v1/quotes", json={"scene_cid": "x"}).status_code == 401


def test_sign_in_rate_limit(settings, ipfs_node):
    settings.signin_rate = "3/minute"
    with TestClient(create_app(settings)) as c:
        codes = [c.post("/v1/auth/nonce").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]


@pytest.fixture(scope="module")
def tiny_blend(tmp_path_factory):
    from inferix.render import run_jobs

    path = tmp_path_factory.mktemp("scene") / "studio.blend"
    run_jobs([{"op": "make_scene", "name": "studio", "path": str(path), "width": 192, "height": 108}])
    return path


def test_upload_scene_reads_metadata_and_pins(client, tiny_blend, ipfs_node):
    token = sign_in(client, Account.create())
    auth = {"Authorization": f"Bearer {token}"}
    data = tiny_blend.read_bytes()
    client.app.state.settings.max_upload_bytes = len(data) + 10
    reply = client.post("/v1/scenes", files={"file": ("studio.blend", data)}, headers=auth)
    assert reply.status_code == 201, reply.text
    scene = reply.json()
    assert (scene["width"], scene["height"], scene["kind"]) == (192, 108, "blend")
    assert scene["frame_end"] >= scene["frame_start"]
    assert IPFSStore(ipfs_node.api_multiaddr, timeout=5).cat(scene["cid"]) == data
    assert client.get(f"/v1/scenes/{scene['cid']}", headers=auth).json()["cid"] == scene["cid"]
    # another creator does not see it
    other = {"Authorization": f"Bearer {sign_in(client, Account.create())}"}
    assert client.get(f"/v1/scenes/{scene['cid']}", headers=other).status_code == 404


def test_upload_refusals(client):
    auth = {"Authorization": f"Bearer {sign_in(client, Account.create())}"}
    big = client.post("/v1/scenes", files={"file": ("big.blend", b"BLENDER" + b"0" * 250_000)}, headers=auth)
    assert big.status_code == 413
    text = client.post("/v1/scenes", files={"file": ("notes.blend", b"just some text")}, headers=auth)
    assert text.status_code == 415
    renamed = client.post("/v1/scenes", files={"file": ("image.png", b"BLENDER-v500")}, headers=auth)
    assert renamed.status_code == 415
    corrupt = client.post("/v1/scenes", files={"file": ("broken.blend", b"BLENDER-v500" + b"\x00" * 500)},
                          headers=auth)
    assert corrupt.status_code == 422 and "could not be opened" in corrupt.json()["detail"]
    empty = client.post("/v1/scenes", files={"file": ("empty.blend", b"")}, headers=auth)
    assert empty.status_code == 422


def test_upload_rate_limit(client):
    auth = {"Authorization": f"Bearer {sign_in(client, Account.create())}"}
    codes = [client.post("/v1/scenes", files={"file": ("x.blend", b"nope")}, headers=auth).status_code
             for _ in range(7)]
    assert codes[:5] == [415] * 5 and codes[5:] == [429, 429]
