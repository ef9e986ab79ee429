"""The ``inferix`` command. Node commands (``inferix oracle …``, ``inferix worker …``) are plugins
registered under the ``inferix.commands`` entry-point group, so this package depends on none of them."""

from __future__ import annotations

import logging
import signal
import sys
from importlib.metadata import entry_points
from pathlib import Path

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
        service.stop.set()
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


def _sandbox(ctx, param, unsandboxed: bool) -> bool:
    """``--unsandboxed``: the operator's explicit, loudly logged choice; without it a node with no usable
    sandbox refuses to start (it would refuse every untrusted scene anyway)."""
    from inferix.render import sandbox

    if unsandboxed:
        sandbox.allow_unsandboxed()
    else:
        why = sandbox.probe()
        if why is not None:
            raise click.UsageError(f"no usable sandbox for untrusted scenes: {why}. Fix that, or pass "
                                   "--unsandboxed to render scenes with this node's full rights (not recommended)")
    logging.getLogger("inferix").info("scene sandbox: %s", sandbox.describe())
    return unsandboxed


sandbox_option = click.option("--unsandboxed", is_flag=True, expose_value=False, callback=_sandbox,
                              is_eager=False, help="Render untrusted scenes WITHOUT the bubblewrap sandbox "
                                                   "(logged loudly; see docs/security.md).")


def _configuration_errors() -> tuple[type[BaseException], ...]:
    """What a command answers with one line: the operator's configuration or environment, not a bug."""
    from inferix.accounts import AccountError
    from inferix.chain import ChainError
    from inferix.deployments import DeploymentError
    from inferix.render import SandboxUnavailable
    from inferix.storage import StorageError

    return AccountError, DeploymentError, ChainError, StorageError, SandboxUnavailable, PermissionError


class PluginGroup(click.Group):
    def invoke(self, ctx):
        """Every command fails the same way: one line saying what is wrong, exit 1; the traceback with -v."""
        try:
            return super().invoke(ctx)
        except _configuration_errors() as exc:
            if ctx.params.get("verbose"):
                raise
            raise click.ClickException(f"{exc} (run with -v for the traceback)") from None

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



# ---------------------------------------------------------------- creator commands

def _frames(value: str) -> tuple[int, int]:
    first, _, last = value.partition("-")
    try:
        a, b = int(first), int(last or first)
    except ValueError:
        raise click.BadParameter("use FIRST-LAST, e.g. 1-250") from None
    if b < a:
        raise click.BadParameter("the last frame is before the first")
    return a, b


def _client(account: str, api: str):
    from inferix.accounts import load_account
    from inferix.client import InferixClient

    settings = Settings()
    return InferixClient(api, load_account(account), settings.rpc_url)


api_option = click.option("--api", envvar="INFERIX_API_URL", default="http://127.0.0.1:8000", show_default=True,
                          help="The manager's API.")
account_option = click.option("--account", envvar="INFERIX_ACCOUNT", required=True,
                              help="ape:ALIAS, keystore:PATH or keyfile:PATH: the wallet that pays")


