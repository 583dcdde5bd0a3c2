"""docs/settings.md, written from the settings' own fields: `python -m tools.settings_reference`
(`make settings-doc`) writes it, `--check` only says whether it is up to date.

Every setting's key, default, environment rule and doc line live on its dataclass field
(``site_common.settings.setting``); this module only lists the concerns in the order the
page shows them. A test fails when the page in the checkout differs from what this writes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "settings.md"

HEADER = """\
# Settings reference

<!-- Written by `make settings-doc` (python -m tools.settings_reference) from the settings'
dataclass fields: edit the field's doc line, not this page. -->

- `pelicanconf.py`: everything for local builds: site name and school details
  (`SCHOOL_ADDRESS`, `SCHOOL_PHONE`, `SCHOOL_EMAIL`, `SCHOOL_HOURS`), navigation
  (`NAV_LINKS`), URLs, pagination, feeds, translations (`I18N_LANGUAGES`), and each
  concern's settings below, prefixed by concern.
- `publishconf.py`: production overrides on top of `pelicanconf.py` (absolute `SITEURL`,
  taken from the `SITEURL` environment variable when set, which `make publish-local` does;
  feed domain; strict consent checking; the rendered-page check).
- Secrets and consent records are never in the repository: see `consent/README.md`.
- An alert's `Title-es:` and `Text-es:` (`title_es`, `message_es` in `ALERTS`) are its
  Spanish text; `Closes: school` makes its days closings (lunch, games and events cancelled).

Every setting below is read by the one loader, `lib/site_common/settings.py`: the default,
else the settings file's value, else (where the Environment column says so) the
environment variable of the same name. Errors name the setting and what to write instead.
"""


def sections() -> list:
    """The concerns, in the order the page lists them."""
    from athletics.settings import AthleticsSettings
    from consent_office.settings import OfficeSettings
    from consent_registry.settings import GateSettings
    from lunch_menu.settings import LunchSettings
    from s3_publish.settings import PublishSettings
    from school_events.settings import EventsSettings
    from school_feeds.site_date import SITE_DATE
    from site_alerts.settings import AlertSettings
    from site_common.settings import Section, settings_of
    from site_gate.render_check import CHROMIUM
    from site_gate.staging import PAUSE_AT
    from site_search.settings import SearchSettings
    from staff_directory.settings import StaffSettings

    def of(cls: type) -> tuple:
        return settings_of(cls)

    return [
        Section(
            "Consent gate (`CONSENT_*`)",
            "lib/consent_registry/settings.py",
            of(GateSettings),
            "[consent office](consent-office.md), [photos](photos-and-consent.md)",
        ),
        Section(
            "The machine's and the tests' switches",
            "lib/school_feeds/site_date.py, lib/site_gate/render_check.py, "
            "lib/site_gate/staging.py",
            (SITE_DATE, CHROMIUM, PAUSE_AT),
            "[trying the site on this machine](local-preview.md)",
        ),
        Section(
            "Consent office workspace (`CONSENT_OFFICE_*`)",
            "apps/consent_office/settings.py",
            of(OfficeSettings),
            "[consent office](consent-office.md)",
        ),
        Section(
            "Lunch menus (`LUNCH_*`)",
            "plugins/lunch_menu/settings.py",
            of(LunchSettings),
            "[lunch and athletics data](feeds.md)",
        ),
        Section(
            "Athletics (`ATHLETICS_*`)",
            "plugins/athletics/settings.py",
            of(AthleticsSettings),
            "[lunch and athletics data](feeds.md)",
        ),
        Section(
            "School calendar (`EVENTS_*`)",
            "plugins/school_events/settings.py",
            of(EventsSettings),
            "[webmaster: school calendar](webmaster.md)",
        ),
        Section(
            "Staff directory (`STAFF_*`)",
            "plugins/staff_directory/settings.py",
            of(StaffSettings),
            "[webmaster: staff directory](webmaster.md)",
        ),
        Section(
            "Site search (`SEARCH_*`)",
            "plugins/site_search/settings.py",
            of(SearchSettings),
            "[webmaster: site search](webmaster.md)",
        ),
        Section(
            "Alert banner (`ALERTS`)",
            "plugins/site_alerts/settings.py",
            of(AlertSettings),
            "[webmaster: the alert banner](webmaster.md)",
        ),
        Section(
            "Publishing (`S3_*`)",
            "apps/s3_publish/settings.py",
            of(PublishSettings),
            "[deploying](deploying.md)",
        ),
    ]


def render() -> str:
    """The page, as it should be in the checkout."""
    from site_common.settings import reference

    return reference(sections(), HEADER)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.settings_reference", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only say whether it is up to date")
    parser.add_argument("--output", type=Path, default=PAGE, help="default: %(default)s")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
        if current != text:
            print(f"{args.output} is out of date: run `make settings-doc`", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
