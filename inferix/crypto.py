"""Encryption for private jobs: scenes, task packages and frames stored on IPFS, readable only by their parties.

Two layers, both on ``cryptography`` (pinned in pyproject.toml: OpenSSL's AES-GCM, X25519 and HKDF, and the
library's own RFC 9180 HPKE); docs/security.md ("Private jobs: the cryptography") explains every choice.

* **Content encryption** (``encrypt_stream`` / ``decrypt_stream``, their inside-out forms ``EncryptingReader`` /
  ``DecryptingWriter`` for streamed uploads and downloads, ``seal`` / ``unseal``, ``encrypt_file`` /
  ``decrypt_file``): a chunked, streaming AES-256-GCM format (the STREAM construction, as in Tink's streaming
  AEAD), so a 100 MB scene is encrypted and decrypted in bounded memory. Each object gets a fresh random 32-byte
  key (``new_content_key``). Layout::

      header (96 bytes)
        magic        8   b"\\x89IFXENC\\n"
        version      1   1
        reserved     3   zero
        chunk_size   4   plaintext bytes per chunk, big-endian (64 B .. 64 MiB)
        salt        32   random, per object
        commitment  32   commits to the key (and the header fields above)
        context tag 16   says early whether the caller's context is the one the object was sealed for
      chunk 0 .. n-1, each AES-256-GCM(ciphertext ‖ 16-byte tag); every chunk but the last holds exactly
      chunk_size plaintext bytes, the last 0 .. chunk_size (an empty object is one empty final chunk)

  Derivation (HKDF-SHA256, RFC 5869)::

      prk = HKDF-Extract(salt, content_key)
      chunk_key ‖ nonce_prefix ‖ commitment ‖ context_key
          = HKDF-Expand(prk, "inferix/content/v1" ‖ header[0:48], 32 + 7 + 32 + 32)
      context tag  = HMAC-SHA256(context_key, context)[:16]
      nonce(i)     = nonce_prefix (7) ‖ uint32_be(i) ‖ (0x01 if chunk i is the last else 0x00)
      chunk i      = AES-256-GCM(chunk_key, nonce(i), plaintext_i, aad = header (96) ‖ context)

  The chunk index and the final flag in the nonce detect reordering, dropped chunks, truncation at a chunk
  boundary and extension; the header and the caller's context in the associated data detect header edits and an
  object replayed as another; the commitment makes the format key-committing (one ciphertext opens under one
  key only, which plain GCM does not guarantee).

* **Key wrapping** (``generate_keypair``, ``wrap_key`` / ``unwrap_key``, ``make_envelope`` / ``open_envelope``):
  HPKE (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM (kem 0x0020, kdf 0x0001,
  aead 0x0002), single-shot, empty aad, HPKE info = ``b"inferix/key-wrap/v1\x00" ‖ info``. A wrapped key is
  ``enc (32) ‖ AES-256-GCM(content_key) (48)`` = 80 bytes. An envelope wraps one content key to several
  recipients (fingerprint = SHA-256(b"inferix/x25519/v1" ‖ public key)[:16])::

      magic 8 b"\\x89IFXKEY\\n" | version 1 | count uint16_be | count × (fingerprint (16) | wrapped key (80))

  ``info`` names the purpose (job, task, attempt, object kind): a key wrapped for one purpose does not unwrap for
  another.

Every failure to decrypt raises ``DecryptionError`` (a ``ValueError``) saying what was wrong; wrong argument
types and sizes (a 31-byte key) raise ``TypeError`` / ``ValueError`` as usual.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import struct
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "DecryptionError", "KEY_SIZE", "DEFAULT_CHUNK_SIZE", "HEADER_SIZE", "TAG_SIZE", "WRAPPED_KEY_SIZE",
    "new_content_key", "encrypt_stream", "decrypt_stream", "EncryptingReader", "DecryptingWriter", "seal",
    "unseal", "encrypt_file", "decrypt_file", "encrypted_size", "generate_keypair", "public_key", "fingerprint",
    "wrap_key", "unwrap_key", "make_envelope", "open_envelope", "envelope_fingerprints",
]


class DecryptionError(ValueError):
    """The ciphertext, wrapped key or envelope does not open: tampered with, truncated, the wrong key, the wrong
    context or info, or not an Inferix object at all. The message says which, as far as it can be told."""


KEY_SIZE = 32
TAG_SIZE = 16
DEFAULT_CHUNK_SIZE = 1024 * 1024
MIN_CHUNK_SIZE = 64
MAX_CHUNK_SIZE = 64 * 1024 * 1024  # a hostile header must not make a reader allocate gigabytes
MAX_CHUNKS = 2**32  # the chunk index is a uint32 in the nonce

MAGIC = b"\x89IFXENC\n"
VERSION = 1
_FIELDS = struct.Struct(">8sB3sI")  # magic, version, reserved, chunk size
SALT_SIZE = 32
COMMITMENT_SIZE = 32
CONTEXT_TAG_SIZE = 16
_FIXED = _FIELDS.size + SALT_SIZE  # 48: what the derivation binds
HEADER_SIZE = _FIXED + COMMITMENT_SIZE + CONTEXT_TAG_SIZE  # 96
NONCE_PREFIX_SIZE = 7
_CONTENT_LABEL = b"inferix/content/v1"


# ---------------------------------------------------------------- content encryption


def _check_key(key: bytes, what: str = "content key") -> bytes:
    if not isinstance(key, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what} must be bytes, not {type(key).__name__}")
    key = bytes(key)
    if len(key) != KEY_SIZE:
        raise ValueError(f"{what} must be {KEY_SIZE} bytes, not {len(key)}")
    return key


def _check_context(context: bytes) -> bytes:
    if not isinstance(context, (bytes, bytearray, memoryview)):
        raise TypeError(f"context must be bytes, not {type(context).__name__}")
    return bytes(context)


def _check_chunk_size(chunk_size: int) -> int:
    if not isinstance(chunk_size, int) or not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be an int from {MIN_CHUNK_SIZE} to {MAX_CHUNK_SIZE}, not {chunk_size!r}")
    return chunk_size


def new_content_key() -> bytes:
    """A fresh random 32-byte content key: one per object (and per task attempt)."""
    return os.urandom(KEY_SIZE)


class _Keys:
    """What one object's header and content key derive: the chunk cipher, the nonce prefix, the commitment."""

    __slots__ = ("aead", "nonce_prefix", "commitment", "context_key")

    def __init__(self, key: bytes, fixed: bytes) -> None:
        salt = fixed[_FIELDS.size:_FIXED]
        okm = HKDF(hashes.SHA256(), 32 + NONCE_PREFIX_SIZE + 32 + 32, salt, _CONTENT_LABEL + fixed).derive(key)
        self.aead = AESGCM(okm[:32])
        self.nonce_prefix = okm[32:32 + NONCE_PREFIX_SIZE]
        self.commitment = okm[39:71]
        self.context_key = okm[71:103]

    def context_tag(self, context: bytes) -> bytes:
        return hmac.new(self.context_key, context, hashlib.sha256).digest()[:CONTEXT_TAG_SIZE]

    def nonce(self, index: int, final: bool) -> bytes:
        return self.nonce_prefix + index.to_bytes(4, "big") + (b"\x01" if final else b"\x00")


