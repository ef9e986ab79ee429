"""A node's encryption keys: the X25519 key pair that private jobs wrap content keys to (``inferix.crypto``), kept in
a local keystore file, and its public half published on chain (``contracts/KeyRegistry.vy``).

The encryption key is not the wallet key: the wallet signs transactions, this key opens envelopes, and either can be
replaced without the other. docs/security.md ("Node encryption keys") explains the whole arrangement.

* **The keystore** (``load_or_create``, ``load``, ``rotate``): one JSON file, mode 0600, created atomically, never
  overwritten by ``load_or_create`` (a corrupt or unreadable file raises ``KeystoreError`` and stays as it was for
  the operator to look at). It holds the current key pair and every retired one, newest first::

      {"format": 1, "kind": "inferix-encryption-keystore",
       "current": {"private": hex, "public": hex, "created": unix seconds},
       "retired": [{"private": hex, "public": hex, "created": unix seconds, "retired": unix seconds}, ...]}

  ``rotate`` makes a new current key and retires the old one; retired keys are kept so that anything wrapped to
  them (tasks in flight, frames stored long ago) still opens: ``Keystore.private_for`` finds the private key for an
  envelope's recipient (a public key or its 16-byte fingerprint), ``Keystore.open_envelope`` opens an envelope
  with whichever held key it names.

* **On chain** (``register``, ``recipient_key``, ``key_record``): ``register`` publishes the keystore's current public
  key (``KeyRegistry.setKey``) unless the chain has it already; the registry keeps the key it replaces honoured
  for ``KeyRegistry.ROTATION_GRACE``. ``recipient_key`` is what a party wrapping a content key to an account
  calls: the account's current key, validated (``validate_public_key``), or ``NoEncryptionKey`` when it has none,
  revoked it, or published an unusable one.

The registry refuses only the zero key and the small-order points' encodings; the full check of a key is
``validate_public_key`` here, which every reader applies before wrapping to a key read from the chain.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from inferix import crypto

__all__ = [
    "REGISTRY", "KEYSTORE_FORMAT", "KEYSTORE_KIND", "LOW_ORDER_POINTS", "KeystoreError", "NoPrivateKey",
    "InvalidPublicKey", "NoEncryptionKey", "KeyPair", "Keystore", "KeyRecord", "load", "load_or_create", "rotate",
    "validate_public_key", "register", "recipient_key", "key_record",
]

REGISTRY = "KeyRegistry"  # the contract's name in the deployments file
KEYSTORE_FORMAT = 1
KEYSTORE_KIND = "inferix-encryption-keystore"
MAX_KEYSTORE_BYTES = 4 * 1024 * 1024  # ~20,000 retired keys; anything larger is not a keystore
_P = 2**255 - 19
_ZERO = bytes(32)

# The encodings of the X25519 (Curve25519 and its twist) points of small order, top bit clear: u = 0, 1, the two
# u-coordinates of order 8, p - 1, and the non-canonical p (= 0) and p + 1 (= 1). The same list as the contract's
# LOW_ORDER (and libsodium's blocklist); each is also refused with its top bit set.
LOW_ORDER_POINTS = frozenset(bytes.fromhex(h) for h in (
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
))


class KeystoreError(ValueError):
    """The keystore file cannot be used: unreadable, corrupt, readable by others, or its key revoked on chain. The
    message names the file and what is wrong; the file is left as it was."""


class NoPrivateKey(KeyError):
    """The keystore holds no private key for that public key or fingerprint."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "no such key"


class InvalidPublicKey(ValueError):
    """32 bytes that must not be wrapped to: the wrong size, zero, a small-order point, or a non-canonical
    encoding."""


class NoEncryptionKey(KeyError):
    """The account has no usable encryption key on chain: it never set one, revoked it, or published one that
    fails ``validate_public_key``. Nothing may be wrapped to it; ``account`` says which account."""

    def __init__(self, account: str, reason: str = "has no encryption key registered (never set, or revoked)"):
        super().__init__(f"{account} {reason}")
        self.account = account

    def __str__(self) -> str:
        return str(self.args[0])


# ---------------------------------------------------------------- validation


