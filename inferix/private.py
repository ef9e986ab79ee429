"""Private objects on IPFS (docs/security.md, "Private jobs"): a file stored as ciphertext under a fresh content key,
with a key envelope that only its recipients open. IPFS and anyone fetching the two CIDs see ciphertext and sizes;
a recipient holding one of the envelope's keys (``inferix.keys.Keystore``) gets the plaintext back, and any changed
byte of either object is refused.

``purpose`` names what the object is for (``b"scene|job=12"``, ``b"package|job=12|task=3|attempt=1"``): it is bound
into both the envelope (HPKE ``info``) and every chunk of the content (its context), so a key or a ciphertext made
for one purpose never opens as another."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from inferix import crypto
from inferix.keys import Keystore
from inferix.storage import IPFSStore

PREFIX = b"inferix/private/v1|"


@dataclass(frozen=True)
class PrivateObject:
    """Where a private object lives: its ciphertext's CID and its key envelope's CID."""

    cid: str
    envelope: str


def _labels(purpose: bytes) -> tuple[bytes, bytes]:
    if not isinstance(purpose, bytes) or not purpose:
        raise ValueError("a private object needs a purpose (bytes), e.g. b'scene|job=12'")
    return PREFIX + b"envelope|" + purpose, PREFIX + b"content|" + purpose


def put(store: IPFSStore, path: str | os.PathLike, recipients: Mapping[str, bytes] | Iterable[bytes],
        purpose: bytes) -> PrivateObject:
    """Encrypt the file at ``path`` under a new content key, wrap that key to ``recipients`` (X25519 public keys),
    and add both to IPFS. The plaintext never reaches IPFS."""
    info, context = _labels(purpose)
    key = crypto.new_content_key()
    envelope = crypto.make_envelope(key, recipients, info)
    with tempfile.TemporaryDirectory(prefix="inferix-private-") as scratch:
        sealed = Path(scratch) / "object"
        crypto.encrypt_file(key, path, sealed, context)
        cid = store.add_file(sealed)
    return PrivateObject(cid=cid, envelope=store.add_bytes(envelope))


def get(store: IPFSStore, obj: PrivateObject, keystore: Keystore, purpose: bytes, dest: str | os.PathLike) -> Path:
    """Fetch, open and decrypt a private object into ``dest`` (written only when whole and authentic). Raises
    ``inferix.crypto.DecryptionError`` when none of our keys is a recipient, for a changed or truncated object, or
    for an envelope made for another purpose; nothing is written then."""
    info, context = _labels(purpose)
    key = keystore.open_envelope(store.cat(obj.envelope), info)
    dest = Path(dest)
    with tempfile.TemporaryDirectory(prefix="inferix-private-", dir=dest.parent) as scratch:
        sealed = Path(scratch) / "object"
        sealed.write_bytes(store.cat(obj.cid))
        crypto.decrypt_file(key, sealed, dest, context)
    return dest
