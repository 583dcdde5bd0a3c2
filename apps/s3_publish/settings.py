"""Publishing settings: every S3_* default lives here, in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

_HEX8 = "[0-9a-f]" * 8

DEFAULTS: dict[str, object] = {
    # The bucket and the key prefix ("" = bucket root) the site is published to.
    "S3_BUCKET": None,
    "S3_PREFIX": "",
    # None = AWS S3 (the standard boto3 chain picks the region); a URL = an S3-compatible server.
    "S3_ENDPOINT_URL": None,
    "S3_REGION": None,
    # Ordinary deletions above this stop the run (takedowns are never capped): an int counts
    # objects, a float below 1 is a fraction of the objects under the prefix, None = no cap.
    "S3_MAX_DELETES": 50,
    # (glob on the path inside the site, Cache-Control value): the first match wins.
    # Photos keep a short lifetime so a consent takedown leaves browser caches quickly.
    "S3_CACHE_CONTROL": [
        ("*.html", "max-age=300"),
        ("*.xml", "max-age=300"),
        ("*.ics", "max-age=300"),
        ("*.json", "max-age=300"),
        (f"*.{_HEX8}.*", "max-age=31536000, immutable"),
        ("*", "max-age=3600"),
    ],
    # Upload text files gzip-compressed (Content-Encoding: gzip), byte-stable so unchanged
    # files still compare equal.
    "S3_GZIP": False,
    # Parallel uploads.
    "S3_WORKERS": 8,
    # Attempts per request (boto3's own retries, then the publisher's around each upload).
    "S3_MAX_ATTEMPTS": 5,
    # Invalidate changed paths in this CloudFront distribution after publishing.
    "CLOUDFRONT_DISTRIBUTION_ID": None,
}

# Environment variables that win over the settings file.
ENV_OVERRIDES = ("S3_BUCKET", "S3_PREFIX", "S3_ENDPOINT_URL")


@dataclass(frozen=True)
class PublishSettings:
    bucket: str | None
    prefix: str
    endpoint_url: str | None
    region: str | None
    max_deletes: int | float | None
    cache_control: tuple[tuple[str, str], ...]
    gzip: bool
    workers: int
    max_attempts: int
    cloudfront_distribution_id: str | None

    @classmethod
    def from_mapping(
        cls, settings: Mapping[str, object] | None = None, env: Mapping[str, str] | None = None
    ) -> PublishSettings:
        """Defaults, then the settings file's values, then S3_BUCKET/S3_PREFIX/S3_ENDPOINT_URL
        from the environment."""
        merged = dict(DEFAULTS)
        for key in DEFAULTS:
            if settings is not None and key in settings:
                merged[key] = settings[key]
        env = os.environ if env is None else env
        for key in ENV_OVERRIDES:
            if env.get(key):
                merged[key] = env[key]
        max_deletes = merged["S3_MAX_DELETES"]
        if max_deletes is not None and (
            isinstance(max_deletes, bool)
            or not isinstance(max_deletes, int | float)
            or max_deletes < 0
            or (isinstance(max_deletes, float) and max_deletes > 1)
        ):
            raise ValueError(
                "S3_MAX_DELETES must be a whole number of objects, a fraction between 0 and 1, "
                f"or None; got {max_deletes!r}"
            )
        workers = int(merged["S3_WORKERS"])
        if workers < 1:
            raise ValueError(f"S3_WORKERS must be at least 1, got {workers}")
        return cls(
            bucket=merged["S3_BUCKET"] or None,
            prefix=normalize_prefix(str(merged["S3_PREFIX"] or "")),
            endpoint_url=merged["S3_ENDPOINT_URL"] or None,
            region=merged["S3_REGION"] or None,
            max_deletes=max_deletes,
            cache_control=tuple((str(g), str(v)) for g, v in merged["S3_CACHE_CONTROL"]),
            gzip=bool(merged["S3_GZIP"]),
            workers=workers,
            max_attempts=max(1, int(merged["S3_MAX_ATTEMPTS"])),
            cloudfront_distribution_id=merged["CLOUDFRONT_DISTRIBUTION_ID"] or None,
        )


def normalize_prefix(prefix: str) -> str:
    """ "site", "/site/" and "site/" all become "site/"; "" and "/" stay the bucket root."""
    prefix = prefix.strip().strip("/")
    return f"{prefix}/" if prefix else ""
