"""``inferix gov``, ``inferix vesting`` and ``inferix license``: governance from a holder's terminal
(docs/governance.md). Every command reads ``INFERIX_RPC_URL`` and ``INFERIX_DEPLOYMENTS``; those that send a
transaction sign with ``--account``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from inferix.settings import Settings

IFX = 10**18

account_option = click.option("--account", envvar="INFERIX_ACCOUNT", required=True,
                              help="ape:ALIAS, keystore:PATH or keyfile:PATH: the wallet that signs")


def _chain(account: str | None = None):
    from inferix.cli import connect

    chain, _ = connect(account, Settings())
    return chain


def _ifx(text: str) -> int:
    """An IFX amount: ``1000``, ``2.5`` (IFX) or ``1000000000000000000wei``."""
    try:
        if text.endswith("wei"):
            return int(text[:-3])
        whole, _, frac = text.partition(".")
        if len(frac) > 18:
            raise ValueError
        return int(whole or "0") * IFX + int((frac or "0").ljust(18, "0"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an IFX amount (e.g. 1000, 2.5 or 5wei)") from None


def _show(data: dict) -> None:
    click.echo(json.dumps(data, indent=1, default=lambda v: v.hex() if isinstance(v, bytes) else str(v)))


@click.group()
def gov() -> None:
    """Voting power, proposals, votes, the timelock."""


@gov.command()
@click.argument("address", required=False)
@click.option("--account", envvar="INFERIX_ACCOUNT", default=None, help="Whose power, when ADDRESS is not given.")
def power(address, account) -> None:
    """ADDRESS's voting power: its votes (delegated to it), its own units, its delegate, what it locked, staked."""
    from inferix import governance

    chain = _chain(account)
    address = address or chain.address
    if not address:
        raise click.UsageError("give an ADDRESS or --account")
    _show({"address": address, **governance.voting_power(chain, address)})


@gov.command()
@click.argument("amount", callback=lambda c, p, v: _ifx(v))
@account_option
def lock(amount, account) -> None:
    """Lock AMOUNT IFX in VotePower to vote with it (unlock at any time; votes are read at past snapshots)."""
    from inferix import governance

    chain = _chain(account)
    governance.lock(chain, amount)
    click.echo(f"locked {amount / IFX:,.6f} IFX; votes now {chain.call('VotePower', 'getVotes', chain.address) / IFX:,.6f}")


@gov.command()
@click.argument("amount", callback=lambda c, p, v: _ifx(v))
@account_option
def unlock(amount, account) -> None:
    """Take AMOUNT IFX back from VotePower."""
    chain = _chain(account)
    chain.transact("VotePower", "unlock", amount)
    click.echo(f"unlocked {amount / IFX:,.6f} IFX")


@gov.command()
@click.argument("delegatee")
@account_option
def delegate(delegatee, account) -> None:
    """Give your votes (locked IFX and bonded stake) to DELEGATEE (yourself to take them back)."""
    from inferix import governance

    chain = _chain(account)
    governance.delegate(chain, delegatee)
    click.echo(f"{chain.address} now votes through {chain.call('VotePower', 'delegates', chain.address)}")


def _calls(specs: tuple[str, ...]) -> list[tuple[str, str, tuple]]:
    calls = []
    for spec in specs:
        target, _, args = spec.partition(" ")
        contract, _, function = target.partition(".")
        try:
            values = json.loads(args or "[]")
        except json.JSONDecodeError:
            values = None
        if not contract or not function or not isinstance(values, list):
            raise click.BadParameter(f"{spec!r}: use 'Contract.function [JSON args]', e.g. "
                                     "'BMWIssuance.setParameter [\"emissionRate\", 12000000000000000000]'")
        calls.append((contract, function, tuple(values)))
    return calls


@gov.command()
@click.option("--call", "call_specs", multiple=True, required=True,
              help="'Contract.function [JSON args]' of the deployment (repeatable, executed in order).")
@click.option("--description", required=True, help="What the proposal does and why (its id depends on it).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the proposal (queue and execute read it back).")
@account_option
def propose(call_specs, description, out, account) -> None:
    """Propose calls; you need the Governor's proposal threshold in votes."""
    from inferix import governance

    chain = _chain(account)
    try:
        proposal = governance.actions(chain, _calls(call_specs), description)
    except (AttributeError, ValueError, TypeError) as exc:  # unknown function, wrong arguments
        raise click.BadParameter(f"cannot encode the calls: {exc}") from None
    proposal_id = governance.propose(chain, proposal)
    out.write_text(json.dumps({"id": str(proposal_id), "targets": proposal.targets, "values": proposal.values,
                               "calldatas": ["0x" + c.hex() for c in proposal.calldatas],
                               "description": description}, indent=1) + "\n")
    click.echo(f"proposal {proposal_id} written to {out}")
    _show(governance.status(chain, proposal_id))


