"""Sponsored transactions: JobRelay (the escrow's ERC-2771 forwarder) creates, closes and withdraws for a creator
who holds IFX but no ETH, and repays the relayer in IFX; every attack on it is refused."""

from __future__ import annotations

import boa
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from inferix import relay as R
from inferix.eip712 import sign_permit

from .conftest import IFX, USD, deployer

ZERO = "0x" + "00" * 20
BUDGET, FEE = 100 * IFX, 2 * IFX
OTHER_KEY = keccak(b"another creator")
OTHER = Account.from_key(OTHER_KEY).address


def now() -> int:
    return boa.env.evm.patch.timestamp


@pytest.fixture
def relayer():
    return boa.env.generate_address("relayer")


def events(contract, name):
    return [log for log in contract.get_logs() if type(log).__name__ == name]


def order(s, creator=None, **changes) -> R.CreateJobRequest:
    """A CreateJob request of `creator` (the system's creator by default) at its current relay nonce."""
    creator = creator or s.creator
    fields = dict(creator=creator, manager=s.manager, scene_cid="bafyscene", frame_start=1, frame_end=10,
                  output_settings="640x360@64spp png", max_price_per_ibm=USD, budget=BUDGET, fee=FEE,
                  nonce=s.relay.nonces(creator), deadline=now() + 600, relayer=ZERO)
    fields.update(changes)
    return R.CreateJobRequest(**fields)


def forward(s, call, job_id=0, fee=0, creator=None, **changes) -> R.ForwardRequest:
    creator = creator or s.creator
    fields = dict(creator=creator, call=call, job_id=job_id, fee=fee, nonce=s.relay.nonces(creator),
                  deadline=now() + 600, relayer=ZERO)
    fields.update(changes)
    return R.ForwardRequest(**fields)


def permit_for(s, key, owner, value, deadline) -> bytes:
    signed = sign_permit(key, s.chain_id, s.token.address, owner, s.relay.address, value, s.token.nonces(owner),
                         deadline)
    return bytes(signed.signature)


def signed_order(s, request, key=None):
    """(request signature, permit signature) by `key` (the system's creator by default)."""
    key = key or s.creator_key
    signature = R.sign_create_job(key, s.chain_id, s.relay.address, request)
    permit = permit_for(s, key, request.creator, request.budget + request.fee, request.deadline)
    return signature, permit


def relay_create(s, request, signature, permit, sender):
    with boa.env.prank(sender):
        return s.relay.createJobFor(*R.create_job_args(request, signature, permit))


def relay_forward(s, request, signature, permit, sender):
    with boa.env.prank(sender):
        s.relay.forwardFor(*R.forward_args(request, signature, permit))


def sponsored_job(s, relayer, budget=BUDGET, fee=FEE) -> int:
    """The creator, funded with exactly budget + fee and no ETH, has `relayer` create its job."""
    s.fund(s.creator, budget + fee)
    request = order(s, budget=budget, fee=fee)
    return relay_create(s, request, *signed_order(s, request), relayer)


def assert_relay_holds_nothing(s):
    assert s.token.balanceOf(s.relay.address) == 0
    assert s.token.allowance(s.relay.address, s.escrow.address) == 0


# ---------------------------------------------------------------- the sponsored flow


def test_the_relay_is_wired_once_to_an_escrow_that_trusts_it(s, relayer):
    assert s.relay.escrow() == s.escrow.address and s.relay.token() == s.token.address
    assert s.escrow.trustedForwarder() == s.relay.address
    with boa.env.prank(s.admin), boa.reverts("relay: wired"):
        s.relay.wire(s.escrow.address)
    with boa.env.prank(s.admin):
        fresh = deployer("JobRelay").deploy(s.token.address)
    with boa.env.prank(relayer), boa.reverts("relay: wired"):
        fresh.wire(s.escrow.address)  # only the deployer
    with boa.env.prank(s.admin), boa.reverts("relay: escrow does not trust the relay"):
        fresh.wire(s.escrow.address)
    with boa.env.prank(s.admin), boa.reverts("relay: not wired"):
        fresh.forwardFor(*R.forward_args(forward(s, R.WITHDRAW), b"\x00" * 65))


