"""KeyRegistry: every node's encryption public key (private jobs). Setting, rotating with a grace period for the
replaced key, revoking, the refused keys, events, gas; and ``inferix.keys.register`` / ``recipient_key`` against it."""

from __future__ import annotations

import boa
import pytest

from inferix import crypto
from inferix import keys as K

from .conftest import deployer, warp

ZERO32 = b"\x00" * 32
GRACE = 7 * 86_400
P = 2**255 - 19


def public() -> bytes:
    return crypto.generate_keypair()[1]


def now() -> int:
    return boa.env.evm.patch.timestamp


def events(contract, name: str) -> list:
    return [log for log in contract.get_logs() if type(log).__name__ == name]


def tx_gas(contract) -> int:
    """The last call's gas as a transaction: execution (refunds deducted) + 21,000 + calldata (4/16 per byte)."""
    c = contract._computation
    return c.net_gas_used + 21_000 + sum(4 if byte == 0 else 16 for byte in bytes(c.msg.data))


@pytest.fixture
def registry():
    with boa.env.anchor():
        yield deployer("KeyRegistry").deploy()


@pytest.fixture
def alice():
    return boa.env.generate_address("alice")


@pytest.fixture
def bob():
    return boa.env.generate_address("bob")


def set_key(registry, account: str, key: bytes) -> None:
    with boa.env.prank(account):
        registry.setKey(key)


# ---------------------------------------------------------------- setting and reading


def test_nobody_has_a_key_until_it_sets_one(registry, alice):
    assert registry.keyOf(alice) == ZERO32
    assert registry.keysOf(alice) == (ZERO32, 0, ZERO32, 0)
    assert not registry.honours(alice, ZERO32)
    assert registry.ROTATION_GRACE() == GRACE


def test_set_makes_the_key_current_at_once(registry, alice):
    key = public()
    set_key(registry, alice, key)
    (log,) = events(registry, "KeySet")  # the last call's events
    assert (log.account, log.publicKey, log.previous) == (alice, key, ZERO32)
    assert registry.keyOf(alice) == key
    assert registry.keysOf(alice) == (key, now(), ZERO32, 0)
    assert registry.honours(alice, key)


def test_setting_the_current_key_again_is_refused(registry, alice):
    key = public()
    set_key(registry, alice, key)
    with boa.env.prank(alice), boa.reverts("keys: already current"):
        registry.setKey(key)


def test_another_account_cannot_change_mine(registry, alice, bob):
    mine, theirs = public(), public()
    set_key(registry, alice, mine)
    set_key(registry, bob, theirs)  # bob's setKey sets bob's key, whatever it is
    assert registry.keyOf(alice) == mine and registry.keyOf(bob) == theirs
    with boa.env.prank(bob):
        registry.revokeKey()  # and bob's revocation revokes bob's
    assert registry.keyOf(alice) == mine and registry.honours(alice, mine)
    assert registry.keyOf(bob) == ZERO32
    # the same public key under two accounts is each account's own business
    set_key(registry, bob, mine)
    assert registry.keyOf(bob) == mine == registry.keyOf(alice)


# ---------------------------------------------------------------- rotation


def test_rotation_keeps_the_previous_key_for_the_grace_period_then_drops_it(registry, alice):
    old, new = public(), public()
    set_key(registry, alice, old)
    warp(3600)
    set_key(registry, alice, new)
    rotated = now()
    (log,) = events(registry, "KeySet")  # the last call's events
    assert (log.account, log.publicKey, log.previous) == (alice, new, old)
    assert registry.keyOf(alice) == new  # wrap to the new key from now on
    assert registry.keysOf(alice) == (new, rotated, old, rotated + GRACE)
    assert registry.honours(alice, new) and registry.honours(alice, old)
    warp(GRACE)  # the last second of the grace: still honoured
    assert registry.keysOf(alice) == (new, rotated, old, rotated + GRACE)
    assert registry.honours(alice, old)
    warp(1)
    assert registry.keysOf(alice) == (new, rotated, ZERO32, 0)
    assert not registry.honours(alice, old) and registry.honours(alice, new)


