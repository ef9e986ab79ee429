"""A drand-style randomness beacon: keys, signing, verification, a small HTTP server and client.

The scheme is drand's ``bls-unchained-g1-rfc9380`` (the League of Entropy "quicknet" chain):
round ``r``'s signature is ``σ_r = sk · H(sha256(uint64_be(r)))`` in G1, with ``H`` the RFC 9380
hash-to-curve suite ``BLS12381G1_XMD:SHA-256_SSWU_RO_`` under the DST
``BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_``, and the public key ``sk · g2`` in G2. BLS
signatures are unique, so each round has exactly one valid signature and thus one randomness: no
party, the signer included, can grind it, and nobody without the key can predict it.

``contracts/RandomnessBeacon.vy`` verifies the same signatures on-chain through the EIP-2537
precompiles. Points travel in two encodings:

* EIP-2537 (what the contract takes): G1 = ``x || y``, each coordinate as 64 big-endian bytes
  (128 bytes); G2 = ``x.c0 || x.c1 || y.c0 || y.c1`` (256 bytes); all zeros is the point at
  infinity.
* drand's JSON (ZCash compressed form): G1 in 48 bytes, G2 in 96 bytes, hex-encoded.

The on-chain randomness of a round is ``keccak256(EIP-2537 signature)``
(:func:`onchain_randomness`); drand's own ``randomness`` field is ``sha256(compressed signature)``
(:func:`drand_randomness`). Both are functions of the unique signature.

py_ecc is pure Python: signing a round takes about 0.03-0.1 s and verifying one about 0.5-1 s
(measured on a shared 2-core machine; decompressing a drand G2 key about 0.2 s), so
:class:`BeaconKey` caches its signatures.

Importing this module has no side effects: no key is generated and no server is started.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

from eth_utils import keccak
from py_ecc.bls.hash_to_curve import hash_to_G1
from py_ecc.bls.point_compression import compress_G1, compress_G2, decompress_G1, decompress_G2
from py_ecc.bls.typing import G1Compressed, G2Compressed
from py_ecc.fields import optimized_bls12_381_FQ as FQ
from py_ecc.fields import optimized_bls12_381_FQ2 as FQ2
from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12
from py_ecc.optimized_bls12_381 import (
    G2,
    Z1,
    Z2,
    b,
    b2,
    curve_order,
    field_modulus,
    final_exponentiate,
    is_inf,
    is_on_curve,
    multiply,
    neg,
    normalize,
)
from py_ecc.optimized_bls12_381.optimized_pairing import miller_loop
from py_ecc.typing import Optimized_Point3D

__all__ = [
    "DEV_BEACON_KEY",
    "QUICKNET",
    "dev_beacon",
    "DST",
    "SCHEME_ID",
    "BeaconKey",
    "decode_g1",
    "decode_g2",
    "drand_randomness",
    "encode_g1",
    "encode_g2",
    "fetch_info",
    "fetch_latest",
    "fetch_round",
    "g1_from_compressed",
    "g1_to_compressed",
    "g2_from_compressed",
    "g2_to_compressed",
    "hash_round",
    "onchain_randomness",
    "round_at",
    "round_message",
    "round_time",
    "serve",
    "verify",
]

SCHEME_ID = "bls-unchained-g1-rfc9380"
DST = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"

G1_EIP2537_BYTES = 128
G2_EIP2537_BYTES = 256
G1_COMPRESSED_BYTES = 48
G2_COMPRESSED_BYTES = 96

G1Point = Optimized_Point3D[FQ]
G2Point = Optimized_Point3D[FQ2]

_MAX_ROUND = 2**64 - 1


# -- rounds ---------------------------------------------------------------------------------------


def _check_round(round: int) -> None:
    if not 1 <= round <= _MAX_ROUND:
        raise ValueError(f"round must be in [1, 2**64): {round}")


def round_message(round: int) -> bytes:
    """The 32-byte message drand signs for ``round``: ``sha256(uint64 big-endian round)``."""
    _check_round(round)
    return hashlib.sha256(round.to_bytes(8, "big")).digest()


def hash_round(round: int) -> G1Point:
    """``H(round_message(round))``: RFC 9380 hash_to_curve onto G1 under :data:`DST`."""
    return cast(G1Point, hash_to_G1(round_message(round), DST, hashlib.sha256))


def round_at(genesis: int, period: int, t: float) -> int:
    """The latest round whose time is at or before ``t`` (0 before genesis).

    Round ``r`` (from 1) is due at ``genesis + (r - 1) * period``, as in drand and the contract's
    ``roundAt``.
    """
    if period <= 0:
        raise ValueError("period must be positive")
    if t < genesis:
        return 0
    return int((int(t) - genesis) // period) + 1


def round_time(genesis: int, period: int, round: int) -> int:
    """The time at which ``round`` is due: ``genesis + (round - 1) * period``."""
    _check_round(round)
    return genesis + (round - 1) * period


# -- encodings ------------------------------------------------------------------------------------


def _in_subgroup(point: Any) -> bool:
    return bool(is_inf(multiply(point, curve_order)))


def _coordinate(data: bytes) -> int:
    value = int.from_bytes(data, "big")
    if value >= field_modulus:
        raise ValueError("coordinate not below the field modulus")
    return value


def encode_g1(point: G1Point) -> bytes:
    """EIP-2537 encoding of a G1 point: ``x || y``, 64 bytes each (zeros for infinity)."""
    if is_inf(point):
        return bytes(G1_EIP2537_BYTES)
    x, y = normalize(point)
    return int(x).to_bytes(64, "big") + int(y).to_bytes(64, "big")


def decode_g1(data: bytes) -> G1Point:
    """Parse an EIP-2537 G1 point, checking the length, the curve and the subgroup (as the
    pairing precompile does). Raises ``ValueError`` on any failure."""
    if len(data) != G1_EIP2537_BYTES:
        raise ValueError(f"G1 point must be {G1_EIP2537_BYTES} bytes, got {len(data)}")
    x, y = _coordinate(data[:64]), _coordinate(data[64:])
    if x == 0 and y == 0:
        return cast(G1Point, Z1)
    point = (FQ(x), FQ(y), FQ(1))
    if not is_on_curve(point, b):
        raise ValueError("G1 point not on the curve")
    if not _in_subgroup(point):
        raise ValueError("G1 point not in the prime-order subgroup")
    return point


def encode_g2(point: G2Point) -> bytes:
    """EIP-2537 encoding of a G2 point: ``x.c0 || x.c1 || y.c0 || y.c1``, 64 bytes each."""
    if is_inf(point):
        return bytes(G2_EIP2537_BYTES)
    x, y = normalize(point)
    return b"".join(int(c).to_bytes(64, "big") for c in (*x.coeffs, *y.coeffs))


def decode_g2(data: bytes) -> G2Point:
    """Parse an EIP-2537 G2 point, checking the length, the curve and the subgroup.
    Raises ``ValueError`` on any failure."""
    if len(data) != G2_EIP2537_BYTES:
        raise ValueError(f"G2 point must be {G2_EIP2537_BYTES} bytes, got {len(data)}")
    x0, x1, y0, y1 = (_coordinate(data[i : i + 64]) for i in range(0, 256, 64))
    if x0 == x1 == y0 == y1 == 0:
        return cast(G2Point, Z2)
    point = (FQ2([x0, x1]), FQ2([y0, y1]), FQ2.one())
    if not is_on_curve(point, b2):
        raise ValueError("G2 point not on the curve")
    if not _in_subgroup(point):
        raise ValueError("G2 point not in the prime-order subgroup")
    return point


def _unhex(value: str | bytes, size: int) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
    if len(raw) != size:
        raise ValueError(f"expected {size} bytes, got {len(raw)}")
    return raw


def g1_from_compressed(value: str | bytes) -> bytes:
    """drand's compressed G1 point (48 bytes, or its hex) → EIP-2537 encoding (128 bytes)."""
    raw = _unhex(value, G1_COMPRESSED_BYTES)
    point = decompress_G1(G1Compressed(int.from_bytes(raw, "big")))
    if not _in_subgroup(point):
        raise ValueError("G1 point not in the prime-order subgroup")
    return encode_g1(point)