def test_a_creator_without_eth_creates_a_job_through_a_relayer(s, relayer):
    assert boa.env.get_balance(s.creator) == 0
    s.fund(s.creator, BUDGET + FEE)
    request = order(s, relayer=relayer)
    signature, permit = signed_order(s, request)
    job_id = relay_create(s, request, signature, permit, relayer)
    relayed = events(s.relay, "Relayed")
    created = events(s.relay, "JobCreated")

    job = s.escrow.jobs(job_id)
    assert job.creator == s.creator and job.manager == s.manager and job.budget == BUDGET and not job.closed
    assert (relayed[0].creator, relayed[0].relayer, relayed[0].jobId, relayed[0].fee, relayed[0].nonce) == (
        s.creator, relayer, job_id, FEE, 0)
    assert created[0].creator == s.creator and created[0].budget == BUDGET
    assert s.token.balanceOf(s.creator) == 0  # paid budget + fee, nothing else
    assert s.token.balanceOf(relayer) == FEE
    assert s.token.balanceOf(s.escrow.address) == BUDGET
    assert_relay_holds_nothing(s)
    assert s.token.allowance(s.creator, s.relay.address) == 0  # the permit was spent to the wei
    assert s.relay.nonces(s.creator) == 1
    assert boa.env.get_balance(s.creator) == 0


def test_close_and_withdraw_forwarded_pay_the_creator(s, relayer):
    job_id = sponsored_job(s, relayer)
    # close: no fee (the creator holds no IFX yet), so no permit
    close = forward(s, R.CLOSE_JOB, job_id, relayer=relayer)
    relay_forward(s, close, R.sign_forward(s.creator_key, s.chain_id, s.relay.address, close), None, relayer)
    assert s.escrow.jobs(job_id).closed and s.escrow.claimable(s.creator) == BUDGET
    logged = events(s.relay, "Forwarded")[0]
    assert (logged.creator, logged.relayer, logged.jobId, logged.action, logged.fee, logged.nonce) == (
        s.creator, relayer, job_id, R.CLOSE_JOB, 0, 1)
    # withdraw: the fee comes out of the refund the withdrawal pays
    fee = IFX
    pull = forward(s, R.WITHDRAW, fee=fee)
    relay_forward(s, pull, R.sign_forward(s.creator_key, s.chain_id, s.relay.address, pull),
                  permit_for(s, s.creator_key, s.creator, fee, pull.deadline), relayer)
    assert s.escrow.claimable(s.creator) == 0
    assert s.token.balanceOf(s.creator) == BUDGET - fee
    assert s.token.balanceOf(relayer) == FEE + fee
    assert s.relay.nonces(s.creator) == 3
    assert_relay_holds_nothing(s)
    assert boa.env.get_balance(s.creator) == 0


def test_anyone_may_relay_a_request_that_names_no_relayer(s, relayer):
    s.fund(s.creator, BUDGET + FEE)
    request = order(s)  # relayer: the zero address
    stranger = boa.env.generate_address("stranger")
    relay_create(s, request, *signed_order(s, request), stranger)
    assert s.token.balanceOf(stranger) == FEE  # the fee goes to whoever sent it


def test_a_front_run_permit_does_not_block_the_request(s, relayer):
    s.fund(s.creator, BUDGET + FEE)
    request = order(s)
    signature, permit = signed_order(s, request)
    v, r, s_ = R.split_signature(permit)
    s.token.permit(s.creator, s.relay.address, BUDGET + FEE, request.deadline, v, r, s_)  # copied from the mempool
    job_id = relay_create(s, request, signature, permit, relayer)
    assert s.escrow.jobs(job_id).creator == s.creator
    # and an allowance given beforehand needs no permit at all
    s.fund(s.creator, BUDGET)
    with boa.env.prank(s.creator):
        s.token.approve(s.relay.address, BUDGET)
    again = order(s, fee=0)
    relay_create(s, again, R.sign_create_job(s.creator_key, s.chain_id, s.relay.address, again), None, relayer)
    assert s.escrow.jobCount() == 2 and s.token.allowance(s.creator, s.relay.address) == 0
    assert_relay_holds_nothing(s)


