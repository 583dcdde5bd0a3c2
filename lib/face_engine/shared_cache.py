"""A district's shared face cache: sealed copies of face-cache entries in a private S3
location, so that each photo is scanned once across the district's build machines.

An entry says which faces a photo holds. Its encodings are biometric data, and an entry
saying "no face" lets a photo be published, so the store is a trust boundary:

- each entry is sealed (AES-256-GCM) with the district's cache key: only a machine holding
  the key can read an entry, or add one the other machines accept;
- an entry is named by a keyed hash of the photo's SHA-256 and sealed to that name and to
  the face engine's version: an entry changed, moved to another photo's name, from another
  engine version or sealed with another key fails to open and is ignored, and the photo is
  scanned again (never trusted);
- the store's listing does not tell which photos a school has.

The store only saves time. When it cannot be reached the build scans on its own machine and
says so once. Nothing here imports boto3 until a store is opened (``open_store``).
"""

from __future__ import annotations

import base64
import hmac
import logging
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .errors import FaceError

log = logging.getLogger(__name__)

KEY_BYTES = 32
NONCE_BYTES = 12
# Parallel requests when fetching: one GET per photo the machine has not scanned.
FETCH_THREADS = 8


class SharedCacheError(FaceError):
    """The shared cache cannot be used; the message says what to do."""


def new_key(path: Path) -> Path:
    """Write a new district cache key to `path` (mode 0600); refuses to replace one."""
    path = Path(path).expanduser()
    if path.exists():
        raise SharedCacheError(
            f"{path} already exists: every machine of the district must use the same key, so "
            "copy that file instead of making a new one"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii") + "\n")
    return path


def read_key(path: Path) -> bytes:
    path = Path(path).expanduser()
    try:
        key = base64.b64decode(path.read_text(encoding="ascii").strip(), validate=True)
    except FileNotFoundError:
        raise SharedCacheError(
            f"the shared cache key {path} does not exist: copy the district's key file there "
            "(or make the first one with `consent shared-cache-key`)"
        ) from None
    except (OSError, ValueError) as exc:
        raise SharedCacheError(f"the shared cache key {path} cannot be read ({exc})") from None
    if len(key) != KEY_BYTES:
        raise SharedCacheError(
            f"the shared cache key {path} is not a key made by `consent shared-cache-key`"
        )
    return key


def parse_location(url: str) -> tuple[str, str]:
    """(bucket, prefix) of an s3://bucket/prefix location; the prefix ends with "/"."""
    if not url.startswith("s3://") or not url[5:].split("/", 1)[0]:
        raise SharedCacheError(
            f"CONSENT_SHARED_CACHE = {url!r} is not an S3 location: use s3://bucket/prefix"
        )
    bucket, _, prefix = url[5:].partition("/")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


@dataclass
class SharedStore:
    """Sealed face-cache entries under s3://bucket/prefix, through a boto3 S3 client."""

    client: object
    bucket: str
    prefix: str
    key: bytes
    _name_key: bytes = field(init=False, repr=False)
    _seal_key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Two keys from the district key: one names entries, one seals them.
        self._name_key = hmac.new(self.key, b"school-site face cache: names", "sha256").digest()
        self._seal_key = hmac.new(self.key, b"school-site face cache: seals", "sha256").digest()

    def name(self, version_key: str, sha256: str) -> str:
        digest = hmac.new(self._name_key, sha256.encode("ascii"), "sha256").hexdigest()
        return f"{self.prefix}{version_key}/{digest}"

    def _aad(self, version_key: str, sha256: str) -> bytes:
        return f"{version_key}/{sha256}".encode("ascii")

    def seal(self, version_key: str, sha256: str, entry: bytes) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + AESGCM(self._seal_key).encrypt(nonce, entry, self._aad(version_key, sha256))

    def unseal(self, version_key: str, sha256: str, blob: bytes) -> bytes | None:
        """The entry, or None when the blob was not sealed for this photo, engine version
        and key (changed, moved or foreign)."""
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if len(blob) <= NONCE_BYTES:
            return None
        try:
            return AESGCM(self._seal_key).decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], self._aad(version_key, sha256)
            )
        except InvalidTag:
            return None

    def fetch(self, version_key: str, shas: list[str]) -> tuple[dict[str, bytes], int]:
        """{sha256: entry} for the photos the store holds, and how many entries were found
        but refused (they did not open). Raises SharedCacheError when the store cannot be
        reached."""
        from botocore.exceptions import BotoCoreError, ClientError

        def get(sha256: str) -> tuple[str, bytes | None]:
            try:
                response = self.client.get_object(
                    Bucket=self.bucket, Key=self.name(version_key, sha256)
                )
                return sha256, response["Body"].read()
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in ("NoSuchKey", "404", "NotFound"):
                    return sha256, None
                raise SharedCacheError(self._failed("reading", exc)) from None
            except BotoCoreError as exc:
                raise SharedCacheError(self._failed("reading", exc)) from None

        found: dict[str, bytes] = {}
        refused = 0
        with ThreadPoolExecutor(max_workers=FETCH_THREADS) as pool:
            for sha256, blob in pool.map(get, shas):
                if blob is None:
                    continue
                entry = self.unseal(version_key, sha256, blob)
                if entry is None:
                    refused += 1
                else:
                    found[sha256] = entry
        return found, refused

    def upload(self, version_key: str, sha256: str, entry: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.name(version_key, sha256),
                Body=self.seal(version_key, sha256, entry),
                ContentType="application/octet-stream",
            )
        except (BotoCoreError, ClientError) as exc:
            raise SharedCacheError(self._failed("writing", exc)) from None

    def _failed(self, doing: str, exc: Exception) -> str:
        return (
            f"the shared face cache s3://{self.bucket}/{self.prefix} failed while {doing} "
            f"({exc.__class__.__name__}: {exc}); check CONSENT_SHARED_CACHE, its endpoint and "
            "the machine's S3 credentials"
        )


def open_store(url: str, key_file: Path, endpoint_url: str | None = None) -> SharedStore:
    """The store at `url` (s3://bucket/prefix), sealed with the key in `key_file`, through
    the standard AWS credential chain."""
    bucket, prefix = parse_location(url)
    key = read_key(key_file)
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url or None,
        config=Config(
            s3={"addressing_style": "path"},
            # An unreachable store should cost the build seconds, not minutes.
            connect_timeout=3,
            read_timeout=15,
            retries={"mode": "standard", "total_max_attempts": 2},
            max_pool_connections=FETCH_THREADS,
        ),
    )
    return SharedStore(client, bucket, prefix, key)
