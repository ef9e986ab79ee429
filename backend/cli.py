"""``inferix manager run``: the API server, the manager loop and the indexer in one process."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import click

from inferix.cli import connect, sandbox_option
from inferix.service import run_loop

log = logging.getLogger("inferix.manager")


@click.group()
def manager() -> None:
    """The manager node (backend API, task preparation, matching, reveals, indexer)."""


@manager.command()
@click.option("--account", envvar="INFERIX_MANAGER_ACCOUNT", required=True,
              help="ape:ALIAS, keystore:PATH (password in INFERIX_KEY_PASSWORD) or keyfile:PATH")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--stake", type=float, default=1_000.0, show_default=True, help="IFX to keep bonded.")
@click.option("--render-window", type=int, default=1800, show_default=True, help="Seconds a worker has per task.")
@click.option("--poll", type=float, default=1.0, show_default=True)
@click.option("--single-tasks", is_flag=True,
              help="Post creators' tasks one by one on the single path instead of in batches of the lane.")
@click.option("--batch-tasks", type=click.IntRange(1, 256), default=64, show_default=True,
              help="A batch is closed when it holds this many tasks ...")
@click.option("--batch-age", type=click.FloatRange(0), default=30.0, show_default=True,
              help="... or when its first task has waited this many seconds.")
@click.option("--offer-timeout", type=click.IntRange(5), default=60, show_default=True,
              help="Seconds a worker has to sign its group of a batch before the batch is planned without it.")
@sandbox_option
def run(account: str, host: str, port: int, stake: float, render_window: int, poll: float, single_tasks: bool,
        batch_tasks: int, batch_age: float, offer_timeout: int) -> None:
    """Serve the API and coordinate jobs until stopped."""
    import uvicorn

    from backend.app import create_app
    from backend.batching import BatchConfig
    from backend.db import connect as db_connect, parse_url
    from backend.indexer import Indexer
    from backend.manager import Manager, ManagerConfig, load_seed_key
    from backend.workerbench import BenchmarkOrder
    from backend.settings import BackendSettings
    from inferix.protocol import IFX

    settings = BackendSettings()
    log.info("database: %s", parse_url(settings.database_location))
    chain, store = connect(account, settings)
    reader, _ = connect(None, settings)
    app = create_app(settings, chain=reader, store=store, manager_address=chain.address, relayer=chain)
    stop = threading.Event()
    mgr = Manager(chain, store, db_connect(settings.database_location),
                  ManagerConfig(stake=int(stake * IFX), seed_key=load_seed_key(settings.seed_key_file),
                                work_dir=Path(settings.work_dir), render_window=render_window, poll_interval=poll,
                                prepare_timeout=settings.prepare_timeout,
                                batches=None if single_tasks else BatchConfig(batch_tasks, batch_age, offer_timeout),
                                benchmark=BenchmarkOrder(settings.benchmark_width, settings.benchmark_height,
                                                         settings.benchmark_samples, settings.benchmark_frames)
                                if settings.benchmark_workers else None))
    mgr.ensure_ready()
    indexer = Indexer(reader, db_connect(settings.database_location))

    threads = [threading.Thread(target=run_loop, args=(mgr.run_once, poll, stop, log, "manager"), name="manager",
                                daemon=True),
               threading.Thread(target=indexer.run, args=(stop, poll), name="indexer", daemon=True)]
    for thread in threads:
        thread.start()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
