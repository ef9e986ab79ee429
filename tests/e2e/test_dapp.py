"""The web app in a real browser (Debian's Chromium driven by Playwright) against the real stack: anvil, js-ipfs,
the contracts, the manager serving the app and its API, three oracles and a worker. The wallet is a minimal
EIP-1193 provider announced through EIP-6963 (tests/e2e/wallet.js) that forwards JSON-RPC to anvil, whose unlocked
dev accounts sign: the app's code path is the one a real wallet drives.

Screenshots of every page go to ``$INFERIX_SCREENSHOTS`` when set (docs/dapp.md shows them)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from inferix.protocol import IFX, get_node
from inferix.testing.devnet import ROOT, dev_account
from inferix.testing.ipfs import free_port
from inferix.testing.stack import Stack

playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect
expect.set_options(timeout=20_000)  # a busy 2-core machine renders and verifies alongside the browser

DEPLOYER, MANAGER, CREATOR, WORKER, STRANGER, GASLESS = 0, 1, 2, 3, 10, 11
ORACLES = (6, 7, 8)
WALLET_JS = (Path(__file__).parent / "wallet.js").read_text()
SHOTS = Path(os.environ["INFERIX_SCREENSHOTS"]) if os.environ.get("INFERIX_SCREENSHOTS") else None


def shoot(page, name: str) -> None:
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def dapp(tmp_path_factory):
    """The stack with the app built and served by the manager; yields it, then stops every process."""
    if not (ROOT / "web" / "dist" / "index.html").is_file():
        subprocess.run(["node", str(ROOT / "web" / "build.mjs")], check=True, cwd=ROOT)
    out = tmp_path_factory.mktemp("dapp")
    net = Stack(out)
    try:
        net.start()
        net.fund({MANAGER: 5_000 * IFX, CREATOR: 5_000 * IFX, WORKER: 150_000 * IFX,
                  **{oracle: 2_000 * IFX for oracle in ORACLES}})
        from inferix.render import run_jobs

        scene = out / "scene.blend"
        run_jobs([{"op": "make_scene", "name": "flyby", "path": str(scene), "width": 128, "height": 72, "frames": 2}])
        net.start_manager(MANAGER, render_window=1800, args=("--batch-age", "2", "--offer-timeout", "300"))
        for index in ORACLES:
            net.start_oracle(index)
        net.start_worker(WORKER)
        net.wait_api()
        chain = net.chain()
        net.wait(lambda: get_node(chain, dev_account(WORKER).address).stake > 0 and all(
            chain.call("Staking", "isActive", dev_account(i).address, 2) for i in ORACLES), 180, "nodes staked")
        net.scene = scene
        yield net
    finally:
        net.stop_all()


def open_app(page, net: Stack, index: int, chain_id: int | None = None, path: str = "") -> None:
    """Inject the wallet for dev account ``index`` (on ``chain_id``, the stack's by default) and open the app."""
    config = {"rpcUrl": net.anvil.url, "account": dev_account(index).address,
              "chainId": hex(chain_id or net.deployment.chain_id)}
    page.add_init_script(WALLET_JS.replace("__CONFIG__", json.dumps(config)))
    page.on("pageerror", lambda exc: print(f"page error: {exc}"))
    page.on("console", lambda message: message.type == "error" and print(f"console: {message.text}"))
    page.goto(f"{net.api_url}/app/#/{path}")
    expect(page.get_by_role("link", name="Inferix")).to_be_visible(timeout=90_000)


def connect(page) -> None:
    """Connect the test wallet (once per browser context: the app reconnects the wallet chosen last time)."""
    connected = page.get_by_role("button", name="Disconnect")
    expect(connected.or_(page.get_by_role("button", name="Connect wallet"))).to_be_visible()
    if not connected.count():
        page.get_by_role("button", name="Connect wallet").click()
        page.get_by_role("menuitem", name="Test Wallet").click()
    expect(connected).to_be_visible()


def sign_in(page) -> None:
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in", exact=True)).to_be_visible()


def confirm(page, title: str | re.Pattern) -> None:
    """The app's review dialog shows what the wallet is about to do; the user confirms it."""
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading")).to_have_text(title)
    dialog.get_by_role("button", name=re.compile("Confirm in wallet|Sign in wallet")).click()


def confirm_each(page, title, quiet: float = 3.0) -> None:
    """Confirm a series of reviews (one per transaction) until no new one opens for ``quiet`` seconds."""
    confirm(page, title)
    button = page.get_by_role("dialog").get_by_role("button", name="Confirm in wallet")
    calm_since = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if button.count():
            confirm(page, title)
            calm_since = None
        elif page.get_by_role("dialog").count():
            calm_since = None  # a transaction is on its way
        elif calm_since is None:
            calm_since = time.monotonic()
        elif time.monotonic() - calm_since > quiet:
            return
        time.sleep(0.2)
    raise AssertionError("the reviews did not end")


def _answers(url: str) -> bool:
    """Whether anything answers HTTP at ``url`` (a 400 for a request without parameters counts)."""
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(url, timeout=2).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def test_a_wallet_on_another_chain_is_refused_until_it_switches(page, dapp):
    open_app(page, dapp, CREATOR, chain_id=1)
    connect(page)
    warning = page.get_by_role("alert").filter(has_text="Wrong network")
    expect(warning).to_contain_text(f"this app runs on chain {dapp.deployment.chain_id}")
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0)  # nothing to sign on the wrong chain
    page.get_by_role("button", name="Switch network").click()
    expect(warning).to_have_count(0)
    assert page.evaluate("window.__wallet.chainId") == hex(dapp.deployment.chain_id)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_a_rejected_signature_is_explained_and_recovered_from(page, dapp):
    open_app(page, dapp, CREATOR)
    connect(page)
    page.evaluate("window.__wallet.reject.add('personal_sign')")
    page.get_by_role("button", name="Sign in").click()
    notice = page.get_by_role("alert").filter(has_text="You rejected the request in your wallet")
    expect(notice).to_be_visible()
    expect(page.get_by_text("Signed in", exact=True)).to_have_count(0)
    notice.get_by_role("button", name="Try again").click()
    expect(page.get_by_text("Signed in", exact=True)).to_be_visible()
    # the session survives a reload: it comes from storage and the wallet, not from memory
    page.reload()
    expect(page.get_by_text("Signed in", exact=True)).to_be_visible(timeout=90_000)


