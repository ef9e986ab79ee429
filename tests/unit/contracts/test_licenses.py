"""Node licenses (NodeLicense) and their tiered sale (LicenseSale): who issues, node types, revocation and the
Staking hook; whitelist proofs, caps, windows, USD pricing through the feed, slippage, proceeds."""

from __future__ import annotations

from dataclasses import dataclass

import boa
import pytest
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector as selector
from eth_utils import keccak

from .conftest import IFX, USD, deployer

ZERO = "0x" + "00" * 20
ZERO32 = b"\x00" * 32
PRICE_8DEC = 30_000_000  # $0.30 per IFX: USD prices do not divide evenly into IFX
MAX_AGE = 86400
WL, OPEN = 0, 1  # the whitelisted pre-TGE tier and an open tier
WL_PRICE = 500 * USD
OPEN_PRICE = 1_000 * USD
WORKER, VERIFIER, MANAGER = 1, 2, 4

# a test double standing in for Staking: records every onLicenseRevoked call and who held the license then
STAKING_DOUBLE = """
# pragma version ~=0.4.3
interface INodeLicense:
    def ownerOf(token_id: uint256) -> address: view

license: public(address)
calls: public(uint256)
lastId: public(uint256)
ownerAtCall: public(address)

@deploy
def __init__(license_: address):
    self.license = license_

@external
def onLicenseRevoked(token_id: uint256):
    assert msg.sender == self.license
    self.calls += 1
    self.lastId = token_id
    self.ownerAtCall = staticcall INodeLicense(self.license).ownerOf(token_id)
"""


# ---------------------------------------------------------------- Merkle trees (OpenZeppelin StandardMerkleTree)


def leaf(account: str, max_count: int) -> bytes:
    """keccak256(keccak256(abi.encode(address, uint256))), as the sale and OZ's StandardMerkleTree hash leaves."""
    return keccak(keccak(abi_encode(["address", "uint256"], [account, max_count])))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """snekmate's _hash_pair: the smaller hash first."""
    return keccak(a + b) if int.from_bytes(a, "big") < int.from_bytes(b, "big") else keccak(b + a)


class Tree:
    def __init__(self, entries: list[tuple[str, int]]):
        self.index = {entry: i for i, entry in enumerate(entries)}
        self.layers = [[leaf(a, m) for a, m in entries]]
        while len(self.layers[-1]) > 1:
            layer = self.layers[-1]
            self.layers.append([hash_pair(layer[i], layer[i + 1]) if i + 1 < len(layer) else layer[i]
                                for i in range(0, len(layer), 2)])

    @property
    def root(self) -> bytes:
        return self.layers[-1][0]

    def proof(self, account: str, max_count: int) -> list[bytes]:
        i, out = self.index[(account, max_count)], []
        for layer in self.layers[:-1]:
            if i ^ 1 < len(layer):
                out.append(layer[i ^ 1])
            i //= 2
        return out


def test_tree_helper_matches_the_contract(d):
    for entry in d.entries:
        assert d.sale.isWhitelisted(WL, *entry, d.tree.proof(*entry))
    assert not d.sale.isWhitelisted(WL, d.bob, 3, d.tree.proof(d.bob, 1))


# ---------------------------------------------------------------- fixtures


@dataclass
class Env:
    admin: str
    governance: str
    treasury: str
    alice: str
    bob: str
    carol: str
    stranger: str
    token: object
    aggregator: object
    feed: object
    license: object
    sale: object
    tree: Tree
    entries: list
    opens: int
    closes: int

    def fund(self, account: str, amount: int = 1_000_000 * IFX) -> None:
        with boa.env.prank(self.admin):
            self.token.transfer(account, amount)
        with boa.env.prank(account):
            self.token.approve(self.sale.address, 2**256 - 1)

    def set_price(self, answer: int) -> None:
        with boa.env.prank(self.admin):
            self.aggregator.setAnswer(answer)

    def buy(self, buyer: str, tier: int, count: int, max_count: int = 0, proof=None, max_ifx: int = 2**256 - 1):
        if proof is None:
            proof = self.tree.proof(buyer, max_count) if tier == WL else []
        with boa.env.prank(buyer):
            return self.sale.buy(tier, count, max_count, proof, max_ifx)