def validate_public_key(key: Any) -> bytes:
    """``key`` as 32 bytes if it is safe to wrap to, else ``InvalidPublicKey`` saying why.

    Refused: anything but 32 bytes, the zero key, the small-order points (``LOW_ORDER_POINTS``, with or without the
    ignored top bit), non-canonical encodings (u >= p: a key has one encoding, so its fingerprint is unique), and
    anything ``cryptography`` will not load or whose exchange with a fresh key gives the all-zero secret (which
    covers every small-order point, listed or not)."""
    if not isinstance(key, (bytes, bytearray, memoryview)):
        raise InvalidPublicKey(f"a public key must be bytes, not {type(key).__name__}")
    key = bytes(key)
    if len(key) != 32:
        raise InvalidPublicKey(f"a public key must be 32 bytes, not {len(key)}")
    if key == _ZERO:
        raise InvalidPublicKey("the zero key is not a public key")
    if key[:31] + bytes([key[31] & 0x7F]) in LOW_ORDER_POINTS:
        raise InvalidPublicKey(f"{key.hex()} is a small-order X25519 point: anyone could compute the shared secret")
    if int.from_bytes(key, "little") >= _P:
        raise InvalidPublicKey(f"{key.hex()} is not a canonical X25519 encoding (u >= 2^255 - 19)")
    try:
        X25519PrivateKey.generate().exchange(X25519PublicKey.from_public_bytes(key))
    except ValueError as exc:
        raise InvalidPublicKey(f"{key.hex()} is not a usable X25519 public key: {exc}") from None
    return key


# ---------------------------------------------------------------- the keystore


@dataclass(frozen=True)
class KeyPair:
    """One X25519 key pair: ``private`` (32 bytes, never shown by ``repr``), ``public`` (32 bytes), when it was
    created and, for a retired key, when it was retired (unix seconds)."""

    private: bytes = field(repr=False)
    public: bytes
    created: int
    retired: int | None = None

    @property
    def fingerprint(self) -> bytes:
        """The key's 16-byte name in envelopes (``inferix.crypto.fingerprint``)."""
        return crypto.fingerprint(self.public)

    @classmethod
    def generate(cls, now: int | None = None) -> "KeyPair":
        private, public = crypto.generate_keypair()
        return cls(private, public, int(time.time()) if now is None else now)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"private": self.private.hex(), "public": self.public.hex(), "created": self.created}
        if self.retired is not None:
            data["retired"] = self.retired
        return data


class Keystore:
    """The key pairs in one keystore file: ``current()`` and the retired ones (newest first). Read-only: change it
    with ``rotate``."""

    def __init__(self, path: str | os.PathLike, current: KeyPair, retired: tuple[KeyPair, ...] = ()) -> None:
        self.path = Path(path)
        self._current = current
        self.retired = tuple(retired)

    def current(self) -> KeyPair:
        """The key pair parties wrap to now: the one ``register`` publishes."""
        return self._current

    @property
    def public_key(self) -> bytes:
        """The current public key (32 bytes)."""
        return self._current.public

    def keys(self) -> tuple[KeyPair, ...]:
        """Every key pair held: the current one first, then the retired ones, newest first."""
        return (self._current, *self.retired)

    def private_for(self, key: bytes) -> bytes:
        """The private key for ``key``: a recipient's 32-byte public key, or the 16-byte fingerprint an envelope
        names it by. Searches the current and the retired keys; ``NoPrivateKey`` if none matches."""
        key = bytes(key)
        if len(key) == 32:
            wanted = crypto.fingerprint(key)
        elif len(key) == 16:
            wanted = key
        else:
            raise ValueError(f"expected a 32-byte public key or a 16-byte fingerprint, not {len(key)} bytes")
        for pair in self.keys():
            if hmac.compare_digest(pair.fingerprint, wanted):
                return pair.private
        raise NoPrivateKey(f"the keystore {self.path} holds no private key with fingerprint {wanted.hex()} "
                           f"(searched {len(self.keys())} keys: the current one and {len(self.retired)} retired)")

    def open_envelope(self, envelope: bytes, info: bytes) -> bytes:
        """The content key in ``envelope`` (``inferix.crypto.make_envelope``), opened with whichever held key it
        names, the current one first. ``inferix.crypto.DecryptionError`` if it names none of them, or does not open
        (another ``info``, tampered with)."""
        named = set(crypto.envelope_fingerprints(envelope))
        matches = [pair for pair in self.keys() if pair.fingerprint in named]
        if not matches:
            raise crypto.DecryptionError(f"not a recipient of this key envelope: none of the {len(self.keys())} "
                                         f"keys in {self.path} is named in it")
        error: crypto.DecryptionError | None = None
        for pair in matches:
            try:
                return crypto.open_envelope(envelope, pair.private, info)
            except crypto.DecryptionError as exc:
                error = exc
        raise error  # type: ignore[misc]

    def to_dict(self) -> dict[str, Any]:
        return {"format": KEYSTORE_FORMAT, "kind": KEYSTORE_KIND, "current": self._current.to_dict(),
                "retired": [pair.to_dict() for pair in self.retired]}

    def __repr__(self) -> str:
        return (f"Keystore({str(self.path)!r}, current={self._current.fingerprint.hex()}, "
                f"retired={len(self.retired)})")


