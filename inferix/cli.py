"""The ``inferix`` command. Node commands (``inferix oracle …``, ``inferix worker …``) are plugins
registered under the ``inferix.commands`` entry-point group, so this package depends on none of them."""

from __future__ import annotations

import logging
import signal
import sys
from importlib.metadata import entry_points

import click

from inferix.settings import Settings


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("web3", "urllib3", "ipfshttpclient"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def install_stop_handler(service) -> None:
    """SIGTERM/SIGINT finish the current step, then stop: state is always consistent on disk."""
    def stop(signum, frame):
        logging.getLogger("inferix").info("signal %s: stopping after the current step", signum)
        service.stopping = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def connect(account_spec: str | None, settings: Settings):
    """Chain, IPFS store and account from settings (shared by the node commands)."""
    from inferix.accounts import load_account
    from inferix.chain import Chain
    from inferix.deployments import load
    from inferix.storage import IPFSStore

    account = load_account(account_spec) if account_spec else None
    chain = Chain(settings.rpc_url, load(settings.deployments), account)
    store = IPFSStore(settings.ipfs_api, timeout=settings.ipfs_timeout, max_bytes=settings.max_upload_bytes)
    return chain, store


class PluginGroup(click.Group):
    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *(ep.name for ep in entry_points(group="inferix.commands"))})

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is not None:
            return command
        for ep in entry_points(group="inferix.commands"):
            if ep.name == name:
                return ep.load()
        return None


@click.group(cls=PluginGroup)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def main(verbose: bool) -> None:
    """Inferix: decentralized GPU rendering with proof of rendering."""
    setup_logging(verbose)


if __name__ == "__main__":
    main()
