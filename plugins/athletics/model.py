"""Athletics data types: one Game per (occurrence of a) scheduled event, grouped in Teams."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import quote_plus

from school_feeds.subscribe import Subscription
from school_feeds.text import date_label, short_date_label, slugify, time_label

LEVEL_ORDER = ["varsity", "junior varsity", "jv", "freshman", "modified", "middle school"]
PLACEHOLDER_LOCATIONS = {"", "home", "away", "tba", "tbd", "neutral", "various", "see notes"}


@dataclass
class Game:
    uid: str
    start: datetime | date  # aware, in the school's time zone; a date for all-day events
    sport: str
    level: str = ""
    gender: str = ""
    opponent: str = ""
    home_away: str = ""  # "home", "away" or "" when unknown/neutral
    location: str = ""
    kind: str = "game"  # "game" or "practice"
    status: str = "scheduled"  # "scheduled", "cancelled" or "postponed"
    result: str = ""
    bus: str = ""  # bus departure, as shown ("2:15 p.m.")
    summary: str = ""
    source: str = ""
    recurring: bool = False

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    @property
    def day(self) -> date:
        return self.start.date() if isinstance(self.start, datetime) else self.start

    @property
    def team_name(self) -> str:
        return " ".join(part for part in (self.gender, self.level, self.sport) if part)

    @property
    def team_slug(self) -> str:
        return slugify(self.team_name) or "other"

    @property
    def date_label(self) -> str:
        return date_label(self.day)

    @property
    def short_date(self) -> str:
        return short_date_label(self.day)

    @property
    def time_label(self) -> str:
        return "Time to be announced" if self.all_day else time_label(self.start)

    @property
    def iso(self) -> str:
        return self.start.isoformat()

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"

    @property
    def postponed(self) -> bool:
        return self.status == "postponed"

    @property
    def status_label(self) -> str:
        return {"cancelled": "Cancelled", "postponed": "Postponed"}.get(self.status, "")

    @property
    def home_away_label(self) -> str:
        return {"home": "Home", "away": "Away"}.get(self.home_away, "Neutral site")

    @property
    def title(self) -> str:
        if self.kind == "practice":
            return "Practice"
        if not self.opponent:
            return self.summary or self.team_name
        return f"{'at' if self.home_away == 'away' else 'vs.'} {self.opponent}"

    @property
    def has_place(self) -> bool:
        return self.location.strip().lower() not in PLACEHOLDER_LOCATIONS

    @property
    def map_url(self) -> str:
        """An OpenStreetMap search link (a plain link: no embedded map, no script)."""
        if not self.has_place:
            return ""
        return f"https://www.openstreetmap.org/search?query={quote_plus(self.location)}"


@dataclass
class Team:
    slug: str
    name: str
    sport: str
    level: str
    gender: str
    games: list[Game] = field(default_factory=list)
    url: str = ""
    calendar_url: str = ""
    subscription: Subscription | None = None  # webcal/https links for calendar_url

    @property
    def plain_name(self) -> str:
        """The name with letters, digits and light punctuation only: for <title> and meta
        tags, which the base template does not escape the way page bodies are."""
        return re.sub(r"[^\w\s\-.,()/']", "", self.name.replace("&", "and")).strip()

    @property
    def sort_key(self) -> tuple:
        level = self.level.lower()
        rank = LEVEL_ORDER.index(level) if level in LEVEL_ORDER else len(LEVEL_ORDER)
        return (self.sport.lower(), rank, self.gender.lower(), self.name.lower())