def g1_to_compressed(data: bytes) -> bytes:
    """EIP-2537 G1 point (128 bytes) → drand's compressed form (48 bytes)."""
    return int(compress_G1(decode_g1(data))).to_bytes(G1_COMPRESSED_BYTES, "big")


def g2_from_compressed(value: str | bytes) -> bytes:
    """drand's compressed G2 point (96 bytes, or its hex) → EIP-2537 encoding (256 bytes)."""
    raw = _unhex(value, G2_COMPRESSED_BYTES)
    z1, z2 = int.from_bytes(raw[:48], "big"), int.from_bytes(raw[48:], "big")
    point = decompress_G2(G2Compressed((z1, z2)))
    if not _in_subgroup(point):
        raise ValueError("G2 point not in the prime-order subgroup")
    return encode_g2(point)


def g2_to_compressed(data: bytes) -> bytes:
    """EIP-2537 G2 point (256 bytes) → drand's compressed form (96 bytes)."""
    z1, z2 = compress_G2(decode_g2(data))
    return int(z1).to_bytes(48, "big") + int(z2).to_bytes(48, "big")


def onchain_randomness(signature: bytes) -> bytes:
    """The randomness ``RandomnessBeacon`` stores for a round: keccak256 of its EIP-2537 signature."""
    return keccak(signature)


