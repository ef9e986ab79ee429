"""The real deployment on a real node: `ape run scripts/deploy.py` against anvil, then governance through
the deployed timelock.

The test starts its own anvil (so the chain outlives the deploy command), runs the deploy command exactly as
an operator does, with ``APE_FOUNDRY_HOST`` pointing ape-foundry at that anvil and ``INFERIX_DEPLOYMENTS``
at a temporary file, then connects ape to the same anvil to check the deployments file against the chain.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from eth_utils import function_signature_to_4byte_selector

from inferix.abi import ROLE_CONTRACTS
from inferix.deployments import CONTRACTS, Deployment, DeploymentError, default_path, load, save

ROOT = Path(__file__).resolve().parents[3]
BIN_DIRS = [str(ROOT / ".venv" / "bin"), str(Path(sys.executable).parent), str(ROOT / "node_modules" / ".bin")]
PATH = os.pathsep.join([*BIN_DIRS, os.environ.get("PATH", "")])
MNEMONIC = "test test test test test test test test test test test junk"
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO32 = b"\x00" * 32
IFX = 10**18

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Field 'import_remapping'"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rpc(url: str, method: str, params: list | None = None):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["result"]


@pytest.fixture(scope="module")
def anvil(tmp_path_factory):
    binary = shutil.which("anvil", path=PATH)
    if binary is None:
        pytest.fail("anvil not found: run `make install` (npm ci installs node_modules/.bin/anvil)")
    port = _free_port()
    log = (tmp_path_factory.mktemp("anvil") / "anvil.log").open("w")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--mnemonic", MNEMONIC, "--accounts", "10", "--silent"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                _rpc(url, "eth_chainId")
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"anvil exited with {process.returncode}")
                time.sleep(0.1)
        else:
            pytest.fail("anvil did not answer within 10 s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def deployed(anvil, tmp_path_factory) -> tuple[Deployment, Path, str]:
    """Runs the deploy command against the test's anvil; returns the deployments file it wrote."""
    out = tmp_path_factory.mktemp("deployments") / "local.json"
    env = {**os.environ, "PATH": PATH, "APE_FOUNDRY_HOST": anvil, "INFERIX_DEPLOYMENTS": str(out),
           "NO_UPDATE_NOTIFIER": "1"}
    ape = shutil.which("ape", path=PATH)
    assert ape, "ape not found in the venv"
    result = subprocess.run(
        [ape, "run", "scripts/deploy.py", "--network", "ethereum:local:foundry"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, f"deploy failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    assert f"Deployments file: {out}" in result.stdout
    return load(out), out, result.stdout


@pytest.fixture(scope="module")
def chain_ctx(anvil, deployed):
    """ape connected to the same anvil (no process of its own), with the project's contract types."""
    saved = {k: os.environ.get(k) for k in ("APE_FOUNDRY_HOST", "PATH")}
    os.environ["APE_FOUNDRY_HOST"] = anvil
    os.environ["PATH"] = PATH
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        import ape

        with ape.networks.parse_network_choice("ethereum:local:foundry") as provider:
            deployment = deployed[0]
            contracts = {name: ape.Contract(address, contract_type=getattr(ape.project,
                                                                           ROLE_CONTRACTS.get(name, name)).contract_type)
                         for name, address in deployment.contracts.items()}
            yield ape, provider, contracts
    finally:
        os.chdir(cwd)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_deployments_file_is_complete(deployed, anvil):
    deployment, path, stdout = deployed
    raw = json.loads(path.read_text())
    assert raw["format"] == 1
    assert deployment.network == "local" and deployment.ecosystem == "ethereum"
    assert deployment.chain_id == int(_rpc(anvil, "eth_chainId"), 16) == 31337
    assert deployment.deployer == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # TEST::0
    assert set(deployment.contracts) == {*CONTRACTS, "MockAggregator", "JobRelay", "KeyRegistry"}
    assert len(set(deployment.contracts.values())) == len(deployment.contracts)
    head = int(_rpc(anvil, "eth_blockNumber"), 16)
    assert 1 <= deployment.block_number <= head
    for name, address in deployment.contracts.items():
        assert _rpc(anvil, "eth_getCode", [address, "latest"]) not in ("0x", ""), f"{name} has no code"
    # block_number is the block of the first deployment: the token has no code just before it
    token = deployment["IFXToken"]
    assert _rpc(anvil, "eth_getCode", [token, hex(deployment.block_number - 1)]) in ("0x", "")
    assert _rpc(anvil, "eth_getCode", [token, hex(deployment.block_number)]) not in ("0x", "")
    p = deployment.parameters
    assert int(p["max_supply_wei"]) == 10**9 * IFX
    assert int(p["genesis_mint_wei"]) == 500_000_000 * IFX
    assert int(p["ecosystem_allocation_wei"]) == 500_000_000 * IFX
    assert p["timelock_min_delay_s"] == 60 and p["timelock_executors"] == "anyone"
    # the Governor proposes; on a local chain the deployer too (tests change windows without a week-long vote)
    assert p["timelock_proposers"] == [deployment["Governor"], deployment.deployer]
    assert p["governor"]["quorum_bps"] == 400 and p["governor"]["veto_bps"] == 1_000
    assert sum(int(v) for k, v in p["genesis_buckets_wei"].items() if k != "airdrop_at_tge") == 500_000_000 * IFX
    assert p["vesting_escrows"] == 1  # the foundation's
    assert p["quorum"] == 2 and p["aggregator"] == deployment["MockAggregator"] and p["aggregator_is_mock"]
    assert "transactions," in stdout and "Deployments file:" in stdout


def test_wiring_roles_and_governance_on_chain(chain_ctx, deployed):
    ape, provider, c = chain_ctx
    deployment = deployed[0]
    token, timelock, feed = c["IFXToken"], c["Timelock"], c["PriceFeedAdapter"]
    staking, issuance, escrow, por = c["Staking"], c["BMWIssuance"], c["JobEscrow"], c["ProofOfRender"]

    assert staking.escrow() == escrow.address
    assert staking.proofOfRender() == por.address
    assert staking.issuance() == issuance.address
    assert staking.token() == token.address
    assert issuance.escrow() == escrow.address and issuance.proofOfRender() == por.address
    assert issuance.token() == token.address and issuance.priceFeed() == feed.address
    assert issuance.staking() == staking.address
    assert escrow.proofOfRender() == por.address and escrow.staking() == staking.address
    assert escrow.issuance() == issuance.address and escrow.priceFeed() == feed.address
    assert escrow.token() == token.address
    # the job relay (sponsored transactions) is the escrow's trusted forwarder, wired once to it
    relay = c["JobRelay"]
    assert escrow.trustedForwarder() == relay.address
    assert relay.escrow() == escrow.address and relay.token() == token.address
    assert por.escrow() == escrow.address and por.staking() == staking.address and por.issuance() == issuance.address
    assert feed.aggregator() == c["MockAggregator"].address
    assert feed.price() == 5 * 10**17  # $0.50

    for name in ("PriceFeedAdapter", "Staking", "BMWIssuance", "JobEscrow", "ProofOfRender"):
        assert c[name].governance() == timelock.address, name
    for name in ("Staking", "BMWIssuance", "JobEscrow"):  # the contracts wired to those deployed after them
        assert c[name].wired(), name
    lane, committee = c["BatchLane"], c["BatchCommittee"]
    assert staking.lane() == issuance.lane() == escrow.lane() == lane.address
    assert lane.committee() == committee.address and committee.lane() == lane.address
    assert (lane.escrow(), lane.proofOfRender(), lane.staking()) == (escrow.address, por.address, staking.address)
    # disputes are decided by governance unless an arbiter is named at deployment: never by the deployer
    assert por.arbiter() == timelock.address
    # finishGenesis: the issuance contract is the only minter, forever, and the token has no owner left
    assert token.owner() == ZERO_ADDRESS
    assert token.is_minter(issuance.address)
    assert not token.is_minter(deployment.deployer)  # the genesis minter role ended with the genesis
    assert token.totalSupply() == token.totalMinted() == 500_000_000 * IFX
    assert issuance.ecosystemRemaining() == token.MAX_SUPPLY() - token.totalMinted()
    # the genesis allocation: every bucket in its contract or with its holder, nothing with the deployer
    votes, factory, community = c["VotePower"], c["VestingFactory"], c["CommunityFund"]
    market, foundation = ape.accounts.test_accounts[9].address, ape.accounts.test_accounts[19].address
    assert token.balanceOf(deployment.deployer) == 0
    assert token.balanceOf(factory.address) == 225_000_000 * IFX  # the investors' bucket, for escrows
    foundation_escrow = factory.escrows(0)
    assert votes.locked(foundation_escrow) == 125_000_000 * IFX  # vesting, and voting at half weight
    assert votes.getVotes(foundation) == 125_000_000 * IFX // 2
    assert token.balanceOf(community.address) == 141_000_000 * IFX
    assert token.balanceOf(market) == 9_000_000 * IFX  # liquidity 6 M + the airdrop's 3 M
    assert token.balanceOf(votes.address) + token.balanceOf(factory.address) + token.balanceOf(community.address) \
        + token.balanceOf(market) == token.totalSupply()
    assert factory.owner() == community.owner() == timelock.address
    assert community.revocable() and not factory.revocable()
    # governance: the Governor proposes and cancels in the timelock; licenses and voting power are wired
    governor, licenses = c["Governor"], c["NodeLicense"]
    assert timelock.hasRole(timelock.PROPOSER_ROLE(), governor.address)
    assert timelock.hasRole(timelock.CANCELLER_ROLE(), governor.address)
    assert (governor.votes(), governor.timelock(), governor.staking()) == (votes.address, timelock.address,
                                                                           staking.address)
    assert (staking.votes(), staking.license(), votes.staking(), licenses.staking()) == (
        votes.address, licenses.address, staking.address, staking.address)
    assert licenses.isIssuer(c["LicenseSale"].address) and not licenses.canIssue(deployment.deployer)
    assert licenses.balanceOf(deployment.deployer) == 1 and licenses.totalSupply() == 20  # each dev account one
    assert governor.securityCall(staking.address, function_signature_to_4byte_selector("setNoShow(uint256,uint256)"))

    # the timelock administers itself; the Governor (and, locally, the deployer) proposes, anyone executes
    assert timelock.hasRole(timelock.PROPOSER_ROLE(), deployment.deployer)
    assert timelock.hasRole(timelock.CANCELLER_ROLE(), deployment.deployer)
    assert timelock.hasRole(timelock.EXECUTOR_ROLE(), ZERO_ADDRESS)
    assert timelock.hasRole(timelock.DEFAULT_ADMIN_ROLE(), timelock.address)
    assert not timelock.hasRole(timelock.DEFAULT_ADMIN_ROLE(), deployment.deployer)
    assert timelock.get_minimum_delay() == 60

    # the one-time wiring is closed, and the deployer has no direct power left
    deployer = ape.accounts.test_accounts[0]
    with ape.reverts("governed: already wired"):
        staking.wire(escrow, por, issuance, deployment.contracts["BatchLane"], c["VotePower"], c["NodeLicense"],
                     sender=deployer)
    with ape.reverts("governed: already wired"):
        escrow.wire(por, deployment.contracts["BatchLane"], sender=deployer)
    with ape.reverts("lane: wired"):
        c["BatchLane"].wire(c["BatchCommittee"], sender=deployer)
    with ape.reverts("relay: wired"):
        c["JobRelay"].wire(escrow, sender=deployer)
    with ape.reverts("governed: caller is not governance"):
        escrow.setParameter("challengeWindow", 7200, sender=deployer)
    with ape.reverts("por: caller is not the arbiter"):
        por.resolveDispute(1, True, sender=deployer)
    # nobody can grant minting any more: the minter set is closed (no set_minter, no owner)
    assert not hasattr(token, "set_minter") and not hasattr(token, "transfer_ownership")
    with ape.reverts("ownable: caller is not the owner"):
        token.finishGenesis(deployer, sender=deployer)
    with ape.reverts("ifx: caller is not a minter"):
        token.mint(deployer, 1, sender=deployer)


def test_parameter_change_through_the_timelock(chain_ctx):
    ape, provider, c = chain_ctx
    timelock, escrow = c["Timelock"], c["JobEscrow"]
    proposer = ape.accounts.test_accounts[0]
    anyone = ape.accounts.test_accounts[5]
    delay = timelock.get_minimum_delay()
    assert escrow.challengeWindow() == 3600

    def travel(seconds: int) -> None:
        provider.set_timestamp(ape.chain.blocks.head.timestamp + seconds)
        provider.mine()

    good = escrow.setParameter.encode_input("challengeWindow", 7200)
    bad = escrow.setParameter.encode_input("challengeWindow", 60)  # below the 10 min floor
    salt_good, salt_bad = b"\x01" * 32, b"\x02" * 32

    with ape.reverts("timelock_controller: insufficient delay"):
        timelock.schedule(escrow, 0, good, ZERO32, salt_good, delay - 1, sender=proposer)
    with ape.reverts("access_control: account is missing role"):
        timelock.schedule(escrow, 0, good, ZERO32, salt_good, delay, sender=anyone)
    timelock.schedule(escrow, 0, good, ZERO32, salt_good, delay, sender=proposer)
    timelock.schedule(escrow, 0, bad, ZERO32, salt_bad, delay, sender=proposer)
    op_good = timelock.hash_operation(escrow, 0, good, ZERO32, salt_good)

    # before the delay: not executable
    with ape.reverts("timelock_controller: operation is not ready"):
        timelock.execute(escrow, 0, good, ZERO32, salt_good, sender=anyone)
    assert timelock.is_operation_pending(op_good) and not timelock.is_operation_ready(op_good)
    assert escrow.challengeWindow() == 3600

    travel(delay + 1)
    assert timelock.is_operation_ready(op_good)
    receipt = timelock.execute(escrow, 0, good, ZERO32, salt_good, sender=anyone)  # open executor
    assert not receipt.failed
    assert escrow.challengeWindow() == 7200
    assert timelock.is_operation_done(op_good)
    with ape.reverts("timelock_controller: operation is not ready"):
        timelock.execute(escrow, 0, good, ZERO32, salt_good, sender=anyone)  # no replay

    # out of bounds: scheduled fine, but the escrow's bound rejects it at execution (reason bubbled up)
    with ape.reverts("escrow: out of bounds"):
        timelock.execute(escrow, 0, bad, ZERO32, salt_bad, sender=anyone)
    assert escrow.challengeWindow() == 7200


def test_deployments_file_round_trip_and_errors(tmp_path, monkeypatch, deployed):
    deployment = deployed[0]
    monkeypatch.delenv("INFERIX_DEPLOYMENTS", raising=False)
    assert default_path("local").parts[-2:] == ("deployments", "local.json")
    assert default_path("sepolia", "arbitrum").name == "arbitrum-sepolia.json"
    target = tmp_path / "elsewhere.json"
    monkeypatch.setenv("INFERIX_DEPLOYMENTS", str(target))
    assert default_path("local") == target
    assert save(deployment) == target
    assert load() == deployment  # the env var is honoured for reading too
    assert load().address("JobEscrow") == deployment.contracts["JobEscrow"]
    with pytest.raises(DeploymentError, match="no Foo"):
        deployment.address("Foo")
    with pytest.raises(DeploymentError, match="no deployments file"):
        load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DeploymentError, match="not valid JSON"):
        load(tmp_path / "bad.json")
    incomplete = deployment.to_dict()
    del incomplete["contracts"]["ProofOfRender"]
    (tmp_path / "incomplete.json").write_text(json.dumps(incomplete))
    with pytest.raises(DeploymentError, match="lacks ProofOfRender"):
        load(tmp_path / "incomplete.json")
