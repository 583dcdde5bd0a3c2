"""Consent settings: every CONSENT_* default lives here, in one place, and the one loader
that the build, `consent` and `publish` all use, so they cannot disagree.

Settings that would silently weaken the gate are refused with a message saying what to do
(``SettingsError``): a tolerance past the model's limit, a cache or report inside the
published folder, the gate missing from PLUGINS or not last. No setting narrows which
files are checked: every file of the output is classified by its bytes.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

DEFAULTS: dict[str, object] = {
    # The folder the relative CONSENT_* paths below are taken from (pelicanconf.py sets its
    # own folder, so the build, `consent` and `publish` find the same registry and cache
    # from any working directory); unset, the current directory.
    "CONSENT_ROOT": None,
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
    # Withhold pictures from other sites (they cannot be checked) instead of only warning.
    "CONSENT_STRICT": False,
    # Render every page in Chromium and face-check the screenshots (consent_gate/
    # render_check.py). publishconf.py turns it on, and `publish` then refuses a build made
    # without it; a preview (`make html`) leaves it off: a cold render of the 165-page
    # sample site takes about 1.1 s per page and width, minutes where the gate alone takes
    # seconds. The environment variable wins, so a preview and its publish agree.
    "CONSENT_RENDER_CHECK": False,
    # Detection and encoding cache, keyed by content hash and model version.
    "CONSENT_CACHE_DIR": ".cache/consent",
    # Pruned once a day (consent_gate/cache_upkeep.py): a photo no site built in this many
    # days used is forgotten, and past this size the oldest sites' photos go first.
    "CONSENT_CACHE_KEEP_DAYS": 30,
    "CONSENT_CACHE_MAX_MB": 4096,
    # A district's shared face cache (face_engine/shared_cache.py): an s3://bucket/prefix
    # location, private and never the site's bucket, where the machines of a district share
    # their face results, sealed with the key in CONSENT_SHARED_CACHE_KEY_FILE (the same file
    # on every machine; `consent shared-cache-key` makes the first). Empty: off.
    "CONSENT_SHARED_CACHE": "",
    "CONSENT_SHARED_CACHE_KEY_FILE": "~/.config/school-site/shared-cache.key",
    # The S3 endpoint of the shared cache when it is not AWS (e.g. http://127.0.0.1:8333).
    "CONSENT_SHARED_CACHE_ENDPOINT": None,
    # The build's JSON report: outside output/, never published.
    "CONSENT_REPORT_PATH": "reports/consent-report.json",
    # The list of files the gate passed, which `publish` uploads from: outside output/.
    "CONSENT_MANIFEST_PATH": "reports/publish-manifest.json",
    # Parallel face-work processes (0 = one per CPU core).
    "CONSENT_WORKERS": 0,
    # Turn the gate off (benchmarks only: the gate-off baseline). Such a build writes no
    # manifest, so `publish` refuses its output.
    "CONSENT_ENABLED": True,
    # Blur instead of withhold (the consent office's policy decides; off by default): a photo
    # whose every other face is much smaller than its consented faces, and no one marked
    # never-publish, is published with those faces blurred (face_engine.decision's rule,
    # consent_gate/blur.py); the report lists the blurred faces.
    "CONSENT_BLUR": False,
    # How long a withdrawal's block data (the templates and photo hashes kept to block a
    # withdrawn person, never to publish) is kept after it was recorded: five years, the
    # longest the site keeps a school year's photos online (consent/README.md).
    # `consent purge-expired` deletes it after that.
    "CONSENT_BLOCK_RETENTION_DAYS": 1825,
}

# Settings an environment variable of the same name overrides (a service's or a test's).
ENVIRONMENT_OVERRIDES = ("CONSENT_REGISTRY", "CONSENT_KEY_FILE", "CONSENT_RENDER_CHECK")
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


class SettingsError(ValueError):
    """A consent setting is missing, malformed or unsafe; the message says what to do."""


def _flag(key: str, value: object) -> bool:
    """A yes/no setting, also as typed in an environment variable ("1", "true", "0", "no")."""
    if not isinstance(value, str):
        return bool(value)
    word = value.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("", "0", "false", "no", "off"):
        return False
    raise SettingsError(f"{key} must be true or false (1 or 0), not {value!r}")


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
    manifest_path: Path
    workers: int
    enabled: bool
    blur: bool = False
    cache_keep_days: float = 30.0
    cache_max_mb: int = 4096
    shared_cache: str = ""
    shared_cache_key_file: Path = Path()
    shared_cache_endpoint: str | None = None
    block_retention_days: int = 1825
    render_check: bool = False
    # The school's time zone (Pelican's TIMEZONE; None: the machine's): the day consent
    # decisions are made for is ``clock.consent_today(timezone)``.
    timezone: str | None = None

    @classmethod
    def from_mapping(cls, settings: Mapping[str, object] | None = None) -> GateSettings:
        """Build from Pelican settings; environment variables CONSENT_REGISTRY and
        CONSENT_KEY_FILE win over both the settings and the defaults.

        Raises SettingsError for values that would weaken the gate."""
        settings = settings or {}
        for key, why in REMOVED.items():
            if key in settings:
                raise SettingsError(f"{key} is set, but {why}")
        merged = dict(DEFAULTS)
        for key in DEFAULTS:
            if key in settings:
                merged[key] = settings[key]
        for key in ENVIRONMENT_OVERRIDES:
            if os.environ.get(key):
                merged[key] = os.environ[key]
        if merged["CONSENT_MODE"] not in ("recognise", "detect-only"):
            raise SettingsError(
                f"CONSENT_MODE must be 'recognise' or 'detect-only', not {merged['CONSENT_MODE']!r}"
            )
        try:
            tolerance = float(merged["CONSENT_TOLERANCE"])
            margin = float(merged["CONSENT_MARGIN"])
            min_face = int(merged["CONSENT_MIN_FACE_PX"])
            workers = int(merged["CONSENT_WORKERS"])
            keep_days = float(merged["CONSENT_CACHE_KEEP_DAYS"])
            max_mb = int(merged["CONSENT_CACHE_MAX_MB"])
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
        shared = str(merged["CONSENT_SHARED_CACHE"] or "").strip()
        if shared:
            _check_shared_cache(shared, settings.get("S3_BUCKET"))
        merged["CONSENT_SHARED_CACHE"] = shared
        merged["CONSENT_SHARED_CACHE_ENDPOINT"] = merged["CONSENT_SHARED_CACHE_ENDPOINT"] or None
        values = {
            f.name: merged["CONSENT_" + f.name.upper()] for f in fields(cls) if f.name != "timezone"
        }
        values["timezone"] = _timezone(settings.get("TIMEZONE"))
        values.update(tolerance=tolerance, margin=margin, min_face_px=min_face, workers=workers)
        values.update(cache_keep_days=keep_days, cache_max_mb=max_mb)
        try:
            values["block_retention_days"] = int(merged["CONSENT_BLOCK_RETENTION_DAYS"])
        except (TypeError, ValueError):
            raise SettingsError(
                "CONSENT_BLOCK_RETENTION_DAYS must be a whole number of days"
            ) from None
        if values["block_retention_days"] < 0:
            raise SettingsError("CONSENT_BLOCK_RETENTION_DAYS must be 0 or more")
        root = Path(str(merged["CONSENT_ROOT"] or os.curdir)).expanduser()
        for name in (
            "registry",
            "key_file",
            "cache_dir",
            "report_path",
            "manifest_path",
            "shared_cache_key_file",
        ):
            key = "CONSENT_" + name.upper()
            # A path from the environment is taken as typed in the shell, from where it runs.
            base = Path.cwd() if key in ENVIRONMENT_OVERRIDES and os.environ.get(key) else root
            values[name] = base / Path(str(values[name])).expanduser()
        values["strict"] = bool(values["strict"])
        values["render_check"] = _flag("CONSENT_RENDER_CHECK", values["render_check"])
        values["enabled"] = bool(values["enabled"])
        values["blur"] = bool(values["blur"])
        return cls(**values)

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


def read_settings_file(path: Path) -> dict[str, object]:
    """The upper-case names a Pelican settings file defines, read as Pelican reads it (as
    a module, with its folder importable, so publishconf.py can import pelicanconf)."""
    path = Path(path)
    if not path.is_file():
        raise SettingsError(f"the settings file {path} does not exist: check --settings")
    folder = str(path.resolve().parent)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    previous = os.getcwd()
    # A module of the same name as a settings file beside this one (pelicanconf) loaded
    # earlier, from another folder, would be taken instead of this folder's: set aside.
    set_aside = {
        sibling.stem: sys.modules.pop(sibling.stem)
        for sibling in Path(folder).glob("*.py")
        if sibling.stem in sys.modules
    }
    before = set(sys.modules)
    try:
        os.chdir(folder)  # publishconf.py appends os.curdir to find pelicanconf
        spec = importlib.util.spec_from_file_location(f"_settings_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except SettingsError:
        raise
    except Exception as exc:  # noqa: BLE001 - any error in the file is the user's to fix
        raise SettingsError(
            f"the settings file {path} cannot be read ({type(exc).__name__}: {exc})"
        ) from exc
    finally:
        os.chdir(previous)
        if added:
            sys.path.remove(folder)
        # Settings modules it imported (publishconf's `from pelicanconf import *`) are
        # forgotten, so another settings file of the same name is read afresh.
        for name in set(sys.modules) - before:
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if origin and Path(origin).resolve().parent == Path(folder):
                del sys.modules[name]
        sys.modules.update(set_aside)
    return {name: getattr(module, name) for name in dir(module) if name.isupper()}


def load_settings(path: Path) -> GateSettings:
    """The consent settings of a Pelican settings file (pelicanconf.py, publishconf.py)."""
    values = read_settings_file(path)
    check_plugins(values.get("PLUGINS"))
    return GateSettings.from_mapping(values)