def drand_randomness(compressed_signature: bytes) -> bytes:
    """drand's ``randomness`` field: sha256 of the compressed (48-byte) signature."""
    return hashlib.sha256(compressed_signature).digest()


# -- keys, signing, verification ------------------------------------------------------------------


class BeaconKey:
    """A beacon's BLS secret scalar, signing rounds in G1 with a public key in G2.

    Signatures are cached per round (pure-Python signing takes up to about 0.1 s); the cache is
    shared by the server's threads.
    """

    __slots__ = ("_cache", "_lock", "_public", "secret")

    def __init__(self, secret: int) -> None:
        if not 0 < secret < curve_order:
            raise ValueError("secret scalar must be in [1, r)")
        self.secret = secret
        self._public: bytes | None = None
        self._cache: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never print the secret
        return f"BeaconKey(public={self.public_key_compressed().hex()[:16]}…)"

    @classmethod
    def generate(cls) -> BeaconKey:
        """A fresh key from the OS's CSPRNG."""
        return cls(secrets.randbelow(curve_order - 1) + 1)

    @classmethod
    def from_hex(cls, value: str) -> BeaconKey:
        """The key whose secret scalar is the big-endian hex ``value`` (``0x`` optional)."""
        return cls(int(value.removeprefix("0x"), 16))

    def to_hex(self) -> str:
        """The secret scalar as 32-byte big-endian hex (``0x``-prefixed): keep it secret."""
        return "0x" + self.secret.to_bytes(32, "big").hex()

    def public_key_eip2537(self) -> bytes:
        """The public key ``sk · g2`` in EIP-2537 encoding (256 bytes): the contract's argument."""
        if self._public is None:
            self._public = encode_g2(multiply(G2, self.secret))
        return self._public

    def public_key_compressed(self) -> bytes:
        """The public key in drand's compressed form (96 bytes)."""
        return g2_to_compressed(self.public_key_eip2537())

    def sign(self, round: int) -> bytes:
        """Round ``round``'s signature in EIP-2537 encoding (128 bytes), cached."""
        _check_round(round)
        with self._lock:
            cached = self._cache.get(round)
        if cached is not None:
            return cached
        signature = encode_g1(multiply(hash_round(round), self.secret))
        with self._lock:
            self._cache[round] = signature
        return signature

    def sign_compressed(self, round: int) -> bytes:
        """Round ``round``'s signature in drand's compressed form (48 bytes)."""
        return g1_to_compressed(self.sign(round))


# A FIXED, PUBLICLY KNOWN beacon key for LOCAL DEVELOPMENT NETWORKS ONLY (like anvil's dev
# accounts). ANYONE can compute every round's signature with it, so a contract deployed with its
# public key offers NO unpredictability at all. NEVER use it on a testnet or a mainnet: deploy
# those against drand quicknet's public key (or another real threshold beacon).
DEV_BEACON_KEY = BeaconKey(
    int.from_bytes(hashlib.sha256(b"inferix dev beacon key: PUBLIC, local networks only").digest(), "big")
    % curve_order
)


# drand's quicknet on the League of Entropy mainnet (drand/tlock-js `MAINNET_CHAIN_INFO`): what public deployments
# draw committees from. Any relayer may post its rounds on chain; the contract verifies them.
QUICKNET = {
    "public_key": "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d106451"
                  "0d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a",
    "genesis_time": 1692803367,
    "period": 3,
    "url": "https://api.drand.sh/52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
}


def dev_beacon(genesis_time: int, period: int = 1) -> dict[str, Any]:
    """The local networks' beacon: :data:`DEV_BEACON_KEY` (publicly known: never on a public network), a round per
    ``period`` seconds from ``genesis_time``; its URL is the server the local tooling starts (:func:`serve`)."""
    return {"public_key": DEV_BEACON_KEY.public_key_compressed().hex(), "genesis_time": genesis_time,
            "period": period, "url": None}


def verify(public_key_eip2537: bytes, round: int, signature: bytes) -> bool:
    """Whether ``signature`` (EIP-2537 G1) is the beacon's signature of ``round`` under
    ``public_key_eip2537`` (EIP-2537 G2): the contract's check, in pure Python, so a service can
    test a signature before spending gas on it. Malformed input gives ``False``."""
    try:
        _check_round(round)
        public_key = decode_g2(public_key_eip2537)
        sig = decode_g1(signature)
    except ValueError:
        return False
    if is_inf(public_key) or is_inf(sig):
        return False
    # e(σ, −g2) · e(H(m), pk) == 1, one final exponentiation for both Miller loops.
    product = miller_loop(neg(G2), sig, False) * miller_loop(public_key, hash_round(round), False)
    return bool(final_exponentiate(product) == FQ12.one())


# -- HTTP: a drand-shaped server and client -------------------------------------------------------

