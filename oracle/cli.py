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
@click.option("--beacon-url", envvar="INFERIX_BEACON_URL", default=None,
              help="The randomness beacon's HTTP API (drand's shape), to post a committee's round nobody has posted "
                   "(default: the deployment's, e.g. drand quicknet's).")
@click.option("--no-challenge", is_flag=True, help="Never challenge a final verdict this oracle voted against.")
@click.option("--batch-challenges", type=click.IntRange(min=0), default=1, show_default=True,
              help="On the batch lane: challenge the verdict on at most this many tasks of one batch that contradict "
                   "this oracle's vote (each costs a bond; one overturned task already slashes the members who voted "
                   "the other way).")
def run(account: str, stake: float, data_dir: Path | None, poll: float, beacon_url: str | None,
        no_challenge: bool, batch_challenges: int) -> None:
    """Verify the tasks and batches whose committee drew this oracle, commit and reveal the votes, and challenge a
    final verdict it voted against, until stopped."""
    from oracle.daemon import OracleConfig, OracleDaemon

    settings = Settings()
    chain, store = connect(account, settings)
    data_dir = data_dir or settings.data_dir / f"oracle-{chain.address.lower()}"
    db = NodeDB(data_dir / "oracle.sqlite")
    beacon_url = beacon_url or chain.deployments.parameters.get("beacon_url")
    daemon = OracleDaemon(chain, store, db, OracleConfig(int(stake * IFX), data_dir / "work", poll,
                                                         beacon_url=beacon_url, challenge=not no_challenge,
                                                         batch_challenges=batch_challenges))
    install_stop_handler(daemon)
    daemon.run()