def test_without_permit_or_allowance_the_request_fails(s, relayer):
    s.fund(s.creator, BUDGET + FEE)
    request = order(s)
    signature = R.sign_create_job(s.creator_key, s.chain_id, s.relay.address, request)
    with boa.reverts("erc20: insufficient allowance"):
        relay_create(s, request, signature, None, relayer)
    assert s.relay.nonces(s.creator) == 0  # nothing happened: the request is still good


def test_the_escrows_refusal_comes_back_through_the_relay(s, relayer):
    s.fund(s.creator, BUDGET + FEE)
    request = order(s, manager=s.workers[0])  # not a manager
    with boa.reverts("escrow: manager not active"):
        relay_create(s, request, *signed_order(s, request), relayer)


# ---------------------------------------------------------------- what the creator signs


def test_digests_and_wallet_typed_data_match_the_contract(s, relayer):
    request = order(s, relayer=relayer, nonce=7, deadline=1_234_567)
    typed = R.create_job_typed_data(s.chain_id, s.relay.address, request)
    digest = encode_typed_data(full_message=typed)
    expected = keccak(b"\x19\x01" + digest.header + digest.body)
    message = request.message()
    assert s.relay.createJobDigest(*(message[f["name"]] for f in R.CREATE_JOB_TYPES["CreateJob"])) == expected
    # a wallet signing the JSON (eth_signTypedData_v4) produces the helper's signature
    assert bytes(Account.sign_typed_data(s.creator_key, full_message=typed).signature) == R.sign_create_job(
        s.creator_key, s.chain_id, s.relay.address, request)

    close = forward(s, R.CLOSE_JOB, 5, fee=3, relayer=relayer, nonce=2, deadline=99)
    typed = R.forward_typed_data(s.chain_id, s.relay.address, close)
    digest = encode_typed_data(full_message=typed)
    assert s.relay.forwardDigest(R.CLOSE_JOB, 5, 3, relayer, 2, 99) == keccak(b"\x19\x01" + digest.header + digest.body)
    assert bytes(Account.sign_typed_data(s.creator_key, full_message=typed).signature) == R.sign_forward(
        s.creator_key, s.chain_id, s.relay.address, close)
    assert s.relay.eip712Domain()[1:5] == ("Inferix JobRelay", "1", s.chain_id, s.relay.address)
    permit = R.create_job_permit(s.chain_id, s.token.address, s.relay.address, request, 4)
    assert permit["message"]["value"] == str(BUDGET + FEE) and permit["message"]["spender"] == s.relay.address
    assert R.forward_permit(s.chain_id, s.token.address, s.relay.address, forward(s, R.WITHDRAW), 0) is None
    with pytest.raises(ValueError):
        R.ForwardRequest(s.creator, 3, 0, 0, 0, 0)


def test_relay_create_job_sends_from_the_relayers_account(s, relayer):
    """inferix.relay.relay_create_job / relay_forward against a stand-in for inferix.chain.Chain."""

    class Events:
        def Relayed(self):  # noqa: N802 - web3's event accessor
            return self

        def process_receipt(self, receipt, errors=None):
            return [{"args": {"jobId": log.jobId}} for log in receipt["logs"] if type(log).__name__ == "Relayed"]

    class BoaChain:
        events = Events()

        def transact(self, contract, function, *args):
            assert contract == "JobRelay"
            with boa.env.prank(relayer):
                getattr(s.relay, function)(*args)
            return {"status": 1, "logs": s.relay.get_logs()}

        def contract(self, name):
            return self

        def call(self, contract, function, *args):
            return getattr(s.relay, function)(*args)

    chain = BoaChain()
    s.fund(s.creator, BUDGET + FEE)
    request = order(s, relayer=relayer, nonce=R.relay_nonce(chain, s.creator))
    signature, permit = signed_order(s, request)
    job_id, receipt = R.relay_create_job(chain, request, signature, "0x" + permit.hex())
    assert receipt["status"] == 1 and s.escrow.jobs(job_id).creator == s.creator
    close = forward(s, R.CLOSE_JOB, job_id, relayer=relayer)
    R.relay_forward(chain, close, R.sign_forward(s.creator_key, s.chain_id, s.relay.address, close))
    assert s.escrow.claimable(s.creator) == BUDGET and R.relay_nonce(chain, s.creator) == 2


