"""`consent`: the consent office's command for the registry and the photo gate.

One click group above the registry (consent_registry) and the office's workspace
(consent_office). The consent settings come from the same loader as the build's
(``settings.load_settings`` on ``--settings``, by default ``pelicanconf.py`` in the current
folder when there is one), so `consent check` decides as the build does; --registry /
--key-file override them.

The commands live by their subject: records.py (the records), decisions.py (photos:
check, review, approve), maintenance.py (upkeep) and office.py (the workspace and the
registry file); each lists its commands in ``COMMANDS``, which this module adds to the
group, and common.py holds the options they share. `main` runs one command.

Exit codes: 0 done, 1 a problem to fix (the message says what to do; a mistyped command
line too), 3 `consent check` found an image the gate would withhold, 130 interrupted.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Sequence

import click
from consent_registry import storage
from consent_registry.registry import RegistryError
from consent_registry.sis_import import ImportFailed

from . import decisions, maintenance, office, records
from .common import EXIT_ERROR, EXIT_INTERRUPTED, CliError, CommandGroup, Invocation, err

consent = CommandGroup(
    "consent",
    help="Keep the school's photo consent registry and check photos against it.",
    epilog="Run `consent COMMAND --help` for the details of one command.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
for subcommand in (*records.COMMANDS, *decisions.COMMANDS, *maintenance.COMMANDS, *office.COMMANDS):
    consent.add_command(subcommand)


def _usage_error(exc: click.UsageError) -> None:
    """The command's usage line, then what was wrong with the command line and where the
    command's help is."""
    ctx = exc.ctx
    if ctx is not None:
        err(ctx.get_usage())
    where = ctx.command_path if ctx is not None else "consent"
    err(f"consent: {exc.format_message().rstrip('.')} (see `{where} --help`)")


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    invocation = Invocation()
    try:
        return consent.main(
            args=list(argv) if argv is not None else None,
            prog_name="consent",
            standalone_mode=False,
            obj=invocation,
        )
    except SystemExit as exc:  # click's answer to a closed pipe
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    except click.UsageError as exc:  # an unknown option, a missing argument, a bad number
        _usage_error(exc)
        return EXIT_ERROR
    except click.ClickException as exc:
        err(f"consent: {exc.format_message()}")
        return EXIT_ERROR
    except ImportFailed as exc:
        err(exc.message())
        return EXIT_ERROR
    except (CliError, RegistryError, ValueError) as exc:
        err(f"consent: {exc}")
        return EXIT_ERROR
    except sqlite3.Error as exc:  # "the disk is full", "damaged: restore from backup", …
        settings = getattr(invocation.args, "_gate_settings", None)
        err(f"consent: {storage.describe(exc, getattr(settings, 'registry', None))}")
        return EXIT_ERROR
    except OSError as exc:
        err(f"consent: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        return EXIT_ERROR
    except click.Abort as exc:  # click's wrapping of Ctrl-C, or of input that ended
        if isinstance(exc.__cause__, EOFError):
            err("consent: the input ended before an answer was given; nothing more was saved")
            return EXIT_ERROR
        err("consent: interrupted; nothing more was saved")
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        err("consent: interrupted; nothing more was saved")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
