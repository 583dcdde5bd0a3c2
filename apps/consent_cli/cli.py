"""`consent`: the consent office's command for the registry and the photo gate.

The consent settings come from the same loader as the build's (``settings.load_settings``
on ``--settings``, by default ``pelicanconf.py`` in the current folder when there is one),
so `consent check` decides as the build does; --registry / --key-file override them.

The commands live by their subject: records.py (the records), decisions.py (photos:
check, review, approve), maintenance.py (upkeep) and office.py (the workspace and the
registry file); this module builds the parser and runs one command.

Exit codes: 0 done, 1 a problem to fix (the message says what to do), 3 `consent check`
found an image the gate would withhold.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
from collections.abc import Sequence

from consent_registry import storage
from consent_registry.registry import RegistryError
from consent_registry.settings import DEFAULTS, GateSettings
from consent_registry.sis_import import ImportFailed

from . import decisions, maintenance, records
from .common import DEFAULT_SETTINGS_FILE, EXIT_ERROR, CliError, Parents, err


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        self.print_usage(sys.stderr)
        raise CliError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    defaults = GateSettings.from_mapping()
    where = _Parser(add_help=False)
    where.add_argument(
        "--settings",
        metavar="FILE",
        help=f"the Pelican settings file the build uses (default: {DEFAULT_SETTINGS_FILE} in "
        "the current folder, when it is there): CONSENT_* settings are read from it",
    )
    where.add_argument(
        "--registry",
        metavar="PATH",
        help="the registry file (default: CONSENT_REGISTRY of the environment or the "
        f"settings, else {DEFAULTS['CONSENT_REGISTRY']})",
    )
    where.add_argument(
        "--key-file",
        metavar="PATH",
        help="the key that encrypts face templates (default: CONSENT_KEY_FILE of the "
        f"environment or the settings, else {DEFAULTS['CONSENT_KEY_FILE']})",
    )
    who = _Parser(add_help=False)
    who.add_argument(
        "--by", metavar="NAME", help="who makes the change, for the audit log (default: you)"
    )
    edits = _Parser(add_help=False)
    edits.add_argument(
        "--if-version",
        type=int,
        metavar="N",
        help="the record's version you decided on (`consent show ID`): the change is refused "
        "if someone changed the record since",
    )

    parser = _Parser(
        prog="consent",
        description="Keep the school's photo consent registry and check photos against it.",
        epilog="Run `consent COMMAND --help` for the details of one command.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    parents = Parents(where, who, edits, defaults)
    records.add_commands(sub, parents)
    decisions.add_commands(sub, parents)
    maintenance.add_commands(sub, parents)

    # serve, user add/list, backup, restore, takedowns-ran: the office's workspace and the file.
    from consent_cli.office import add_commands

    add_commands(sub, where, who)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args = None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return args.func(args)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    except ImportFailed as exc:
        err(exc.message())
        return EXIT_ERROR
    except (CliError, RegistryError, ValueError) as exc:
        err(f"consent: {exc}")
        return EXIT_ERROR
    except sqlite3.Error as exc:  # "the disk is full", "damaged: restore from backup", …
        settings = getattr(args, "_gate_settings", None)
        err(f"consent: {storage.describe(exc, getattr(settings, 'registry', None))}")
        return EXIT_ERROR
    except OSError as exc:
        err(f"consent: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        return EXIT_ERROR
    except KeyboardInterrupt:
        err("consent: interrupted; nothing more was saved")
        return 130


if __name__ == "__main__":
    sys.exit(main())