# ---------------------------------------------------------------- attacks


def test_a_signature_is_used_once(s, relayer):
    s.fund(s.creator, 2 * (BUDGET + FEE))
    request = order(s)
    signature, permit = signed_order(s, request)
    relay_create(s, request, signature, permit, relayer)
    with boa.env.prank(s.creator):
        s.token.approve(s.relay.address, BUDGET + FEE)  # even with the allowance there
    with boa.reverts("relay: invalid signature"):
        relay_create(s, request, signature, permit, relayer)
    assert s.escrow.jobCount() == 1
    # the same for a forward
    close = forward(s, R.CLOSE_JOB, 1)
    close_sig = R.sign_forward(s.creator_key, s.chain_id, s.relay.address, close)
    relay_forward(s, close, close_sig, None, relayer)
    pull = forward(s, R.WITHDRAW)
    pull_sig = R.sign_forward(s.creator_key, s.chain_id, s.relay.address, pull)
    relay_forward(s, pull, pull_sig, None, relayer)
    with boa.reverts("relay: invalid signature"):
        relay_forward(s, pull, pull_sig, None, relayer)


def test_an_expired_request_is_refused(s, relayer):
    s.fund(s.creator, BUDGET + FEE)
    request = order(s, deadline=now() + 60)
    signature, permit = signed_order(s, request)
    boa.env.time_travel(seconds=61)
    with boa.reverts("relay: request expired"):
        relay_create(s, request, signature, permit, relayer)
    close = forward(s, R.WITHDRAW, deadline=now() - 1)
    with boa.reverts("relay: request expired"):
        relay_forward(s, close, R.sign_forward(s.creator_key, s.chain_id, s.relay.address, close), None, relayer)


@pytest.mark.parametrize("change", [
    dict(manager="another"), dict(budget=BUDGET + 1), dict(budget=BUDGET - 1), dict(fee=FEE + 1),
    dict(scene_cid="bafyotherscene"), dict(output_settings="8k"), dict(frame_end=11), dict(max_price_per_ibm=2 * USD),
    dict(deadline="later"), dict(relayer="me"),
])
def test_tampered_parameters_are_refused(s, relayer, change):
    s.fund(s.creator, 2 * (BUDGET + FEE))
    request = order(s)
    signature = R.sign_create_job(s.creator_key, s.chain_id, s.relay.address, request)
    with boa.env.prank(s.creator):
        s.token.approve(s.relay.address, 2 * (BUDGET + FEE))
    if "manager" in change:
        change = {"manager": boa.env.generate_address("relayer's manager")}
    if "deadline" in change:
        change = {"deadline": request.deadline + 3600}
    if "relayer" in change:
        change = {"relayer": relayer}
    tampered = R.CreateJobRequest(**{**request.__dict__, **change})
    with boa.reverts("relay: invalid signature"):
        relay_create(s, tampered, signature, None, relayer)
    # the request as signed goes through
    relay_create(s, request, signature, None, relayer)


