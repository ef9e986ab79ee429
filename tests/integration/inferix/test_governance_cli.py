"""`inferix gov`, `inferix vesting` and `inferix license` on a real deployment (anvil, the deploy command): a holder
locks and delegates votes, the foundation's escrow proposes and votes, the proposal is queued and executed after the
unbonding period and E_p changes; vesting and licenses are inspected, a license bought from a tier governance set;
bad input is answered with a clear error and nothing sent.

The chain is this module's own (a week is time-travelled: the session's shared devnet must not age)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from inferix.chain import Chain
from inferix.cli import main
from inferix.testing.devnet import Anvil, deploy, dev_account, govern_locally, rpc

pytestmark = pytest.mark.integration

IFX = 10**18
FOUNDATION, HOLDER, DELEGATE = 19, 0, 3


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    root = tmp_path_factory.mktemp("gov")
    anvil = Anvil(log_path=root / "anvil.log").start()
    try:
        path = root / "deployments.json"
        deployment = deploy(anvil.url, path)
        keys = {}
        for index in (FOUNDATION, HOLDER, DELEGATE):
            key = root / f"{index}.key"
            key.write_text(dev_account(index).key.hex())
            key.chmod(0o600)
            keys[index] = f"keyfile:{key}"
        env = {"INFERIX_RPC_URL": anvil.url, "INFERIX_DEPLOYMENTS": str(path)}
        yield anvil, deployment, keys, env, root
    finally:
        anvil.stop()


def run(env, *args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_a_proposal_from_the_terminal_changes_e_p(net):
    anvil, deployment, keys, env, root = net
    chain = Chain(anvil.url, deployment)
    foundation, holder, delegate = (dev_account(i).address for i in (FOUNDATION, HOLDER, DELEGATE))
    # the foundation's escrow votes at half weight, through its beneficiary
    power = json.loads(run(env, "gov", "power", foundation).output)
    assert int(power["votes"]) == 125_000_000 * IFX // 2
    run(env, "gov", "lock", "2000000", "--account", keys[HOLDER])
    run(env, "gov", "delegate", delegate, "--account", keys[HOLDER])
    assert chain.call("VotePower", "getVotes", delegate) == 2_000_000 * IFX
    assert chain.call("VotePower", "getVotes", holder) == 0

    anvil.time_travel(1)
    proposal_file = root / "proposal.json"
    out = run(env, "gov", "propose", "--call", 'BMWIssuance.setParameter ["emissionRate", 12000000000000000000]',
              "--description", "E_p to 12 IFX per IBM", "--out", proposal_file, "--account", keys[FOUNDATION]).output
    proposal_id = int(json.loads(proposal_file.read_text())["id"])
    assert f"proposal {proposal_id}" in out
    early = run(env, "gov", "vote", proposal_id, "for", "--account", keys[FOUNDATION], ok=False)
    assert early.exit_code == 1 and "governor: vote not active" in early.output
    anvil.time_travel(chain.call("Governor", "votingDelay") + 1)
    run(env, "gov", "vote", proposal_id, "for", "--reason", "more work, more IFX", "--account", keys[FOUNDATION])
    status = json.loads(run(env, "gov", "vote", proposal_id, "against", "--account", keys[DELEGATE]).output)
    assert int(status["against"]) == 2_000_000 * IFX and int(status["for"]) == 125_000_000 * IFX // 2
    anvil.time_travel(chain.call("Governor", "votingPeriod") + 1)
    queued = json.loads(run(env, "gov", "queue", proposal_file, "--account", keys[HOLDER]).output)
    assert queued["state"] == "queued" and int(queued["eta"]) - int(queued["queued_at"]) == 7 * 86400
    too_soon = run(env, "gov", "execute", proposal_file, "--account", keys[HOLDER], ok=False)
    assert too_soon.exit_code == 1 and "not ready" in too_soon.output
    assert chain.call("BMWIssuance", "emissionRate") == 10 * IFX
    anvil.time_travel(7 * 86400 + 1)
    done = json.loads(run(env, "gov", "execute", proposal_file, "--account", keys[DELEGATE]).output)
    assert done["state"] == "executed"
    assert chain.call("BMWIssuance", "emissionRate") == 12 * IFX
    assert json.loads(run(env, "gov", "status", proposal_id).output)["state"] == "executed"


def test_vesting_and_licenses_from_the_terminal(net):
    anvil, deployment, keys, env, root = net
    chain = Chain(anvil.url, deployment)
    holder = dev_account(HOLDER).address
    escrow = chain.call("VestingFactory", "escrows", 0)
    shown = json.loads(run(env, "vesting", "show", escrow).output)
    assert int(shown["total"]) == 125_000_000 * IFX and shown["beneficiary"] == dev_account(FOUNDATION).address
    if int(shown["claimable"]) == 0:  # the foundation's 12-month lock
        refused = run(env, "vesting", "claim", escrow, "--account", keys[HOLDER], ok=False)
        assert refused.exit_code == 1 and "nothing to claim yet" in refused.output
    mine = json.loads(run(env, "license", "show", holder).output)
    assert [h["node_types"] for h in mine["held"]] == [7]  # every local dev account: one license of every type

    # governance opens a tier (the local deployer proposes to the timelock directly): $200 per verifier license
    now = chain.w3.eth.get_block("latest")["timestamp"]
    admin = Chain(anvil.url, deployment, dev_account(0))
    govern_locally(anvil.url, deployment, [("LicenseSale", "setTier", (1, 2, 200 * 10**18, 10, now, now + 86400,
                                                                       b"\x00" * 32))])
    rpc(anvil.url, "evm_mine")
    admin.transact("MockAggregator", "setAnswer", 50_000_000)  # $0.50: a license costs 400 IFX

    buyer = dev_account(DELEGATE).address
    admin.transact("IFXToken", "transfer", buyer, 1_000 * IFX)
    treasury = chain.call("LicenseSale", "treasury")
    paid_before = chain.call("IFXToken", "balanceOf", treasury)
    too_little = run(env, "license", "buy", 1, "--max-ifx", "399", "--account", keys[DELEGATE], ok=False)
    assert too_little.exit_code == 1 and "above the 399.000000 accepted" in too_little.output
    assert chain.call("NodeLicense", "balanceOf", buyer) == 1
    run(env, "license", "buy", 1, "--max-ifx", "400", "--account", keys[DELEGATE])
    assert chain.call("NodeLicense", "balanceOf", buyer) == 2
    assert chain.call("IFXToken", "balanceOf", treasury) - paid_before == 400 * IFX
    assert chain.call("IFXToken", "balanceOf", buyer) == 600 * IFX


@pytest.mark.parametrize("args,message", [
    (("gov", "lock", "lots", "--account", "keyfile:/nonexistent"), "not an IFX amount"),
    (("gov", "vote", "1", "maybe", "--account", "keyfile:/nonexistent"), "'maybe' is not one of"),
    (("gov", "propose", "--call", "setEverything", "--description", "x", "--out", "/tmp/p.json",
      "--account", "keyfile:/nonexistent"), None),
    (("gov", "status", "12345"), "governor: unknown proposal"),
    (("license", "buy", "1", "--max-ifx", "1", "--proof", "not json", "--account", "keyfile:/nonexistent"), None),
])
def test_bad_input_is_answered(net, args, message):
    anvil, deployment, keys, env, root = net
    result = run(env, *args, ok=False)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    if message:
        assert message in result.output