_PUBLIC = re.compile(r"^/public/(latest|[0-9]{1,20})/?$")


def serve(
    key: BeaconKey,
    genesis: int,
    period: int,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    clock: Callable[[], float] = time.time,
) -> ThreadingHTTPServer:
    """Serve ``key``'s rounds with drand's HTTP API shape, in a daemon thread.

    ``GET /info`` → ``{"public_key", "period", "genesis_time", "schemeID", "hash", "metadata"}``
    (``hash`` identifies this beacon but is not computed as drand's chain hash);
    ``GET /public/{round}`` and ``GET /public/latest`` → ``{"round", "signature", "randomness"}``
    (compressed signature hex and ``sha256`` of it, as drand); a round not yet reached (by
    ``clock``, the wall clock unless a test gives the chain's) is 404. ``port=0`` picks a free port
    (read it from ``server.server_address``). Call ``server.shutdown()`` then
    ``server.server_close()`` to stop it.
    """
    if period <= 0:
        raise ValueError("period must be positive")
    public_hex = key.public_key_compressed().hex()
    info = {
        "public_key": public_hex,
        "period": period,
        "genesis_time": genesis,
        "hash": hashlib.sha256(f"{public_hex}:{period}:{genesis}:{SCHEME_ID}".encode()).hexdigest(),
        "schemeID": SCHEME_ID,
        "metadata": {"beaconID": "inferix-dev"},
    }

    class Handler(BaseHTTPRequestHandler):
        server_version = "InferixBeacon/1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _send(self, status: HTTPStatus, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = self.path.split("?", 1)[0]
            if path.rstrip("/") == "/info":
                self._send(HTTPStatus.OK, info)
                return
            match = _PUBLIC.match(path)
            if match is None:
                self._send(HTTPStatus.NOT_FOUND, {"error": "not found"})
                return
            latest = round_at(genesis, period, clock())
            wanted = latest if match.group(1) == "latest" else int(match.group(1))
            if wanted < 1 or wanted > latest or wanted > _MAX_ROUND:
                self._send(HTTPStatus.NOT_FOUND, {"error": "round not reached"})
                return
            compressed = key.sign_compressed(wanted)
            self._send(
                HTTPStatus.OK,
                {
                    "round": wanted,
                    "signature": compressed.hex(),
                    "randomness": drand_randomness(compressed).hex(),
                },
            )

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="beacon-http", daemon=True).start()
    return server


def _get_json(url: str, timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) URLs)
        body = json.loads(response.read())
    if not isinstance(body, dict):
        raise ValueError(f"{url}: expected a JSON object")
    return body


def _parse_round(body: dict[str, Any], url: str) -> tuple[int, bytes]:
    compressed = _unhex(str(body["signature"]), G1_COMPRESSED_BYTES)
    if "randomness" in body and bytes.fromhex(str(body["randomness"])) != drand_randomness(compressed):
        raise ValueError(f"{url}: randomness is not sha256(signature)")
    return int(body["round"]), g1_from_compressed(compressed)


def fetch_round(url: str, round: int, timeout: float = 10.0) -> bytes:
    """Round ``round``'s signature (EIP-2537, 128 bytes, ready for ``submit``) from a drand-shaped
    HTTP endpoint ``url`` (this module's :func:`serve`, or a drand chain URL such as
    ``https://api.drand.sh/<chain hash>``). The signature is NOT verified here: call
    :func:`verify` against the public key you trust. Raises ``LookupError`` for a round not
    published yet (404), ``ValueError`` for a malformed answer."""
    _check_round(round)
    endpoint = f"{url.rstrip('/')}/public/{round}"
    try:
        body = _get_json(endpoint, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == HTTPStatus.NOT_FOUND:
            raise LookupError(f"{endpoint}: round not published yet") from exc
        raise
    got, signature = _parse_round(body, endpoint)
    if got != round:
        raise ValueError(f"{endpoint}: answered round {got}")
    return signature


def fetch_latest(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    """The latest round and its EIP-2537 signature from a drand-shaped endpoint (unverified)."""
    endpoint = f"{url.rstrip('/')}/public/latest"
    return _parse_round(_get_json(endpoint, timeout), endpoint)


def fetch_info(url: str, timeout: float = 10.0) -> dict[str, Any]:
    """A drand-shaped endpoint's ``/info``, with ``public_key_eip2537`` (bytes) added for the
    contract's constructor. Raises ``ValueError`` for another scheme than ours."""
    info = _get_json(f"{url.rstrip('/')}/info", timeout)
    if info.get("schemeID") != SCHEME_ID:
        raise ValueError(f"unsupported beacon scheme {info.get('schemeID')!r}")
    info["public_key_eip2537"] = g2_from_compressed(str(info["public_key"]))
    return info