@main.command()
@click.argument("scene", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--frames", "frames", required=True, help="FIRST-LAST")
@click.option("--samples", type=int, default=64, show_default=True)
@click.option("--frames-per-task", type=int, default=2, show_default=True)
@click.option("--max-price", type=float, default=None, help="Highest USD per IBM you accept (default: the quote's).")
@click.option("--follow/--no-follow", default=True, show_default=True, help="Follow progress until done.")
@api_option
@account_option
def submit(scene, frames, samples, frames_per_task, max_price, follow, api, account) -> None:
    """Upload SCENE, quote it, create the job (signed locally) and follow it."""
    from tqdm import tqdm

    from inferix.client import ClientError

    first, last = _frames(frames)
    client = _client(account, api)
    try:
        client.sign_in()
        with tqdm(total=scene.stat().st_size, unit="B", unit_scale=True, desc="upload") as bar:
            job = client.submit(scene, first, last, samples, frames_per_task,
                                int(max_price * 10**18) if max_price else None, progress=bar.update)
        q = job.quote
        click.echo(f"job {job.job_id}: {len(q['tasks'])} tasks, {int(q['total_ibm']) / 1e6:.3f} IBM, "
                   f"≈ ${int(q['total_usd']) / 1e18:.4f} = {int(q['total_ifx']) / 1e18:.4f} IFX "
                   f"(budget locked {int(q['budget_ifx']) / 1e18:.4f} IFX)")
        if follow:
            _follow(client, job.job_id)
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None


def _follow(client, job_id: int) -> None:
    from tqdm import tqdm

    bar = None
    for job in client.follow(job_id):
        tasks = job.get("tasks", [])
        done = sum(1 for t in tasks if str(t.get("state")).lower() in ("settled", "failed", "cancelled"))
        if bar is None and tasks:
            bar = tqdm(total=len(tasks), desc=f"job {job_id}", unit="task")
        if bar is not None:
            bar.n = done
            states = {}
            for t in tasks:
                state = str(t.get("state")).lower()
                states[state] = states.get(state, 0) + 1
            bar.set_postfix_str(", ".join(f"{k} {v}" for k, v in sorted(states.items())))
            bar.refresh()
    if bar is not None:
        bar.close()


@main.command()
@click.argument("job_id", type=int)
@click.option("--follow", is_flag=True, help="Follow until every task is settled.")
@api_option
@account_option
def status(job_id, follow, api, account) -> None:
    """Show a job's tasks."""
    from inferix.client import ClientError

    client = _client(account, api)
    try:
        if follow:
            _follow(client, job_id)
        job = client.job(job_id)
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None
    for t in job.get("tasks", []):
        click.echo(f"task {t.get('task_id')}: {t.get('state')} frames {t.get('frame_start')}-{t.get('frame_end')} "
                   f"worker {t.get('worker') or '-'} result {t.get('result_cid') or '-'}")


@main.command()
@click.argument("job_id", type=int)
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@api_option
@account_option
@click.option("--verified", is_flag=True,
              help="write the frames as the worker delivered them and the oracles verified them, imprints included, "
                   "instead of delivering them clean")
def download(job_id, dest, api, account, verified) -> None:
    """Download the frames of a job's passed tasks into DEST, delivered clean: each task's patches (the manager's
    clean renders of the imprints' footprints, opened with the seed revealed on chain) replace the imprints."""
    from tqdm import tqdm

    from inferix.chain import Chain, ChainError
    from inferix.client import ClientError
    from inferix.deployments import load
    from inferix.storage import IPFSStore, StorageError

    settings = Settings()
    client = _client(account, api)
    store = IPFSStore(settings.ipfs_api, timeout=settings.ipfs_timeout, max_bytes=settings.max_upload_bytes)
    try:
        chain = None if verified else Chain(settings.rpc_url, load(settings.deployments))
        with tqdm(desc="frames", unit="frame") as bar:
            files = client.download(job_id, dest, store, progress=bar.update, chain=chain)
    except (ClientError, StorageError, ChainError, OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    for problem in client.delivery_problems:
        click.echo(f"warning: {problem}", err=True)
    click.echo(f"{len(files)} frames in {dest}" + ("" if verified else " (delivered clean)"))



@main.command()
@click.argument("scene", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the packed scene [default: SCENE-packed.blend beside it].")
def pack(scene: Path, out: Path | None) -> None:
    """Pack every external file of SCENE into a copy of it, then run the checks the manager runs at upload.

    Textures, sounds, fonts, volumes and linked libraries are packed into the .blend; what cannot be packed
    (movie clips, caches) is named, and the scene would be refused. Exits non-zero unless the packed scene
    passes. glTF scenes are only checked (use .glb, or data: URIs).
    """
    from inferix.render import BlenderJobError, SceneRefused, run_jobs, scene_info
    from inferix.render.hygiene import SceneRefusedError, check_gltf

    scene = scene.resolve()
    try:
        if scene.suffix.lower() in (".glb", ".gltf"):
            check_gltf(scene)
            meta = scene_info(scene)
            click.echo(f"{scene}: ok ({meta['width']}x{meta['height']}, frames {meta['frame_start']}-"
                       f"{meta['frame_end']})")
            return
        out = (out or scene.with_name(f"{scene.stem}-packed.blend")).resolve()
        (refs,) = run_jobs([{"op": "references", "scene": str(scene)}])
        readable = sorted({r["absolute"] for r in refs["references"] if Path(r["absolute"]).exists()})
        (packed,) = run_jobs([{"op": "pack", "scene": str(scene), "out": str(out)}], inputs=readable)
        for r in packed["left"]:
            click.echo(f"cannot be packed: {r['kind']} {r['name']!r} at {r['path']!r}", err=True)
        meta = scene_info(out)
    except (SceneRefused, SceneRefusedError) as exc:
        raise click.ClickException(f"the scene would be refused: {exc}") from None
    except BlenderJobError as exc:
        raise click.ClickException(str(exc).strip().splitlines()[-1]) from None
    click.echo(f"{out}: {packed['packed']} external files packed; ready to upload ({meta['width']}x"
               f"{meta['height']}, frames {meta['frame_start']}-{meta['frame_end']})")


from inferix.govcli import gov, license, vesting  # noqa: E402 - the holders' commands, registered below

for _command in (gov, vesting, license):
    main.add_command(_command)

from inferix.opscli import COMMANDS as _OPERATIONS  # noqa: E402 - claim, close-epoch, stake, unbond, withdraw, …

for _command in _OPERATIONS:
    main.add_command(_command)


if __name__ == "__main__":
    main()