def _pair(entry: Any, where: str, retired: bool) -> KeyPair:
    if not isinstance(entry, dict):
        raise ValueError(f"{where} is not an object")
    try:
        private = bytes.fromhex(entry["private"])
        public = bytes.fromhex(entry["public"])
        created = entry["created"]
        retired_at = entry.get("retired")
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where} lacks a field or has a malformed one ({exc.__class__.__name__}: {exc})") from None
    if len(private) != 32 or len(public) != 32:
        raise ValueError(f"{where}: keys must be 32 bytes")
    if not isinstance(created, int) or isinstance(created, bool) or created < 0:
        raise ValueError(f"{where}: bad creation time {created!r}")
    if retired_at is not None and (not isinstance(retired_at, int) or isinstance(retired_at, bool)):
        raise ValueError(f"{where}: bad retirement time {retired_at!r}")
    if retired != (retired_at is not None):
        raise ValueError(f"{where}: " + ("a retired key without its retirement time" if retired else
                                         "the current key has a retirement time"))
    if crypto.public_key(private) != public:
        raise ValueError(f"{where}: the public key is not the private key's (the file is damaged)")
    return KeyPair(private, public, created, retired_at)


def _parse(path: Path, raw: bytes) -> Keystore:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeystoreError(f"keystore {path} is not valid JSON ({exc}); it was left as it is") from None
    if not isinstance(data, dict) or data.get("kind") != KEYSTORE_KIND:
        raise KeystoreError(f"{path} is not an Inferix encryption keystore (no \"kind\": \"{KEYSTORE_KIND}\"); it was "
                            "left as it is")
    if data.get("format") != KEYSTORE_FORMAT:
        raise KeystoreError(f"keystore {path} has format {data.get('format')!r}; this build reads format "
                            f"{KEYSTORE_FORMAT}")
    try:
        current = _pair(data.get("current"), "the current key", retired=False)
        retired_list = data.get("retired", [])
        if not isinstance(retired_list, list):
            raise ValueError("\"retired\" is not a list")
        retired = tuple(_pair(entry, f"retired key {i}", retired=True) for i, entry in enumerate(retired_list))
    except ValueError as exc:
        raise KeystoreError(f"keystore {path} is corrupt: {exc}; it was left as it is") from None
    publics = [pair.public for pair in (current, *retired)]
    if len(set(publics)) != len(publics):
        raise KeystoreError(f"keystore {path} is corrupt: it lists the same key twice; it was left as it is")
    return Keystore(path, current, retired)


