"""The lunch subscription calendar: one all-day event per school, meal and day."""

from __future__ import annotations

from datetime import datetime, timedelta

import icalendar
from school_feeds.ics_out import new_calendar, stable_uid
from school_feeds.text import slugify

from .model import MenuDay


def menu_uid(menu: MenuDay, uid_domain: str) -> str:
    if menu.uid:
        return menu.uid
    return stable_uid(
        uid_domain, "lunch", menu.day.isoformat(), slugify(menu.school), slugify(menu.meal)
    )


def menu_description(menu: MenuDay) -> str:
    lines = []
    if menu.note:
        lines.append(menu.note)
    for section in menu.sections:
        if section.title:
            lines.append(f"{section.title}:")
        for item in section.items:
            notes = []
            if item.allergens:
                notes.append("contains " + ", ".join(item.allergens))
            notes += item.diets
            labels = f" ({'; '.join(notes)})" if notes else ""
            lines.append(f"- {item.name}{labels}")
    return "\n".join(lines)


def lunch_calendar(
    menus: list[MenuDay], site_name: str, tz: str, uid_domain: str, stamp: datetime
) -> icalendar.Calendar:
    calendar = new_calendar(f"{site_name} menus", f"Breakfast and lunch menus at {site_name}", tz)
    seen: set[str] = set()
    for menu in menus:
        uid = menu_uid(menu, uid_domain)
        if uid in seen:  # a source reused one UID for two meals: keep both, distinctly
            uid = stable_uid(uid_domain, "lunch", uid, menu.school, menu.meal)
        seen.add(uid)
        event = icalendar.Event()
        event.add("uid", uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", menu.day)
        event.add("dtend", menu.day + timedelta(days=1))
        if menu.no_school and not menu.has_items:
            summary = f"No school – {menu.note}" if menu.note else "No school"
        else:
            summary = f"{menu.meal} – {menu.school}"
        event.add("summary", summary)
        event.add("description", menu_description(menu))
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return calendar
