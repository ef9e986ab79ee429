# pragma version ~=0.4.3
"""
@title Node license sale, in tiers priced in USD and paid in IFX
@custom:contract-name LicenseSale
@license MIT
@notice Sells `NodeLicense` tokens in tiers that the governance sets
        (`setTier`): each tier has the node types its licenses carry, a
        USD price per license (18 decimals), a cap on licenses sold, a
        window [opensAt, closesAt) and a Merkle root. Root zero opens the
        tier to everyone; a nonzero root makes it a whitelist (e.g. the
        pre-TGE tier) whose leaves each allow one buyer `maxCount` licenses
        in that tier, over all its purchases.

        Leaf encoding (OpenZeppelin's `StandardMerkleTree` with leaf types
        `["address", "uint256"]`, double-hashed):
            leaf = keccak256(keccak256(abi_encode(buyer, maxCount)))
        pairs hashed sorted (snekmate's `merkle_proof_verification`).

        `buy` converts the USD price into IFX through the price feed
        (`price()`: USD per IFX, 18 decimals, reverting when stale), rounding
        up in the treasury's favour, refuses to charge more than the buyer's
        `maxIfx`, moves the IFX from the buyer straight to the treasury (the
        sale never holds funds) and issues the licenses to the buyer. The
        sale must be an issuer of `NodeLicense` (the deploy enables it).
@custom:security Only the governance timelock sets tiers and the treasury.
        `buy` is non-reentrant and updates its counters before any external
        call.
"""

from ethereum.ercs import IERC20

from .interfaces import IPriceFeed

from snekmate.utils import merkle_proof_verification

from .modules import governed

initializes: governed

exports: governed.governance


interface ILicenseIssuer:
    def issue(to: address, nodeTypes: uint8) -> uint256: nonpayable


struct Tier:
    nodeTypes: uint8
    priceUsd: uint256
    cap: uint256
    opensAt: uint256
    closesAt: uint256
    merkleRoot: bytes32


# @dev The most licenses one `buy` issues.
MAX_PER_BUY: public(constant(uint256)) = 50
# @dev The longest Merkle proof accepted (trees of up to 2**32 leaves).
MAX_PROOF: public(constant(uint256)) = 32
ALL_TYPES: constant(uint8) = 7

license: public(immutable(ILicenseIssuer))
token: public(immutable(IERC20))
feed: public(immutable(IPriceFeed))

treasury: public(address)
tiers: public(HashMap[uint256, Tier])
# @dev Licenses sold in each tier.
sold: public(HashMap[uint256, uint256])
# @dev Licenses each buyer bought in each tier.
bought: public(HashMap[uint256, HashMap[address, uint256]])

event TierSet:
    tierId: indexed(uint256)
    nodeTypes: uint8
    priceUsd: uint256
    cap: uint256
    opensAt: uint256
    closesAt: uint256
    merkleRoot: bytes32

event Bought:
    buyer: indexed(address)
    tierId: indexed(uint256)
    count: uint256
    ifxPaid: uint256
    firstId: uint256

event TreasurySet:
    treasury: indexed(address)


@deploy
def __init__(
    license_: ILicenseIssuer, token_: IERC20, feed_: IPriceFeed, treasury_: address, governance_: address
):
    """
    @param license_ The NodeLicense contract (this sale must be its issuer).
    @param token_ The IFX token.
    @param feed_ The IFX/USD price feed (USD per IFX, 18 decimals).
    @param treasury_ Where the proceeds go.
    @param governance_ The governance timelock.
    """
    assert license_.address != empty(address), "sale: zero license"
    assert token_.address != empty(address), "sale: zero token"
    assert feed_.address != empty(address), "sale: zero feed"
    assert treasury_ != empty(address), "sale: zero treasury"
    governed.__init__(governance_)
    license = license_
    token = token_
    feed = feed_
    self.treasury = treasury_
    log TreasurySet(treasury=treasury_)


@external
def setTier(
    tierId: uint256,
    nodeTypes: uint8,
    priceUsd: uint256,
    cap: uint256,
    opensAt: uint256,
    closesAt: uint256,
    merkleRoot: bytes32,
):
    """
    @dev Governance only: creates or replaces a tier. What was sold in it
         (`sold`, `bought`) is kept, so the cap cannot drop below `sold`.
    @param tierId The tier.
    @param nodeTypes The role bitmask of its licenses (1..7).
    @param priceUsd The USD price of one license, 18 decimals (nonzero).
    @param cap The most licenses the tier ever sells.
    @param opensAt The first second of the sale.
    @param closesAt The end of the sale (exclusive).
    @param merkleRoot Zero for everyone; else the whitelist's root.
    """
    governed._check_governance()
    assert nodeTypes != 0 and nodeTypes <= ALL_TYPES, "sale: bad node types"
    assert priceUsd != 0, "sale: zero price"
    assert opensAt < closesAt, "sale: bad window"
    assert cap >= self.sold[tierId], "sale: cap below sold"
    self.tiers[tierId] = Tier(
        nodeTypes=nodeTypes,
        priceUsd=priceUsd,
        cap=cap,
        opensAt=opensAt,
        closesAt=closesAt,
        merkleRoot=merkleRoot,
    )
    log TierSet(
        tierId=tierId,
        nodeTypes=nodeTypes,
        priceUsd=priceUsd,
        cap=cap,
        opensAt=opensAt,
        closesAt=closesAt,
        merkleRoot=merkleRoot,
    )