def _settle_when_decided(net: Stack, job_id: int) -> None:
    """Past each decided batch's challenge window (the chain's clock jumps; render and vote windows stay real)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{net.api_url}/v1/jobs/{job_id}", timeout=5) as reply:
            job = json.loads(reply.read())
    except urllib.error.HTTPError:
        return  # not indexed yet
    window = net.chain().call("JobEscrow", "challengeWindow")
    for batch in job["batches"]:
        if batch["stage"] == "revealed" and batch["verdict_at"]:
            net.anvil.time_travel(window + 1)
            return


def test_the_creator_flow_from_connect_to_download(page, dapp, tmp_path):
    chain = dapp.chain()
    creator = dev_account(CREATOR).address
    open_app(page, dapp, CREATOR)
    shoot(page, "connect")
    connect(page)
    sign_in(page)
    page.get_by_label("Scene file (.blend, .glb or .gltf)").set_input_files(str(dapp.scene))
    scene = page.get_by_role("definition").filter(has_text=re.compile(r"^Qm|^baf"))
    expect(scene).to_be_visible(timeout=60_000)
    expect(page.get_by_text("128 × 72")).to_be_visible()
    page.get_by_label("Samples per pixel").fill("8")
    page.get_by_label("Frames per task").fill("2")
    page.get_by_role("button", name="Get quote").click()
    expect(page.get_by_role("heading", name="3. Price and payment")).to_be_visible(timeout=120_000)
    expect(page.get_by_role("table").filter(has_text="Quote")).to_contain_text("IFX")
    shoot(page, "quote")

    balance0 = chain.call("IFXToken", "balanceOf", creator)
    page.get_by_role("button", name="Pay with one signature").click()
    confirm(page, "Allow the escrow to take the job's budget")
    confirm(page, re.compile("create the job"))
    page.wait_for_url(re.compile(r"#/jobs/\d+$"), timeout=60_000)
    job_id = int(page.url.rsplit("/", 1)[1])
    job = chain.call("JobEscrow", "jobs", job_id)
    assert job[0] == creator  # created by the creator's own wallet, one permit signature, no approve
    assert chain.call("IFXToken", "balanceOf", creator) < balance0
    expect(page.get_by_role("heading", name=f"Job {job_id}")).to_be_visible()

    # the job live: its batch appears, then its frames as the committee passes them and the batch settles
    deadline = time.monotonic() + 600
    frame = page.get_by_role("img", name="Frame 1")
    while time.monotonic() < deadline:
        dapp.check_alive()
        _settle_when_decided(dapp, job_id)
        if frame.count() and page.get_by_text("(verified, settling)").count() == 0:
            break
        time.sleep(2)
    expect(frame).to_be_visible()
    expect(page.get_by_role("img", name="Frame 2")).to_be_visible()
    expect(page.get_by_role("table").filter(has_text="Tasks of the batch")).to_contain_text("passed")
    natural = page.evaluate("document.querySelector('img[alt=\"Frame 1\"]').naturalWidth")
    assert natural == 128  # the real frame, through the manager's IPFS gateway
    shoot(page, "job")

    with page.expect_download() as first:
        page.get_by_role("button", name="Download all frames (2)").click()
    assert first.value.suggested_filename == "frame_0001.png"
    saved = tmp_path / first.value.suggested_filename
    first.value.save_as(saved)
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # close the job and withdraw what was not spent
    page.get_by_role("button", name="Close job").click()
    confirm(page, f"Close job {job_id}")
    expect(page.get_by_test_id("job-status")).to_have_text("closed", timeout=30_000)
    owed = chain.call("JobEscrow", "claimable", creator)
    assert owed > 0
    before = chain.call("IFXToken", "balanceOf", creator)
    page.get_by_role("button", name="Withdraw refund").click()
    confirm(page, "Withdraw what the escrow owes you")
    expect(page.get_by_test_id("owed")).to_have_text("0 IFX", timeout=30_000)
    assert chain.call("IFXToken", "balanceOf", creator) == before + owed
    assert chain.call("JobEscrow", "claimable", creator) == 0


def test_a_creator_without_eth_creates_closes_and_withdraws_with_signatures_only(page, dapp):
    """No ETH needed to start: the manager relays the creator's signed request (JobRelay) and takes its fee in IFX;
    closing the job and withdrawing the refund go the same way."""
    from inferix.testing.devnet import rpc

    chain = dapp.chain()
    poor = dev_account(GASLESS).address
    dapp.fund({GASLESS: 100 * IFX})
    rpc(dapp.anvil.url, "anvil_setBalance", [poor, "0x0"])
    import urllib.request

    with urllib.request.urlopen(f"{dapp.api_url}/v1/relay", timeout=5) as reply:
        relay = json.loads(reply.read())
    assert relay["enabled"]
    fee = int(relay["fee_ifx"])
    manager = dev_account(MANAGER).address
    manager_ifx = chain.call("IFXToken", "balanceOf", manager)

    open_app(page, dapp, GASLESS)
    connect(page)
    sign_in(page)
    page.get_by_label("Scene file (.blend, .glb or .gltf)").set_input_files(str(dapp.scene))
    expect(page.get_by_text("128 × 72")).to_be_visible(timeout=60_000)
    page.get_by_label("Samples per pixel").fill("8")
    page.get_by_role("button", name="Get quote").click()
    expect(page.get_by_role("heading", name="3. Price and payment")).to_be_visible(timeout=120_000)
    expect(page.get_by_label("No ETH needed", exact=False)).to_be_checked()  # chosen for a wallet without ETH
    shoot(page, "gasless")
    page.get_by_role("button", name="Pay with signatures only (no gas)").click()
    confirm(page, "Ask the manager to create your job (it pays the gas)")
    confirm(page, "Allow the relay to take that IFX")
    page.wait_for_url(re.compile(r"#/jobs/\d+$"), timeout=60_000)
    job_id = int(page.url.rsplit("/", 1)[1])
    assert chain.call("JobEscrow", "jobs", job_id)[0] == poor  # the creator's own job
    assert chain.call("IFXToken", "balanceOf", manager) == manager_ifx + fee  # the relayer's fee
    assert "eth_sendTransaction" not in page.evaluate("window.__wallet.calls")

    page.get_by_role("button", name="Close job").click()
    confirm(page, f"Close job {job_id} (relayed: the manager pays the gas)")
    confirm(page, "Allow the relay to take that IFX")
    expect(page.get_by_test_id("job-status")).to_have_text(re.compile("closing|closed"), timeout=30_000)
    owed = chain.call("JobEscrow", "claimable", poor)
    assert owed > 0
    before = chain.call("IFXToken", "balanceOf", poor)
    page.get_by_role("button", name="Withdraw refund").click()
    confirm(page, "Withdraw what the escrow owes you (relayed: the manager pays the gas)")
    confirm(page, "Allow the relay to take that IFX")
    dapp.wait(lambda: chain.call("JobEscrow", "claimable", poor) == 0, 30, "the refund withdrawn")
    assert chain.call("IFXToken", "balanceOf", poor) == before + owed - fee
    assert chain.w3.eth.get_balance(poor) == 0  # never a wei of ETH
    assert "eth_sendTransaction" not in page.evaluate("window.__wallet.calls")


def test_a_revert_is_explained_in_the_contracts_words_and_nothing_is_sent(page, dapp):
    """A stranger with no node asks to unbond: the simulation's reason is shown before the wallet is asked, and no
    transaction leaves the wallet."""
    open_app(page, dapp, STRANGER, path="node")
    connect(page)
    sent = dapp.chain().w3.eth.get_transaction_count(dev_account(STRANGER).address)
    page.get_by_label("Amount (IFX)").first.fill("1")
    page.get_by_role("button", name="Unbond").click()
    confirm(page, re.compile("[Uu]nbond"))
    notice = page.get_by_role("alert").filter(has_text="would be refused by the contract")
    expect(notice).to_contain_text("staking:")
    expect(notice).to_contain_text("Nothing was sent")
    shoot(page, "revert")
    assert "eth_sendTransaction" not in page.evaluate("window.__wallet.calls")
    assert dapp.chain().w3.eth.get_transaction_count(dev_account(STRANGER).address) == sent


def test_a_worker_adds_stake_and_unbonds(page, dapp):
    chain = dapp.chain()
    worker = dev_account(WORKER).address
    node0 = chain.call("Staking", "nodes", worker)
    open_app(page, dapp, WORKER, path="node")
    connect(page)
    expect(page.get_by_role("heading", name="Your node")).to_be_visible()
    page.get_by_label("Amount (IFX)").first.fill("50")
    page.get_by_role("button", name="Add stake").click()
    if chain.call("IFXToken", "allowance", worker, chain.deployments.address("Staking")) < 50 * IFX:
        confirm(page, re.compile("[Aa]llow|[Aa]pprove"))
    confirm(page, re.compile("[Ss]take"))
    expect(page.get_by_role("dialog")).to_have_count(0)
    dapp.wait(lambda: chain.call("Staking", "nodes", worker)[1] == node0[1] + 50 * IFX, 30, "the stake added")

    page.get_by_label("Amount (IFX)").first.fill("100")
    page.get_by_role("button", name="Unbond").click()
    confirm(page, re.compile("[Uu]nbond"))
    expect(page.get_by_role("dialog")).to_have_count(0)
    dapp.wait(lambda: chain.call("Staking", "nodes", worker)[3] == node0[3] + 100 * IFX, 30, "the unbonding")
    node = chain.call("Staking", "nodes", worker)
    assert node[1] == node0[1] + 50 * IFX and node[4] > 0  # the stake stays bonded until withdrawn, unbonding dated
    page.reload()
    # the manager's API shares two cores with the whole stack and another test process: give its answer time
    expect(page.get_by_role("heading", name="Your node")).to_be_visible(timeout=90_000)
    expect(page.get_by_role("button", name="Withdraw stake")).to_be_disabled()  # the unbonding period runs
    shoot(page, "node")


def test_bmw_rewards_are_claimed_after_anyone_closes_the_epoch(page, dapp):
    """The worker rendered the creator's job (the flow above): once the epoch ends, anyone closes it from the app and
    the worker claims its share of the issuance."""
    chain = dapp.chain()
    worker = dev_account(WORKER).address
    epoch = chain.call("BMWIssuance", "currentEpoch")
    assert chain.call("BMWIssuance", "workerFees", epoch, worker) > 0  # the job's fee counts as this epoch's work
    record = chain.call("BMWIssuance", "epochs", epoch)
    now = chain.w3.eth.get_block("latest")["timestamp"]
    dapp.anvil.time_travel(max(0, record[0] + record[1] - now) + 1)  # past the epoch's end (start + length)
    dapp.chain(DEPLOYER).transact("MockAggregator", "setAnswer", dapp.deployment.parameters["mock_price_8dec"])

    open_app(page, dapp, STRANGER, path="node")  # anyone may close it
    connect(page)
    page.get_by_role("button", name="Close epoch").click()
    confirm(page, re.compile("[Cc]lose"))
    dapp.wait(lambda: chain.call("BMWIssuance", "currentEpoch") == epoch + 1, 30, "the epoch closed")
    owed = chain.call("BMWIssuance", "claimable", epoch, worker)
    assert owed > 0

    mine = page.context.new_page()
    open_app(mine, dapp, WORKER, path="node")
    connect(mine)
    before = chain.call("IFXToken", "balanceOf", worker)
    mine.get_by_role("button", name="Claim rewards").click()
    # one claim per epoch with something to claim (earlier epochs' benchmark work included), oldest first
    confirm_each(mine, re.compile("[Cc]laim"))
    dapp.wait(lambda: chain.call("BMWIssuance", "claimable", epoch, worker) == 0, 30, "the rewards claimed")
    assert chain.call("IFXToken", "balanceOf", worker) >= before + owed
    shoot(mine, "earnings")


def test_every_page_reads_the_chain_and_the_index_fits_a_phone_and_works_from_the_keyboard(page, dapp):
    """After the flows above: the network's epochs charted, the explorer's batch task with the one-line command that
    re-verifies it anywhere, governance and the node page; at phone width nothing overflows sideways; the wallet
    menu opens and connects from the keyboard alone."""
    import urllib.request

    with urllib.request.urlopen(f"{dapp.api_url}/v1/batches?limit=50", timeout=5) as reply:
        batch = next(b for b in json.loads(reply.read())["items"] if b["stage"] == "settled")
    open_app(page, dapp, CREATOR, path="network")
    expect(page.get_by_role("heading", name="Network", exact=True)).to_be_visible()
    expect(page.locator("figure.chart svg").first).to_be_visible()  # the per-epoch chart (the epoch closed above)
    shoot(page, "network")
    page.goto(f"{dapp.api_url}/app/#/explorer/{batch['batch_id']}/0")
    expect(page.get_by_text(f"inferix verify --batch {batch['batch_id']} --index 0")).to_be_visible()
    expect(page.get_by_role("img", name="Frame 1")).to_be_visible()
    # public re-verification through a verifier of the user's choice (here one of our own, never the manager)
    port = free_port()
    verifier = dapp.spawn("verifier", ["verify", "serve", "--port", str(port)])
    dapp.wait(lambda: verifier.process.poll() is None and _answers(f"http://127.0.0.1:{port}/verify"), 60,
              "the verifier")
    page.get_by_label("Verifier URL").fill(f"http://127.0.0.1:{port}")
    page.get_by_role("button", name="Re-verify").click()
    expect(page.get_by_text("The verifier agrees with the chain.")).to_be_visible(timeout=180_000)
    outlined = page.locator("figure[data-frame] svg.regions g.region")
    expect(outlined.first).to_be_visible()
    assert outlined.count() >= 12  # every noise region of the task's frames drawn over them
    shoot(page, "explorer")
    page.goto(f"{dapp.api_url}/app/#/governance")
    expect(page.get_by_role("heading", name="Proposals")).to_be_visible()
    shoot(page, "governance")

    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("", "jobs", "node", "governance", "network", "explorer"):
        page.goto(f"{dapp.api_url}/app/#/{path}")
        expect(page.locator("main h1").first).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"#/{path} is {overflow} px wider than a phone"
    shoot(page, "phone")

    page.set_viewport_size({"width": 1100, "height": 900})
    page.goto(f"{dapp.api_url}/app/#/")
    page.keyboard.press("Tab")  # the skip link first
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.get_by_role("button", name="Connect wallet").focus()
    page.keyboard.press("Enter")
    page.get_by_role("menuitem", name="Test Wallet").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Disconnect")).to_be_visible()