def test_a_forward_with_tampered_parameters_is_refused(s, relayer):
    job_id = sponsored_job(s, relayer)
    s.fund(s.creator, 10 * IFX)
    with boa.env.prank(s.creator):
        s.token.approve(s.relay.address, 10 * IFX)
    close = forward(s, R.CLOSE_JOB, job_id, fee=IFX)
    signature = R.sign_forward(s.creator_key, s.chain_id, s.relay.address, close)
    for change in (dict(fee=2 * IFX), dict(job_id=job_id + 1), dict(call=R.WITHDRAW),
                   dict(deadline=close.deadline + 1)):
        with boa.reverts("relay: invalid signature"):
            relay_forward(s, R.ForwardRequest(**{**close.__dict__, **change}), signature, None, relayer)
    relay_forward(s, close, signature, None, relayer)
    assert s.escrow.jobs(job_id).closed


def test_a_signature_by_someone_else_is_refused(s, relayer):
    s.fund(s.creator, BUDGET + FEE)
    request = order(s)
    signature = R.sign_create_job(OTHER_KEY, s.chain_id, s.relay.address, request)  # not the creator's
    _, permit = signed_order(s, request)
    with boa.reverts("relay: invalid signature"):
        relay_create(s, request, signature, permit, relayer)
    with boa.reverts("ecdsa: invalid signature"):
        relay_create(s, request, b"\x01" * 65, permit, relayer)
    # a request signed for another relay (another domain) is refused too
    with boa.env.prank(s.admin):
        other_relay = deployer("JobRelay").deploy(s.token.address)
    wrong_domain = R.sign_create_job(s.creator_key, s.chain_id, other_relay.address, request)
    with boa.reverts("relay: invalid signature"):
        relay_create(s, request, wrong_domain, permit, relayer)


def test_only_the_named_relayer_may_send_a_request(s, relayer):
    s.fund(s.creator, BUDGET + FEE)
    request = order(s, relayer=relayer)
    signature, permit = signed_order(s, request)
    thief = boa.env.generate_address("fee thief")
    with boa.reverts("relay: not the named relayer"):
        relay_create(s, request, signature, permit, thief)
    close = forward(s, R.WITHDRAW, relayer=relayer)
    with boa.reverts("relay: not the named relayer"):
        relay_forward(s, close, R.sign_forward(s.creator_key, s.chain_id, s.relay.address, close), None, thief)
    relay_create(s, request, signature, permit, relayer)
    assert s.token.balanceOf(thief) == 0 and s.token.balanceOf(relayer) == FEE


@pytest.mark.parametrize("call", [0, 3, 255])
def test_a_forward_makes_no_other_call(s, relayer, call):
    """Even signed by the creator, a forward other than close (1) or withdraw (2) is refused (without the check,
    any other value would withdraw)."""
    job_id = sponsored_job(s, relayer)
    close = forward(s, R.CLOSE_JOB, job_id)
    relay_forward(s, close, R.sign_forward(s.creator_key, s.chain_id, s.relay.address, close), None, relayer)
    message = {"call": call, "jobId": job_id, "fee": 0, "relayer": ZERO, "nonce": s.relay.nonces(s.creator),
               "deadline": now() + 600}
    signature = bytes(Account.sign_typed_data(s.creator_key, R.relay_domain(s.chain_id, s.relay.address),
                                              R.FORWARD_TYPES, message).signature)
    with boa.env.prank(relayer), boa.reverts("relay: unknown call"):
        s.relay.forwardFor(s.creator, call, job_id, 0, ZERO, message["deadline"], signature, *R.NO_PERMIT)
    assert s.escrow.claimable(s.creator) == BUDGET


