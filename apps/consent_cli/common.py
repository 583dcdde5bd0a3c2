"""What every `consent` subcommand shares: the consent settings as the build reads them, and
the registry they name."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from consent_registry.registry import Registry
from consent_registry.settings import GateSettings, SettingsError, load_settings

DEFAULT_SETTINGS_FILE = "pelicanconf.py"


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
