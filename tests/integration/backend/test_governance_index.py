"""Governance in the index and the read API: on a snapshot of the session's chain (anvil restores its clock with
``evm_revert``, so the week the timelock waits does not leak into other tests), the foundation's beneficiary (dev
account 19, 62.5 M votes through its escrow) proposes a community grant through the Governor (``inferix.governance``),
and a security proposal it cancels while pending; the grant is voted for (19), against (dev account 0, with IFX it
locked) and abstained on (a fresh account), queued, executed after the timelock's delay (the grant's escrow is
created), claimed and revoked by governance; a fresh oracle's license is locked in Staking and revoked. Each stage is
indexed on SQLite and on PostgreSQL by a new indexer (a restart) and read through ``/v1/proposals``,
``/v1/voters``, ``/v1/vesting`` and ``/v1/licenses``; every state, tally, quorum, vote, voting power, vested and
claimed amount equals what the contracts answer at that stage."""

from __future__ import annotations

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from backend.api.reads.models import Licenses, ProposalDetail, ProposalPage, Vesting, Voter
from backend.app import create_app
from backend.db import connect
from backend.indexer import Indexer
from backend.indexer.governance import QUEUE_GRACE, proposal_state
from backend.settings import BackendSettings
from inferix import governance as gov
from inferix.abi import abi
from inferix.protocol import IFX, ROLE_ORACLE, ensure_staked, latest_time
from inferix.testing.devnet import rpc
from tests.conftest import fresh_account, speak_as
from tests.integration.backend.conftest import DB_BACKENDS, idx_refresh_price

pytestmark = pytest.mark.integration

FOUNDATION, HOLDER = 19, 0
MONTH = 2_629_800
DAY = 86400
GRANT = 1_000_000 * IFX
AGAINST_LOCK = 200_000 * IFX
ABSTAIN_LOCK = 20_000 * IFX
STAGES = ("proposed", "voting", "succeeded", "queued", "executed", "final")
GOV_TABLES = {"proposals": "proposal_id", "proposal_votes": "proposal_id, voter", "voters": "address",
              "governor_parameters": "name", "vesting_escrows": "escrow", "node_licenses": "license_id"}


