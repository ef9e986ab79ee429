"""``inferix oracle run``: the verifier daemon."""

from __future__ import annotations

from pathlib import Path

import click

from inferix.cli import connect, install_stop_handler
from inferix.nodedb import NodeDB
from inferix.protocol import IFX
from inferix.settings import Settings


@click.group()
def oracle() -> None:
    """The oracle (verifier) node."""


@oracle.command()
@click.option("--account", envvar="INFERIX_ACCOUNT", required=True,
              help="ape:ALIAS, keystore:PATH (password in INFERIX_KEY_PASSWORD) or keyfile:PATH")
@click.option("--stake", type=float, default=1_000.0, show_default=True, help="IFX to keep bonded.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="State directory.")
@click.option("--poll", type=float, default=1.0, show_default=True, help="Seconds between polls.")
def run(account: str, stake: float, data_dir: Path | None, poll: float) -> None:
    """Verify revealed tasks and submit signed verdicts until stopped."""
    from oracle.daemon import OracleConfig, OracleDaemon

    settings = Settings()
    chain, store = connect(account, settings)
    data_dir = data_dir or settings.data_dir / f"oracle-{chain.address.lower()}"
    db = NodeDB(data_dir / "oracle.sqlite")
    daemon = OracleDaemon(chain, store, db, OracleConfig(int(stake * IFX), data_dir / "work", poll))
    install_stop_handler(daemon)
    daemon.run()
