"""Settings of the consent office's workspace: read from the same Pelican settings file and
through the same loader as the build and `consent` (``site_common.settings``), so the
workspace decides on the same registry, report and content folder.

Every CONSENT_OFFICE_* setting is a field of ``OfficeSettings``; the environment variables
of the same names win over the file. Times are shown in the site's ``TIMEZONE`` (Pelican's).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from consent_registry.settings import GateSettings, check_plugins
from site_common import settings as loader
from site_common.settings import Env, SettingsError, read_settings_file, setting

TAKEDOWN_MODES = ("auto", "run", "queue")


@dataclass(frozen=True)
class OfficeSettings:
    gate: GateSettings
    content_path: Path  # Pelican's PATH: where withheld photos' sources are read from
    # Loopback only: the office's browser runs on the same machine. Anything else belongs
    # behind an HTTPS reverse proxy (README, "Running the workspace behind HTTPS").
    host: str = setting(
        "CONSENT_OFFICE_HOST",
        "127.0.0.1",
        "The address the workspace listens on (loopback; else behind an HTTPS proxy).",
        env=Env.OVERRIDE,
    )
    port: int = setting("CONSENT_OFFICE_PORT", 8001, "The workspace's port.", env=Env.OVERRIDE)
    https: bool = setting(
        "CONSENT_OFFICE_HTTPS",
        False,
        "Served through HTTPS: session cookies get the Secure flag.",
        env=Env.OVERRIDE,
    )
    takedown: str = setting(
        "CONSENT_OFFICE_TAKEDOWN",
        "auto",
        "The takedown button: `run` runs `publish` here, `queue` leaves a request for the "
        "scheduled publish, `auto` runs when AWS credentials are found, else queues.",
        env=Env.OVERRIDE,
    )
    publish_settings: Path = setting(
        "CONSENT_OFFICE_PUBLISH_SETTINGS",
        "publishconf.py",
        "The settings file `publish` reads for a takedown (S3_*, CONSENT_*).",
        env=Env.OVERRIDE,
    )
    expiring_days: int = setting(
        "CONSENT_OFFICE_EXPIRING_DAYS",
        30,
        "Days ahead for 'consent ending soon'.",
        env=Env.OVERRIDE,
    )
    project: Path = Path()  # the folder `publish` runs in
    # Any other Host header is refused, so a page cannot be served under a name an
    # attacker chose.
    allowed_hosts: tuple[str, ...] = setting(
        "CONSENT_OFFICE_ALLOWED_HOSTS",
        "127.0.0.1 localhost ::1",
        "The Host names the workspace answers to (spaces or commas between them).",
        env=Env.OVERRIDE,
        field_default=("127.0.0.1", "localhost", "::1"),
    )
    trusted_proxy: str = setting(
        "CONSENT_OFFICE_TRUSTED_PROXY",
        "",
        "The HTTPS reverse proxy's address: only its X-Forwarded-For is believed for the "
        "sign-in limit. Empty: none.",
        env=Env.OVERRIDE,
        field_default="",
    )
    timezone: str = "UTC"  # the school's (Pelican's TIMEZONE): every time shown is in it

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_mapping(
        cls, settings: Mapping[str, object] | None = None, project: Path | None = None
    ) -> OfficeSettings:
        settings = dict(settings or {})
        merged = loader.load(cls, settings)
        if merged["CONSENT_OFFICE_TAKEDOWN"] not in TAKEDOWN_MODES:
            raise SettingsError(
                f"CONSENT_OFFICE_TAKEDOWN must be one of {', '.join(TAKEDOWN_MODES)}, not "
                f"{merged['CONSENT_OFFICE_TAKEDOWN']!r}"
            )
        try:
            port = int(merged["CONSENT_OFFICE_PORT"])
            days = int(merged["CONSENT_OFFICE_EXPIRING_DAYS"])
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"a CONSENT_OFFICE_* number is not a number ({exc})") from None
        project = Path(project or Path.cwd())
        hosts = tuple(
            h.strip().lower().strip("[]")
            for h in re.split(r"[\s,]+", str(merged["CONSENT_OFFICE_ALLOWED_HOSTS"]))
            if h.strip()
        )
        gate = GateSettings.from_mapping(settings)  # checks TIMEZONE (the one rule)
        return cls(
            gate=gate,
            content_path=Path(str(settings.get("PATH", "content"))).expanduser(),
            host=str(merged["CONSENT_OFFICE_HOST"]),
            port=port,
            https=loader.flag("CONSENT_OFFICE_HTTPS", merged["CONSENT_OFFICE_HTTPS"]),
            takedown=str(merged["CONSENT_OFFICE_TAKEDOWN"]),
            publish_settings=Path(str(merged["CONSENT_OFFICE_PUBLISH_SETTINGS"])),
            expiring_days=days,
            project=project,
            allowed_hosts=hosts,
            trusted_proxy=str(merged["CONSENT_OFFICE_TRUSTED_PROXY"]).strip(),
            timezone=gate.timezone or "UTC",
        )

    def with_gate(self, gate: GateSettings) -> OfficeSettings:
        return replace(self, gate=gate)


def load_office_settings(path: Path | None) -> OfficeSettings:
    """The workspace's settings from a Pelican settings file (None: the defaults)."""
    if path is None:
        return OfficeSettings.from_mapping({})
    values = read_settings_file(Path(path))
    check_plugins(values.get("PLUGINS"))
    folder = Path(path).resolve().parent
    office = OfficeSettings.from_mapping(values, project=folder)
    content = office.content_path
    if not content.is_absolute():
        content = folder / content
    return replace(office, content_path=content)


# Every CONSENT_OFFICE_* default by key.
DEFAULTS: dict[str, object] = loader.defaults_of(OfficeSettings)