def expected_cost(price_usd: int, count: int, answer_8dec: int) -> int:
    usd_per_ifx = answer_8dec * 10**10
    return -(-price_usd * count * 10**18 // usd_per_ifx)


def now() -> int:
    return boa.env.evm.patch.timestamp


@pytest.fixture(scope="module")
def env() -> Env:
    admin, governance, treasury = (boa.env.generate_address() for _ in range(3))
    alice, bob, carol, stranger = (boa.env.generate_address() for _ in range(4))
    entries = [(alice, 3), (bob, 1), (carol, 2)] + [(boa.env.generate_address(), 5) for _ in range(3)]
    tree = Tree(entries)
    with boa.env.prank(admin):
        token = deployer("IFXToken").deploy()
        aggregator = deployer("MockAggregator").deploy(8, PRICE_8DEC)
        feed = deployer("PriceFeedAdapter").deploy(aggregator.address, governance, MAX_AGE)
        license = deployer("NodeLicense").deploy(governance)
        sale = deployer("LicenseSale").deploy(license.address, token.address, feed.address, treasury, governance)
        license.setIssuer(sale.address, True)  # the deploy enables the sale before finishGenesis
        token.mint(admin, 100_000_000 * IFX)
        token.finishGenesis(boa.env.generate_address())
    opens, closes = now() + 3600, now() + 30 * 86400
    with boa.env.prank(governance):
        feed.setTwapWindow(0)  # price() is the latest answer: exact expectations
        sale.setTier(WL, VERIFIER | MANAGER, WL_PRICE, 100, opens, closes, tree.root)
        sale.setTier(OPEN, VERIFIER, OPEN_PRICE, 5, opens, closes, ZERO32)
    e = Env(admin, governance, treasury, alice, bob, carol, stranger, token, aggregator, feed, license, sale, tree,
            entries, opens, closes)
    for account in (alice, bob, carol, stranger):
        e.fund(account)
    return e


@pytest.fixture
def d(env: Env):
    """The environment before its tiers open, rolled back after each test."""
    with boa.env.anchor():
        yield env


@pytest.fixture
def live(d: Env) -> Env:
    """The tiers open, with a fresh feed answer."""
    boa.env.time_travel(seconds=d.opens - now())
    d.set_price(PRICE_8DEC)
    return d


# ---------------------------------------------------------------- NodeLicense: issuing


def test_metadata(d):
    assert (d.license.name(), d.license.symbol()) == ("Inferix Node License", "IFXNODE")
    assert d.license.governance() == d.governance
    assert d.license.supportsInterface(bytes.fromhex("80ac58cd"))  # ERC-721
    assert d.license.supportsInterface(bytes.fromhex("780e9d63"))  # enumerable


def test_deployer_issues_until_finish_genesis_only(d):
    with boa.env.prank(d.stranger), boa.reverts("license: caller is not the deployer"):
        d.license.finishGenesis()
    with boa.env.prank(d.admin):
        assert d.license.issue(d.alice, VERIFIER) == 1
        d.license.finishGenesis()
        assert d.license.genesisFinished()
        with boa.reverts("license: caller is not an issuer"):
            d.license.issue(d.alice, VERIFIER)
        with boa.reverts("license: caller is not governance"):
            d.license.setIssuer(d.bob, True)
        with boa.reverts("license: genesis finished"):
            d.license.finishGenesis()
    assert not d.license.canIssue(d.admin)
    assert d.license.ownerOf(1) == d.alice and d.license.nodeTypes(1) == VERIFIER
    assert d.license.lastId() == 1


def test_only_issuers_issue(d):
    with boa.env.prank(d.admin):
        d.license.finishGenesis()
    for account in (d.stranger, d.alice, d.treasury):
        with boa.env.prank(account), boa.reverts("license: caller is not an issuer"):
            d.license.issue(account, WORKER)
    with boa.env.prank(d.stranger), boa.reverts("license: caller is not governance"):
        d.license.setIssuer(d.stranger, True)
    with boa.env.prank(d.governance):
        assert d.license.issue(d.bob, MANAGER) == 1
        d.license.setIssuer(d.stranger, True)
    assert d.license.isIssuer(d.stranger)
    with boa.env.prank(d.stranger):
        assert d.license.issue(d.carol, WORKER | VERIFIER) == 2
    with boa.env.prank(d.governance):
        d.license.setIssuer(d.stranger, False)
    with boa.env.prank(d.stranger), boa.reverts("license: caller is not an issuer"):
        d.license.issue(d.carol, WORKER)
    assert d.license.totalSupply() == 2
    assert [d.license.tokenOfOwnerByIndex(a, 0) for a in (d.bob, d.carol)] == [1, 2]


def test_snekmate_mint_and_owner_paths_are_not_exported(d):
    for name in ("safe_mint", "set_minter", "burn", "transfer_ownership", "renounce_ownership", "is_minter"):
        assert not hasattr(d.license, name)
    calls = [
        selector("safe_mint(address,string)") + abi_encode(["address", "string"], [d.admin, "x"]),
        selector("set_minter(address,bool)") + abi_encode(["address", "bool"], [d.stranger, True]),
        selector("burn(uint256)") + abi_encode(["uint256"], [1]),
    ]
    with boa.env.prank(d.governance):
        d.license.issue(d.admin, WORKER)
    for data in calls:
        assert boa.env.execute_code(to_address=d.license.address, sender=d.admin, data=data).is_error
    assert d.license.exists(1) and d.license.totalSupply() == 1


def test_node_types_validation(d):
    with boa.env.prank(d.governance):
        for bad in (0, 8, 9, 255):
            with boa.reverts("license: bad node types"):
                d.license.issue(d.alice, bad)
        ids = [d.license.issue(d.alice, t) for t in range(1, 8)]
    assert ids == list(range(1, 8))
    assert [d.license.nodeTypes(i) for i in ids] == list(range(1, 8))
    assert d.license.balanceOf(d.alice) == 7


# ---------------------------------------------------------------- NodeLicense: revocation


def test_revoke_by_governance_only_burns(d):
    with boa.env.prank(d.governance):
        token_id = d.license.issue(d.alice, VERIFIER)
    for account in (d.stranger, d.alice, d.admin):
        with boa.env.prank(account), boa.reverts("governed: caller is not governance"):
            d.license.revoke(token_id)
    assert d.license.exists(token_id)
    with boa.env.prank(d.governance):
        d.license.revoke(token_id)
        (log,) = [e for e in d.license.get_logs() if type(e).__name__ == "Revoked"]
        assert (log.tokenId, log.owner) == (token_id, d.alice)
        with boa.reverts("license: unknown license"):
            d.license.revoke(token_id)
    assert not d.license.exists(token_id)
    assert d.license.nodeTypes(token_id) == 0
    assert d.license.balanceOf(d.alice) == 0 and d.license.totalSupply() == 0
    with boa.reverts("erc721: invalid token ID"):
        d.license.ownerOf(token_id)


def test_revoke_calls_the_staking_hook_only_when_staking_holds_it(d):
    double = boa.loads(STAKING_DOUBLE, d.license.address)
    other = boa.loads(STAKING_DOUBLE, d.license.address)  # a contract holder that is not the wired staking
    with boa.env.prank(d.stranger), boa.reverts("governed: caller is not the deployer"):
        d.license.wire(double.address)
    with boa.env.prank(d.admin):
        d.license.wire(double.address)
        with boa.reverts("governed: already wired"):
            d.license.wire(other.address)
    assert d.license.staking() == double.address
    with boa.env.prank(d.governance):
        staked, held, elsewhere = (d.license.issue(d.alice, VERIFIER) for _ in range(3))
    with boa.env.prank(d.alice):
        d.license.transferFrom(d.alice, double.address, staked)
        d.license.transferFrom(d.alice, other.address, elsewhere)
    with boa.env.prank(d.governance):
        d.license.revoke(held)
        d.license.revoke(elsewhere)
    assert double.calls() == 0 and other.calls() == 0
    with boa.env.prank(d.governance):
        d.license.revoke(staked)
    assert double.calls() == 1 and double.lastId() == staked
    assert double.ownerAtCall() == double.address  # told before the burn
    assert not d.license.exists(staked) and d.license.balanceOf(double.address) == 0


# ---------------------------------------------------------------- LicenseSale: whitelist


def test_whitelisted_buyer_buys_with_a_valid_proof(live):
    d = live
    ids = d.buy(d.alice, WL, 2, 3)
    (log,) = [e for e in d.sale.get_logs() if type(e).__name__ == "Bought"]
    assert list(ids) == [1, 2]
    assert [d.license.ownerOf(i) for i in ids] == [d.alice, d.alice]
    assert [d.license.nodeTypes(i) for i in ids] == [VERIFIER | MANAGER] * 2
    assert d.sale.sold(WL) == 2 and d.sale.bought(WL, d.alice) == 2
    assert (log.buyer, log.tierId, log.count, log.firstId) == (d.alice, WL, 2, 1)
    assert log.ifxPaid == expected_cost(WL_PRICE, 2, PRICE_8DEC)


def test_another_address_proof_is_refused(live):
    d = live
    with boa.reverts("sale: not whitelisted"):
        d.buy(d.stranger, WL, 1, 3, proof=d.tree.proof(d.alice, 3))
    with boa.reverts("sale: not whitelisted"):  # bob claiming alice's allowance with his own proof
        d.buy(d.bob, WL, 2, 3, proof=d.tree.proof(d.bob, 1))
    with boa.reverts("sale: not whitelisted"):
        d.buy(d.stranger, WL, 1, 1, proof=[])
    assert d.sale.sold(WL) == 0 and d.license.totalSupply() == 0


def test_max_count_holds_across_purchases(live):
    d = live
    d.buy(d.alice, WL, 2, 3)
    with boa.reverts("sale: over allowance"):
        d.buy(d.alice, WL, 2, 3)
    d.buy(d.alice, WL, 1, 3)
    with boa.reverts("sale: over allowance"):
        d.buy(d.alice, WL, 1, 3)
    assert d.sale.bought(WL, d.alice) == 3 and d.license.balanceOf(d.alice) == 3
    with boa.reverts("sale: over allowance"):
        d.buy(d.bob, WL, 2, 1)


def test_tampered_proof_is_refused(live):
    d = live
    proof = d.tree.proof(d.carol, 2)
    assert len(proof) >= 2
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        with boa.reverts("sale: not whitelisted"):
            d.buy(d.carol, WL, 1, 2, proof=bad)
    with boa.reverts("sale: not whitelisted"):
        d.buy(d.carol, WL, 1, 2, proof=proof[:-1])
    d.buy(d.carol, WL, 1, 2, proof=proof)
    assert d.license.balanceOf(d.carol) == 1


def test_open_tier_needs_no_proof(live):
    d = live
    assert list(d.buy(d.stranger, OPEN, 2)) == [1, 2]
    assert d.license.nodeTypes(1) == VERIFIER


# ---------------------------------------------------------------- LicenseSale: cap, window


def test_tier_cap(live):
    d = live
    d.buy(d.alice, OPEN, 3)
    with boa.reverts("sale: tier sold out"):
        d.buy(d.bob, OPEN, 3)
    d.buy(d.bob, OPEN, 2)
    assert d.sale.sold(OPEN) == 5
    with boa.reverts("sale: tier sold out"):
        d.buy(d.carol, OPEN, 1)
    with boa.env.prank(d.governance), boa.reverts("sale: cap below sold"):
        d.sale.setTier(OPEN, VERIFIER, OPEN_PRICE, 4, d.opens, d.closes, ZERO32)
    assert d.license.totalSupply() == 5


def test_window(d):
    d.set_price(PRICE_8DEC)
    with boa.reverts("sale: tier not open"):
        d.buy(d.alice, OPEN, 1)
    with boa.reverts("sale: tier not open"):
        d.buy(d.alice, WL, 1, 3)
    boa.env.time_travel(seconds=d.opens - now())
    d.set_price(PRICE_8DEC)
    d.buy(d.alice, OPEN, 1)
    with boa.env.prank(d.governance):  # close the open tier one hour from now
        d.sale.setTier(OPEN, VERIFIER, OPEN_PRICE, 5, d.opens, now() + 3600, ZERO32)
    boa.env.time_travel(seconds=3600)
    d.set_price(PRICE_8DEC)
    with boa.reverts("sale: tier closed"):
        d.buy(d.alice, OPEN, 1)
    assert d.sale.sold(OPEN) == 1


def test_unknown_tier_and_bad_counts(live):
    d = live
    with boa.reverts("sale: unknown tier"):
        d.buy(d.alice, 7, 1)
    with boa.reverts("sale: bad count"):
        d.buy(d.alice, OPEN, 0)
    with boa.reverts("sale: bad count"):
        d.buy(d.alice, OPEN, 51)


# ---------------------------------------------------------------- LicenseSale: price, slippage, proceeds


@pytest.mark.parametrize("answer", [PRICE_8DEC, 70_000_000])
def test_price_converts_through_the_feed_rounded_up(live, answer):
    d = live
    d.set_price(answer)
    cost = expected_cost(OPEN_PRICE, 2, answer)
    assert cost * answer * 10**10 > OPEN_PRICE * 2 * 10**18  # the division is not exact: rounded up
    assert (cost - 1) * answer * 10**10 < OPEN_PRICE * 2 * 10**18
    assert d.sale.quote(OPEN, 2) == cost
    before = d.token.balanceOf(d.alice)
    d.buy(d.alice, OPEN, 2, max_ifx=cost)
    assert before - d.token.balanceOf(d.alice) == cost
    assert d.token.balanceOf(d.treasury) == cost


def test_slippage_limit(live):
    d = live
    cost = expected_cost(OPEN_PRICE, 1, PRICE_8DEC)
    with boa.reverts("sale: price above maxIfx"):
        d.buy(d.alice, OPEN, 1, max_ifx=cost - 1)
    d.set_price(PRICE_8DEC // 2)  # IFX halves: the same licenses cost twice the IFX
    with boa.reverts("sale: price above maxIfx"):
        d.buy(d.alice, OPEN, 1, max_ifx=cost)
    assert d.sale.sold(OPEN) == 0 and d.token.balanceOf(d.treasury) == 0
    d.buy(d.alice, OPEN, 1, max_ifx=expected_cost(OPEN_PRICE, 1, PRICE_8DEC // 2))
    assert d.sale.sold(OPEN) == 1


def test_proceeds_land_in_the_treasury_and_the_sale_holds_nothing(live):
    d = live
    d.buy(d.alice, WL, 3, 3)
    d.buy(d.bob, OPEN, 1)
    paid = expected_cost(WL_PRICE, 3, PRICE_8DEC) + expected_cost(OPEN_PRICE, 1, PRICE_8DEC)
    assert d.token.balanceOf(d.treasury) == paid
    assert d.token.balanceOf(d.sale.address) == 0
    new_treasury = boa.env.generate_address()
    with boa.env.prank(d.governance):
        d.sale.setTreasury(new_treasury)
    d.buy(d.carol, OPEN, 1)
    assert d.token.balanceOf(new_treasury) == expected_cost(OPEN_PRICE, 1, PRICE_8DEC)
    assert d.token.balanceOf(d.treasury) == paid and d.token.balanceOf(d.sale.address) == 0


def test_stale_feed_refuses_the_sale(live):
    d = live
    boa.env.time_travel(seconds=MAX_AGE + 1)
    with boa.reverts("pricefeed: stale price"):
        d.buy(d.alice, OPEN, 1)
    with boa.reverts("pricefeed: stale price"):
        d.sale.quote(OPEN, 1)
    assert d.sale.sold(OPEN) == 0
    d.set_price(PRICE_8DEC)
    d.buy(d.alice, OPEN, 1)
    assert d.sale.sold(OPEN) == 1


def test_sale_must_be_an_issuer(live):
    d = live
    with boa.env.prank(d.governance):
        d.license.setIssuer(d.sale.address, False)
    with boa.reverts("license: caller is not an issuer"):
        d.buy(d.alice, OPEN, 1)
    assert d.token.balanceOf(d.treasury) == 0  # the payment rolled back with it


# ---------------------------------------------------------------- LicenseSale: governance


def test_only_governance_sets_tiers_and_treasury(d):
    for account in (d.stranger, d.admin, d.treasury):
        with boa.env.prank(account), boa.reverts("governed: caller is not governance"):
            d.sale.setTier(9, WORKER, USD, 10, d.opens, d.closes, ZERO32)
        with boa.env.prank(account), boa.reverts("governed: caller is not governance"):
            d.sale.setTreasury(account)
    assert d.sale.tiers(9).nodeTypes == 0 and d.sale.treasury() == d.treasury
    with boa.env.prank(d.governance):
        d.sale.setTier(9, WORKER | MANAGER, 7 * USD, 10, d.opens, d.closes, b"\x11" * 32)
        (log,) = [e for e in d.sale.get_logs() if type(e).__name__ == "TierSet"]
        d.sale.setTreasury(d.stranger)
    assert tuple(d.sale.tiers(9)) == (WORKER | MANAGER, 7 * USD, 10, d.opens, d.closes, b"\x11" * 32)
    assert (log.tierId, log.priceUsd, log.cap) == (9, 7 * USD, 10)
    assert d.sale.treasury() == d.stranger


def test_tier_validation(d):
    with boa.env.prank(d.governance):
        for bad in (0, 8):
            with boa.reverts("sale: bad node types"):
                d.sale.setTier(9, bad, USD, 10, d.opens, d.closes, ZERO32)
        with boa.reverts("sale: zero price"):
            d.sale.setTier(9, WORKER, 0, 10, d.opens, d.closes, ZERO32)
        with boa.reverts("sale: bad window"):
            d.sale.setTier(9, WORKER, USD, 10, d.closes, d.opens, ZERO32)
        with boa.reverts("sale: zero treasury"):
            d.sale.setTreasury(ZERO)