def _filler(src: BinaryIO):
    """A function filling a buffer from ``src``: the number of bytes read, short only at end of stream.

    ``readinto`` where the source has it (files, BytesIO, sockets: no allocation per chunk), else ``read``."""
    readinto = getattr(src, "readinto", None)

    def fill(buf: memoryview) -> int:
        got = 0
        while got < len(buf):
            if readinto is not None:
                n = readinto(buf[got:])
            else:
                data = src.read(len(buf) - got)
                n = None if data is None else len(data)
                if n:
                    buf[got:got + n] = data
            if n is None:
                raise BlockingIOError("non-blocking source returned no data")
            if n == 0:
                break
            got += n
        return got

    return fill


def encrypted_size(plaintext_size: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """The ciphertext's size for a plaintext of ``plaintext_size`` bytes (for upload limits and progress)."""
    _check_chunk_size(chunk_size)
    chunks = max(1, -(-plaintext_size // chunk_size))
    return HEADER_SIZE + plaintext_size + chunks * TAG_SIZE


def _sealed_pieces(key: bytes, src: BinaryIO, context: bytes, chunk_size: int):
    """The ciphertext of ``src``, piece by piece: the header, then each sealed chunk, as views of buffers reused
    for the next piece. Two plaintext buffers (this chunk and the next: a full chunk is the last one only if nothing
    follows it) and one ciphertext buffer: memory stays at three chunks, nothing is allocated per chunk."""
    key = _check_key(key)
    context = _check_context(context)
    _check_chunk_size(chunk_size)
    fixed = _FIELDS.pack(MAGIC, VERSION, bytes(3), chunk_size) + os.urandom(SALT_SIZE)
    keys = _Keys(key, fixed)
    header = fixed + keys.commitment + keys.context_tag(context)
    aad = header + context
    yield memoryview(header)
    fill = _filler(src)
    current, following = memoryview(bytearray(chunk_size)), memoryview(bytearray(chunk_size))
    out = memoryview(bytearray(chunk_size + TAG_SIZE))
    index, size = 0, fill(current)
    while True:
        next_size = fill(following) if size == chunk_size else 0
        final = next_size == 0
        if index >= MAX_CHUNKS:
            raise ValueError(f"object too large: more than {MAX_CHUNKS} chunks of {chunk_size} bytes")
        sealed = keys.aead.encrypt_into(keys.nonce(index, final), current[:size], aad, out[:size + TAG_SIZE])
        yield out[:sealed]
        if final:
            return
        current, following, size = following, current, next_size
        index += 1


def encrypt_stream(key: bytes, src: BinaryIO, dst: BinaryIO, context: bytes,
                   chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """Encrypt everything ``src`` yields into ``dst``; returns the ciphertext bytes written.

    ``context`` names what the object is (``b"inferix/scene/v1|job=12"``): decryption needs the same bytes, so a
    ciphertext cannot be passed off as another object. Memory stays at three chunks whatever the size.

    ``dst.write`` gets views of buffers reused for the next chunk (the ``io`` contract: a writer may use ``b``
    only during the call); files, ``BytesIO`` and sockets copy them.
    """
    written = 0
    for piece in _sealed_pieces(key, src, context, chunk_size):
        dst.write(piece)
        written += len(piece)
    return written


class EncryptingReader(io.RawIOBase):
    """A readable file object whose bytes are the ciphertext of ``src`` (``encrypt_stream`` turned inside out).

    For streaming uploads: hand it to whatever reads a file object (an HTTP client's request body, IPFS ``add``)
    and the object is encrypted as it is read, with no ciphertext file and three chunks of memory.
    """

    def __init__(self, key: bytes, src: BinaryIO, context: bytes, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        super().__init__()
        _check_key(key)  # fail here, not at the first read
        _check_context(context)
        _check_chunk_size(chunk_size)
        self._pieces = _sealed_pieces(key, src, context, chunk_size)
        self._piece = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        while not self._piece:
            piece = next(self._pieces, None)
            if piece is None:
                return 0
            self._piece = piece
        n = min(len(view), len(self._piece))
        view[:n] = self._piece[:n]
        self._piece = self._piece[n:]
        return n

    def close(self) -> None:
        self._pieces.close()
        self._piece = memoryview(b"")
        super().close()


def _parse_header(header: bytes, key: bytes, context: bytes) -> tuple[_Keys, int]:
    if len(header) < len(MAGIC) or header[:len(MAGIC)] != MAGIC:
        if header and MAGIC.startswith(header):
            raise DecryptionError("ciphertext truncated: the header is incomplete")
        raise DecryptionError("not an Inferix encrypted object (bad magic)" if header else
                              "not an Inferix encrypted object (empty)")
    if len(header) < _FIELDS.size:
        raise DecryptionError("ciphertext truncated: the header is incomplete")
    _, version, reserved, chunk_size = _FIELDS.unpack_from(header)
    if version != VERSION:
        raise DecryptionError(f"unsupported version {version} (this build reads version {VERSION})")
    if len(header) < HEADER_SIZE:
        raise DecryptionError("ciphertext truncated: the header is incomplete")
    if reserved != bytes(3) or not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise DecryptionError("malformed header (reserved bytes set or chunk size out of range): tampered with")
    keys = _Keys(key, header[:_FIXED])
    if not hmac.compare_digest(keys.commitment, header[_FIXED:_FIXED + COMMITMENT_SIZE]):
        raise DecryptionError("header failed authentication: the wrong key, or the header was tampered with")
    if not hmac.compare_digest(keys.context_tag(context), header[_FIXED + COMMITMENT_SIZE:HEADER_SIZE]):
        raise DecryptionError("wrong context: the object was sealed for another context (or its header was "
                              "tampered with)")
    return keys, chunk_size


def _check_header_prefix(prefix: bytes) -> None:
    """What can be told from the first bytes alone: not an Inferix object, or a version this build cannot read."""
    n = min(len(prefix), len(MAGIC))
    if prefix[:n] != MAGIC[:n]:
        raise DecryptionError("not an Inferix encrypted object (bad magic)")
    if len(prefix) > len(MAGIC) and prefix[len(MAGIC)] != VERSION:
        raise DecryptionError(f"unsupported version {prefix[len(MAGIC)]} (this build reads version {VERSION})")


class DecryptingWriter:
    """A writable object taking ciphertext and writing the plaintext to ``dst`` (``decrypt_stream`` turned inside
    out, for streaming downloads: write each piece an HTTP response yields, then ``close()``).

    Each chunk is written to ``dst`` once it has authenticated in its place. A full chunk is held back until more
    data arrives or ``close()`` says there is none, since only then is it known whether it must be the final one:
    **``close()`` (or leaving the ``with`` block normally) is what detects truncation**, so the object is whole only
    once it has returned. Raises ``DecryptionError`` from ``write`` or ``close``; after an error, or leaving the
    ``with`` block by an exception, the writer is closed without the final check, and what it already wrote to
    ``dst`` (authenticated chunks of an object that did not open) must be discarded. Memory: two chunks.
    """

    def __init__(self, key: bytes, dst: BinaryIO, context: bytes) -> None:
        self._key = _check_key(key)
        self._context = _check_context(context)
        self._dst = dst
        self._header = bytearray()
        self._keys: _Keys | None = None
        self._aad = b""
        self._block: memoryview | None = None  # the chunk being gathered
        self._filled = 0
        self._out: memoryview | None = None
        self._index = 0
        self.plaintext_bytes = 0
        self.closed = False

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.closed:
            raise ValueError("write to a closed DecryptingWriter")
        view = memoryview(data).cast("B")
        total = len(view)
        try:
            while view:
                if self._keys is None:
                    take = min(HEADER_SIZE - len(self._header), len(view))
                    self._header += view[:take]
                    view = view[take:]
                    _check_header_prefix(self._header)  # a stream that is not ours fails at once
                    if len(self._header) == HEADER_SIZE:
                        self._start()
                    continue
                if self._filled == len(self._block):  # a full chunk with more data after it: not the last one
                    self._open(last=False)
                take = min(len(self._block) - self._filled, len(view))
                self._block[self._filled:self._filled + take] = view[:take]
                self._filled += take
                view = view[take:]
        except DecryptionError:
            self.closed = True
            raise
        return total

    def _start(self) -> None:
        header = bytes(self._header)
        self._keys, chunk_size = _parse_header(header, self._key, self._context)
        self._aad = header + self._context
        self._block = memoryview(bytearray(chunk_size + TAG_SIZE))
        self._out = memoryview(bytearray(chunk_size))

    def _open(self, last: bool) -> None:
        index, size = self._index, self._filled
        if index >= MAX_CHUNKS:
            raise DecryptionError(f"malformed object: more than {MAX_CHUNKS} chunks")
        if size < TAG_SIZE:
            raise DecryptionError(f"ciphertext truncated: chunk {index} is shorter than its tag")
        chunk = self._block[:size]
        try:
            n = self._keys.aead.decrypt_into(self._keys.nonce(index, last), chunk, self._aad,
                                             self._out[:size - TAG_SIZE])
        except InvalidTag:
            self._out[:] = bytes(len(self._out))  # what failed to authenticate never leaves, not even in a buffer
            raise DecryptionError(_diagnose(self._keys, index, last, bytes(chunk), self._aad)) from None
        self._dst.write(self._out[:n])
        self.plaintext_bytes += n
        self._index += 1
        self._filled = 0

    def close(self) -> None:
        """Open the final chunk; ``DecryptionError`` if the object is truncated or its last chunk tampered with."""
        if self.closed:
            return
        self.closed = True
        if self._keys is None:
            _parse_header(bytes(self._header), self._key, self._context)  # raises: empty, truncated, not ours
        if self._filled == 0:
            raise DecryptionError("ciphertext truncated: no chunk after the header")
        self._open(last=True)

    def abort(self) -> None:
        """Close without the final check (the stream failed elsewhere)."""
        self.closed = True

    def __enter__(self) -> "DecryptingWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def decrypt_stream(key: bytes, src: BinaryIO, dst: BinaryIO, context: bytes) -> int:
    """Decrypt ``src`` into ``dst``; returns the plaintext bytes written. Raises ``DecryptionError``.

    A chunk is written only once it has authenticated in its place, but a failure at chunk *k* leaves chunks
    0 .. k-1 written to ``dst``: where no partial plaintext may survive a failure, use ``decrypt_file`` or
    ``unseal``. The chunk size comes from the (authenticated) header; memory stays at three chunks (64 MiB chunks
    at most, whatever a header says). ``dst.write`` gets views of reused buffers, as in ``encrypt_stream``.
    """
    writer = DecryptingWriter(key, dst, context)
    readinto = getattr(src, "readinto", None)
    buffer = memoryview(bytearray(HEADER_SIZE))  # the header first, then reads of one whole chunk
    while True:
        if readinto is not None:
            n = readinto(buffer)
            data = buffer[:n] if n else None
        else:
            data = src.read(len(buffer))
            n = None if data is None else len(data)
        if n is None:
            raise BlockingIOError("non-blocking source returned no data")
        if n == 0:
            break
        writer.write(data)
        if writer._block is not None and len(buffer) != len(writer._block):
            buffer = memoryview(bytearray(len(writer._block)))
    writer.close()
    return writer.plaintext_bytes


def _opens(keys: _Keys, index: int, final: bool, chunk: bytes, aad: bytes) -> bool:
    try:
        keys.aead.decrypt(keys.nonce(index, final), chunk, aad)
        return True
    except InvalidTag:
        return False


def _diagnose(keys: _Keys, index: int, last: bool, chunk: bytes, aad: bytes) -> str:
    """Why chunk ``index`` failed (only on failure, so the extra decryption costs nothing on the good path)."""
    if _opens(keys, index, not last, chunk, aad):
        if last:
            return f"ciphertext truncated: the final chunk is missing (chunk {index} is not the last one sealed)"
        return f"unexpected data after the final chunk {index}: ciphertext extended"
    if last:
        return (f"chunk {index} failed authentication (the last chunk present: ciphertext truncated or tampered "
                f"with, or the wrong key)")
    return f"chunk {index} failed authentication (tampered with or reordered, or the wrong key)"


class _Buffer:
    """A write-only sink gathering chunks (one join at the end instead of BytesIO's growing copies)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))  # the stream functions reuse their buffers
        return len(data)

    def getvalue(self) -> bytes:
        return b"".join(self.parts)


def seal(key: bytes, data: bytes, context: bytes, chunk_size: int = DEFAULT_CHUNK_SIZE) -> bytes:
    """``data`` encrypted under ``key`` for ``context`` (the stream format, in memory)."""
    out = _Buffer()
    encrypt_stream(key, io.BytesIO(data), out, context, chunk_size)
    return out.getvalue()


def unseal(key: bytes, blob: bytes, context: bytes) -> bytes:
    """The plaintext of a ``seal``ed (or streamed) object; ``DecryptionError`` if it does not open (nothing of it
    is returned then)."""
    out = _Buffer()
    with DecryptingWriter(key, out, context) as writer:
        writer.write(blob)
    return out.getvalue()


def _atomic(path_in, path_out, work, fsync: bool) -> int:
    """Run ``work(src, dst)`` into a private temporary file next to ``path_out``; rename it on success only."""
    path_in, path_out = Path(path_in), Path(path_out)
    if path_out.exists() and path_in.exists() and os.path.samefile(path_in, path_out):
        raise ValueError(f"input and output are the same file: {path_out}")
    fd, tmp = tempfile.mkstemp(dir=path_out.parent, prefix=f".{path_out.name}.", suffix=".part")  # mode 0600
    try:
        with open(path_in, "rb") as src, os.fdopen(fd, "wb") as dst:
            result = work(src, dst)
            if fsync:
                dst.flush()
                os.fsync(dst.fileno())
        os.replace(tmp, path_out)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return result


def encrypt_file(key: bytes, path_in: str | os.PathLike, path_out: str | os.PathLike, context: bytes,
                 chunk_size: int = DEFAULT_CHUNK_SIZE, fsync: bool = False) -> int:
    """Encrypt a file; ``path_out`` appears only once it is complete (written to a temporary file in the same
    directory, renamed on success). Returns the ciphertext size. ``fsync=True`` also makes it durable before the
    rename (survives a power cut), at the cost of waiting for the disk."""
    return _atomic(path_in, path_out, lambda src, dst: encrypt_stream(key, src, dst, context, chunk_size), fsync)


def decrypt_file(key: bytes, path_in: str | os.PathLike, path_out: str | os.PathLike, context: bytes,
                 fsync: bool = False) -> int:
    """Decrypt a file; on any failure no output file is left behind, not even a partial one (an existing
    ``path_out`` is left as it was). The output is created with mode 0600. Returns the plaintext size."""
    return _atomic(path_in, path_out, lambda src, dst: decrypt_stream(key, src, dst, context), fsync)


# ---------------------------------------------------------------- HPKE (RFC 9180), base mode, single-shot

KEM_ID, KDF_ID, AEAD_ID = 0x0020, 0x0001, 0x0002  # DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM
_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
N_ENC = 32
WRAPPED_KEY_SIZE = N_ENC + KEY_SIZE + TAG_SIZE  # 80
_WRAP_LABEL = b"inferix/key-wrap/v1\x00"


def _raw_public(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _private(private: bytes) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(_check_key(private, "private key"))


def generate_keypair() -> tuple[bytes, bytes]:
    """A new X25519 key pair for receiving wrapped keys: ``(private 32 bytes, public 32 bytes)``."""
    sk = X25519PrivateKey.generate()
    return sk.private_bytes_raw(), _raw_public(sk)


def public_key(private: bytes) -> bytes:
    """The X25519 public key (32 bytes) of a private key."""
    return _raw_public(_private(private))


def _check_public(pk: bytes) -> bytes:
    return _check_key(pk, "public key")


def fingerprint(public: bytes) -> bytes:
    """A recipient's 16-byte name in envelopes: SHA-256("inferix/x25519/v1" ‖ public key)[:16]."""
    return hashlib.sha256(b"inferix/x25519/v1" + _check_public(public)).digest()[:16]


def _check_info(info: bytes) -> bytes:
    if not isinstance(info, (bytes, bytearray, memoryview)):
        raise TypeError(f"info must be bytes, not {type(info).__name__}")
    return _WRAP_LABEL + bytes(info)


def wrap_key(content_key: bytes, recipient_public: bytes, info: bytes) -> bytes:
    """``content_key`` encrypted to one recipient for the purpose ``info``: ``enc (32) ‖ ciphertext (48)``.

    HPKE single-shot ``Seal`` (base mode, empty aad) with ``info = "inferix/key-wrap/v1" 0x00 ‖ info``."""
    content_key = _check_key(content_key)
    public = X25519PublicKey.from_public_bytes(_check_public(recipient_public))
    return _SUITE.encrypt(content_key, public, info=_check_info(info))  # ValueError for a small-order key


def unwrap_key(wrapped: bytes, recipient_private: bytes, info: bytes) -> bytes:
    """The content key from ``wrap_key``'s output; ``DecryptionError`` for another recipient or another info."""
    hpke_info = _check_info(info)
    private = _private(recipient_private)
    if len(wrapped) != WRAPPED_KEY_SIZE:
        raise DecryptionError(f"wrapped key is {len(wrapped)} bytes, expected {WRAPPED_KEY_SIZE}")
    try:
        return _SUITE.decrypt(bytes(wrapped), private, info=hpke_info)
    except (InvalidTag, ValueError):  # ValueError: enc is a small-order point
        raise DecryptionError("key unwrap failed: not wrapped to this key, or for another purpose (info), or "
                              "tampered with") from None


# ---------------------------------------------------------------- envelopes: one content key, several recipients

ENVELOPE_MAGIC = b"\x89IFXKEY\n"
ENVELOPE_VERSION = 1
_ENVELOPE_HEAD = struct.Struct(">8sBH")
_ENTRY_SIZE = 16 + WRAPPED_KEY_SIZE
MAX_RECIPIENTS = 0xFFFF


def make_envelope(content_key: bytes, recipients: Mapping[str, bytes] | Iterable[bytes], info: bytes) -> bytes:
    """``content_key`` wrapped to every recipient (a ``{name: public key}`` mapping or public keys).

    The names are the caller's; the envelope stores each public key's ``fingerprint``, in the given order.
    """
    keys = list(recipients.values()) if isinstance(recipients, Mapping) else list(recipients)
    if not keys:
        raise ValueError("an envelope needs at least one recipient")
    if len(keys) > MAX_RECIPIENTS:
        raise ValueError(f"at most {MAX_RECIPIENTS} recipients")
    prints = [fingerprint(pk) for pk in keys]
    if len(set(prints)) != len(prints):
        raise ValueError("the same public key is listed twice")
    parts = [_ENVELOPE_HEAD.pack(ENVELOPE_MAGIC, ENVELOPE_VERSION, len(keys))]
    for fp, pk in zip(prints, keys):
        parts.append(fp + wrap_key(content_key, pk, info))
    return b"".join(parts)


def _entries(envelope: bytes) -> list[tuple[bytes, bytes]]:
    envelope = bytes(envelope)
    if len(envelope) < len(ENVELOPE_MAGIC) or envelope[:len(ENVELOPE_MAGIC)] != ENVELOPE_MAGIC:
        raise DecryptionError("not an Inferix key envelope (bad magic)")
    if len(envelope) < _ENVELOPE_HEAD.size:
        raise DecryptionError("key envelope truncated")
    _, version, count = _ENVELOPE_HEAD.unpack_from(envelope)
    if version != ENVELOPE_VERSION:
        raise DecryptionError(f"unsupported key envelope version {version} (this build reads version "
                              f"{ENVELOPE_VERSION})")
    expected = _ENVELOPE_HEAD.size + count * _ENTRY_SIZE
    if len(envelope) != expected:
        raise DecryptionError(f"malformed key envelope: {len(envelope)} bytes for {count} recipients "
                              f"(expected {expected})")
    return [(envelope[at:at + 16], envelope[at + 16:at + _ENTRY_SIZE])
            for at in range(_ENVELOPE_HEAD.size, expected, _ENTRY_SIZE)]


def envelope_fingerprints(envelope: bytes) -> list[bytes]:
    """The fingerprints of an envelope's recipients, in order."""
    return [fp for fp, _ in _entries(envelope)]


def open_envelope(envelope: bytes, private_key: bytes, info: bytes) -> bytes:
    """The content key in ``envelope`` for the holder of ``private_key``; ``DecryptionError`` if the key is not
    a recipient, or the envelope was made for another purpose (``info``) or tampered with."""
    entries = _entries(envelope)
    mine = fingerprint(public_key(private_key))
    candidates = [wrapped for fp, wrapped in entries if hmac.compare_digest(fp, mine)]
    if not candidates:
        raise DecryptionError(f"not a recipient of this key envelope (no entry for key {mine.hex()})")
    for wrapped in candidates:
        try:
            return unwrap_key(wrapped, private_key, info)
        except DecryptionError:
            continue
    raise DecryptionError("this key's envelope entry does not open: the envelope was made for another purpose "
                          "(info), or tampered with")
