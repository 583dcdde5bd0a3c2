"""The one "today" of every consent decision, and the check that the clock can be trusted.

``consent_today`` is the only place a consent decision gets its date: the build's gate,
`consent check` and every dated `consent` command, `publish`'s re-check and the consent
office's workspace all call it with the school's time zone (Pelican's TIMEZONE, carried in
``GateSettings.timezone``). It is the day at the school, or the day SITE_DATE names when that
is later (SITE_DATE is read by the site's one rule, ``school_feeds.site_date``): a preview
only ever expires more, it never brings back a consent that has ended.

``check_clock`` refuses a clock that the registry shows to be wrong. The registry's newest
audit entry was written by a clock that was right when it was written (entries are never
back-dated, ``Registry._audit`` refuses them), so:

- **Behind**: a clock earlier than the newest audit entry (more than ``SKEW`` earlier) is
  wrong. Every command that decides by date refuses: a day in the past would publish a
  consent that has ended.
- **Far ahead**: nothing offline can tell a clock weeks ahead from a registry nobody
  changed for weeks (a summer holiday is legitimate). The clock's lead only matters when
  it changes a decision, so a command refuses when today is more than ``AHEAD_DAYS`` after
  the newest audit entry *and* a consent that still holds templates ended in between: that
  end is vouched for by this clock alone (a clock weeks ahead once made a build purge the
  templates of every consent "expired" by then). Otherwise it goes ahead: a quiet registry
  is stopped only when a consent ended during the quiet, and then a person confirms the
  date once (`consent purge-expired --date TODAY` purges and records it; any change to
  the registry is a new witness too).

Either refusal is lifted by saying the date: SITE_DATE for the build, `consent check`,
`publish` and the workspace (``told`` below), ``consent purge-expired --date`` for the
purge (it must be the clock's day: the registry records changes at the clock's time), which
never takes SITE_DATE (a preview's future date must not delete anything). A told date
earlier than the newest audit entry's day is refused too.

No Pelican imports: the registry, `consent`, `publish` and the workspace use it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import RegistryError

log = logging.getLogger(__name__)

# How much earlier than the newest audit entry a clock may read (two machines' clocks, or
# a correction of a few seconds by NTP) before it counts as behind.
SKEW = timedelta(minutes=5)
# Days a clock may run past the newest audit entry while a consent ends in between.
AHEAD_DAYS = 3


class ClockError(RegistryError, ValueError):
    """The clock disagrees with the registry; the message says what to check and do."""


def zone(timezone: str | None) -> ZoneInfo | None:
    """The school's time zone (None: the machine's)."""
    if not timezone:
        return None
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ClockError(
            f"TIMEZONE = {timezone!r} is not a time zone: use a name such as America/New_York"
        ) from None


def now_utc() -> datetime:
    """The machine's clock, as an aware UTC datetime: the one clock of every time the
    registry writes (records, audit entries, approvals, the withdrawals journal, backup and
    restore names), so a test or a told time has one place to set it."""
    return datetime.now(UTC)


def school_day(timezone: str | None, now: datetime | None = None) -> date:
    """The day it is at the school by the clock (or `now`), whatever SITE_DATE says."""
    moment = now or now_utc()
    return moment.astimezone(zone(timezone)).date()


def told_day(timezone: str | None) -> date | None:
    """The day SITE_DATE names (None when unset). A value that is not a date raises
    ``school_feeds.site_date.SiteDateError`` with what to write instead."""
    from school_feeds.site_date import parse_site_date, preview_value

    value = preview_value()
    return parse_site_date(value, timezone).date() if value else None


def consent_today(timezone: str | None, *, now: datetime | None = None) -> date:
    """THE day every consent decision is made for: the school's day by the clock (or
    `now`), or SITE_DATE's day when that is later (a preview only ever expires more).

    A SITE_DATE that is not a date stops the build with its own message; here it is
    logged and leaves the real day."""
    from school_feeds.site_date import SiteDateError

    today = school_day(timezone, now)
    try:
        told = told_day(timezone)
    except SiteDateError as exc:
        log.warning("%s", exc)
        return today
    return max(today, told) if told else today


def check_clock(
    newest_audit: datetime | None,
    today: date,
    *,
    timezone: str | None,
    told: date | None,
    expiries: Iterable[tuple[str, date]] = (),
    now: datetime | None = None,
    what: str = "the consent decision",
    how_to_tell: str = "SITE_DATE=YYYY-MM-DD",
) -> None:
    """Refuse (ClockError) a clock the registry shows to be wrong; see the module's text.

    `newest_audit`: the registry's newest audit entry (None: an empty log, nothing to
    check against). `today`: the day decided for (``consent_today``). `told`: the date
    the user gave (SITE_DATE, or purge-expired's --date), which lifts both refusals unless
    it is before the newest entry's day. `expiries`: (person id, end date) of the consents
    that still hold face templates."""
    if newest_audit is None:
        return
    if newest_audit.tzinfo is None:
        newest_audit = newest_audit.replace(tzinfo=UTC)
    tz = zone(timezone)
    moment = (now or now_utc()).astimezone(UTC)
    witness = newest_audit.astimezone(tz).date()
    stamp = f"{newest_audit.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    if told is not None:
        if today < witness:
            raise ClockError(
                f"{what} was refused: the date given ({today.isoformat()}) is before the "
                f"consent registry's newest audit entry ({stamp}), so consent that has "
                f"ended since would count as given. Give today's date ({how_to_tell})."
            )
        return
    if moment < newest_audit - SKEW:
        raise ClockError(
            f"{what} was refused: this machine's clock reads "
            f"{moment:%Y-%m-%d %H:%M} UTC, earlier than the consent registry's newest audit "
            f"entry ({stamp}), so the clock is wrong and consent that has ended could count "
            "as given. Set the clock right (`timedatectl`, or the machine's time settings), "
            f"or give the date explicitly ({how_to_tell})."
        )
    if (today - witness).days <= AHEAD_DAYS:
        return
    ended = sorted((end, pid) for pid, end in expiries if witness <= end < today)
    if ended:
        names = ", ".join(f"{pid} (last day {end.isoformat()})" for end, pid in ended[:5])
        more = f" and {len(ended) - 5} more" if len(ended) > 5 else ""
        raise ClockError(
            f"{what} was refused: this machine's clock says today is {today.isoformat()}, "
            f"{(today - witness).days} days after the consent registry's newest audit entry "
            f"({stamp}), and by it the consent of {names}{more} has ended since: only this "
            "clock says so, and a clock that is ahead would withhold consented photos (and "
            "purge-expired delete their templates). Check the date. If it is right, say so: "
            f"`consent purge-expired --date {today.isoformat()}` (the registry then records "
            f"the date), or {how_to_tell}; if it is wrong, set the clock right."
        )
