"""EVENTS_* and STAFF_* settings: defaults in one place, overrides read, and a default
category that is not a category refused with the fix."""

from __future__ import annotations

import pytest
from school_events.settings import DEFAULTS, EventsSettings, SettingsError
from staff_directory.settings import StaffSettings


def test_event_defaults_and_overrides():
    config = EventsSettings.from_mapping({"TIMEZONE": "America/New_York", "SITENAME": "CH"})
    assert config.url == DEFAULTS["EVENTS_URL"] == "calendar/"
    assert config.month_url.format(year=2026, month=3) == "calendar/2026-03/"
    assert [slug for slug, _ in config.categories] == [
        "school-wide", "pta", "arts", "athletics", "closings",
    ]  # fmt: skip
    assert config.category_label("pta") == "PTA"
    changed = EventsSettings.from_mapping(
        {"EVENTS_HOME_LIMIT": "2", "EVENTS_CATEGORY_CALENDAR_SAVE_AS": None}
    )
    assert changed.home_limit == 2 and changed.category_calendar_save_as == ""
    assert changed.timezone == "UTC"


def test_default_category_must_be_a_category():
    with pytest.raises(SettingsError) as caught:
        EventsSettings.from_mapping({"EVENTS_DEFAULT_CATEGORY": "sports"})
    message = str(caught.value)
    assert "EVENTS_DEFAULT_CATEGORY = 'sports'" in message
    assert "school-wide, pta, arts, athletics, closings" in message
    assert "pelicanconf.py" in message


def test_staff_defaults_and_department_order():
    config = StaffSettings.from_mapping({"STAFF_DEPARTMENTS": ["Office", "Food service"]})
    assert config.departments == ("Office", "Food service")
    assert config.department_url.format(slug="food-service") == "staff-directory/food-service/"
    assert config.photo_save_as.format(name="photos/a.jpg") == "staff-directory/photos/a.jpg"
