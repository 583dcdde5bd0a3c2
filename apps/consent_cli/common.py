"""What every `consent` subcommand shares: the options that say which settings, registry
and person a command uses (click decorators, one copy each), the consent settings as the
build reads them, the registry they name, the build's report, the day a command decides
for, the exit codes and the words printed."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import click
from consent_registry.clock import consent_today
from consent_registry.registry import Registry, default_actor
from consent_registry.settings import DEFAULTS, GateSettings, SettingsError, load_settings
from site_common.errors import SiteError
from site_gate.report import BuildReport, ReportMissing, ReportUnreadable, read_report

DEFAULT_SETTINGS_FILE = "pelicanconf.py"
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_WITHHELD = 3  # `consent check` found an image the gate would withhold
EXIT_INTERRUPTED = 130  # Ctrl-C

F = TypeVar("F", bound=Callable[..., Any])


class Args(SimpleNamespace):
    """One command's options and arguments by name, as click parsed them (``--key-file``
    is ``args.key_file``; a repeatable option is a tuple, empty when not given), and the
    settings read for it once (``settings_of``)."""


Handler = Callable[[Args], int]


@dataclass
class Invocation:
    """One run of `consent` (click's ``obj``, shared by the group and its commands): the
    command's Args, so that `main` can name the registry in a storage error."""

    args: Args | None = None


def command(name: str, help: str) -> Callable[[Handler], click.Command]:
    """Make ``handler(args) -> exit code`` the `consent` subcommand `name`; the click
    decorators under this one declare its options and arguments. `help` is both the line
    in `consent --help` and the start of `consent NAME --help`."""

    def make(handler: Handler) -> click.Command:
        @functools.wraps(handler)  # the options the decorators gave it come along
        def callback(**options: Any) -> int:
            args = Args(**options)
            invocation = click.get_current_context().find_object(Invocation)
            if invocation is not None:
                invocation.args = args
            return handler(args)

        return click.command(name, help=help, short_help=help)(callback)

    return make


class CommandGroup(click.Group):
    """`consent` and its groups (`consent user`): the commands listed in the order they
    were added (by subject, not by name); without a command, a usage error (exit 1)."""

    def __init__(self, name: str, **attrs: Any) -> None:
        attrs.setdefault("no_args_is_help", False)
        super().__init__(name, **attrs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


def _options(*options: Callable[[F], F]) -> Callable[[F], F]:
    """One decorator for several options, listed in `--help` in the order given."""

    def decorate(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


# --settings, --registry, --key-file: the settings and the registry a command uses.
where_options = _options(
    click.option(
        "--settings",
        metavar="FILE",
        help=f"the Pelican settings file the build uses (default: {DEFAULT_SETTINGS_FILE} in "
        "the current folder, when it is there): CONSENT_* settings are read from it",
    ),
    click.option(
        "--registry",
        metavar="PATH",
        help="the registry file (default: CONSENT_REGISTRY of the environment or the "
        f"settings, else {DEFAULTS['CONSENT_REGISTRY']})",
    ),
    click.option(
        "--key-file",
        metavar="PATH",
        help="the key that encrypts face templates (default: CONSENT_KEY_FILE of the "
        f"environment or the settings, else {DEFAULTS['CONSENT_KEY_FILE']})",
    ),
)

# --by: who makes the change, for the audit log.
by_option = click.option(
    "--by", metavar="NAME", help="who makes the change, for the audit log (default: you)"
)

# --if-version: the change is refused when the record changed since the office looked.
if_version_option = click.option(
    "--if-version",
    type=int,
    metavar="N",
    help="the record's version you decided on (`consent show ID`): the change is refused "
    "if someone changed the record since",
)


def report_option(purpose: str = "") -> Callable[[F], F]:
    """--report PATH: the build's consent report, read for `purpose` (", to …")."""
    return click.option(
        "--report",
        metavar="PATH",
        help=f"the build's consent report{purpose} (default: {DEFAULTS['CONSENT_REPORT_PATH']})",
    )


class CliError(SiteError):
    """A problem the user can fix; printed without a traceback."""


def settings_of(args: Args) -> GateSettings:
    """The consent settings as the build reads them, then --registry / --key-file.

    Read once per command: ``--settings FILE``, or pelicanconf.py in the current folder
    when it is there, or the defaults; CONSENT_REGISTRY / CONSENT_KEY_FILE in the
    environment win over the file (``GateSettings.from_mapping``)."""
    cached = getattr(args, "_gate_settings", None)
    if cached is not None:
        return cached
    source = getattr(args, "settings", None)
    if source is None and Path(DEFAULT_SETTINGS_FILE).is_file():
        source = DEFAULT_SETTINGS_FILE
    try:
        settings = load_settings(Path(source)) if source else GateSettings.from_mapping()
    except SettingsError as exc:
        raise CliError(
            f"the consent settings cannot be used ({exc}); fix the settings file or give "
            "another with --settings FILE"
        ) from None
    if getattr(args, "registry", None):
        settings = replace(settings, registry=Path(args.registry).expanduser())
    if getattr(args, "key_file", None):
        settings = replace(settings, key_file=Path(args.key_file).expanduser())
    args._gate_settings = settings
    return settings


def open_registry(args: Args, create: bool = True) -> Registry | None:
    """The registry of the settings (or --registry/--key-file); None when it does not
    exist and `create` is False (read-only commands never create one)."""
    settings = settings_of(args)
    path = settings.registry
    if not create and not path.exists():
        return None
    registry = Registry.open(path, settings.key_file)  # logs an upgrade of an old schema
    registry.gate_settings = settings  # the face cache and retention a withdrawal uses
    if registry.created:
        print(f"Created a new consent registry at {path}.", file=sys.stderr)
    if registry.created_key:
        print(
            f"Created a new key file at {registry.key_file}. Back it up somewhere safe, "
            "separately from the registry and never in git: without it the face templates "
            "cannot be read.",
            file=sys.stderr,
        )
    return registry


def out(text: str = "") -> None:
    """Print a line of the command's answer (flushed: progress bars share the terminal)."""
    print(text, flush=True)


def err(text: str) -> None:
    """Print a warning or an error on stderr."""
    print(text, file=sys.stderr, flush=True)


def open_existing(args: Args) -> Registry:
    """The registry of the settings; CliError when there is none yet."""
    registry = open_registry(args, create=False)
    if registry is None:
        raise CliError(no_registry(args))
    return registry


def no_registry(args: Args) -> str:
    return (
        f"There is no consent registry at {settings_of(args).registry} yet. Add people with "
        "`consent add` or `consent import`, or point --registry / CONSENT_REGISTRY at it."
    )


def decision_day(args: Args) -> date:
    """The day the command decides for: ``clock.consent_today`` of the settings' TIMEZONE
    (SITE_DATE, when later, counts as for the build)."""
    return consent_today(settings_of(args).timezone)


def actor_of(args: Args) -> str:
    return getattr(args, "by", None) or default_actor()


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def report_of(args: Args, required: bool) -> tuple[Path, BuildReport | None]:
    """(path, the build's consent report, ``site_gate.report.read_report``); None when
    there is none or it cannot be read, and not `required` (said on stderr)."""
    report_path = (
        Path(args.report) if getattr(args, "report", None) else settings_of(args).report_path
    )
    try:
        return report_path, read_report(report_path)
    except ReportMissing as exc:
        if required:
            raise CliError(str(exc)) from None
    except ReportUnreadable as exc:
        if required:
            raise CliError(str(exc)) from None
        err(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
    return report_path, None
