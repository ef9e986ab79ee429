"""Sponsored transactions through the manager's API (backend/api/relay.py) on a real chain: a creator holding IFX
and no ETH signs typed data; the manager relays ``JobRelay.createJobFor`` and ``forwardFor``, pays the gas and takes
its fee. What the contract would refuse is answered 400 with its reason, and nothing is sent."""

from __future__ import annotations

import json
import time

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.db import connect
from backend.settings import BackendSettings
from inferix.protocol import IFX

from ...conftest import fund, fresh_account
from .test_auth_uploads import DOMAIN, URI, sign_in

pytestmark = pytest.mark.integration

QUOTE = "00000000000000c7"
USD = 10**18


@pytest.fixture
def world(reverted, tmp_path):
    devnet = reverted
    from inferix.protocol import ROLE_MANAGER, ensure_staked

    boss = fresh_account(devnet)
    ensure_staked(boss, ROLE_MANAGER, 1_000 * IFX)
    creator = Account.create()  # never given ETH
    fund(devnet, creator.address, 100 * IFX)
    settings = BackendSettings(database=tmp_path / "backend.sqlite", siwe_domain=DOMAIN, siwe_uri=URI,
                               work_dir=tmp_path / "work", relay_rate="100/hour")

    def app(relays: bool = True) -> TestClient:
        return TestClient(create_app(settings, chain=devnet.chain(), manager_address=boss.address,
                                     relayer=boss if relays else None))

    quote = {"scene_cid": "QmScene", "frame_start": 1, "frame_end": 2, "width": 64, "height": 64, "samples": 4,
             "denoise": False, "frames_per_task": 2, "tasks": [{"frame_start": 1, "frame_end": 2, "ibm": 2 * 10**6}],
             "max_price_per_ibm": USD, "budget_ifx": 10 * IFX}
    app()  # its tables
    connect(settings.database).execute("INSERT INTO quotes (id, owner, scene_cid, body, created_at) VALUES (?, ?, ?, ?, ?)",
                                       (QUOTE, creator.address, "QmScene", json.dumps(quote), time.time()))
    return devnet, boss, creator, app


def signed(account, typed: dict | None) -> str | None:
    return None if typed is None else "0x" + Account.sign_typed_data(account.key, full_message=typed).signature.hex()


def test_a_creator_without_eth_creates_closes_and_withdraws_through_the_manager(world):
    devnet, boss, creator, app = world
    chain = devnet.chain()
    api = app()
    auth = {"Authorization": f"Bearer {sign_in(api, creator)}"}
    info = api.get("/v1/relay").json()
    assert info["enabled"] and info["relayer"] == boss.address and info["relay"] == chain.deployments.address("JobRelay")
    fee = int(info["fee_ifx"])
    assert fee == IFX // 2

    prepared = api.post("/v1/relay/jobs/prepare", json={"quote_id": QUOTE, "budget_ifx": str(12 * IFX)}, headers=auth)
    assert prepared.status_code == 200, prepared.text
    body = prepared.json()
    assert body["request"]["message"]["budget"] == str(12 * IFX) and body["request"]["message"]["relayer"] == boss.address
    assert body["permit"]["message"]["value"] == str(12 * IFX + fee)  # the budget and the fee, one permit
    relayer_eth = chain.w3.eth.get_balance(boss.address)
    boss_ifx = chain.call("IFXToken", "balanceOf", boss.address)
    reply = api.post("/v1/relay/jobs", headers=auth, json={
        "quote_id": QUOTE, "budget_ifx": str(12 * IFX), "deadline": body["deadline"],
        "signature": signed(creator, body["request"]), "permit_signature": signed(creator, body["permit"])})
    assert reply.status_code == 201, reply.text
    job_id = reply.json()["job_id"]
    job = chain.call("JobEscrow", "jobs", job_id)
    assert job[0] == creator.address and job[2] == 12 * IFX  # the creator's job, its budget locked
    assert chain.call("IFXToken", "balanceOf", creator.address) == 100 * IFX - 12 * IFX - fee
    assert chain.call("IFXToken", "balanceOf", boss.address) == boss_ifx + fee
    assert chain.w3.eth.get_balance(creator.address) == 0  # never needed ETH
    assert chain.w3.eth.get_balance(boss.address) < relayer_eth  # the relayer paid the gas

    # the same signatures again: the nonce is spent, the contract refuses, nothing is sent
    again = api.post("/v1/relay/jobs", headers=auth, json={
        "quote_id": QUOTE, "budget_ifx": str(12 * IFX), "deadline": body["deadline"],
        "signature": signed(creator, body["request"]), "permit_signature": signed(creator, body["permit"])})
    assert again.status_code == 400 and "nothing was sent" in again.json()["detail"]
    assert chain.call("JobEscrow", "jobCount") == job_id

    # close, then withdraw the refund, each relayed for the fee
    for call in ("close", "withdraw"):
        prep = api.post("/v1/relay/forward/prepare", json={"call": call, "job_id": job_id}, headers=auth).json()
        done = api.post("/v1/relay/forward", headers=auth, json={
            "call": call, "job_id": job_id, "deadline": prep["deadline"], "signature": signed(creator, prep["request"]),
            "permit_signature": signed(creator, prep["permit"])})
        assert done.status_code == 201, done.text
    assert chain.call("JobEscrow", "jobs", job_id)[6] is True  # closed
    assert chain.call("JobEscrow", "claimable", creator.address) == 0
    assert chain.call("IFXToken", "balanceOf", creator.address) == 100 * IFX - 3 * fee  # budget back, three fees
    assert chain.w3.eth.get_balance(creator.address) == 0


def test_forged_and_bad_requests_are_refused_with_a_reason(world):
    devnet, boss, creator, app = world
    chain = devnet.chain()
    api = app()
    auth = {"Authorization": f"Bearer {sign_in(api, creator)}"}
    body = api.post("/v1/relay/jobs/prepare", json={"quote_id": QUOTE}, headers=auth).json()
    stranger = Account.create()
    base = {"quote_id": QUOTE, "deadline": body["deadline"], "permit_signature": signed(creator, body["permit"])}
    count = chain.call("JobEscrow", "jobCount")

    forged = api.post("/v1/relay/jobs", headers=auth, json={**base, "signature": signed(stranger, body["request"])})
    assert forged.status_code == 400 and "JobRelay.createJobFor reverted" in forged.json()["detail"]
    # a signature of other terms (a longer deadline than the one signed) does not match what is relayed
    stretched = api.post("/v1/relay/jobs", headers=auth, json={**base, "deadline": body["deadline"] + 1,
                                                                "signature": signed(creator, body["request"])})
    assert stretched.status_code == 400
    assert api.post("/v1/relay/jobs", headers=auth, json={**base, "signature": "0x1234"}).status_code == 422
    assert api.post("/v1/relay/jobs", json={**base, "signature": signed(creator, body["request"])}).status_code == 401
    assert api.post("/v1/relay/forward/prepare", json={"call": "close"}, headers=auth).status_code == 422
    assert api.post("/v1/relay/forward/prepare", json={"call": "transfer", "job_id": 1}, headers=auth).status_code == 422
    assert chain.call("JobEscrow", "jobCount") == count  # nothing created

    off = app(relays=False)
    assert off.get("/v1/relay").json()["enabled"] is False
    token = sign_in(off, creator)
    refused = off.post("/v1/relay/jobs/prepare", json={"quote_id": QUOTE}, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 503 and "does not relay" in refused.json()["detail"]
