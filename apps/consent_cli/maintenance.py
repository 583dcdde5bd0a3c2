"""`consent` upkeep: deleting the face templates of consent that ended (`purge-expired`)
and the key of a district's shared face cache (`shared-cache-key`)."""

from __future__ import annotations

from pathlib import Path

import click
from consent_registry.clock import school_day
from consent_registry.settings import DEFAULTS
from consent_registry.sis_import import parse_date

from .common import (
    EXIT_OK,
    Args,
    CliError,
    actor_of,
    by_option,
    command,
    open_existing,
    out,
    plural,
    settings_of,
    where_options,
)


@command("purge-expired", help="delete the templates of expired consent")
@where_options
@by_option
@click.option(
    "--date",
    metavar="YYYY-MM-DD",
    help="confirm today's date when the command doubts the clock (it says when): it "
    "must be the clock's day at the school; consent that ended before it is purged",
)
def cmd_purge_expired(args: Args) -> int:
    """Delete the templates of consent that ended before the school's day by the clock,
    or before --date. Never by SITE_DATE: a preview's future date must not delete anything
    (``clock.consent_today`` moves only later for that reason, so it is not used here)."""
    from consent_registry.snapshot import check_dated

    timezone = settings_of(args).timezone
    clock_day = school_day(timezone)
    told = None
    if args.date:
        try:
            told = parse_date(args.date)
        except ValueError as exc:
            raise CliError(f"--date: {exc}") from None
        if told != clock_day:
            raise CliError(
                f"--date {told.isoformat()} is not today by this machine's clock "
                f"({clock_day.isoformat()}), so the clock is wrong: set it right first "
                "(`timedatectl`, or the machine's time settings), then run this again; "
                "the registry records every change at the clock's time. Nothing was deleted."
            )
    today = told or clock_day
    with open_existing(args) as registry:
        check_dated(
            registry,
            today,
            timezone=timezone,
            told=told,
            what="consent purge-expired",
            how_to_tell=f"`consent purge-expired --date {today.isoformat()}`",
        )
        purged = registry.purge_expired(today, actor=actor_of(args), settings=settings_of(args))
        # Block data past its retention date (CONSENT_BLOCK_RETENTION_DAYS): by the
        # clock's day, like the templates.
        unblocked = registry.purge_block_data(today, actor=actor_of(args))
    if purged:
        out(
            f"Deleted the face templates of {plural(len(purged), 'expired record')}: "
            f"{', '.join(purged)}. Their photos stay blocked until the consent is renewed."
        )
    else:
        out("No expired records hold face templates: nothing to delete.")
    if unblocked:
        out(
            f"Deleted the block data (kept templates and photo hashes) of "
            f"{plural(len(unblocked), 'withdrawal')} past its retention date: "
            f"{', '.join(unblocked)}."
        )
    return EXIT_OK


@command(
    "shared-cache-key",
    help="make the key of a district's shared face cache (CONSENT_SHARED_CACHE)",
)
@where_options
@click.argument(
    "path",
    required=False,
    metavar="[PATH]",
    help="where to write it (default: CONSENT_SHARED_CACHE_KEY_FILE, else "
    f"{DEFAULTS['CONSENT_SHARED_CACHE_KEY_FILE']})",
)
def cmd_shared_cache_key(args: Args) -> int:
    from face_engine.shared_cache import SharedCacheError, new_key

    path = Path(args.path).expanduser() if args.path else settings_of(args).shared_cache_key_file
    try:
        new_key(path)
    except SharedCacheError as exc:
        raise CliError(str(exc)) from None
    out(
        f"Wrote a new key for the district's shared face cache to {path} (readable by you "
        "only). Copy this file to CONSENT_SHARED_CACHE_KEY_FILE on every machine that builds "
        "the district's sites (over a secure channel), and keep a copy with the backup of the "
        "registry's key: without it the shared cache cannot be read, and photos are scanned "
        "again."
    )
    return EXIT_OK


# In `consent --help`, in this order.
COMMANDS = (cmd_purge_expired, cmd_shared_cache_key)
