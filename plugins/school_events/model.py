"""Event data types: one Event per occurrence shown on the calendar, whatever its source
(a Markdown file, a calendar feed, an athletics game, a day without school in the menus)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from school_feeds.text import date_label, short_date_label, time_label


def closed_by(event: Event, closings) -> bool:
    """Whether a closing alert's day (`closings`: day -> alert, from site_alerts) cancels
    `event`: it starts on a closed day and ends by the next, whether it is a one-off event
    or one occurrence of a series (a multi-day event, a closing itself, is left as it is).
    The one rule for the calendar pages and the calendar files."""
    return (
        bool(closings)
        and event.category != "closings"
        and event.first_day in closings
        and event.last_day <= event.first_day + timedelta(days=1)
    )


@dataclass
class Event:
    uid: str
    title: str
    start: date | datetime  # aware, in the school's time zone; a date for all-day events
    end: date | datetime | None  # exclusive, as in iCalendar (an all-day end is the next day)
    category: str  # a slug of EVENTS_CATEGORIES
    category_label: str = ""
    location: str = ""
    description: str = ""  # plain text, paragraphs separated by blank lines
    status: str = "scheduled"  # "scheduled", "cancelled" or "postponed"
    source: str = ""  # the file or feed it came from, for messages
    recurring: bool = False
    link: str = ""  # a page of the site with more (a team page), relative to SITEURL
    ics_url: str = ""  # the "add to calendar" file, relative to SITEURL

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    @property
    def first_day(self) -> date:
        return self.start.date() if isinstance(self.start, datetime) else self.start

    @property
    def last_day(self) -> date:
        """The last day the event touches (inclusive)."""
        if self.end is None:
            return self.first_day
        if isinstance(self.end, datetime):
            # An evening that ends at midnight belongs to its first day.
            last = (self.end - timedelta(microseconds=1)).date()
        else:
            last = self.end - timedelta(days=1)
        return max(last, self.first_day)

    @property
    def multi_day(self) -> bool:
        return self.last_day > self.first_day

    def touches(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day

    @property
    def anchor(self) -> str:
        """An id for the event's entry in a list, stable between builds."""
        key = f"{self.uid}\x1f{self.start.isoformat()}".encode()
        return "event-" + hashlib.sha256(key).hexdigest()[:10]

    @property
    def iso(self) -> str:
        return self.start.isoformat()

    @property
    def date_label(self) -> str:
        return date_label(self.first_day, with_year=True)

    @property
    def short_date(self) -> str:
        if self.multi_day:
            return f"{short_date_label(self.first_day)} – {short_date_label(self.last_day)}"
        return short_date_label(self.first_day)

    @property
    def end_time(self) -> datetime | None:
        """The time the event ends, when it has one after its start."""
        timed = isinstance(self.start, datetime) and isinstance(self.end, datetime)
        return self.end if timed and self.end > self.start else None

    @property
    def when(self) -> str:
        """ "7:00 p.m. – 8:30 p.m.", "All day", "Through Friday, November 27", or
        "7:00 p.m. until Saturday, January 30 at 9:30 p.m." (other languages:
        themes/school/templates/partials/events_dates.html)."""
        end = self.end_time
        if self.multi_day:
            new_year = self.last_day.year != self.first_day.year
            last = date_label(self.last_day, with_year=new_year)
            if self.all_day:
                return f"Through {last}"
            at = f" at {time_label(end)}" if end else ""
            return f"{time_label(self.start)} until {last}{at}"
        if self.all_day:
            return "All day"
        if end:
            return f"{time_label(self.start)} – {time_label(end)}"
        return time_label(self.start)

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"

    @property
    def status_label(self) -> str:
        return {"cancelled": "Cancelled", "postponed": "Postponed"}.get(self.status, "")

    @property
    def paragraphs(self) -> list[str]:
        return [part.strip() for part in self.description.split("\n\n") if part.strip()]

    @property
    def sort_key(self) -> tuple:
        start = self.start
        moment = (
            start if isinstance(start, datetime) else datetime.combine(start, datetime.min.time())
        )
        # All-day events first on their day, then by time, then by title.
        return (self.first_day, not self.all_day, moment.replace(tzinfo=None), self.title, self.uid)
