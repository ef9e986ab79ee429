"""IPFS storage over the HTTP RPC API (``ipfshttpclient``): every call has a timeout and a size limit.

Errors are typed so that callers can tell a user *why*: the CID is malformed, the content is missing or
the node too slow, the content is too large, or the node cannot be reached.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cid as cidlib
import ipfshttpclient
import ipfshttpclient.exceptions as ipfs_errors

from inferix.timing import timed

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
# How content is imported, passed on every add: a CID depends on these, so a node configured with other defaults
# (CIDv1, raw leaves, another chunker) still computes the CIDs the chain records. Kubo's and js-ipfs's defaults.
IMPORT = {"cid_version": 0, "raw_leaves": False, "chunker": "size-262144"}


class StorageError(RuntimeError):
    """Base class of every storage failure."""


class InvalidCID(StorageError, ValueError):
    """The string is not a CID."""


class ContentNotFound(StorageError):
    """The content could not be fetched in time (missing, or no provider reachable)."""


class ContentTooLarge(StorageError):
    """The content exceeds the configured size limit."""


class StorageUnavailable(StorageError):
    """The IPFS node cannot be reached."""


def validate_cid(value: str) -> str:
    """Return ``value`` normalised (stripped of ``/ipfs/``) if it is a CIDv0 or CIDv1, else raise InvalidCID."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidCID("empty CID")
    text = value.strip()
    if text.startswith("/ipfs/"):
        text = text[len("/ipfs/"):]
    if len(text) > 100 or "/" in text:
        raise InvalidCID(f"not a CID: {value[:120]!r}")
    try:
        cidlib.make_cid(text)
    except Exception as exc:  # py-cid raises several unrelated types for bad input
        raise InvalidCID(f"not a CID: {value[:120]!r} ({exc})") from None
    return text


class IPFSStore:
    """A thin, safe client of one IPFS node."""

    def __init__(self, api: str, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.api = api
        self.timeout = timeout
        self.max_bytes = max_bytes
        # constructed directly: `connect()` refuses js-ipfs's version string
        self._client = ipfshttpclient.Client(api, timeout=timeout)

    # ------------------------------------------------------------ helpers
    def _call(self, what: str, fn, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        try:
            with timed("ipfs"):
                return fn(*args, **kwargs)
        except ipfs_errors.ConnectionError as exc:
            raise StorageUnavailable(f"IPFS node at {self.api} unreachable during {what}: {exc}") from None
        except ipfs_errors.TimeoutError:
            raise ContentNotFound(f"IPFS {what} timed out after {self.timeout:.0f} s") from None
        except ipfs_errors.ErrorResponse as exc:
            raise StorageError(f"IPFS {what} failed: {exc}") from None
        except ipfs_errors.Error as exc:
            raise StorageError(f"IPFS {what} failed: {exc}") from None

    def _check_size(self, size: int, what: str) -> None:
        if size > self.max_bytes:
            raise ContentTooLarge(f"{what} is {size} bytes, above the {self.max_bytes}-byte limit")

    # ------------------------------------------------------------ API
    def alive(self) -> bool:
        try:
            self._call("id", self._client.id)
            return True
        except StorageError:
            return False

    def add_bytes(self, data: bytes) -> str:
        self._check_size(len(data), "upload")
        opts = {"cid-version": IMPORT["cid_version"], "raw-leaves": str(IMPORT["raw_leaves"]).lower(),
                "chunker": IMPORT["chunker"]}
        return self._call("add", self._client.add_bytes, data, opts=opts)

    def add_file(self, path: Path) -> str:
        path = Path(path)
        self._check_size(path.stat().st_size, str(path))
        result = self._call("add", self._client.add, str(path), pin=True, **IMPORT)
        return result["Hash"]

    def add_directory(self, path: Path) -> str:
        """Add a directory recursively and return the CID of the directory itself."""
        path = Path(path)
        if not path.is_dir():
            raise StorageError(f"{path} is not a directory")
        total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        self._check_size(total, str(path))
        results = self._call("add", self._client.add, str(path), recursive=True, pin=True, **IMPORT)
        if isinstance(results, dict):
            results = [results]
        root = [r for r in results if r["Name"] == path.name]
        if not root:
            raise StorageError(f"IPFS add of {path} returned no root entry")
        return root[-1]["Hash"]

    def size(self, cid: str) -> int:
        cid = validate_cid(cid)
        stat = self._call("files.stat", self._client.files.stat, f"/ipfs/{cid}")
        return int(stat.get("CumulativeSize") or stat.get("Size") or 0)

    def cat(self, cid: str, max_bytes: int | None = None) -> bytes:
        limit = min(max_bytes or self.max_bytes, self.max_bytes)
        cid = validate_cid(cid)
        # the declared size first (cheap), then a hard cap on what is read
        if self.size(cid) > limit:
            raise ContentTooLarge(f"content {cid} is above the {limit}-byte limit")
        data = self._call("cat", self._client.cat, cid, length=limit + 1)
        if len(data) > limit:
            raise ContentTooLarge(f"content {cid} is above the {limit}-byte limit")
        return data

    def get(self, cid: str, target: Path) -> Path:
        """Download ``cid`` (file or directory) into ``target``; returns the path of the content."""
        cid = validate_cid(cid)
        self._check_size(self.size(cid), f"content {cid}")
        target = Path(target)
        target.mkdir(parents=True, exist_ok=True)
        self._call("get", self._client.get, cid, target=str(target))
        return target / cid

    def ls(self, cid: str) -> list[dict]:
        cid = validate_cid(cid)
        result = self._call("ls", self._client.ls, cid)
        return [{"name": link["Name"], "cid": link["Hash"], "size": link["Size"]}
                for obj in result["Objects"] for link in obj["Links"]]

    def pin(self, cid: str) -> None:
        cid = validate_cid(cid)
        self._call("pin", self._client.pin.add, cid)

    def is_pinned(self, cid: str) -> bool:
        cid = validate_cid(cid)
        try:
            pins = self._call("pin.ls", self._client.pin.ls, cid)
        except StorageError:
            return False
        return cid in pins.get("Keys", {})

    def close(self) -> None:
        self._client.close()
