"""Staff directory settings: every STAFF_* setting is a field of ``StaffSettings`` (key,
default and doc line), read through the one loader (``site_common.settings``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from site_common import settings as loader
from site_common.settings import setting


@dataclass(frozen=True)
class StaffSettings:
    path: str = setting(
        "STAFF_PATH", "data/staff", "The CSV export(s) and the photos they name, inside PATH."
    )
    departments: tuple[str, ...] = setting(
        "STAFF_DEPARTMENTS",
        [],
        "Departments in the order the page lists them; any other follows, A to Z.",
    )
    url: str = setting("STAFF_URL", "staff-directory/", "URL of the staff directory.")
    department_url: str = setting(
        "STAFF_DEPARTMENT_URL", "staff-directory/{slug}/", "URL of a department's page."
    )
    department_save_as: str = setting(
        "STAFF_DEPARTMENT_SAVE_AS",
        "staff-directory/{slug}/index.html",
        "Where a department's page is written.",
    )
    # Copied as ordinary files, so the consent gate checks each one.
    photo_save_as: str = setting(
        "STAFF_PHOTO_SAVE_AS",
        "staff-directory/{name}",
        "Where staff photos are copied ({name}: the photo's path inside STAFF_PATH).",
    )

    @classmethod
    def from_mapping(cls, settings: Mapping[str, object]) -> StaffSettings:
        raw = loader.load(cls, settings)
        return cls(
            path=str(raw["STAFF_PATH"]),
            departments=tuple(str(name) for name in raw["STAFF_DEPARTMENTS"] or ()),
            url=str(raw["STAFF_URL"]),
            department_url=str(raw["STAFF_DEPARTMENT_URL"]),
            department_save_as=str(raw["STAFF_DEPARTMENT_SAVE_AS"]),
            photo_save_as=str(raw["STAFF_PHOTO_SAVE_AS"]),
        )


# Every STAFF_* default by key.
DEFAULTS: dict[str, object] = loader.defaults_of(StaffSettings)


def publish_defaults(settings: dict) -> None:
    """Make the defaults visible in Pelican's settings (templates read them)."""
    loader.publish_defaults(StaffSettings, settings)
