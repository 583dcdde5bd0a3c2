"""Encryption of face templates at rest (AES-256-GCM) and authentication of the rows that
decide publishing (HMAC-SHA256), both from the one key kept in its own file.

Each template is bound to its person id (associated data), so an encrypted template
cannot be moved to another person's record without the key. The MAC keys are derived
from the file's key with HKDF, one per purpose, so no key is used for two jobs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import RegistryError

NONCE_BYTES = 12
KEY_BYTES = 32


class KeyFileError(RegistryError):
    """The key file is missing, unreadable or does not unlock the registry."""


class DecryptionError(RegistryError):
    """A stored value could not be decrypted with the key (wrong key or altered data)."""


def create_key_file(path: Path) -> bytes:
    """Write a new random key to `path` (owner-only permissions) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"the key file {path} already exists; it was not overwritten") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.urlsafe_b64encode(key).decode("ascii") + "\n")
    return key


def read_key_file(path: Path) -> bytes:
    """The key stored in `path`; KeyFileError with a plain message when it is not usable."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise KeyFileError(f"the key file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"the key file {path} cannot be read ({exc})") from None
    try:
        key = base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise KeyFileError(
            f"the key file {path} does not hold a consent registry key "
            "(it should be one line of 44 characters): restore it from your backup"
        )
    return key


def key_file_is_private(path: Path) -> bool:
    """False when other users on this computer may read the key file."""
    return not (path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def encrypt(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """nonce + ciphertext (with its authentication tag)."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def decrypt(key: bytes, blob: bytes, context: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context)
    except (InvalidTag, ValueError):
        raise DecryptionError("the value cannot be decrypted with this key") from None


def derive_key(key: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose ("rows", "audit"), derived from the file's key."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=None,
        info=b"cedar-hollow consent registry v2: " + purpose.encode("ascii"),
    ).derive(key)


def canonical(values: tuple) -> bytes:
    """One unambiguous byte string for a row's values (bytes as hex)."""
    return json.dumps(
        [v.hex() if isinstance(v, bytes | bytearray | memoryview) else v for v in values],
        ensure_ascii=True,
        separators=(",", ":"),
        default=str,
    ).encode("ascii")


def mac(key: bytes, *values: object) -> str:
    """HMAC-SHA256 of `values` (hex)."""
    return hmac.new(key, canonical(values), hashlib.sha256).hexdigest()


def mac_matches(key: bytes, expected: str | None, *values: object) -> bool:
    return isinstance(expected, str) and hmac.compare_digest(mac(key, *values), expected)
