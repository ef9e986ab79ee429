"""``inferix worker run``: the GPU node agent."""

from __future__ import annotations

import os
from pathlib import Path

import click

from inferix.cli import connect, install_stop_handler, sandbox_option
from inferix.nodedb import NodeDB
from inferix.protocol import IFX, USD
from inferix.settings import Settings


@click.group()
def worker() -> None:
    """The worker (GPU) node."""


@worker.command()
@click.option("--account", envvar="INFERIX_ACCOUNT", required=True,
              help="ape:ALIAS, keystore:PATH (password in INFERIX_KEY_PASSWORD) or keyfile:PATH")
@click.option("--price", type=float, required=True, help="USD per IBM asked.")
@click.option("--stake", type=float, required=True, help="IFX to keep bonded (at least S(n)).")
@click.option("--minutes-per-ibm", type=float, default=1.0, show_default=True,
              help="This node's minutes per IBM before its IB is attested (1 / IB).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="State directory.")
@click.option("--poll", type=float, default=1.0, show_default=True, help="Seconds between polls.")
@click.option("--device", type=click.Choice(["OPTIX", "CUDA", "HIP", "ONEAPI", "METAL", "CPU"], case_sensitive=False),
              default=None, help="Cycles device to render on [default: the best this machine has].")
@click.option("--no-challenge", is_flag=True,
              help="Never challenge a FAIL verdict on this worker's frames (by default it challenges one that its own "
                   "check of the frames, with the revealed seed, refutes; the challenge bonds bondFor(taskId) IFX).")
@click.option("--manager", "managers", multiple=True, metavar="URL",
              help="A manager whose batch offers to poll (repeatable; default: INFERIX_MANAGER_URLS, comma-separated). "
                   "Without one the worker takes single tasks only.")
@click.option("--max-batches", type=click.IntRange(min=1), default=1, show_default=True,
              help="Batches signed and not yet submitted at once.")
@sandbox_option
def run(account: str, price: float, stake: float, minutes_per_ibm: float, data_dir: Path | None, poll: float,
        device: str | None, no_challenge: bool, managers: tuple[str, ...], max_batches: int) -> None:
    """Accept, render and submit assigned tasks and the batches it signs, and challenge a FAIL verdict its own check
    refutes, until stopped."""
    from worker.agent import WorkerAgent, WorkerConfig
    from worker.batches import manager_urls

    try:
        urls = manager_urls(managers, os.environ.get("INFERIX_MANAGER_URLS"))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--manager") from None
    settings = Settings()
    chain, store = connect(account, settings)
    data_dir = data_dir or settings.data_dir / f"worker-{chain.address.lower()}"
    db = NodeDB(data_dir / "worker.sqlite")
    config = WorkerConfig(price_per_ibm=int(price * USD), stake=int(stake * IFX), work_dir=data_dir / "work",
                          poll_interval=poll, minutes_per_ibm=minutes_per_ibm,
                          device=device.upper() if device else None, challenge=not no_challenge,
                          managers=urls, max_batches=max_batches)
    agent = WorkerAgent(chain, store, db, config)
    install_stop_handler(agent)
    agent.run()


@worker.command()
@click.option("--device", default=None, help="The device you would pass to `worker run --device`.")
def devices(device: str | None) -> None:
    """The Cycles devices this machine has, and the one a worker would render on."""
    from inferix.render import find_devices, sandbox
    from inferix.render.devices import DeviceError, choose

    found = find_devices()
    for kind, names in found.items():
        click.echo(f"{kind}: {', '.join(names)}")
    try:
        click.echo(f"render device: {choose(found, device)}")
    except DeviceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"scene sandbox: {sandbox.describe()}")
