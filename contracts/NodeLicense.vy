# pragma version ~=0.4.3
"""
@title Inferix node licenses (InferixNodeLicense, ERC-721)
@custom:contract-name NodeLicense
@license MIT
@notice One token per node license (snekmate's `erc721`, enumerable:
        `tokenOfOwnerByIndex`, `tokenByIndex`, `totalSupply`). Each token
        carries `nodeTypes`, a bitmask of the roles it licenses: 1 worker,
        2 verifier (oracle), 4 manager. Verifiers and managers need a
        license; workers stay permissionless with stake.

        Only issuers create licenses (`issue`, sequential ids from 1): the
        governance timelock, any address it enables (`setIssuer`, e.g. the
        `LicenseSale`), and the deployer until `finishGenesis`, so that the
        deploy script can issue the first licenses and enable the sale.
        Licenses are transferable ERC-721 tokens (e.g. into `Staking`);
        `transferFrom` is snekmate's, re-declared nonpayable as
        `INodeLicense` declares it (the ABI selector is the same).
        The governance can `revoke` a license wherever it is: when the
        holder is the wired `Staking`, it is told first
        (`onLicenseRevoked`), then the token is burned.
@custom:security snekmate's `safe_mint`, `set_minter`, `burn`,
        `transfer_ownership` and `renounce_ownership` are not exported, and
        the constructor drops the deployer's snekmate minter role and the
        snekmate ownership, so `issue` is the only way to mint and `revoke`
        the only way to burn.
"""

from .interfaces import INodeLicense
implements: INodeLicense

from snekmate.auth import ownable
from snekmate.tokens import erc721

from .modules import governed

initializes: ownable
initializes: erc721[ownable := ownable]
initializes: governed

exports: (
    erc721.supportsInterface,
    erc721.balanceOf,
    erc721.ownerOf,
    erc721.approve,
    erc721.getApproved,
    erc721.setApprovalForAll,
    erc721.isApprovedForAll,
    erc721.safeTransferFrom,
    erc721.tokenURI,
    erc721.totalSupply,
    erc721.tokenByIndex,
    erc721.tokenOfOwnerByIndex,
    erc721.permit,
    erc721.nonces,
    erc721.DOMAIN_SEPARATOR,
    erc721.eip712Domain,
    erc721.name,
    governed.governance,
    governed.wired,
)


interface ILicenseHolder:
    def onLicenseRevoked(token_id: uint256): nonpayable


# @dev snekmate's `symbol` holds 5 characters at most: this one replaces it.
symbol: public(constant(String[7])) = "IFXNODE"

WORKER: public(constant(uint8)) = 1
VERIFIER: public(constant(uint8)) = 2
MANAGER: public(constant(uint8)) = 4
# @dev Every valid bit of `nodeTypes`.
ALL_TYPES: public(constant(uint8)) = 7

# @dev The node-type bitmask of each license (0 once revoked / unknown).
nodeTypes: public(HashMap[uint256, uint8])
# @dev Addresses the governance enabled to issue licenses.
isIssuer: public(HashMap[address, bool])
# @dev True once the deployer has given up its issuing right for good.
genesisFinished: public(bool)
# @dev The last id issued (ids start at 1).
lastId: public(uint256)
# @dev The Staking contract told before one of its licenses is burned.
staking: public(address)

event Issued:
    tokenId: indexed(uint256)
    owner: indexed(address)
    nodeTypes: uint8
    issuer: address

event Revoked:
    tokenId: indexed(uint256)
    owner: indexed(address)

event IssuerSet:
    account: indexed(address)
    enabled: bool

event GenesisFinished:
    deployer: indexed(address)
    lastId: uint256

event Wired:
    staking: address


@deploy
def __init__(governance_: address):
    """
    @dev The deployer may issue licenses and enable issuers until
         `finishGenesis`.
    @param governance_ The governance timelock.
    """
    ownable.__init__()
    erc721.__init__("Inferix Node License", "", "", "Inferix Node License", "1")
    governed.__init__(governance_)
    # snekmate's own minter role and ownership stay unused: `issue` is the
    # only mint, gated by the issuers below
    erc721.is_minter[msg.sender] = False
    log erc721.RoleMinterChanged(minter=msg.sender, status=False)
    ownable._transfer_ownership(empty(address))


