"""Consent gate settings: every CONSENT_* default lives here, in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

DEFAULTS: dict[str, object] = {
    # Where the consent office's records live (git-ignored) and the key that encrypts templates.
    "CONSENT_REGISTRY": "consent/registry.sqlite3",
    "CONSENT_KEY_FILE": "~/.config/school-site/consent.key",
    # "recognise": match faces against records; "detect-only": any face withholds the photo.
    "CONSENT_MODE": "recognise",
    # Which scope a record must grant for the website.
    "CONSENT_SCOPE": "website",
    # Face distance at or below which a face may match a record (dlib's own default is 0.6).
    # Measured on bench/hardcases.py (records with multi-scale templates): 0.50 over-blocks
    # every all-consented class photo, 0.55 and 0.60 none, all with 0 leaks; the closest
    # unconsented face came at 0.63. A real registry holds hundreds of records, so
    # look-alikes are likelier than in the bench's five: stay well under 0.6.
    "CONSENT_TOLERANCE": 0.55,
    # The best record must beat the second best by at least this much distance.
    "CONSENT_MARGIN": 0.08,
    # Faces smaller than this (shorter side of the box, in pixels) cannot be matched reliably.
    "CONSENT_MIN_FACE_PX": 40,
    # Withhold hot-linked images (they cannot be checked) instead of only warning.
    "CONSENT_STRICT": False,
    # Detection and encoding cache, keyed by content hash and model version.
    "CONSENT_CACHE_DIR": ".cache/consent",
    # The build's JSON report: outside output/, never published.
    "CONSENT_REPORT_PATH": "reports/consent-report.json",
    # Parallel face-work processes (0 = one per CPU core).
    "CONSENT_WORKERS": 0,
    # Image files the gate scans in the output folder.
    "CONSENT_IMAGE_EXTENSIONS": (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"),
    # Turn the gate off (benchmarks only: the gate-off baseline). Never in production.
    "CONSENT_ENABLED": True,
}


@dataclass(frozen=True)
class GateSettings:
    registry: Path
    key_file: Path
    mode: str
    scope: str
    tolerance: float
    margin: float
    min_face_px: int
    strict: bool
    cache_dir: Path
    report_path: Path
    workers: int
    image_extensions: tuple[str, ...]
    enabled: bool

    @classmethod
    def from_mapping(cls, settings: Mapping[str, object] | None = None) -> GateSettings:
        """Build from Pelican settings; environment variables CONSENT_REGISTRY and
        CONSENT_KEY_FILE win over both the settings and the defaults."""
        merged = dict(DEFAULTS)
        for key in DEFAULTS:
            if settings is not None and key in settings:
                merged[key] = settings[key]
        for key in ("CONSENT_REGISTRY", "CONSENT_KEY_FILE"):
            if os.environ.get(key):
                merged[key] = os.environ[key]
        if merged["CONSENT_MODE"] not in ("recognise", "detect-only"):
            raise ValueError(
                f"CONSENT_MODE must be 'recognise' or 'detect-only', not {merged['CONSENT_MODE']!r}"
            )
        values = {f.name: merged["CONSENT_" + f.name.upper()] for f in fields(cls)}
        for name in ("registry", "key_file", "cache_dir", "report_path"):
            values[name] = Path(str(values[name])).expanduser()
        values["image_extensions"] = tuple(e.lower() for e in values["image_extensions"])
        return cls(**values)


def gate_today(timezone: str | None) -> date:
    """Today at the school; a later SITE_DATE (site previews) only ever expires more."""
    today = datetime.now(ZoneInfo(timezone) if timezone else None).date()
    preview = os.environ.get("SITE_DATE", "").strip()
    try:
        return max(today, date.fromisoformat(preview)) if preview else today
    except ValueError:
        return today