def _load(path: Path):
    from inferix.governance import Proposal

    try:
        data = json.loads(path.read_text())
        return Proposal(data["targets"], [int(v) for v in data["values"]],
                        [bytes.fromhex(c.removeprefix("0x")) for c in data["calldatas"]], data["description"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise click.BadParameter(f"{path} is not a proposal file written by `inferix gov propose`: {exc}") from None


@gov.command()
@click.argument("proposal_id", type=int)
@click.argument("support", type=click.Choice(["for", "against", "abstain"]))
@click.option("--reason", default="", help="Logged with the vote.")
@account_option
def vote(proposal_id, support, reason, account) -> None:
    """Vote on an active proposal with your votes at its snapshot."""
    from inferix import governance

    chain = _chain(account)
    governance.vote(chain, proposal_id, support, reason)
    _show(governance.status(chain, proposal_id))


def _timelock_step(step: str, proposal_file: Path, account: str) -> None:
    """``queue`` or ``execute`` the proposal written in ``proposal_file``, then show its status."""
    from inferix import governance

    chain = _chain(account)
    proposal = _load(proposal_file)
    getattr(governance, step)(chain, proposal)
    _show(governance.status(chain, proposal.id(chain)))


proposal_file_argument = click.argument("proposal_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))


@gov.command()
@proposal_file_argument
@account_option
def queue(proposal_file, account) -> None:
    """Queue a succeeded proposal in the timelock (anyone may)."""
    _timelock_step("queue", proposal_file, account)


@gov.command()
@proposal_file_argument
@account_option
def execute(proposal_file, account) -> None:
    """Execute a queued proposal once its delay has passed (anyone may)."""
    _timelock_step("execute", proposal_file, account)


@gov.command()
@click.argument("proposal_id", type=int)
@account_option
def veto(proposal_id, account) -> None:
    """Veto a queued security proposal with your bonded stake at the time it was queued."""
    from inferix import governance

    chain = _chain(account)
    chain.transact("Governor", "veto", proposal_id)
    _show(governance.status(chain, proposal_id))


@gov.command("status")
@click.argument("proposal_id", type=int)
def status_(proposal_id) -> None:
    """A proposal's state, tallies, quorum and timeline."""
    from inferix import governance

    _show(governance.status(_chain(), proposal_id))


@click.group()
def vesting() -> None:
    """Vesting escrows: what vested, claims, votes."""


@vesting.command("show")
@click.argument("escrow")
def vesting_show(escrow) -> None:
    """ESCROW's schedule and what vested, was claimed and can be claimed now."""
    from inferix import governance

    _show(governance.vesting(_chain(), escrow))


@vesting.command("claim")
@click.argument("escrow")
@account_option
def vesting_claim(escrow, account) -> None:
    """Claim what vested in ESCROW (the tokens go to its beneficiary, whoever sends)."""
    from inferix import governance

    claimed = governance.claim_vesting(_chain(account), escrow)
    if claimed == 0:
        raise click.ClickException("nothing to claim yet")
    click.echo(f"claimed {claimed / IFX:,.6f} IFX for the escrow's beneficiary")


@click.group()
def license() -> None:  # noqa: A001 - the command's name
    """Node licenses: inspect, buy from the sale."""


@license.command("show")
@click.argument("owner")
def license_show(owner) -> None:
    """The node licenses OWNER holds (and the one it locked in Staking, if registered)."""
    from inferix import governance

    chain = _chain()
    _show({"owner": owner, "held": governance.licenses_of(chain, owner),
           "locked_in_staking": chain.call("Staking", "licenseOf", owner)})


@license.command("buy")
@click.argument("tier", type=int)
@click.option("--count", type=int, default=1, show_default=True)
@click.option("--max-ifx", "max_ifx", required=True, callback=lambda c, p, v: _ifx(v),
              help="The most IFX you accept to pay (the price is in USD, converted at the feed's price).")
@click.option("--max-count", type=int, default=0, help="Whitelisted tiers: your allowance in the whitelist.")
@click.option("--proof", default="[]", help="Whitelisted tiers: your Merkle proof, a JSON list of 0x hashes.")
@account_option
def license_buy(tier, count, max_ifx, max_count, proof, account) -> None:
    """Buy COUNT licenses of TIER from the LicenseSale."""
    from inferix import governance

    try:
        proof_hashes = [bytes.fromhex(h.removeprefix("0x")) for h in json.loads(proof)]
    except (ValueError, TypeError, AttributeError):
        raise click.BadParameter("--proof: a JSON list of 0x-prefixed 32-byte hashes") from None
    try:
        price = governance.buy_license(_chain(account), tier, count, max_ifx, max_count, proof_hashes)
    except ValueError as exc:
        raise click.ClickException(f"{exc} (--max-ifx)") from None
    click.echo(f"bought {count} license(s) of tier {tier} for {price / IFX:,.6f} IFX")
