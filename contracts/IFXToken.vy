# pragma version ~=0.4.3
"""
@title Inferix token (IFX)
@custom:contract-name IFXToken
@license MIT
@notice ERC-20 with EIP-2612 permit (snekmate's `erc20`), burnable by
        any holder, mintable only by addresses holding the minter role
        (the BMW issuance contract and the genesis allocator), and capped:
        the sum of everything ever minted never exceeds `MAX_SUPPLY`,
        whatever has been burned in between.
@custom:security Burns do not free room under the cap: `totalMinted`
        only grows. The owner (the governance timelock after deployment)
        can grant and revoke the minter role and nothing else.
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
    erc20.set_minter,
    erc20.permit,
    erc20.DOMAIN_SEPARATOR,
    erc20.transfer_ownership,
    erc20.renounce_ownership,
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


@deploy
def __init__():
    """
    @dev The deployer becomes owner and minter (the genesis allocator);
         it hands ownership to the timelock once wiring is done.
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
