"""The creator's SDK: sign in with a wallet key, upload a scene, get a quote, create the job by signing the
transactions the manager returns, follow progress and download the frames.

The key never leaves this process: the manager API only ever sees signatures and signed transactions.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import httpx
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from siwe import SiweMessage
from web3 import Web3

from inferix.storage import IPFSStore


FINAL_STATES = ("settled", "failed", "cancelled")


class ClientError(RuntimeError):
    """The manager API or the chain refused a request; the message says why."""


@dataclass
class SubmittedJob:
    job_id: int
    quote: dict
    tx_hashes: list[str]


class _ProgressFile:
    """Wraps a file so that reading it (by httpx, for the upload) reports progress."""

    def __init__(self, path: Path, progress: Callable[[int], None] | None) -> None:
        self._f = open(path, "rb")
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        chunk = self._f.read(size)
        if self._progress and chunk:
            self._progress(len(chunk))
        return chunk

    def close(self) -> None:
        self._f.close()


class InferixClient:
    def __init__(self, api_url: str, account: LocalAccount, rpc_url: str | None = None, timeout: float = 120.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.http = httpx.Client(base_url=api_url.rstrip("/"), timeout=timeout, transport=transport)
        self.account = account
        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout})) if rpc_url else None
        self.token: str | None = None

    # ------------------------------------------------------------ plumbing
    def _request(self, method: str, path: str, **kwargs) -> dict:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            reply = self.http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ClientError(f"manager API unreachable: {exc}") from None
        if reply.status_code >= 400:
            try:
                detail = reply.json().get("detail", reply.text)
            except ValueError:
                detail = reply.text
            raise ClientError(f"{method} {path}: {reply.status_code} {detail}")
        return reply.json()

    # ------------------------------------------------------------ steps
    def sign_in(self) -> str:
        n = self._request("POST", "/v1/auth/nonce")
        now = datetime.now(timezone.utc)
        text = SiweMessage(domain=n["domain"], address=self.account.address, uri=n["uri"], version="1",
                           chain_id=n["chain_id"], nonce=n["nonce"], statement="Sign in to Inferix",
                           issued_at=now.isoformat().replace("+00:00", "Z"),
                           expiration_time=(now + timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
                           ).prepare_message()
        signature = self.account.sign_message(encode_defunct(text=text)).signature.hex()
        session = self._request("POST", "/v1/auth/verify",
                                json={"message": text, "signature": "0x" + signature.removeprefix("0x")})
        self.token = session["token"]
        return self.token

    def upload(self, path: Path, progress: Callable[[int], None] | None = None) -> dict:
        path = Path(path)
        if not path.is_file():
            raise ClientError(f"{path} is not a file")
        wrapped = _ProgressFile(path, progress)
        try:
            return self._request("POST", "/v1/scenes", files={"file": (path.name, wrapped)})
        finally:
            wrapped.close()

    def quote(self, scene_cid: str, frame_start: int, frame_end: int, samples: int = 64,
              frames_per_task: int = 2, width: int | None = None, height: int | None = None) -> dict:
        body = {"scene_cid": scene_cid, "frame_start": frame_start, "frame_end": frame_end, "samples": samples,
                "frames_per_task": frames_per_task}
        body.update({k: v for k, v in (("width", width), ("height", height)) if v})
        return self._request("POST", "/v1/quotes", json=body)

    def prepare(self, quote_id: str, max_price_per_ibm: int | None = None) -> dict:
        body = {"quote_id": quote_id}
        if max_price_per_ibm:
            body["max_price_per_ibm"] = str(max_price_per_ibm)
        return self._request("POST", "/v1/jobs/prepare", json=body)

    def send(self, tx: dict) -> dict:
        """Sign ``tx`` (as returned by the API) with the local key and send it; returns the receipt."""
        if self.w3 is None:
            raise ClientError("no RPC URL: cannot send transactions")
        if self.w3.eth.chain_id != tx["chain_id"]:
            raise ClientError(f"the RPC is chain {self.w3.eth.chain_id}, the transaction is for {tx['chain_id']}")
        call = {"from": self.account.address, "to": tx["to"], "data": tx["data"], "value": int(tx["value"])}
        try:
            gas = int(self.w3.eth.estimate_gas(call) * 1.25) + 10_000
        except Exception as exc:  # web3 raises several types for a reverting estimate
            raise ClientError(f"{tx['description']}: would revert: {exc}") from None
        base = self.w3.eth.get_block("latest").get("baseFeePerGas", 10**9)
        signed = self.account.sign_transaction({**call, "chainId": tx["chain_id"], "gas": gas,
                                                "nonce": self.w3.eth.get_transaction_count(self.account.address),
                                                "maxFeePerGas": 2 * base + 10**9, "maxPriorityFeePerGas": 10**9})
        receipt = self.w3.eth.wait_for_transaction_receipt(self.w3.eth.send_raw_transaction(signed.raw_transaction),
                                                           timeout=180)
        if receipt["status"] != 1:
            raise ClientError(f"{tx['description']}: reverted in block {receipt['blockNumber']}")
        return receipt

    def submit(self, scene: Path, frame_start: int, frame_end: int, samples: int = 64, frames_per_task: int = 2,
               max_price_per_ibm: int | None = None, progress: Callable[[int], None] | None = None) -> SubmittedJob:
        """Upload, quote, and create the job on chain; returns the job id."""
        if self.token is None:
            self.sign_in()
        uploaded = self.upload(scene, progress)
        quote = self.quote(uploaded["cid"], frame_start, frame_end, samples, frames_per_task)
        prepared = self.prepare(quote["id"], max_price_per_ibm)
        hashes, job_id = [], None
        for tx in prepared["transactions"]:
            receipt = self.send(tx)
            hashes.append(receipt["transactionHash"].hex())
            for log in receipt["logs"]:
                # JobCreated(uint256 indexed jobId, address indexed creator, address indexed manager, ...)
                if log["address"].lower() == tx["to"].lower() and len(log["topics"]) == 4:
                    job_id = int.from_bytes(log["topics"][1], "big")
        if job_id is None:
            raise ClientError("the job was not created (no JobCreated event)")
        return SubmittedJob(job_id, quote, hashes)

    def job(self, job_id: int) -> dict:
        return self._request("GET", f"/v1/jobs/{job_id}")

    def follow(self, job_id: int, interval: float = 2.0, timeout: float | None = None) -> Iterator[dict]:
        """Yield the job each time it changes, until every task is settled or failed."""
        deadline = time.monotonic() + timeout if timeout else None
        last = None
        while True:
            job = self.job(job_id)
            snapshot = json.dumps(job, sort_keys=True)
            if snapshot != last:
                last = snapshot
                yield job
            tasks = job.get("tasks", [])
            if tasks and all(str(t.get("state")).lower() in FINAL_STATES for t in tasks):
                return
            if deadline and time.monotonic() > deadline:
                raise ClientError(f"job {job_id} still running after {timeout:.0f} s")
            time.sleep(interval)

    def results(self, job_id: int) -> list[dict]:
        """Every frame range of the job that passed, with the CID of its frames: settled tasks of the single path and
        passed tasks of its batches (``GET /v1/batches/{id}``), ``{"frame_start", "frame_end", "result_cid"}`` and
        where its task is (``task_id``; or ``batch_id``, ``index`` and ``package_cid``)."""
        job = self.job(job_id)
        found = [{k: t[k] for k in ("frame_start", "frame_end", "result_cid", "task_id")} for t in job.get("tasks", [])
                 if str(t.get("state")).lower() == "settled" and t.get("result_cid")]
        for summary in job.get("batches", []):
            for t in self._request("GET", f"/v1/batches/{summary['batch_id']}")["tasks"]:
                if t.get("outcome") == "passed" and t.get("result_cid"):
                    found.append({**{k: t[k] for k in ("frame_start", "frame_end", "result_cid", "index",
                                                       "package_cid")}, "batch_id": summary["batch_id"]})
        return sorted(found, key=lambda t: (t["frame_start"], t["frame_end"]))

    def download(self, job_id: int, dest: Path, store: IPFSStore, progress: Callable[[int], None] | None = None,
                 chain=None) -> list[Path]:
        """Fetch the frames of every passed task (single path or batches) into ``dest``; returns the files written.

        With ``chain`` (an :class:`inferix.chain.Chain`, to read each task's revealed seed) the frames are delivered
        clean (:mod:`inferix.delivery`): each task's patches, opened with its seed, replace the imprints. A task whose
        patches are missing, do not open or do not fit its frames keeps the verified frames, and
        :attr:`delivery_problems` says which and why. Without ``chain`` the verified frames are written as they are."""
        from inferix.delivery import PatchError, deliver_png, open_patches
        from inferix.protocol import PACKAGE_PATCHES, frame_name

        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        written = []
        self.delivery_problems: list[str] = []
        for task in self.results(job_id):
            files = []
            for entry in store.ls(task["result_cid"]):
                target = dest / Path(entry["name"]).name
                _replace(target, store.cat(entry["cid"]))
                files.append(target)
                if progress:
                    progress(1)
            written += files
            if chain is None:
                continue
            label = f"frames {task['frame_start']}-{task['frame_end']}"
            try:
                package, seed = _patch_source(chain, task)
                entries = {e["name"]: e["cid"] for e in store.ls(package)}
                if PACKAGE_PATCHES not in entries:
                    raise PatchError("its package has no patches (prepared before clean delivery)")
                _, _, patches = open_patches(store.cat(entries[PACKAGE_PATCHES]), seed)
                by_name = {frame_name(f, "png"): f for f in range(task["frame_start"], task["frame_end"] + 1)}
                if any(path.name not in by_name for path in files):
                    raise PatchError("the result holds files that are not the task's frames")
                # every frame composited before any is replaced: a task's frames are all cleaned or none
                clean = [(path, deliver_png(path, patches.get(by_name[path.name], []))) for path in files]
                for path, png in clean:
                    _replace(path, png)
            except (PatchError, ValueError, LookupError) as exc:
                self.delivery_problems.append(f"{label}: verified frames kept, not cleaned: {exc}")
        return written


def _replace(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a ``.part`` file: a reader never sees half a frame."""
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


def _patch_source(chain, task: dict) -> tuple[str, bytes]:
    """The package CID holding a passed task's patches, and the task's seed, as the chain shows them."""
    from inferix import batches as B
    from inferix import lane

    if "batch_id" in task:
        batch_id = bytes.fromhex(task["batch_id"].removeprefix("0x"))
        seed = lane.get_batch(chain, batch_id)["seed"]
        if seed == b"\x00" * 32:
            raise LookupError("the batch's seed is not revealed")
        return task["package_cid"], B.task_seed(seed, batch_id, task["index"])
    deployed = chain.deployments.block_number
    head = chain.block_number()
    posted = chain.events("JobEscrow", ["TaskPosted", "TaskRekeyed"], deployed, head, {"taskId": task["task_id"]})
    revealed = chain.events("JobEscrow", ["KeyRevealed"], deployed, head, {"taskId": task["task_id"]})
    if not posted or not revealed:
        raise LookupError(f"task {task['task_id']}: no package or no revealed seed on chain")
    return posted[-1].args["sceneCid"], bytes(revealed[-1].args["seed"])