def test_forged_trailing_bytes_count_for_nothing_outside_the_relay(s, relayer):
    """A caller other than the trusted forwarder who appends a victim's address to its calldata is still
    msg.sender: it creates its own job with its own IFX, and cannot close the victim's job or take its refund."""
    from eth.exceptions import Revert

    def raw(data: bytes) -> bytes | None:
        """The call's revert data, or None when it succeeded."""
        try:
            boa.env.raw_call(s.escrow.address, sender=attacker, data=data)
        except Revert as exc:
            return bytes(exc.args[0])
        return None

    victim_job = sponsored_job(s, relayer)
    attacker = boa.env.generate_address("attacker")
    s.fund(attacker, BUDGET)
    with boa.env.prank(attacker):
        s.token.approve(s.escrow.address, BUDGET)
    victim = bytes.fromhex(s.creator[2:])
    assert raw(s.escrow.createJob.prepare_calldata(s.manager, "bafyscene", 1, 10, "", USD, BUDGET) + victim) is None
    job_id = s.escrow.jobCount()
    assert job_id == victim_job + 1
    assert s.escrow.jobs(job_id).creator == attacker and s.token.balanceOf(attacker) == 0

    assert b"escrow: caller is not the creator" in raw(s.escrow.closeJob.prepare_calldata(victim_job) + victim)
    assert not s.escrow.jobs(victim_job).closed
    with boa.env.prank(s.creator):
        s.escrow.closeJob(victim_job)
    withdraw = s.escrow.withdraw.prepare_calldata() + victim
    assert b"escrow: nothing to withdraw" in raw(withdraw)  # the attacker is owed nothing
    assert s.escrow.claimable(s.creator) == BUDGET and s.token.balanceOf(attacker) == 0
    # the attacker's own job closes and refunds to the attacker, whatever it appends
    assert raw(s.escrow.closeJob.prepare_calldata(job_id) + victim) is None
    assert raw(withdraw) is None
    assert s.token.balanceOf(attacker) == BUDGET and s.escrow.claimable(s.creator) == BUDGET


def test_an_allowance_left_to_the_relay_serves_only_its_owner(s, relayer):
    """The creator approved the relay (and signed nothing): another creator's request cannot spend it."""
    s.fund(s.creator, 1_000 * IFX)
    with boa.env.prank(s.creator):
        s.token.approve(s.relay.address, 1_000 * IFX)
    s.fund(OTHER, BUDGET + FEE)
    # a request naming the creator but signed by the other
    stolen = order(s, creator=s.creator)
    with boa.reverts("relay: invalid signature"):
        relay_create(s, stolen, R.sign_create_job(OTHER_KEY, s.chain_id, s.relay.address, stolen), None, relayer)
    # the other's own request spends the other's IFX only
    own = order(s, creator=OTHER)
    job_id = relay_create(s, own, *signed_order(s, own, OTHER_KEY), relayer)
    assert s.escrow.jobs(job_id).creator == OTHER and s.token.balanceOf(OTHER) == 0
    assert s.token.balanceOf(s.creator) == 1_000 * IFX
    assert s.token.allowance(s.creator, s.relay.address) == 1_000 * IFX
    assert_relay_holds_nothing(s)


def test_nobody_withdraws_or_closes_for_another_creator(s, relayer):
    job_id = sponsored_job(s, relayer)
    with boa.env.prank(s.creator):
        s.escrow.closeJob(job_id)
    s.fund(OTHER, BUDGET + FEE)
    own = order(s, creator=OTHER)
    other_job = relay_create(s, own, *signed_order(s, own, OTHER_KEY), relayer)
    # the other signs a withdrawal naming the creator: not the creator's signature
    pull = forward(s, R.WITHDRAW, creator=s.creator)
    with boa.reverts("relay: invalid signature"):
        relay_forward(s, pull, R.sign_forward(OTHER_KEY, s.chain_id, s.relay.address, pull), None, relayer)
    # the other's own withdrawal pays the other, who is owed nothing
    mine = forward(s, R.WITHDRAW, creator=OTHER)
    with boa.reverts("escrow: nothing to withdraw"):
        relay_forward(s, mine, R.sign_forward(OTHER_KEY, s.chain_id, s.relay.address, mine), None, relayer)
    # nor close the creator's open job
    victim_job = sponsored_job(s, relayer)
    close = forward(s, R.CLOSE_JOB, victim_job, creator=OTHER)
    with boa.reverts("escrow: caller is not the creator"):
        relay_forward(s, close, R.sign_forward(OTHER_KEY, s.chain_id, s.relay.address, close), None, relayer)
    assert s.escrow.claimable(s.creator) == BUDGET and not s.escrow.jobs(victim_job).closed
    assert s.escrow.jobs(other_job).creator == OTHER
