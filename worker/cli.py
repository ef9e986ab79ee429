"""``inferix worker run``: the GPU node agent."""

from __future__ import annotations

from pathlib import Path

import click

from inferix.cli import connect, install_stop_handler
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
@click.option("--forge", is_flag=True, hidden=True, help="Demo only: return forged frames without rendering.")
def run(account: str, price: float, stake: float, minutes_per_ibm: float, data_dir: Path | None, poll: float,
        forge: bool) -> None:
    """Accept, render and submit assigned tasks until stopped."""
    from worker.agent import WorkerAgent, WorkerConfig

    settings = Settings()
    chain, store = connect(account, settings)
    data_dir = data_dir or settings.data_dir / f"worker-{chain.address.lower()}"
    db = NodeDB(data_dir / "worker.sqlite")
    config = WorkerConfig(price_per_ibm=int(price * USD), stake=int(stake * IFX), work_dir=data_dir / "work",
                          poll_interval=poll, minutes_per_ibm=minutes_per_ibm, forge=forge)
    agent = WorkerAgent(chain, store, db, config)
    install_stop_handler(agent)
    agent.run()