def test_rotating_twice_within_the_grace_keeps_only_the_last_replaced_key(registry, alice):
    first, second, third = public(), public(), public()
    set_key(registry, alice, first)
    set_key(registry, alice, second)
    warp(60)
    set_key(registry, alice, third)
    assert registry.keysOf(alice) == (third, now(), second, now() + GRACE)
    assert not registry.honours(alice, first)
    # going back to the replaced key is a rotation like any other
    set_key(registry, alice, second)
    assert registry.keysOf(alice)[::2] == (second, third)


def test_a_key_set_after_the_grace_has_no_stale_previous(registry, alice):
    old, new = public(), public()
    set_key(registry, alice, old)
    set_key(registry, alice, new)
    warp(GRACE + 1)
    assert registry.keysOf(alice)[2:] == (ZERO32, 0)
    newest = public()
    set_key(registry, alice, newest)  # the key it replaces gets a fresh grace
    assert registry.keysOf(alice) == (newest, now(), new, now() + GRACE)


# ---------------------------------------------------------------- revocation


def test_revoke_clears_current_and_previous_at_once(registry, alice):
    old, new = public(), public()
    set_key(registry, alice, old)
    set_key(registry, alice, new)
    with boa.env.prank(alice):
        registry.revokeKey()
    (log,) = events(registry, "KeyRevoked")
    assert log.account == alice
    assert registry.keyOf(alice) == ZERO32
    assert registry.keysOf(alice) == (ZERO32, 0, ZERO32, 0)
    assert not registry.honours(alice, old) and not registry.honours(alice, new)
    assert registry.revoked(alice, old) and registry.revoked(alice, new)


def test_a_revoked_key_never_comes_back_but_a_new_one_does(registry, alice, bob):
    old, new = public(), public()
    set_key(registry, alice, old)
    set_key(registry, alice, new)
    with boa.env.prank(alice):
        registry.revokeKey()
    for key in (old, new):
        with boa.env.prank(alice), boa.reverts("keys: key revoked"):
            registry.setKey(key)
    fresh = public()
    set_key(registry, alice, fresh)
    assert events(registry, "KeySet")[-1].previous == ZERO32
    # after a revocation nothing is carried over: no previous key to honour
    assert registry.keysOf(alice) == (fresh, now(), ZERO32, 0)
    # revocation is per account: bob is not bound by alice's
    set_key(registry, bob, new)
    assert registry.keyOf(bob) == new


def test_revoking_without_a_key_is_refused(registry, alice):
    with boa.env.prank(alice), boa.reverts("keys: no key"):
        registry.revokeKey()
    set_key(registry, alice, public())
    with boa.env.prank(alice):
        registry.revokeKey()
    with boa.env.prank(alice), boa.reverts("keys: no key"):
        registry.revokeKey()


# ---------------------------------------------------------------- refused keys


def test_the_zero_key_is_refused(registry, alice):
    with boa.env.prank(alice), boa.reverts("keys: zero key"):
        registry.setKey(ZERO32)
    assert registry.keyOf(alice) == ZERO32


@pytest.mark.parametrize("point", sorted(K.LOW_ORDER_POINTS - {ZERO32}), ids=lambda p: p.hex()[:8])
@pytest.mark.parametrize("top_bit", [False, True])
def test_small_order_points_are_refused(registry, alice, point, top_bit):
    key = point[:31] + bytes([point[31] | (0x80 if top_bit else 0)])
    with boa.env.prank(alice), boa.reverts("keys: low-order key"):
        registry.setKey(key)


