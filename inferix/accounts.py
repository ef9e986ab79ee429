"""Load a node's signing account without ever printing its key.

Sources, in order of preference:

* an Ape account alias (``ape accounts import ALIAS``): the standard keystore at ``~/.ape/accounts/ALIAS.json``;
* a keystore file (Web3 Secret Storage v3 JSON) with its password from ``INFERIX_KEY_PASSWORD`` or a file;
* a raw private key in a file (``0x…`` hex; for local development chains only).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount


class AccountError(RuntimeError):
    """The account could not be loaded (the message never contains key material)."""


def _password(password: str | None, password_file: Path | None) -> str:
    if password is not None:
        return password
    if password_file is not None:
        return Path(password_file).read_text().rstrip("\n")
    env = os.environ.get("INFERIX_KEY_PASSWORD")
    if env is None:
        raise AccountError("keystore password missing: set INFERIX_KEY_PASSWORD or pass a password file")
    return env


def from_keystore(path: Path, password: str | None = None, password_file: Path | None = None) -> LocalAccount:
    path = Path(path).expanduser()
    try:
        keyfile = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise AccountError(f"cannot read keystore {path}: {exc.__class__.__name__}") from None
    try:
        key = Account.decrypt(keyfile, _password(password, password_file))
    except ValueError:
        raise AccountError(f"wrong password for keystore {path}") from None
    return Account.from_key(key)


def from_ape_alias(alias: str, password: str | None = None, password_file: Path | None = None) -> LocalAccount:
    data_folder = Path(os.environ.get("APE_DATA_FOLDER", Path.home() / ".ape"))
    path = data_folder / "accounts" / f"{alias}.json"
    if not path.exists():
        raise AccountError(f"no Ape account named {alias!r} (looked for {path})")
    return from_keystore(path, password, password_file)


def from_key_file(path: Path) -> LocalAccount:
    path = Path(path).expanduser()
    try:
        text = path.read_text().strip()
        return Account.from_key(text)
    except OSError as exc:
        raise AccountError(f"cannot read key file {path}: {exc.__class__.__name__}") from None
    except (ValueError, TypeError):
        raise AccountError(f"key file {path} does not hold a valid private key") from None


def load_account(spec: str, password_file: Path | None = None) -> LocalAccount:
    """``ape:ALIAS``, ``keystore:PATH`` or ``keyfile:PATH``."""
    kind, _, value = spec.partition(":")
    if kind == "ape" and value:
        return from_ape_alias(value, password_file=password_file)
    if kind == "keystore" and value:
        return from_keystore(Path(value), password_file=password_file)
    if kind == "keyfile" and value:
        return from_key_file(Path(value))
    raise AccountError(f"account spec must be ape:ALIAS, keystore:PATH or keyfile:PATH, got {kind!r}")
