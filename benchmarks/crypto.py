"""What private jobs cost: inferix.crypto's throughput, and the private path against the plaintext path on IPFS.

    .venv/bin/python -m benchmarks.crypto                       # 100 MB, 3 repeats, against a local js-ipfs daemon
    .venv/bin/python -m benchmarks.crypto --size-mb 8 --repeat 3
    .venv/bin/python -m benchmarks.crypto --no-ipfs             # throughput only

**Throughput** (median of ``--repeat``): ``encrypt_stream`` / ``decrypt_stream`` between memory and a sink that
discards (the cipher alone: AES-256-GCM over 1 MiB chunks and the stream loop's copies), and ``encrypt_file`` /
``decrypt_file`` between files of a temporary directory (a temporary file renamed on success, no fsync).

**Overhead against the plaintext path.** What the plaintext path costs is IPFS: the creator's upload adds the scene
(``IPFSStore.add_file``), a worker downloads its task package (``IPFSStore.get``, as ``worker/agent.py`` does).
The private path adds the cipher, wired two ways:

* through a file: ``encrypt_file`` then ``add_file`` of the ciphertext; ``get`` of the ciphertext then
  ``decrypt_file`` (no change to ``IPFSStore``);
* streamed: ``add`` of an ``EncryptingReader`` over the scene (no ciphertext file; the client encrypts while the
  daemon chunks and hashes); ``cat`` streamed into a ``DecryptingWriter`` over the output file, against the same
  ``cat`` streamed into a plain file (``IPFSStore`` has neither call today: the benchmark uses its client).

All against one local js-ipfs daemon (``inferix.testing.ipfs.LocalIPFSNode``, its own repository under a temporary
directory), each repetition on fresh random content (so no block is already stored), medians, every private
download checked against its source. The overhead is ``private / plaintext - 1``; for the file wiring the table
also gives the cipher's own time. A remote node (the usual case) makes the plaintext path slower and the ratio
smaller, the cipher's cost being the same.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

from inferix import crypto

MB = 1_000_000
CONTEXT = b"inferix/scene/v1|job=0|task=0"


class _Repeat:
    """``total`` bytes read from one random block, never all in memory."""

    def __init__(self, total: int, block: bytes) -> None:
        self.left, self.block = total, block

    def read(self, size: int = -1) -> bytes:
        n = min(self.left, len(self.block) if size < 0 else size, len(self.block))
        self.left -= n
        return self.block[:n]


class _Null:
    def write(self, data) -> int:
        return len(data)


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _write_random(path: Path, size: int) -> None:
    with open(path, "wb") as out:
        left = size
        while left:
            n = min(left, 4 * 1024 * 1024)
            out.write(os.urandom(n))
            left -= n


def throughput(size: int, repeat: int, chunk_size: int, work: Path) -> dict[str, float]:
    key = crypto.new_content_key()
    block = os.urandom(chunk_size)
    seconds = {"encrypt_stream (memory to memory)": _median(
        lambda: crypto.encrypt_stream(key, _Repeat(size, block), _Null(), CONTEXT, chunk_size), repeat)}
    sink = io.BytesIO()
    crypto.encrypt_stream(key, _Repeat(size, block), sink, CONTEXT, chunk_size)
    ciphertext = sink.getvalue()  # bytes: BytesIO(ciphertext) below shares it instead of copying it
    sink.close()
    seconds["decrypt_stream (memory to memory)"] = _median(
        lambda: crypto.decrypt_stream(key, io.BytesIO(ciphertext), _Null(), CONTEXT), repeat)
    plain, enc, out = work / "scene.bin", work / "scene.enc", work / "scene.out"
    _write_random(plain, size)
    seconds["encrypt_file (file to file)"] = _median(
        lambda: crypto.encrypt_file(key, plain, enc, CONTEXT, chunk_size), repeat)
    seconds["decrypt_file (file to file)"] = _median(
        lambda: crypto.decrypt_file(key, enc, out, CONTEXT), repeat)
    for path in (plain, enc, out):
        path.unlink()
    return seconds


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def ipfs_overhead(size: int, repeat: int, chunk_size: int, work: Path) -> dict[str, list[float]]:
    """Each repetition: three fresh random scenes uploaded (plaintext, private through files, private streamed),
    then downloaded the four ways. Returns the seconds of every case, by name."""
    from inferix.storage import IMPORT, IPFSStore
    from inferix.testing.ipfs import LocalIPFSNode

    times: dict[str, list[float]] = {}

    def record(name: str, seconds: float) -> None:
        times.setdefault(name, []).append(seconds)

    with LocalIPFSNode(work / "ipfs-repo") as node:
        store = IPFSStore(node.api_multiaddr, timeout=600, max_bytes=2 * size + 1024 * 1024)
        client = store._client  # streaming add and cat: what IPFSStore would need for the streamed wiring

        def add_stream(fileobj) -> str:
            return store._call("add", client.add, fileobj, pin=True, **IMPORT)["Hash"]

        def cat_to(cid: str, dst) -> None:
            for piece in store._call("cat", client.cat, cid, stream=True):
                dst.write(piece)

        def upload_plain(i, key, scene):
            seconds, cid = _timed(lambda: store.add_file(scene))
            record("upload/plaintext", seconds)
            return cid

        def upload_files(i, key, scene):
            enc = work / f"files-{i}.enc"
            cipher, _ = _timed(lambda: crypto.encrypt_file(key, scene, enc, CONTEXT, chunk_size))
            seconds, cid = _timed(lambda: store.add_file(enc))
            record("upload/encrypt_file", cipher)
            record("upload/files", cipher + seconds)
            return cid

        def upload_stream(i, key, scene):
            with open(scene, "rb") as src:
                seconds, cid = _timed(lambda: add_stream(crypto.EncryptingReader(key, src, CONTEXT, chunk_size)))
            record("upload/stream", seconds)
            return cid

        def download_plain(i, key, cid):
            seconds, got = _timed(lambda: store.get(cid, work / f"get-plain-{i}"))
            record("download/plaintext", seconds)
            return got

        def download_files(i, key, cid):
            seconds, got = _timed(lambda: store.get(cid, work / f"get-files-{i}"))
            out = work / f"get-files-{i}" / "scene.blend"
            cipher, _ = _timed(lambda: crypto.decrypt_file(key, got, out, CONTEXT))
            record("download/decrypt_file", cipher)
            record("download/files", seconds + cipher)
            return out

        def download_plain_stream(i, key, cid):
            out = work / f"cat-plain-{i}.blend"
            with open(out, "wb") as dst:
                seconds, _ = _timed(lambda: cat_to(cid, dst))
            record("download/plaintext-stream", seconds)
            return out

        def download_stream(i, key, cid):
            out = work / f"cat-stream-{i}.blend"
            with open(out, "wb") as dst:
                def private_cat():
                    with crypto.DecryptingWriter(key, dst, CONTEXT) as writer:
                        cat_to(cid, writer)
                seconds, _ = _timed(private_cat)
            record("download/stream", seconds)
            return out

        uploads = {"plain": upload_plain, "files": upload_files, "stream": upload_stream}
        downloads = [("plain", download_plain), ("files", download_files), ("plain", download_plain_stream),
                     ("stream", download_stream)]
        try:
            warm = work / "warm-up.bin"  # the daemon's first add and cat are slower: not measured
            _write_random(warm, size)
            cat_to(store.add_file(warm), _Null())
            warm.unlink()
            for i in range(repeat):
                key = crypto.new_content_key()
                scenes = {name: work / f"{name}-{i}.blend" for name in uploads}
                for path in scenes.values():
                    _write_random(path, size)
                cids = {}
                names = list(uploads)
                for name in names[i % len(names):] + names[:i % len(names)]:  # each case first in turn
                    cids[name] = uploads[name](i, key, scenes[name])
                for name, download in downloads[i % len(downloads):] + downloads[:i % len(downloads)]:
                    out = download(i, key, cids[name])
                    assert _sha256(out) == _sha256(scenes[name]), (name, download.__name__)
                for path in sorted(work.glob(f"*-{i}*"), reverse=True):
                    if path.is_file():
                        path.unlink()
        finally:
            store.close()
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=float, default=100, help="object size in MB (10^6 bytes; default 100)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chunk-kib", type=int, default=crypto.DEFAULT_CHUNK_SIZE // 1024)
    ap.add_argument("--no-ipfs", action="store_true", help="throughput only, no js-ipfs daemon")
    args = ap.parse_args()
    size, chunk_size = int(args.size_mb * MB), args.chunk_kib * 1024
    label = f"{args.size_mb:g} MB"
    with tempfile.TemporaryDirectory(prefix="crypto-bench-") as tmp:
        work = Path(tmp)
        seconds = throughput(size, args.repeat, chunk_size, work)
        print(f"\nThroughput, {label}, {args.chunk_kib} KiB chunks, median of {args.repeat}\n")
        print("| operation | time | MB/s |")
        print("|---|---|---|")
        for name, s in seconds.items():
            print(f"| {name} | {s * 1000:.0f} ms | {size / MB / s:,.0f} |")
        if not args.no_ipfs:
            times = {name: statistics.median(values)
                     for name, values in ipfs_overhead(size, args.repeat, chunk_size, work).items()}
            print(f"\nPrivate against plaintext path, {label}, local js-ipfs, median of {args.repeat}\n")
            print("| path | plaintext | private | overhead | of which the cipher |")
            print("|---|---|---|---|---|")
            rows = [
                ("scene upload, through a file: add_file vs encrypt_file + add_file",
                 "upload/plaintext", "upload/files", "upload/encrypt_file"),
                ("scene upload, streamed: add_file vs add(EncryptingReader)",
                 "upload/plaintext", "upload/stream", None),
                ("task download, through a file: get vs get + decrypt_file",
                 "download/plaintext", "download/files", "download/decrypt_file"),
                ("task download, streamed: cat to a file vs cat to DecryptingWriter",
                 "download/plaintext-stream", "download/stream", None),
                ("task download: today's get vs streamed cat to DecryptingWriter",
                 "download/plaintext", "download/stream", None),
            ]
            for name, plain_key, private_key, cipher_key in rows:
                plain, private = times[plain_key], times[private_key]
                cipher = (f"{times[cipher_key]:.3f} s ({times[cipher_key] / plain * 100:.1f} % of plaintext)"
                          if cipher_key else "runs while the daemon works")
                print(f"| {name} | {plain:.3f} s | {private:.3f} s | {(private / plain - 1) * 100:+.1f} % | "
                      f"{cipher} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