@external
def issue(to: address, nodeTypes_: uint8) -> uint256:
    """
    @dev Issuer only: mints the next license to `to` (which, if a
         contract, must accept ERC-721 tokens).
    @param to The license holder.
    @param nodeTypes_ The role bitmask (1 worker | 2 verifier | 4 manager),
           nonzero and at most 7.
    @return uint256 The new token id.
    """
    assert self._is_issuer(msg.sender), "license: caller is not an issuer"
    assert nodeTypes_ != 0 and nodeTypes_ <= ALL_TYPES, "license: bad node types"
    token_id: uint256 = self.lastId + 1
    self.lastId = token_id
    self.nodeTypes[token_id] = nodeTypes_
    log Issued(tokenId=token_id, owner=to, nodeTypes=nodeTypes_, issuer=msg.sender)
    erc721._safe_mint(to, token_id, b"")
    return token_id


@external
def transferFrom(owner: address, to: address, token_id: uint256):
    """
    @dev ERC-721 `transferFrom` (snekmate's logic), declared nonpayable
         as `INodeLicense` (which Staking uses) declares it.
    @param owner The current holder.
    @param to The receiver.
    @param token_id The license.
    """
    assert erc721._is_approved_or_owner(msg.sender, token_id), "erc721: caller is not token owner or approved"
    erc721._transfer(owner, to, token_id)


@external
def revoke(token_id: uint256):
    """
    @dev Governance only: burns the license wherever it is. When the wired
         Staking holds it, `Staking.onLicenseRevoked` is called first.
    @param token_id The license to revoke.
    """
    governed._check_governance()
    assert erc721._exists(token_id), "license: unknown license"
    owner: address = erc721._owner_of(token_id)
    staking_: address = self.staking
    if staking_ != empty(address) and owner == staking_:
        extcall ILicenseHolder(staking_).onLicenseRevoked(token_id)
    self.nodeTypes[token_id] = 0
    erc721._burn(token_id)
    log Revoked(tokenId=token_id, owner=owner)


@external
def setIssuer(account: address, enabled: bool):
    """
    @dev Enables or disables an issuer: governance only, or the deployer
         before `finishGenesis` (to enable the sale at deployment).
    @param account The issuer (e.g. the LicenseSale).
    @param enabled Whether it may issue.
    """
    if msg.sender != governed.governance:
        assert msg.sender == governed.deployer and not self.genesisFinished, "license: caller is not governance"
    assert account != empty(address), "license: zero issuer"
    self.isIssuer[account] = enabled
    log IssuerSet(account=account, enabled=enabled)


@external
def finishGenesis():
    """
    @dev Deployer only, once: the deployer loses its issuing right (and its
         right to enable issuers) for good.
    """
    assert msg.sender == governed.deployer, "license: caller is not the deployer"
    assert not self.genesisFinished, "license: genesis finished"
    self.genesisFinished = True
    log GenesisFinished(deployer=msg.sender, lastId=self.lastId)


@external
def wire(staking_: address):
    """
    @dev Deployer only, once: the Staking contract to notify on revocation.
    @param staking_ The Staking contract.
    """
    governed._wire_once()
    assert staking_ != empty(address), "license: zero staking"
    self.staking = staking_
    log Wired(staking=staking_)


@view
@external
def exists(token_id: uint256) -> bool:
    """
    @dev Whether the license exists (issued and not revoked).
    @param token_id The license.
    @return bool True when it has an owner.
    """
    return erc721._exists(token_id)


@view
@external
def canIssue(account: address) -> bool:
    """
    @dev Whether `account` may call `issue` now.
    @param account The address to check.
    @return bool True for the governance, enabled issuers, and the
            deployer before `finishGenesis`.
    """
    return self._is_issuer(account)


@view
@internal
def _is_issuer(account: address) -> bool:
    if account == governed.governance or self.isIssuer[account]:
        return True
    return account == governed.deployer and not self.genesisFinished
