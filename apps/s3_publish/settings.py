"""Publishing settings: every S3_* setting is a field of ``PublishSettings`` (key, default,
environment rule and doc line), read through the one loader (``site_common.settings``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from site_common import settings as loader
from site_common.settings import Env, SettingsError, setting

_HEX8 = "[0-9a-f]" * 8


@dataclass(frozen=True)
class PublishSettings:
    bucket: str | None = setting(
        "S3_BUCKET", None, "The bucket the site is published to.", env=Env.OVERRIDE
    )
    prefix: str = setting(
        "S3_PREFIX", "", "The key prefix inside the bucket (empty: its root).", env=Env.OVERRIDE
    )
    endpoint_url: str | None = setting(
        "S3_ENDPOINT_URL",
        None,
        "An S3-compatible server's URL; None: AWS S3.",
        env=Env.OVERRIDE,
    )
    region: str | None = setting(
        "S3_REGION", None, "The bucket's region; None: boto3's standard chain picks it."
    )
    # Takedowns are never capped.
    max_deletes: int | float | None = setting(
        "S3_MAX_DELETES",
        50,
        "Ordinary deletions above this stop the run: a whole number of objects, a fraction "
        "below 1 of the objects under the prefix, or None for no cap.",
    )
    # Photos keep a short lifetime so a consent takedown leaves browser caches quickly.
    cache_control: tuple[tuple[str, str], ...] = setting(
        "S3_CACHE_CONTROL",
        [
            ("*.html", "max-age=300"),
            ("*.xml", "max-age=300"),
            ("*.ics", "max-age=300"),
            ("*.json", "max-age=300"),
            (f"*.{_HEX8}.*", "max-age=31536000, immutable"),
            ("*", "max-age=3600"),
        ],
        "(glob on the path inside the site, Cache-Control value): the first match wins.",
    )
    # Byte-stable, so unchanged files still compare equal.
    gzip: bool = setting(
        "S3_GZIP", False, "Upload text files gzip-compressed (Content-Encoding: gzip)."
    )
    workers: int = setting("S3_WORKERS", 8, "Parallel uploads.")
    max_attempts: int = setting(
        "S3_MAX_ATTEMPTS",
        5,
        "Attempts per S3 request in all (botocore's standard retry mode; 1 means no retry).",
    )
    cloudfront_distribution_id: str | None = setting(
        "CLOUDFRONT_DISTRIBUTION_ID",
        None,
        "Invalidate the changed paths in this CloudFront distribution after publishing.",
    )

    @classmethod
    def from_mapping(
        cls, settings: Mapping[str, object] | None = None, env: Mapping[str, str] | None = None
    ) -> PublishSettings:
        """Defaults, then the settings file's values, then S3_BUCKET/S3_PREFIX/S3_ENDPOINT_URL
        from the environment."""
        merged = loader.load(cls, settings, env)
        max_deletes = merged["S3_MAX_DELETES"]
        if max_deletes is not None and (
            isinstance(max_deletes, bool)
            or not isinstance(max_deletes, int | float)
            or max_deletes < 0
            or (isinstance(max_deletes, float) and max_deletes > 1)
        ):
            raise SettingsError(
                "S3_MAX_DELETES must be a whole number of objects, a fraction between 0 and 1, "
                f"or None; got {max_deletes!r}"
            )
        workers = loader.number("S3_WORKERS", merged["S3_WORKERS"])
        if workers < 1:
            raise SettingsError(f"S3_WORKERS must be at least 1, got {workers}")
        return cls(
            bucket=merged["S3_BUCKET"] or None,
            prefix=normalize_prefix(str(merged["S3_PREFIX"] or "")),
            endpoint_url=merged["S3_ENDPOINT_URL"] or None,
            region=merged["S3_REGION"] or None,
            max_deletes=max_deletes,
            cache_control=tuple((str(g), str(v)) for g, v in merged["S3_CACHE_CONTROL"]),
            gzip=bool(merged["S3_GZIP"]),
            workers=workers,
            max_attempts=max(1, loader.number("S3_MAX_ATTEMPTS", merged["S3_MAX_ATTEMPTS"])),
            cloudfront_distribution_id=merged["CLOUDFRONT_DISTRIBUTION_ID"] or None,
        )


# Every S3_* default by key.
DEFAULTS: dict[str, object] = loader.defaults_of(PublishSettings)
# Environment variables that win over the settings file.
ENV_OVERRIDES = tuple(s.key for s in loader.settings_of(PublishSettings) if s.env is Env.OVERRIDE)


def normalize_prefix(prefix: str) -> str:
    """ "site", "/site/" and "site/" all become "site/"; "" and "/" stay the bucket root."""
    prefix = prefix.strip().strip("/")
    return f"{prefix}/" if prefix else ""
