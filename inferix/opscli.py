"""``inferix claim``, ``close-epoch``, ``stake``, ``unbond``, ``withdraw``, ``challenge`` and ``refund``: a creator's and
a node operator's everyday actions (:mod:`inferix.operations`, the same functions the web app calls). Every command
reads ``INFERIX_RPC_URL`` and ``INFERIX_DEPLOYMENTS`` and signs with ``--account``; it prints what it did with its
figures, and a refusal as one line (:func:`inferix.operations.explain`), exit code 1."""

from __future__ import annotations

import functools
from datetime import datetime, timezone

import click

from inferix.govcli import _chain, _ifx, account_option


def _explained(command):
    """A refused or failed transaction: one line, ``Error: <Contract.function> reverted: <reason>``, exit 1."""
    @functools.wraps(command)
    def run(*args, **kwargs):
        from inferix.chain import ChainError
        from inferix.operations import explain

        try:
            return command(*args, **kwargs)
        except ChainError as exc:
            raise click.ClickException(explain(exc)) from None
    return run


def _when(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _amount(ctx, param, value: str) -> int:
    return _ifx(value)


@click.command()
@click.option("--epoch", "epochs", type=click.IntRange(min=0), multiple=True,
              help="An epoch to claim (repeatable) [default: every closed epoch with something claimable].")
@account_option
@_explained
def claim(epochs, account) -> None:
    """Claim your share of the BMW issuance (worker, oracle, manager) from closed epochs."""
    from inferix.operations import claim_rewards, ifx

    chain = _chain(account)
    total = claim_rewards(chain, list(epochs) or None,
                          on_claim=lambda epoch, amount: click.echo(f"epoch {epoch}: claimed {ifx(amount)}"))
    click.echo(f"claimed {ifx(total)} in all; balance {ifx(chain.call('IFXToken', 'balanceOf', chain.address))}")


@click.command("close-epoch")
@account_option
@_explained
def close_epoch(account) -> None:
    """Close the open BMW epoch once it has ended and mint its issuance (anyone may)."""
    from inferix.operations import close_epoch as close, ifx

    closed = close(_chain(account))
    click.echo(f"epoch {closed['epoch']} closed: {closed['work_ibm'] / 10**6:,.6f} IBM of work, "
               f"{ifx(closed['burned'])} burned, {ifx(closed['minted'])} minted (workers {ifx(closed['worker_pool'])},"
               f" oracles {ifx(closed['oracle_pool'])}, managers {ifx(closed['manager_pool'])}); claim with "
               f"`inferix claim --epoch {closed['epoch']}`")


def _node_line(chain) -> str:
    from inferix.operations import ifx
    from inferix.protocol import get_node

    node = get_node(chain, chain.address)
    line = f"stake {ifx(node.stake)} (locked {ifx(node.locked)}, unbonding {ifx(node.unbonding)}"
    if node.unbonding:
        line += f", withdrawable from {_when(node.unbonding_at)}"
    return line + ")"


@click.command()
@click.argument("amount", callback=_amount)
@account_option
@_explained
def stake(amount, account) -> None:
    """Bond AMOUNT more IFX (your node must be registered: `inferix worker run` / `oracle run` register it)."""
    from inferix.operations import add_stake, ifx

    chain = _chain(account)
    add_stake(chain, amount)
    click.echo(f"staked {ifx(amount)}; {_node_line(chain)}")


@click.command()
@click.argument("amount", callback=_amount)
@account_option
@_explained
def unbond(amount, account) -> None:
    """Start unbonding AMOUNT IFX of free stake (`inferix withdraw` pays it out after the unbonding period)."""
    from inferix.operations import ifx, unbond as request

    chain = _chain(account)
    request(chain, amount)
    click.echo(f"unbonding {ifx(amount)}; {_node_line(chain)}")


@click.command()
@account_option
@_explained
def withdraw(account) -> None:
    """Withdraw the stake whose unbonding period has passed."""
    from inferix.operations import ifx, withdraw_stake

    chain = _chain(account)
    amount = withdraw_stake(chain)
    click.echo(f"withdrew {ifx(amount)}; {_node_line(chain)}")


def _batch_id(ctx, param, value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        raw = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise click.BadParameter(f"{value!r} is not a batch id (0x and 64 hex digits)")
    return raw


@click.command()
@click.option("--task", "task_id", type=click.IntRange(min=1), default=None, help="A single-path task's id.")
@click.option("--batch", "batch_id", callback=_batch_id, default=None, help="A batch's id (0x…), with --index.")
@click.option("--index", type=click.IntRange(min=0), default=None, help="The task's position in the batch.")
@account_option
@_explained
def challenge(task_id, batch_id, index, account) -> None:
    """Challenge a verdict within its challenge window, with a bond (back with a reward if the arbiter overturns
    the verdict, lost if it stands): `--task ID` (single path) or `--batch 0x… --index I` (batch lane)."""
    from inferix import operations
    from inferix.operations import ifx

    if (task_id is None) == (batch_id is None) or (batch_id is None) != (index is None):
        raise click.UsageError("give either --task ID, or --batch 0x… with --index I")
    chain = _chain(account)
    if task_id is not None:
        bond = operations.challenge(chain, task_id)
        what = f"task {task_id}"
    else:
        bond = operations.challenge_batch_task(chain, batch_id, index)
        what = f"batch 0x{batch_id.hex()} task {index}"
    click.echo(f"challenged the verdict on {what}: bond {ifx(bond)} held until the arbiter decides; balance "
               f"{ifx(chain.call('IFXToken', 'balanceOf', chain.address))}")


@click.command()
@click.argument("job_id", type=click.IntRange(min=1))
@account_option
@_explained
def refund(job_id, account) -> None:
    """Close your job JOB_ID (if still open) and withdraw its unspent budget, with anything else the escrow owes you.
    Tasks still reserved when it closes are refunded as they end: run it again to withdraw those."""
    from inferix.operations import ifx, refund as take_back

    chain = _chain(account)
    amount = take_back(chain, job_id)
    click.echo(f"job {job_id} closed; withdrew {ifx(amount)}; balance "
               f"{ifx(chain.call('IFXToken', 'balanceOf', chain.address))}")


COMMANDS = (claim, close_epoch, stake, unbond, withdraw, challenge, refund)
