"""Consent settings: every CONSENT_* setting is a field of ``GateSettings`` (its key,
default, environment rule and doc line, read through the one loader in
``site_common.settings``), so the build, `consent` and `publish` cannot disagree.

Settings that would silently weaken the gate are refused with a message saying what to do
(``SettingsError``): a tolerance past the model's limit, a cache or report inside the
published folder, the gate missing from PLUGINS or not last. No setting narrows which
files are checked: every file of the output is classified by its bytes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from site_common.settings import (
    Env,
    Setting,
    SettingsError,
    defaults_of,
    flag,
    load,
    number,
    read_settings_file,
    setting,
    settings_of,
)

__all__ = [
    "DEFAULTS",
    "ENVIRONMENT_OVERRIDES",
    "GateSettings",
    "SettingsError",
    "check_plugins",
    "load_settings",
    "read_settings_file",
]

# dlib's face model is documented for distances up to 0.6; past it, strangers match.
MAX_TOLERANCE = 0.6
GATE_PLUGIN = "consent_gate"
# Settings of earlier versions that would now weaken the gate if they were honoured.
REMOVED = {
    "CONSENT_IMAGE_EXTENSIONS": (
        "the gate no longer goes by file names: every file in the output is classified "
        "by its content and checked. Delete CONSENT_IMAGE_EXTENSIONS from the settings"
    ),
}
# The settings whose value is a path (relative ones are taken from CONSENT_ROOT; from the
# environment, as typed in the shell, from where it runs).
PATH_FIELDS = (
    "registry",
    "key_file",
    "cache_dir",
    "report_path",
    "manifest_path",
    "shared_cache_key_file",
)


@dataclass(frozen=True)
class GateSettings:
    # The folder the relative CONSENT_* paths are taken from (pelicanconf.py sets its own
    # folder, so the build, `consent` and `publish` find the same registry and cache from
    # any working directory); unset, the current directory.
    EXTRA_SETTINGS = (
        Setting(
            "CONSENT_ROOT",
            None,
            "The folder relative CONSENT_* paths are taken from; unset: the current folder.",
        ),
    )

    registry: Path = setting(
        "CONSENT_REGISTRY",
        "consent/registry.sqlite3",
        "The consent office's records (git-ignored).",
        env=Env.OVERRIDE,
    )
    key_file: Path = setting(
        "CONSENT_KEY_FILE",
        "~/.config/school-site/consent.key",
        "The key that encrypts the registry's face templates.",
        env=Env.OVERRIDE,
    )
    mode: str = setting(
        "CONSENT_MODE",
        "recognise",
        "`recognise`: match faces against records; `detect-only`: any face withholds the photo.",
    )
    scope: str = setting(
        "CONSENT_SCOPE", "website", "The scope a record must grant for the website."
    )
    # dlib's own default is 0.6. Measured on bench/hardcases.py (records with multi-scale
    # templates): 0.50 over-blocks every all-consented class photo, 0.55 and 0.60 none, all
    # with 0 leaks; the closest unconsented face came at 0.63. A real registry holds
    # hundreds of records, so look-alikes are likelier than in the bench's five: stay well
    # under 0.6.
    tolerance: float = setting(
        "CONSENT_TOLERANCE",
        0.55,
        "Face distance at or below which a face may match a record (at most 0.6).",
    )
    margin: float = setting(
        "CONSENT_MARGIN", 0.08, "The best record must beat the second best by this distance."
    )
    min_face_px: int = setting(
        "CONSENT_MIN_FACE_PX",
        40,
        "Faces smaller than this (shorter side, pixels) cannot be matched and withhold.",
    )
    strict: bool = setting(
        "CONSENT_STRICT",
        False,
        "Withhold pictures from other sites (they cannot be checked) instead of warning.",
    )
    cache_dir: Path = setting(
        "CONSENT_CACHE_DIR",
        ".cache/consent",
        "Detection and encoding cache, keyed by content hash and model version.",
    )
    report_path: Path = setting(
        "CONSENT_REPORT_PATH",
        "reports/consent-report.json",
        "The build's JSON report: outside output/, never published.",
    )
    manifest_path: Path = setting(
        "CONSENT_MANIFEST_PATH",
        "reports/publish-manifest.json",
        "The list of files the gate passed, which `publish` uploads from: outside output/.",
    )
    workers: int = setting(
        "CONSENT_WORKERS", 0, "Parallel face-work processes (0: one per CPU core)."
    )
    # Benchmarks only (the gate-off baseline). Such a build writes no manifest, so
    # `publish` refuses its output.
    enabled: bool = setting(
        "CONSENT_ENABLED", True, "Turn the gate off (benchmarks only; `publish` refuses it)."
    )
    # The consent office's policy decides; a photo whose every other face is much smaller
    # than its consented faces, and no one marked never-publish, is published with those
    # faces blurred (face_engine.decision's rule, site_gate/blur.py).
    blur: bool = setting(
        "CONSENT_BLUR",
        False,
        "Blur small unconsented faces instead of withholding the photo (report lists them).",
        field_default=False,
    )
    # Pruned once a day (site_gate/cache_upkeep.py): a photo no site built in this many
    # days used is forgotten, and past this size the oldest sites' photos go first.
    cache_keep_days: float = setting(
        "CONSENT_CACHE_KEEP_DAYS",
        30,
        "Face cache entries no build used in this many days are pruned.",
        field_default=30.0,
    )
    cache_max_mb: int = setting(
        "CONSENT_CACHE_MAX_MB",
        4096,
        "Past this size the face cache drops the oldest sites' photos first.",
        field_default=4096,
    )
    # A district's shared face cache (face_engine/shared_cache.py), private and never the
    # site's bucket, sealed with the key in CONSENT_SHARED_CACHE_KEY_FILE (the same file on
    # every machine; `consent shared-cache-key` makes the first).
    shared_cache: str = setting(
        "CONSENT_SHARED_CACHE",
        "",
        "An s3://bucket/prefix where a district's machines share face results; empty: off.",
        field_default="",
    )
    shared_cache_key_file: Path = setting(
        "CONSENT_SHARED_CACHE_KEY_FILE",
        "~/.config/school-site/shared-cache.key",
        "The key that seals the shared face cache.",
        field_default=Path(),
    )
    shared_cache_endpoint: str | None = setting(
        "CONSENT_SHARED_CACHE_ENDPOINT",
        None,
        "The shared cache's S3 endpoint when it is not AWS (e.g. http://127.0.0.1:8333).",
        field_default=None,
    )
    # Five years, the longest the site keeps a school year's photos online
    # (consent/README.md); `consent purge-expired` deletes it after that.
    block_retention_days: int = setting(
        "CONSENT_BLOCK_RETENTION_DAYS",
        1825,
        "Days a withdrawal's block data is kept after it was recorded.",
        field_default=1825,
    )
    # publishconf.py turns it on, and `publish` then refuses a build made without it; a
    # preview (`make html`) leaves it off: a cold render of the 165-page sample site takes
    # about 1.1 s per page and width, minutes where the gate alone takes seconds. The
    # environment variable wins, so a preview and its publish agree.
    render_check: bool = setting(
        "CONSENT_RENDER_CHECK",
        False,
        "Render every page in Chromium and face-check the screenshots (1 or 0).",
        env=Env.OVERRIDE,
        field_default=False,
    )
    # The school's time zone (Pelican's TIMEZONE; None: the machine's): the day consent
    # decisions are made for is ``clock.consent_today(timezone)``.
    timezone: str | None = None

    @classmethod
    def from_mapping(
        cls,
        settings: Mapping[str, object] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> GateSettings:
        """Build from Pelican settings; the environment variables CONSENT_REGISTRY,
        CONSENT_KEY_FILE and CONSENT_RENDER_CHECK win over both the settings and the
        defaults.

        Raises SettingsError for values that would weaken the gate."""
        settings = settings or {}
        for key, why in REMOVED.items():
            if key in settings:
                raise SettingsError(f"{key} is set, but {why}")
        raw = load(cls, settings, environ)
        if raw["CONSENT_MODE"] not in ("recognise", "detect-only"):
            raise SettingsError(
                f"CONSENT_MODE must be 'recognise' or 'detect-only', not {raw['CONSENT_MODE']!r}"
            )
        try:
            tolerance = float(raw["CONSENT_TOLERANCE"])
            margin = float(raw["CONSENT_MARGIN"])
            min_face = int(raw["CONSENT_MIN_FACE_PX"])
            workers = int(raw["CONSENT_WORKERS"])
            keep_days = float(raw["CONSENT_CACHE_KEEP_DAYS"])
            max_mb = int(raw["CONSENT_CACHE_MAX_MB"])
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"a CONSENT_* number setting is not a number ({exc})") from None
        if not 0 < tolerance <= MAX_TOLERANCE:
            raise SettingsError(
                f"CONSENT_TOLERANCE = {tolerance} is unsafe: above {MAX_TOLERANCE} (the face "
                "model's documented limit) strangers are taken for consented people. Use "
                f"{DEFAULTS['CONSENT_TOLERANCE']} (the default); photos the gate is unsure "
                "of go to the consent office's review instead"
            )
        if margin < 0:
            raise SettingsError(f"CONSENT_MARGIN must be 0 or more, not {margin}")
        if min_face < 1 or workers < 0:
            raise SettingsError("CONSENT_MIN_FACE_PX must be positive and CONSENT_WORKERS >= 0")
        if keep_days < 0 or max_mb < 0:
            raise SettingsError(
                "CONSENT_CACHE_KEEP_DAYS and CONSENT_CACHE_MAX_MB must be 0 or more"
            )
        shared = str(raw["CONSENT_SHARED_CACHE"] or "").strip()
        if shared:
            _check_shared_cache(shared, settings.get("S3_BUCKET"))
        retention = number("CONSENT_BLOCK_RETENTION_DAYS", raw["CONSENT_BLOCK_RETENTION_DAYS"])
        if retention < 0:
            raise SettingsError("CONSENT_BLOCK_RETENTION_DAYS must be 0 or more")
        root = Path(str(raw["CONSENT_ROOT"] or os.curdir)).expanduser()
        paths = {}
        for name in PATH_FIELDS:
            key = "CONSENT_" + name.upper()
            # A path from the environment is taken as typed in the shell, from where it runs.
            base = Path.cwd() if key in raw.from_environment else root
            paths[name] = base / Path(str(raw[key])).expanduser()
        return cls(
            **paths,
            mode=str(raw["CONSENT_MODE"]),
            scope=raw["CONSENT_SCOPE"],
            tolerance=tolerance,
            margin=margin,
            min_face_px=min_face,
            strict=bool(raw["CONSENT_STRICT"]),
            workers=workers,
            enabled=bool(raw["CONSENT_ENABLED"]),
            blur=bool(raw["CONSENT_BLUR"]),
            cache_keep_days=keep_days,
            cache_max_mb=max_mb,
            shared_cache=shared,
            shared_cache_endpoint=raw["CONSENT_SHARED_CACHE_ENDPOINT"] or None,
            block_retention_days=retention,
            render_check=flag("CONSENT_RENDER_CHECK", raw["CONSENT_RENDER_CHECK"]),
            timezone=_timezone(settings.get("TIMEZONE")),
        )

    def check_outside(self, output: Path) -> None:
        """Refuse a cache, report or manifest inside the folder that is published."""
        published = Path(output).resolve()
        for label, path in (
            ("CONSENT_CACHE_DIR", self.cache_dir),
            ("CONSENT_REPORT_PATH", self.report_path),
            ("CONSENT_MANIFEST_PATH", self.manifest_path),
        ):
            if path.resolve().is_relative_to(published):
                raise SettingsError(
                    f"{label} ({path}) is inside the output folder ({output}), so it would be "
                    "published with the site (it holds face data or names withheld photos): "
                    f"set it to a path outside the output, e.g. {DEFAULTS[label]}"
                )


# Every CONSENT_* default by key (for messages and `consent --help`).
DEFAULTS: dict[str, object] = defaults_of(GateSettings)
# Settings an environment variable of the same name overrides (a service's or a test's).
ENVIRONMENT_OVERRIDES = tuple(s.key for s in settings_of(GateSettings) if s.env is Env.OVERRIDE)


def _timezone(value: object) -> str | None:
    """TIMEZONE as a zone name the clock can use (None when unset)."""
    from .clock import ClockError, zone

    name = str(value).strip() if value else ""
    if not name:
        return None
    try:
        zone(name)
    except ClockError as exc:
        raise SettingsError(str(exc)) from None
    return name


def _check_shared_cache(location: str, site_bucket: object) -> None:
    """The shared face cache must be an S3 location outside the bucket the site is
    published to (publish would delete it, or a website could serve it)."""
    from face_engine.shared_cache import SharedCacheError, parse_location

    try:
        bucket, _prefix = parse_location(location)
    except SharedCacheError as exc:
        raise SettingsError(str(exc)) from None
    if site_bucket and bucket == str(site_bucket):
        raise SettingsError(
            f"CONSENT_SHARED_CACHE ({location}) is in the bucket the site is published to "
            f"(S3_BUCKET = {site_bucket}): face data must never be where the website is "
            "served from. Use a private bucket of its own, e.g. s3://district-face-cache/"
        )


def check_plugins(plugins: object) -> None:
    """The gate must be in PLUGINS and last: it checks what every other plugin wrote."""
    names = [getattr(p, "__name__", str(p)).rsplit(".", 1)[-1] for p in (plugins or [])]
    if GATE_PLUGIN not in names:
        raise SettingsError(
            f"{GATE_PLUGIN} is not in PLUGINS, so no photo would be checked: add it as the "
            "last plugin (see pelicanconf.py)"
        )
    if names[-1] != GATE_PLUGIN:
        raise SettingsError(
            f"{GATE_PLUGIN} is not the last of PLUGINS ({', '.join(names)}), so the plugins "
            f"after it could add unchecked files: move {GATE_PLUGIN} to the end"
        )


def load_settings(path: Path) -> GateSettings:
    """The consent settings of a Pelican settings file (pelicanconf.py, publishconf.py)."""
    values = read_settings_file(path)
    check_plugins(values.get("PLUGINS"))
    return GateSettings.from_mapping(values)
