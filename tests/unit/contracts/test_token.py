"""IFX token: cap on everything ever minted, a genesis that ends for good, burns, EIP-2612 permit."""

import boa
import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector as selector

from inferix.eip712 import sign_permit

from .conftest import IFX, deployer

MAX_SUPPLY = 10**9 * IFX
ZERO = "0x" + "00" * 20
GENESIS = 100_000_000 * IFX  # what the conftest's deployer minted before finishGenesis


def test_metadata_and_cap(s):
    assert (s.token.name(), s.token.symbol(), s.token.decimals()) == ("Inferix", "IFX", 18)
    assert s.token.MAX_SUPPLY() == MAX_SUPPLY
    assert s.token.totalMinted() == GENESIS
    assert s.token.mintable() == MAX_SUPPLY - GENESIS


def test_only_the_issuance_mints_after_genesis(s):
    stranger = boa.env.generate_address()
    for account in (stranger, s.admin, s.governance, s.escrow.address):
        with boa.env.prank(account), boa.reverts("ifx: caller is not a minter"):
            s.token.mint(stranger, 1)
    with boa.env.prank(s.issuance.address):
        s.token.mint(stranger, 5)
    assert s.token.balanceOf(stranger) == 5
    assert s.token.totalMinted() == GENESIS + 5
    assert s.token.mintable() == MAX_SUPPLY - GENESIS - 5


def test_cap_counts_burned_tokens(s):
    """Burning does not make room: the cap is on supply ever minted."""
    with boa.env.prank(s.issuance.address):
        room = s.token.mintable()
        s.token.mint(s.issuance.address, room)
        assert s.token.totalMinted() == MAX_SUPPLY
        assert s.token.mintable() == 0
        s.token.burn(1_000 * IFX)
        assert s.token.totalSupply() == MAX_SUPPLY - 1_000 * IFX
        assert s.token.totalMinted() == MAX_SUPPLY
        with boa.reverts("ifx: cap exceeded"):
            s.token.mint(s.issuance.address, 1)


def test_mint_above_cap_in_one_call(s):
    with boa.env.prank(s.issuance.address), boa.reverts("ifx: cap exceeded"):
        s.token.mint(s.issuance.address, s.token.mintable() + 1)
    assert s.token.totalMinted() == GENESIS


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


# ---------------------------------------------------------------- genesis


def test_after_genesis_the_token_has_no_owner_and_one_minter(s):
    assert s.token.owner() == ZERO
    assert s.token.is_minter(s.issuance.address)
    for account in (s.admin, s.governance, s.escrow.address, s.staking.address, s.por.address, ZERO):
        assert not s.token.is_minter(account)


def test_finish_genesis_cannot_be_called_twice(s):
    for account in (s.admin, s.governance, s.issuance.address):
        with boa.env.prank(account), boa.reverts("ownable: caller is not the owner"):
            s.token.finishGenesis(account if account != s.issuance.address else s.admin)
    assert s.token.owner() == ZERO
    assert not s.token.is_minter(s.admin)


@pytest.mark.parametrize("signature,args", [
    ("set_minter(address,bool)", lambda who: (["address", "bool"], [who, True])),
    ("transfer_ownership(address)", lambda who: (["address"], [who])),
    ("renounce_ownership()", lambda who: ([], [])),
])
def test_minter_and_ownership_setters_are_not_exported(s, signature, args):
    """Not even the owner during the genesis can grant minting or hand the ownership (and its minter role) over:
    the selectors do not exist in the bytecode."""
    assert not hasattr(s.token, signature.split("(")[0])
    fresh = deployer("IFXToken").deploy()  # owned by the admin, genesis not finished
    other = boa.env.generate_address("other")
    types, values = args(other)
    data = selector(signature) + encode(types, values)
    for token, callers in ((fresh, (s.admin,)), (s.token, (s.admin, s.governance, s.issuance.address))):
        for account in callers:
            assert boa.env.execute_code(to_address=token.address, sender=account, data=data).is_error
    assert fresh.owner() == s.admin and fresh.is_minter(s.admin) and not fresh.is_minter(other)
    assert s.token.owner() == ZERO
    assert not s.token.is_minter(s.admin) and not s.token.is_minter(other)
    assert s.token.is_minter(s.issuance.address)
    with boa.env.prank(s.admin), boa.reverts("ifx: caller is not a minter"):
        s.token.mint(s.admin, 1)


def test_genesis_on_a_fresh_token():
    admin = boa.env.eoa
    minter = boa.env.generate_address("issuance")
    stranger = boa.env.generate_address("stranger")
    token = deployer("IFXToken").deploy()
    assert token.owner() == admin
    assert token.is_minter(admin)
    assert not token.is_minter(minter)
    # the genesis allocator mints; nobody else
    token.mint(admin, 7 * IFX)
    with boa.env.prank(stranger), boa.reverts("ifx: caller is not a minter"):
        token.mint(stranger, 1)
    # only the owner ends the genesis, and only for a real, different minter
    with boa.env.prank(stranger), boa.reverts("ownable: caller is not the owner"):
        token.finishGenesis(stranger)
    with boa.reverts("ifx: bad minter"):
        token.finishGenesis(ZERO)
    with boa.reverts("ifx: bad minter"):
        token.finishGenesis(admin)
    token.finishGenesis(minter)
    logs = token.get_logs()
    assert [type(log).__name__ for log in logs] == ["RoleMinterChanged", "RoleMinterChanged", "OwnershipTransferred",
                                                    "GenesisFinished"]
    assert [(log.minter, log.status) for log in logs[:2]] == [(minter, True), (admin, False)]
    assert (logs[2].previous_owner, logs[2].new_owner) == (admin, ZERO)
    assert (logs[3].minter, logs[3].totalMinted) == (minter, 7 * IFX)
    assert token.owner() == ZERO
    assert token.is_minter(minter) and not token.is_minter(admin)
    # the ex-owner can neither mint nor end the genesis again (e.g. to name itself or another minter)
    with boa.reverts("ifx: caller is not a minter"):
        token.mint(admin, 1)
    with boa.reverts("ownable: caller is not the owner"):
        token.finishGenesis(stranger)
    with boa.env.prank(minter):
        token.mint(stranger, 3)
    assert token.balanceOf(stranger) == 3
    assert token.totalMinted() == 7 * IFX + 3


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