def load(path: str | os.PathLike) -> Keystore:
    """The keystore at ``path``; ``KeystoreError`` if it is missing, unreadable, readable by other users, too large
    or corrupt (the file is never modified here)."""
    path = Path(path)
    if path.is_symlink():
        raise KeystoreError(f"keystore {path} is a symbolic link: give the file's own path (rotation replaces the "
                            "file in its directory)")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise KeystoreError(f"no keystore at {path}") from None
    except OSError as exc:
        raise KeystoreError(f"cannot open keystore {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise KeystoreError(f"keystore {path} is not a regular file")
        if os.name == "posix" and info.st_mode & 0o077:
            raise KeystoreError(f"keystore {path} is accessible by other users (mode {info.st_mode & 0o777:04o}): "
                                f"its private keys may have leaked; restrict it (chmod 600 {path}), and rotate the "
                                "key if others could have read it")
        raw = handle.read(MAX_KEYSTORE_BYTES + 1)
    if len(raw) > MAX_KEYSTORE_BYTES:
        raise KeystoreError(f"{path} is larger than {MAX_KEYSTORE_BYTES} bytes: not a keystore")
    return _parse(path, raw)


def _serialize(keystore: Keystore) -> bytes:
    return (json.dumps(keystore.to_dict(), indent=1) + "\n").encode()


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temporary(path: Path, data: bytes) -> str:
    """``data`` in a new private (0600) file next to ``path``, synced to disk; its name."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock on the keystore's directory entry (a ``.<name>.lock`` file beside it): one rotation or
    creation at a time, across processes. Readers need no lock (the file is only ever replaced whole)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no inter-process lock
        yield
        return
    fd = os.open(path.parent / f".{path.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _create(path: Path) -> Keystore:
    """A new keystore at ``path``, which must not exist: written whole to a temporary file, then linked into place
    (``FileExistsError`` if another process created it first)."""
    keystore = Keystore(path, KeyPair.generate())
    tmp = _temporary(path, _serialize(keystore))
    try:
        os.link(tmp, path)  # atomic, and fails if the path exists: never overwrites
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(path.parent)
    return keystore


def load_or_create(path: str | os.PathLike) -> Keystore:
    """The keystore at ``path``, created with a fresh key pair (mode 0600, its directory 0700 if new) when there is
    none. An existing file is only ever read: if it is corrupt or unreadable this raises ``KeystoreError`` and
    leaves it as it is (a new key would strand everything wrapped to the old ones)."""
    path = Path(path)
    if path.exists() or path.is_symlink():
        return load(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _locked(path):
        if path.exists() or path.is_symlink():
            return load(path)
        try:
            return _create(path)
        except FileExistsError:
            return load(path)


def rotate(path: str | os.PathLike) -> Keystore:
    """A new current key pair in the keystore at ``path``; the old current key is retired and kept (what was
    wrapped to it still opens). Returns the new keystore; publish its key with ``register``. The file is replaced
    atomically: a crash leaves the old keystore or the new one, never a mix."""
    path = Path(path)
    with _locked(path):
        old = load(path)
        now = int(time.time())
        retiring = KeyPair(old.current().private, old.current().public, old.current().created, now)
        keystore = Keystore(path, KeyPair.generate(now), (retiring, *old.retired))
        tmp = _temporary(path, _serialize(keystore))
        try:
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(path.parent)
    return keystore


# ---------------------------------------------------------------- on chain


@dataclass(frozen=True)
class KeyRecord:
    """An account's keys in ``KeyRegistry.keysOf``: ``current`` (None when it has none), when it was set,
    ``previous`` (None when none or no longer honoured) and the last second it is honoured at (0 when none)."""

    current: bytes | None
    current_since: int
    previous: bytes | None
    previous_until: int

    def honours(self, key: bytes) -> bool:
        """Whether ``key`` is one of the account's keys as of this record (current, or previous within the
        grace period)."""
        return bytes(key) != _ZERO and bytes(key) in (self.current, self.previous)


def key_record(chain, account: str) -> KeyRecord:
    """``account``'s keys on chain (current, and previous within the rotation grace), unvalidated."""
    current, since, previous, until = chain.call(REGISTRY, "keysOf", account)
    current, previous = bytes(current), bytes(previous)
    return KeyRecord(current if current != _ZERO else None, int(since), previous if previous != _ZERO else None,
                     int(until))


def recipient_key(chain, account: str) -> bytes:
    """The public key to wrap to for ``account``: its current key on chain, validated (``validate_public_key``).
    ``NoEncryptionKey`` when it has none (never set, or revoked) or the key it published is unusable."""
    key = bytes(chain.call(REGISTRY, "keyOf", account))
    if key == _ZERO:
        raise NoEncryptionKey(account)
    try:
        return validate_public_key(key)
    except InvalidPublicKey as exc:
        raise NoEncryptionKey(account, f"published an unusable encryption key: {exc}") from None


def register(chain, keystore: Keystore) -> dict | None:
    """Publish the keystore's current public key as ``chain``'s account's key (``KeyRegistry.setKey``) unless the
    chain has it already. Returns the receipt, or None when nothing was sent. ``KeystoreError`` if the account
    revoked that key (rotate first)."""
    key = keystore.public_key
    account = chain.address
    if bytes(chain.call(REGISTRY, "keyOf", account)) == key:
        return None
    if chain.call(REGISTRY, "revoked", account, key):
        raise KeystoreError(f"the current key in {keystore.path} ({crypto.fingerprint(key).hex()}) was revoked on "
                            f"chain by {account}: rotate the keystore (inferix.keys.rotate) and register the new key")
    return chain.transact(REGISTRY, "setKey", key)