def _rows(conn) -> dict:
    return {t: [dict(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY {order}").fetchall()]
            for t, order in GOV_TABLES.items()}


def _escrow(chain, address: str):
    return chain.w3.eth.contract(address=address, abi=abi("VestingEscrow"))


def _run_governance(devnet) -> dict:
    """The proposals' lives; returns what the tests compare with, and the last block of each stage."""
    chain = devnet.chain(HOLDER)
    foundation = devnet.chain(FOUNDATION)
    holder = chain.address
    abstainer = fresh_account(devnet)
    grantee = Account.create().address
    stages: dict[str, int] = {}
    views: dict[str, dict] = {}
    accounts = [holder, foundation.address, abstainer.address]
    timelock = devnet.deployment.address("Timelock")

    def stage(name: str) -> None:
        stages[name] = chain.block_number()
        view = {"time": latest_time(chain), "state": {k: gov.STATES[chain.call("Governor", "state", p)]
                                                       for k, p in ids.items()},
                "power": {a: gov.voting_power(chain, a) for a in accounts}}
        if name != "proposed":
            view["quorum"] = chain.call("Governor", "quorum", chain.call("Governor", "proposals", ids["grant"])[1])
        if grant_escrow:
            f = _escrow(chain, grant_escrow[0]).functions
            view["grant"] = {"vested": f.vested().call(), "claimed": f.claimed().call(),
                             "claimable": f.claimable().call(), "revoked": f.revoked().call()}
        views[name] = view

    # votes must be locked before the snapshot: the holder and the abstainer lock IFX, one second passes
    votes = chain.deployments.address("VotePower")
    assert chain.call("IFXToken", "balanceOf", holder) >= AGAINST_LOCK
    chain.transact("IFXToken", "approve", votes, AGAINST_LOCK)
    chain.transact("VotePower", "lock", AGAINST_LOCK)
    abstainer.transact("IFXToken", "approve", votes, ABSTAIN_LOCK)
    abstainer.transact("VotePower", "lock", ABSTAIN_LOCK)
    devnet.anvil.time_travel(1)

    start = latest_time(chain)
    grant = gov.actions(chain, [("CommunityFund", "createEscrow", (grantee, GRANT, start, 1_000, 365 * DAY,
                                                                   365 * DAY))],
                        "Grant 1,000,000 IFX to a render farm from the community fund")
    quorum_change = gov.actions(chain, [("Governor", "setParameter", ("quorumBps", 500))], "Quorum to 5 %")
    ids = {"grant": gov.propose(foundation, grant)}
    ids["security"] = gov.propose(foundation, quorum_change)
    foundation.transact("Governor", "cancel", ids["security"])  # the proposer, while pending
    grant_escrow: list[str] = []
    stage("proposed")

    devnet.anvil.time_travel(chain.call("Governor", "votingDelay") + 1)
    gov.vote(foundation, ids["grant"], "for", "more nodes, more renders")
    gov.vote(chain, ids["grant"], "against")
    gov.vote(abstainer, ids["grant"], "abstain", "no opinion")
    stage("voting")

    devnet.anvil.time_travel(chain.call("Governor", "votingPeriod") + 1)
    stage("succeeded")

    gov.queue(chain, grant)
    stage("queued")

    devnet.anvil.time_travel(7 * DAY + 1)
    gov.execute(chain, grant)
    idx_refresh_price(devnet)  # a week of time travel made the mock feed stale
    fund = chain.deployments.address("CommunityFund")
    grant_escrow.append(chain.call("CommunityFund", "escrows", chain.call("CommunityFund", "escrowCount") - 1))
    accounts.append(grant_escrow[0])
    stage("executed")

    chain.send(_escrow(chain, grant_escrow[0]).functions.claim(), "VestingEscrow.claim")  # anyone may claim
    speak_as(devnet, chain, timelock, "CommunityFund", "revoke", grant_escrow[0])  # governance revokes the grant
    oracle = fresh_account(devnet)
    ensure_staked(oracle, ROLE_ORACLE, 1_000 * IFX)
    license_id = chain.call("Staking", "licenseOf", oracle.address)
    assert license_id != 0
    speak_as(devnet, chain, timelock, "NodeLicense", "revoke", license_id)
    stage("final")

    factory = chain.deployments.address("VestingFactory")
    escrows = chain.call("VestingFactory", "getEscrows", 0, chain.call("VestingFactory", "escrowCount"))
    foundation_escrows = [e for e in escrows if _escrow(chain, e).functions.beneficiary().call() == foundation.address]
    return {"ids": ids, "grant": grant, "stages": stages, "views": views, "holder": holder,
            "foundation": foundation.address, "abstainer": abstainer.address, "grantee": grantee,
            "grant_escrow": grant_escrow[0], "fund": fund, "factory": factory, "foundation_escrows": foundation_escrows,
            "oracle": oracle.address, "license": license_id, "staking": chain.deployments.address("Staking"),
            "abstainer_license": [i for i in range(1, chain.call("NodeLicense", "lastId") + 1)
                                  if chain.call("NodeLicense", "nodeTypes", i)
                                  and chain.call("NodeLicense", "ownerOf", i) == abstainer.address]}


def _read(client, flow) -> dict:
    ids = flow["ids"]
    people = (flow["holder"], flow["foundation"], flow["abstainer"], flow["grant_escrow"])
    return {"list": client.get("/v1/proposals").json(),
            "proposals": {k: client.get(f"/v1/proposals/{p}").json() for k, p in ids.items()},
            "voters": {a: client.get(f"/v1/voters/{a}") for a in people},
            "vesting": {a: client.get(f"/v1/vesting/{a.lower()}").json() for a in (flow["foundation"],
                                                                                   flow["grantee"])},
            "licenses": {a: client.get(f"/v1/licenses/{a}").json() for a in (flow["foundation"], flow["oracle"],
                                                                             flow["abstainer"])}}


@pytest.fixture(scope="module")
def gov_index(devnet, postgres, tmp_path_factory):
    """The proposals' lives on a snapshot of the chain, indexed on both databases stage by stage while the chain still
    holds it; yields ``(flow, {backend: {"url", "views": {stage: answers}, "rows"}})``."""
    snapshot = rpc(devnet.anvil.url, "evm_snapshot")
    made: list[str] = []
    try:
        flow = _run_governance(devnet)
        out = {}
        for backend in DB_BACKENDS:
            if backend == "sqlite":
                url = str(tmp_path_factory.mktemp("gov_index") / "backend.sqlite")
            else:
                url = postgres.create_database("gov_index")
                made.append(url)
            views = {}
            for name in STAGES:
                conn = connect(url)  # a new indexer at every stage: it goes on from its cursor
                Indexer(devnet.chain(), conn, max_blocks=50).poll_once(to_block=flow["stages"][name])
                conn.close()
                with TestClient(create_app(BackendSettings(database_url=url))) as client:
                    views[name] = _read(client, flow)
                    if name == STAGES[-1]:
                        views["client_checks"] = _client_checks(client, flow)
            # replaying every block from the deployment's first changes nothing
            conn = connect(url)
            before = _rows(conn)
            conn.execute("UPDATE indexer_cursor SET next_block = ?", (devnet.deployment.block_number,))
            assert Indexer(devnet.chain(), conn).poll_once(to_block=flow["stages"][STAGES[-1]]) == 0
            out[backend] = {"url": url, "views": views, "rows": _rows(conn)}
            assert out[backend]["rows"] == before
            conn.close()
        yield flow, out
    finally:
        rpc(devnet.anvil.url, "evm_revert", [snapshot])
        for url in made:
            postgres.drop_database(url)


def _client_checks(client, flow) -> dict:
    """Paging, filters and bad ids, answered while the client is open."""
    ids = flow["ids"]
    unknown = str(ids["grant"] + 1)
    stranger = Account.create().address
    return {
        "page": client.get("/v1/proposals", params={"limit": 1, "offset": 1}).json(),
        "by_proposer": client.get("/v1/proposals", params={"proposer": flow["foundation"].lower(),
                                                            "limit": 100}).json(),
        "by_other": client.get("/v1/proposals", params={"proposer": flow["grantee"]}).json(),
        "bad_list": [client.get("/v1/proposals", params=p).status_code
                     for p in ({"proposer": "0x12"}, {"limit": 0}, {"offset": -1})],
        "malformed": {p: (r.status_code, r.json()["detail"]) for p, r in (
            (p, client.get(p)) for p in ("/v1/proposals/abc", "/v1/proposals/-1", "/v1/proposals/0x1f",
                                         f"/v1/proposals/{2**256}", "/v1/voters/0x12", "/v1/voters/nothex",
                                         "/v1/vesting/0x" + "g" * 40, "/v1/licenses/" + flow["holder"][2:]))},
        "unknown": {p: (r.status_code, r.json()["detail"]) for p, r in (
            (p, client.get(p)) for p in (f"/v1/proposals/{unknown}", f"/v1/voters/{stranger}"))},
        "nobody": (client.get(f"/v1/vesting/{flow['holder']}").json(),
                   client.get(f"/v1/licenses/{flow['grantee']}").json()),
    }


def test_both_databases_build_the_same_governance_index(gov_index):
    _, out = gov_index
    on_sqlite, on_postgresql = (out[b]["rows"] for b in DB_BACKENDS)
    assert on_sqlite["proposals"] and on_sqlite["node_licenses"] and on_postgresql == on_sqlite


@pytest.mark.parametrize("backend", DB_BACKENDS)
def test_a_proposal_stage_by_stage_through_the_api(gov_index, backend):
    flow, out = gov_index
    views, ids = out[backend]["views"], flow["ids"]
    grant_id, security_id = str(ids["grant"]), str(ids["security"])

    # every stage: the state Governor.state answers at the indexed block's time
    for name in STAGES:
        chain = flow["views"][name]
        for key in ids:
            p = ProposalDetail.model_validate(views[name]["proposals"][key])
            assert (p.state, p.as_of) == (chain["state"][key], chain["time"]), (name, key)
    assert [flow["views"][n]["state"]["grant"] for n in STAGES] == [
        "pending", "active", "succeeded", "queued", "executed", "executed"]
    assert {flow["views"][n]["state"]["security"] for n in STAGES} == {"canceled"}

    # proposed: the actions as the Governor hashes them; nothing voted yet
    p = ProposalDetail.model_validate(views["proposed"]["proposals"]["grant"])
    grant = flow["grant"]
    assert (p.proposal_id, p.proposer, p.targets, p.values, p.calldatas, p.security) == (
        grant_id, flow["foundation"], grant.targets, ["0"], ["0x" + grant.calldatas[0].hex()], False)
    assert p.description == grant.description and p.vote_end - p.vote_start == 3600
    assert (p.for_votes, p.against_votes, p.abstain_votes, p.voters, p.quorum, p.votes) == ("0", "0", "0", 0, None, [])
    s = ProposalDetail.model_validate(views["proposed"]["proposals"]["security"])
    assert (s.security, s.canceled, s.vetoed, s.description) == (True, True, False, "Quorum to 5 %")
    page = ProposalPage.model_validate(views["proposed"]["list"])
    assert [i.proposal_id for i in page.items[:2]] == [security_id, grant_id]  # newest first
    assert [i.state for i in page.items[:2]] == ["canceled", "pending"]

    # voting: for (the foundation's 62.5 M escrow votes), against, abstain, each with the weight at the snapshot
    p = ProposalDetail.model_validate(views["voting"]["proposals"]["grant"])
    against = flow["views"]["proposed"]["power"][flow["holder"]]["votes"]
    assert against >= AGAINST_LOCK
    assert (p.for_votes, p.against_votes, p.abstain_votes, p.voters) == (
        str(125_000_000 * IFX // 2), str(against), str(ABSTAIN_LOCK), 3)
    assert [(v.voter, v.support, v.weight, v.reason) for v in p.votes] == [
        (flow["foundation"], "for", str(125_000_000 * IFX // 2), "more nodes, more renders"),
        (flow["holder"], "against", str(against), ""), (flow["abstainer"], "abstain", str(ABSTAIN_LOCK), "no opinion")]
    assert p.quorum == str(flow["views"]["voting"]["quorum"]) and int(p.quorum) > 0

    # queued: the timelock's operation and the execution delay (the unbonding period, 7 days)
    p = ProposalDetail.model_validate(views["queued"]["proposals"]["grant"])
    assert p.eta - p.queued_at == 7 * DAY and p.operation is not None and p.executed_block is None
    p = ProposalDetail.model_validate(views["executed"]["proposals"]["grant"])
    assert p.executed_block is not None and p.executed_at >= p.eta and p.state == "executed"


@pytest.mark.parametrize("backend", DB_BACKENDS)
def test_voters_vesting_and_licenses(gov_index, backend):
    flow, out = gov_index
    final, chain = out[backend]["views"]["final"], flow["views"]["final"]

    for address, reply in final["voters"].items():
        assert reply.status_code == 200, address
        v = Voter.model_validate(reply.json())
        power = chain["power"][address]
        assert (v.address, v.votes, v.delegate, v.units, v.locked, v.staked) == (
            address, str(power["votes"]), power["delegate"], str(power["units"]), str(power["locked"]),
            str(power["staked"])), address
    holder = Voter.model_validate(final["voters"][flow["holder"]].json())
    assert int(holder.locked) >= AGAINST_LOCK and [(b.proposal_id, b.support) for b in holder.ballots][:1] == [
        (str(flow["ids"]["grant"]), "against")]
    foundation = Voter.model_validate(final["voters"][flow["foundation"]].json())
    assert (foundation.votes, foundation.locked, foundation.escrow) == (str(125_000_000 * IFX // 2), "0", False)
    escrow = Voter.model_validate(final["voters"][flow["grant_escrow"]].json())
    assert escrow.escrow and escrow.delegate == flow["grantee"] and escrow.locked == "0"  # claimed, then revoked

    # the foundation's escrow: 125 M IFX, nothing vested during its 12-month lock
    vesting = Vesting.model_validate(final["vesting"][flow["foundation"]])
    assert [e.escrow for e in vesting.escrows] == flow["foundation_escrows"] and len(vesting.escrows) == 1
    e = vesting.escrows[0]
    assert (e.factory, e.factory_name, e.revocable, e.beneficiary, e.total) == (
        flow["factory"], "VestingFactory", False, flow["foundation"], str(125_000_000 * IFX))
    assert (e.schedule.tge_bps, e.schedule.cliff, e.schedule.duration) == (0, 12 * MONTH, 24 * MONTH)
    assert e.schedule.cliff_ends > vesting.as_of == chain["time"]
    assert (e.vested, e.claimed, e.claimable, e.revoked) == ("0", "0", "0", False)

    # the grant the proposal made: 10 % at its start, claimed by anyone for the grantee, then revoked
    executed = Vesting.model_validate(out[backend]["views"]["executed"]["vesting"][flow["grantee"]])
    g = executed.escrows[0]
    at_execution = flow["views"]["executed"]["grant"]
    assert (g.escrow, g.factory, g.factory_name, g.revocable, g.total) == (
        flow["grant_escrow"], flow["fund"], "CommunityFund", True, str(GRANT))
    assert (int(g.vested), int(g.claimed), int(g.claimable), g.revoked) == (
        at_execution["vested"], at_execution["claimed"], at_execution["claimable"], False)
    assert g.vested == str(GRANT // 10) and g.claimable == g.vested
    g = Vesting.model_validate(final["vesting"][flow["grantee"]]).escrows[0]
    assert (int(g.vested), int(g.claimed), int(g.claimable), g.revoked) == (
        chain["grant"]["vested"], chain["grant"]["claimed"], chain["grant"]["claimable"], True)
    assert (g.claimed, g.returned, g.claimable, g.revoked_at is not None) == (
        str(GRANT // 10), str(GRANT - GRANT // 10), "0", True)

    # licenses: every dev account holds one of every type; a node's license is locked in Staking, then revoked
    held = Licenses.model_validate(final["licenses"][flow["foundation"]])
    assert [(lic.owner, lic.node_types, lic.roles, lic.staked_by, lic.revoked) for lic in held.licenses] == [
        (flow["foundation"], 7, ["worker", "verifier", "manager"], None, False)]
    node = Licenses.model_validate(final["licenses"][flow["oracle"]])
    assert [(lic.license_id, lic.owner, lic.staked_by, lic.revoked) for lic in node.licenses] == [
        (flow["license"], flow["staking"], flow["oracle"], True)]
    fresh = Licenses.model_validate(final["licenses"][flow["abstainer"]])
    assert [lic.license_id for lic in fresh.licenses] == flow["abstainer_license"] and len(fresh.licenses) == 1


@pytest.mark.parametrize("backend", DB_BACKENDS)
def test_paging_filters_and_bad_ids(gov_index, backend):
    flow, out = gov_index
    checks = out[backend]["views"]["client_checks"]
    ids = flow["ids"]
    assert [i["proposal_id"] for i in checks["page"]["items"]] == [str(ids["grant"])]
    assert checks["page"]["limit"] == 1 and checks["page"]["total"] >= 2
    assert [i["proposal_id"] for i in checks["by_proposer"]["items"]][:2] == [str(ids["security"]), str(ids["grant"])]
    assert checks["by_other"]["total"] == 0
    assert checks["bad_list"] == [422, 422, 422]
    for path, (status, detail) in checks["malformed"].items():
        assert status == 400 and ("decimal uint256" in detail or "40 hex digits" in detail), path
    assert [status for status, _ in checks["unknown"].values()] == [404, 404]
    assert all("not found" in detail for _, detail in checks["unknown"].values())
    vesting, licenses = checks["nobody"]
    assert vesting["escrows"] == [] and licenses["licenses"] == []


def _proposal(**changes) -> dict:
    row = {"vote_start": 100, "vote_end": 200, "for_votes": "10", "against_votes": "5", "abstain_votes": "0",
           "queued_at": None, "executed_block": None, "canceled": 0, "vetoed": 0}
    return {**row, **changes}


@pytest.mark.parametrize("row, now, quorum, state", [
    (_proposal(), None, None, "pending"),
    (_proposal(), 100, 8, "pending"),
    (_proposal(), 200, 8, "active"),
    (_proposal(), 201, 8, "succeeded"),
    (_proposal(), 201, 11, "defeated"),  # for + abstain under the quorum
    (_proposal(abstain_votes="1"), 201, 11, "succeeded"),
    (_proposal(for_votes="5"), 201, 0, "defeated"),  # a tie defeats
    (_proposal(for_votes="0", against_votes="0"), 201, None, "defeated"),  # no vote: no quorum needed
    (_proposal(), 200 + QUEUE_GRACE + 1, 8, "expired"),
    (_proposal(queued_at=300), 200 + QUEUE_GRACE + 1, 8, "queued"),
    (_proposal(queued_at=300, executed_block=9), 10**9, 8, "executed"),
    (_proposal(queued_at=300, canceled=1), 400, 8, "canceled"),
    (_proposal(queued_at=300, canceled=1, vetoed=1), 400, 8, "vetoed"),
])
def test_the_state_is_governors(row, now, quorum, state):
    """``proposal_state`` follows ``Governor._state`` branch by branch (the chain's answers are compared above)."""
    assert proposal_state(row, now, quorum) == state