@external
def setTreasury(treasury_: address):
    """
    @dev Governance only: where future proceeds go.
    @param treasury_ The new treasury.
    """
    governed._check_governance()
    assert treasury_ != empty(address), "sale: zero treasury"
    self.treasury = treasury_
    log TreasurySet(treasury=treasury_)


@view
@external
def quote(tierId: uint256, count: uint256) -> uint256:
    """
    @dev What `count` licenses of the tier cost now, in IFX (wei).
    @param tierId The tier.
    @param count The number of licenses.
    @return uint256 The IFX amount `buy` would charge; reverts when the
            feed is stale.
    """
    tier: Tier = self.tiers[tierId]
    assert tier.nodeTypes != 0, "sale: unknown tier"
    return self._cost(tier.priceUsd, count)


@view
@external
def isWhitelisted(tierId: uint256, buyer: address, maxCount: uint256, proof: DynArray[bytes32, MAX_PROOF]) -> bool:
    """
    @dev Whether `proof` shows (buyer, maxCount) in the tier's whitelist.
    @param tierId The tier.
    @param buyer The buyer.
    @param maxCount The buyer's allowance in the leaf.
    @param proof The Merkle proof.
    @return bool True when proven (always True for an open tier).
    """
    root: bytes32 = self.tiers[tierId].merkleRoot
    if root == empty(bytes32):
        return True
    return merkle_proof_verification._verify(proof, root, self._leaf(buyer, maxCount))


@external
@nonreentrant
def buy(
    tierId: uint256,
    count: uint256,
    maxCount: uint256,
    proof: DynArray[bytes32, MAX_PROOF],
    maxIfx: uint256,
) -> DynArray[uint256, MAX_PER_BUY]:
    """
    @dev Buys `count` licenses of the tier for the caller, paying IFX from
         the caller (approve this contract first) straight to the treasury.
    @param tierId The tier.
    @param count How many licenses (1..MAX_PER_BUY).
    @param maxCount The caller's allowance in a whitelisted tier (its leaf);
           ignored in an open tier.
    @param proof The caller's Merkle proof (empty for an open tier).
    @param maxIfx The most IFX (wei) the caller accepts to pay.
    @return DynArray The ids of the licenses issued.
    """
    tier: Tier = self.tiers[tierId]
    assert tier.nodeTypes != 0, "sale: unknown tier"
    assert count != 0 and count <= MAX_PER_BUY, "sale: bad count"
    assert block.timestamp >= tier.opensAt, "sale: tier not open"
    assert block.timestamp < tier.closesAt, "sale: tier closed"
    sold_: uint256 = self.sold[tierId] + count
    assert sold_ <= tier.cap, "sale: tier sold out"
    bought_: uint256 = self.bought[tierId][msg.sender] + count
    if tier.merkleRoot != empty(bytes32):
        assert merkle_proof_verification._verify(
            proof, tier.merkleRoot, self._leaf(msg.sender, maxCount)
        ), "sale: not whitelisted"
        assert bought_ <= maxCount, "sale: over allowance"
    self.sold[tierId] = sold_
    self.bought[tierId][msg.sender] = bought_

    cost: uint256 = self._cost(tier.priceUsd, count)
    assert cost <= maxIfx, "sale: price above maxIfx"
    assert extcall token.transferFrom(msg.sender, self.treasury, cost, default_return_value=True), "sale: payment failed"

    ids: DynArray[uint256, MAX_PER_BUY] = []
    for i: uint256 in range(count, bound=MAX_PER_BUY):
        ids.append(extcall license.issue(msg.sender, tier.nodeTypes))
    log Bought(buyer=msg.sender, tierId=tierId, count=count, ifxPaid=cost, firstId=ids[0])
    return ids


@view
@internal
def _cost(priceUsd: uint256, count: uint256) -> uint256:
    # IFX wei for `count` licenses at `priceUsd` each, rounded up
    usd_per_ifx: uint256 = staticcall feed.price()
    assert usd_per_ifx != 0, "sale: zero price feed"
    return (priceUsd * count * 10**18 + usd_per_ifx - 1) // usd_per_ifx


@pure
@internal
def _leaf(buyer: address, maxCount: uint256) -> bytes32:
    # OpenZeppelin StandardMerkleTree leaf: keccak256(keccak256(abi.encode(...)))
    return keccak256(keccak256(abi_encode(buyer, maxCount)))
