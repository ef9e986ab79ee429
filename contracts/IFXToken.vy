# pragma version ~=0.4.3
"""
@title Inferix token (IFX)
@custom:contract-name IFXToken
@license MIT
@notice ERC-20 with EIP-2612 permit (snekmate's `erc20`), burnable by
        any holder, and capped: the sum of everything ever minted never
        exceeds `MAX_SUPPLY`, whatever has been burned in between. The
        deployer mints the genesis allocation, then `finishGenesis` makes
        the BMW issuance contract the only minter, forever: the deployer
        loses its minter role and the token has no owner left, so nobody
        (the governance timelock included) can ever grant minting again.
@custom:security Burns do not free room under the cap: `totalMinted`
        only grows. snekmate's `set_minter` and `transfer_ownership` are
        not exported: handing ownership over would make the new owner a
        minter.
"""

from ethereum.ercs import IERC20
implements: IERC20

from snekmate.auth import ownable
from snekmate.tokens import erc20

initializes: ownable
initializes: erc20[ownable := ownable]

exports: (
    erc20.transfer,
    erc20.approve,
    erc20.transferFrom,
    erc20.burn,
    erc20.burn_from,
    erc20.permit,
    erc20.DOMAIN_SEPARATOR,
    erc20.owner,
    erc20.eip712Domain,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.balanceOf,
    erc20.allowance,
    erc20.totalSupply,
    erc20.is_minter,
    erc20.nonces,
)

# @dev 1,000,000,000 IFX with 18 decimals.
MAX_SUPPLY: public(constant(uint256)) = 10**9 * 10**18

# @dev Sum of every amount ever minted; never decreases.
totalMinted: public(uint256)

event GenesisFinished:
    minter: indexed(address)
    totalMinted: uint256


@deploy
def __init__():
    """
    @dev The deployer becomes owner and minter (the genesis allocator)
         until `finishGenesis`.
    """
    ownable.__init__()
    erc20.__init__("Inferix", "IFX", 18, "Inferix", "1")


@external
def mint(owner: address, amount: uint256):
    """
    @dev Mints `amount` to `owner` within the supply cap.
    @param owner The receiver of the new tokens.
    @param amount The amount in wei of IFX.
    """
    assert erc20.is_minter[msg.sender], "ifx: caller is not a minter"
    minted: uint256 = self.totalMinted + amount
    assert minted <= MAX_SUPPLY, "ifx: cap exceeded"
    self.totalMinted = minted
    erc20._mint(owner, amount)


@view
@external
def mintable() -> uint256:
    """
    @dev Room left under the cap.
    @return uint256 `MAX_SUPPLY - totalMinted`.
    """
    return MAX_SUPPLY - self.totalMinted


@external
def finishGenesis(minter: address):
    """
    @dev Owner only, once: `minter` (the BMW issuance contract) becomes
         the only minter; the caller's minter role and the ownership are
         renounced, so the set of minters can never change again.
    @param minter The issuance contract.
    """
    ownable._check_owner()
    assert minter != empty(address) and minter != msg.sender, "ifx: bad minter"
    erc20.is_minter[minter] = True
    erc20.is_minter[msg.sender] = False
    log erc20.RoleMinterChanged(minter=minter, status=True)
    log erc20.RoleMinterChanged(minter=msg.sender, status=False)
    ownable._transfer_ownership(empty(address))
    log GenesisFinished(minter=minter, totalMinted=self.totalMinted)