def test_only_the_small_order_points_are_refused_on_chain(registry, alice):
    """Two neighbours of refused encodings are accepted by the contract (full validation is off chain): 2, and
    p + 2 (non-canonical, refused by ``inferix.keys.validate_public_key``)."""
    for value in (2, P + 2):
        key = value.to_bytes(32, "little")
        set_key(registry, alice, key)
        assert registry.keyOf(alice) == key


# ---------------------------------------------------------------- gas


def test_gas_is_small(registry, alice):
    first, second, third = public(), public(), public()
    with boa.env.prank(alice):
        registry.setKey(first)
        first_set = tx_gas(registry)
        registry.setKey(second)
        first_rotation = tx_gas(registry)
        registry.setKey(third)
        rotation = tx_gas(registry)
        registry.revokeKey()
        revoke = tx_gas(registry)
    print(f"setKey first {first_set:,}, first rotation {first_rotation:,}, rotation {rotation:,}, "
          f"revokeKey {revoke:,}")
    assert first_set < 72_000  # two fresh slots (current key, times)
    assert first_rotation < 60_000  # one fresh slot (the previous key)
    assert rotation < 40_000
    assert revoke < 80_000  # two fresh revocation marks, three slots cleared


# ---------------------------------------------------------------- inferix.keys against the contract


class BoaChain:
    """A stand-in for inferix.chain.Chain: calls and transactions to the KeyRegistry from ``account``."""

    def __init__(self, registry, account: str) -> None:
        self.registry, self.address, self.sent = registry, account, []

    def call(self, contract: str, function: str, *args):
        assert contract == "KeyRegistry"
        return getattr(self.registry, function)(*args)

    def transact(self, contract: str, function: str, *args):
        assert contract == "KeyRegistry"
        with boa.env.prank(self.address):
            getattr(self.registry, function)(*args)
        self.sent.append(function)
        return {"status": 1}


def test_register_publishes_the_keystore_key_once(registry, alice, bob, tmp_path):
    keystore = K.load_or_create(tmp_path / "keys.json")
    chain = BoaChain(registry, alice)
    with pytest.raises(K.NoEncryptionKey) as missing:
        K.recipient_key(chain, alice)
    assert alice in str(missing.value) and missing.value.account == alice
    assert K.register(chain, keystore) == {"status": 1}
    assert K.register(chain, keystore) is None  # already there: nothing sent
    assert chain.sent == ["setKey"]
    assert K.recipient_key(BoaChain(registry, bob), alice) == keystore.public_key
    assert K.key_record(chain, alice) == K.KeyRecord(keystore.public_key, now(), None, 0)

    # rotation: the new key is registered, the old one stays honoured and still opens what was wrapped to it
    content = crypto.new_content_key()
    envelope = crypto.make_envelope(content, [K.recipient_key(chain, alice)], b"job=1")
    rotated = K.rotate(tmp_path / "keys.json")
    K.register(chain, rotated)
    record = K.key_record(chain, alice)
    assert record.current == rotated.public_key and record.previous == keystore.public_key
    assert record.previous_until == now() + GRACE and record.honours(keystore.public_key)
    assert K.recipient_key(chain, alice) == rotated.public_key
    assert rotated.open_envelope(envelope, b"job=1") == content

    # revoked: readers get NoEncryptionKey, and the revoked key cannot be registered again
    chain.transact("KeyRegistry", "revokeKey")
    with pytest.raises(K.NoEncryptionKey):
        K.recipient_key(chain, alice)
    with pytest.raises(K.KeystoreError, match="revoked on chain"):
        K.register(chain, rotated)
    K.register(chain, K.rotate(tmp_path / "keys.json"))
    assert K.key_record(chain, alice).previous is None


def test_recipient_key_refuses_a_key_the_contract_let_through(registry, alice):
    """p + 2 is not a small-order point, so the registry takes it, but it is no canonical encoding."""
    set_key(registry, alice, (P + 2).to_bytes(32, "little"))
    with pytest.raises(K.NoEncryptionKey, match="unusable"):
        K.recipient_key(BoaChain(registry, alice), alice)
