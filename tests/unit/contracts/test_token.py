"""IFX token: cap on everything ever minted, minter role, burns, EIP-2612 permit."""

import boa
import pytest
from eth_account import Account

from inferix.eip712 import sign_permit

from .conftest import IFX

MAX_SUPPLY = 10**9 * IFX


def test_metadata_and_cap(s):
    assert (s.token.name(), s.token.symbol(), s.token.decimals()) == ("Inferix", "IFX", 18)
    assert s.token.MAX_SUPPLY() == MAX_SUPPLY
    assert s.token.mintable() == MAX_SUPPLY - s.token.totalMinted()


def test_only_minters_mint(s):
    stranger = boa.env.generate_address()
    with boa.env.prank(stranger), boa.reverts("ifx: caller is not a minter"):
        s.token.mint(stranger, 1)
    with boa.env.prank(s.admin):
        s.token.mint(stranger, 5)
    assert s.token.balanceOf(stranger) == 5


def test_cap_counts_burned_tokens(s):
    """Burning does not make room: the cap is on supply ever minted."""
    with boa.env.prank(s.admin):
        room = s.token.mintable()
        s.token.mint(s.admin, room)
        assert s.token.totalMinted() == MAX_SUPPLY
        s.token.burn(1_000 * IFX)
        assert s.token.totalSupply() == MAX_SUPPLY - 1_000 * IFX
        with boa.reverts("ifx: cap exceeded"):
            s.token.mint(s.admin, 1)


def test_burn_from_needs_allowance(s):
    holder = boa.env.generate_address()
    spender = boa.env.generate_address()
    s.fund(holder, 10 * IFX)
    with boa.env.prank(spender), boa.reverts("erc20: insufficient allowance"):
        s.token.burn_from(holder, IFX)
    with boa.env.prank(holder):
        s.token.approve(spender, IFX)
    supply = s.token.totalSupply()
    with boa.env.prank(spender):
        s.token.burn_from(holder, IFX)
    assert s.token.balanceOf(holder) == 9 * IFX
    assert s.token.totalSupply() == supply - IFX


def test_minter_role_managed_by_owner_only(s):
    stranger = boa.env.generate_address()
    with boa.env.prank(stranger), boa.reverts("ownable: caller is not the owner"):
        s.token.set_minter(stranger, True)
    assert s.token.is_minter(s.issuance.address)
    with boa.env.prank(s.admin):
        s.token.set_minter(s.issuance.address, False)
    assert not s.token.is_minter(s.issuance.address)


@pytest.mark.parametrize("replay", [False, True])
def test_permit(s, replay):
    owner = Account.from_key(b"\x42" * 32)
    spender = boa.env.generate_address()
    deadline = boa.env.evm.patch.timestamp + 3600
    nonce = s.token.nonces(owner.address)
    signed = sign_permit(owner.key, s.chain_id, s.token.address, owner.address, spender, 7 * IFX, nonce, deadline)
    args = (owner.address, spender, 7 * IFX, deadline, signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big"))
    s.token.permit(*args)
    assert s.token.allowance(owner.address, spender) == 7 * IFX
    assert s.token.nonces(owner.address) == nonce + 1
    if replay:
        with boa.reverts("erc20: invalid signature"):
            s.token.permit(*args)
