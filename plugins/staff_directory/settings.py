"""Staff directory settings: every STAFF_* default lives here, read through one loader."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULTS: dict[str, object] = {
    "STAFF_PATH": "data/staff",  # inside PATH: the CSV export(s) and the photos they name
    # Departments in the order the page lists them; any other department follows, A to Z.
    "STAFF_DEPARTMENTS": [],
    "STAFF_URL": "staff-directory/",
    "STAFF_DEPARTMENT_URL": "staff-directory/{slug}/",
    "STAFF_DEPARTMENT_SAVE_AS": "staff-directory/{slug}/index.html",
    # Photos are copied here as ordinary files, so the consent gate checks each one;
    # {name} is the photo's path inside STAFF_PATH ("photos/aruiz.jpg").
    "STAFF_PHOTO_SAVE_AS": "staff-directory/{name}",
}


@dataclass(frozen=True)
class StaffSettings:
    path: str
    departments: tuple[str, ...]
    url: str
    department_url: str
    department_save_as: str
    photo_save_as: str

    @classmethod
    def from_mapping(cls, settings: Mapping[str, object]) -> StaffSettings:
        def get(key: str):
            return settings.get(key, DEFAULTS[key])

        return cls(
            path=str(get("STAFF_PATH")),
            departments=tuple(str(name) for name in get("STAFF_DEPARTMENTS") or ()),
            url=str(get("STAFF_URL")),
            department_url=str(get("STAFF_DEPARTMENT_URL")),
            department_save_as=str(get("STAFF_DEPARTMENT_SAVE_AS")),
            photo_save_as=str(get("STAFF_PHOTO_SAVE_AS")),
        )


def publish_defaults(settings: dict) -> None:
    """Make the defaults visible in Pelican's settings (templates read them)."""
    for key, value in DEFAULTS.items():
        settings.setdefault(key, value)
