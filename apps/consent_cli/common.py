"""What every `consent` subcommand shares: the consent settings as the build reads them, the
registry they name, the build's report, the day a command decides for, the exit codes and
the words printed."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import NamedTuple

from consent_registry.clock import consent_today
from consent_registry.registry import Registry, default_actor
from consent_registry.settings import GateSettings, SettingsError, load_settings
from site_gate.report import BuildReport, ReportMissing, ReportUnreadable, read_report

DEFAULT_SETTINGS_FILE = "pelicanconf.py"
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_WITHHELD = 3  # `consent check` found an image the gate would withhold


class Parents(NamedTuple):
    """The options several subcommands share (argparse parent parsers), and the settings'
    defaults their help names; each command module's ``add_commands`` takes them."""

    where: argparse.ArgumentParser  # --settings, --registry, --key-file
    who: argparse.ArgumentParser  # --by
    edits: argparse.ArgumentParser  # --if-version
    defaults: GateSettings


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""


def settings_of(args: argparse.Namespace) -> GateSettings:
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


def open_registry(args: argparse.Namespace, create: bool = True) -> Registry | None:
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


def open_existing(args: argparse.Namespace) -> Registry:
    """The registry of the settings; CliError when there is none yet."""
    registry = open_registry(args, create=False)
    if registry is None:
        raise CliError(no_registry(args))
    return registry


def no_registry(args: argparse.Namespace) -> str:
    return (
        f"There is no consent registry at {settings_of(args).registry} yet. Add people with "
        "`consent add` or `consent import`, or point --registry / CONSENT_REGISTRY at it."
    )


def decision_day(args: argparse.Namespace) -> date:
    """The day the command decides for: ``clock.consent_today`` of the settings' TIMEZONE
    (SITE_DATE, when later, counts as for the build)."""
    return consent_today(settings_of(args).timezone)


def actor_of(args: argparse.Namespace) -> str:
    return getattr(args, "by", None) or default_actor()


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def report_of(args: argparse.Namespace, required: bool) -> tuple[Path, BuildReport | None]:
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
