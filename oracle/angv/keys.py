"""Verification-key derivation (whitepaper ``K_verif``), as a keyed cryptographic hash of the task's secret seed.

Derivation, exactly (all integers big-endian):

    frame_key = HMAC-SHA256(key = seed,
                            msg = KEY_DOMAIN || 0x00 || scene_digest(32) || task_id(uint256) || frame(uint32)
                                  || n(uint16) || width(uint32) || height(uint32) || version(uint16))

``frame = TASK_FRAME`` (0xFFFFFFFF) gives the task-level key that draws the atomic noises (their periods), which a
carrier keeps for the whole task. A frame key is expanded into independent labelled streams:

    block_j(label) = HMAC-SHA256(key = frame_key, msg = b"stream" || 0x00 || label || 0x00 || j(uint32)), j = 0,1,..

and the stream's bytes are consumed 8 at a time: ``u = (uint64 >> 11) / 2**53`` is a uniform float in [0, 1);
an integer in [lo, hi] is drawn by rejection on the smallest covering power of two (no modulo bias); a normal
variate is Box-Muller on two uniforms. Labels: ``b"regions"`` (candidate positions, imprint sides, depths),
``b"noise"`` (periods), ``b"names"`` (carrier names), ``b"tiles"`` (quality tiles).

The on-chain commitment is ``keccak256(seed)``. Because HMAC-SHA256 is a PRF, keys of other tasks or other frames
(used keys leak to verifiers) say nothing about the next ones; the scene digest and the task id bind a key to one
scene and one task, the frame index to one frame.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import struct
from dataclasses import dataclass
from pathlib import Path

from .params import ANGV_VERSION, KEY_DOMAIN

TASK_FRAME = 0xFFFFFFFF
_U64 = struct.Struct(">Q")


def key_commit(seed: bytes) -> bytes:
    """The on-chain commitment to a task seed: ``keccak256(seed)``."""
    _check_seed(seed)
    from eth_hash.auto import keccak

    return keccak(seed)


def scene_digest(data: bytes | str | Path) -> bytes:
    """SHA-256 of the scene file's bytes (the scene the creator uploaded, before noise insertion)."""
    if isinstance(data, (str, Path)):
        h = hashlib.sha256()
        with open(data, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.digest()
    return hashlib.sha256(data).digest()


def _check_seed(seed: bytes) -> None:
    if not isinstance(seed, (bytes, bytearray)) or len(seed) != 32:
        raise ValueError("angv: the task seed must be exactly 32 bytes")


@dataclass(frozen=True)
class FrameKey:
    """A derived per-frame (or per-task) key; :meth:`stream` expands it into labelled random streams."""

    key: bytes
    frame: int

    def stream(self, label: bytes) -> "KeyStream":
        return KeyStream(self.key, label)

    def hex(self) -> str:
        return self.key.hex()


def derive_key(
    seed: bytes,
    scene: bytes,
    task_id: int,
    frame: int,
    n: int,
    width: int,
    height: int,
    version: int = ANGV_VERSION,
) -> FrameKey:
    """Derive the key of one frame (``frame=TASK_FRAME`` for the task-level key), see the module docstring."""
    _check_seed(seed)
    if len(scene) != 32:
        raise ValueError("angv: scene digest must be 32 bytes")
    if not (0 <= task_id < 2**256 and 0 <= frame <= 0xFFFFFFFF and 0 < n < 2**16):
        raise ValueError("angv: task_id, frame or n out of range")
    if not (0 < width < 2**32 and 0 < height < 2**32):
        raise ValueError("angv: bad frame size")
    msg = b"".join(
        [
            KEY_DOMAIN,
            b"\x00",
            bytes(scene),
            task_id.to_bytes(32, "big"),
            frame.to_bytes(4, "big"),
            n.to_bytes(2, "big"),
            width.to_bytes(4, "big"),
            height.to_bytes(4, "big"),
            version.to_bytes(2, "big"),
        ]
    )
    return FrameKey(hmac.new(bytes(seed), msg, hashlib.sha256).digest(), frame)


class KeyStream:
    """Deterministic random stream ``HMAC-SHA256(key, b"stream" 0 label 0 j)``; not thread-safe, one per use."""

    def __init__(self, key: bytes, label: bytes) -> None:
        self._key = key
        self._prefix = b"stream\x00" + label + b"\x00"
        self._block = 0
        self._buf = b""

    def _next8(self) -> bytes:
        if len(self._buf) < 8:
            mac = hmac.new(self._key, self._prefix + self._block.to_bytes(4, "big"), hashlib.sha256).digest()
            self._block += 1
            self._buf += mac
        out, self._buf = self._buf[:8], self._buf[8:]
        return out

    def uniform(self) -> float:
        """A float in [0, 1) with 53 random bits."""
        return (_U64.unpack(self._next8())[0] >> 11) / float(1 << 53)

    def randint(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi] (inclusive), by rejection sampling."""
        if hi < lo:
            raise ValueError("angv: empty range")
        span = hi - lo + 1
        bits = max(1, (span - 1).bit_length())
        while True:
            v = _U64.unpack(self._next8())[0] >> (64 - bits)
            if v < span:
                return lo + v

    def normal(self, mu: float, sigma: float) -> float:
        """A N(mu, sigma^2) variate (Box-Muller, cosine branch)."""
        u1 = self.uniform()
        u2 = self.uniform()
        return mu + sigma * math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)
