"""The one settings loader: every setting of the site is a dataclass field that carries its
key, its default, its environment rule and its doc line (``setting``); ``load`` reads a
concern's raw values from a Pelican settings mapping and the environment, and
``read_settings_file`` reads a settings file as Pelican does. The settings reference
(docs/settings.md) is written from the same fields (``reference``), so it cannot drift.

A setting's environment rule is one of ``Env``: the settings file only, or the environment
variable of the same name winning over the file when it is set and not blank, or the
environment only (a machine's or a test's switch with no key in the settings file).

``SettingsError`` is the one error of every setting below the programs; its message names
the setting and says what to do. Nothing here imports Pelican or another project package.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib.util
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SiteError

METADATA_KEY = "site_setting"


class SettingsError(SiteError, ValueError):
    """A setting is missing, malformed or unsafe; the message names it and says what to do."""


class Env(enum.StrEnum):
    """Where a setting's value may come from, besides its default."""

    FILE = "settings file only"
    OVERRIDE = "environment wins over the file"
    ONLY = "environment only"


@dataclass(frozen=True)
class Setting:
    """One documented setting: its key, default, environment rule and doc line."""

    key: str
    default: object
    doc: str
    env: Env = Env.FILE

    def from_environment(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The environment's value when this setting's rule lets it in and it is set and
        not blank; else None."""
        if self.env is Env.FILE:
            return None
        value = (os.environ if environ is None else environ).get(self.key)
        return value if value is not None and value.strip() else None


def setting(
    key: str,
    default: object,
    doc: str,
    *,
    env: Env = Env.FILE,
    field_default: object = dataclasses.MISSING,
) -> Any:
    """A dataclass field read from the settings key `key` (``load`` reads it; the class
    converts it). `default` is the setting's, as a settings file would write it;
    `field_default`, when given, the field's own for building the class directly."""
    meta = {METADATA_KEY: Setting(key, default, doc, env)}
    return dataclasses.field(default=field_default, metadata=meta)


def settings_of(cls: type) -> tuple[Setting, ...]:
    """The settings a settings dataclass reads, in field order, then any it reads that
    have no field of their own (a class attribute ``EXTRA_SETTINGS``)."""
    declared = tuple(
        f.metadata[METADATA_KEY] for f in dataclasses.fields(cls) if METADATA_KEY in f.metadata
    )
    return declared + tuple(getattr(cls, "EXTRA_SETTINGS", ()))


def defaults_of(cls: type) -> dict[str, object]:
    """Key -> default of every setting `cls` reads (what a DEFAULTS dict used to hold)."""
    return {s.key: s.default for s in settings_of(cls)}


def publish_defaults(cls: type, settings: dict) -> None:
    """Put the defaults of `cls`'s settings into Pelican's settings where the file left
    them out, so templates and embeds read the same values the plugin does."""
    for key, value in defaults_of(cls).items():
        settings.setdefault(key, value)


class Values(dict):
    """A concern's raw values by key: the default, else the settings file's value, else
    (by each setting's rule) the environment's. ``from_environment`` names the keys whose
    value came from the environment."""

    from_environment: frozenset[str] = frozenset()


def load(
    cls: type,
    settings: Mapping[str, object] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Values:
    """The raw values of every setting `cls` declares, before the class converts and
    checks them (a key in the file wins over the default even when its value is None)."""
    settings = settings or {}
    values = Values()
    from_env = set()
    for item in settings_of(cls):
        values[item.key] = settings.get(item.key, item.default)
        if item.env is Env.ONLY:
            values[item.key] = item.default
        value = item.from_environment(environ)
        if value is not None:
            values[item.key] = value
            from_env.add(item.key)
    values.from_environment = frozenset(from_env)
    return values


def flag(key: str, value: object) -> bool:
    """A yes/no setting, also as typed in an environment variable ("1", "true", "0", "no")."""
    if not isinstance(value, str):
        return bool(value)
    word = value.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("", "0", "false", "no", "off"):
        return False
    raise SettingsError(f"{key} must be true or false (1 or 0), not {value!r}")


def number(key: str, value: object, kind: type = int) -> Any:
    """A number setting (`kind` int or float), refused with its key when it is not one."""
    try:
        return kind(value)
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise SettingsError(f"{key} must be {what}, not {value!r}") from None


def read_settings_file(path: Path) -> dict[str, object]:
    """The upper-case names a Pelican settings file defines, read as Pelican reads it (as
    a module, with its folder importable, so publishconf.py can import pelicanconf)."""
    path = Path(path)
    if not path.is_file():
        raise SettingsError(f"the settings file {path} does not exist: check --settings")
    folder = str(path.resolve().parent)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    previous = os.getcwd()
    # A module of the same name as a settings file beside this one (pelicanconf) loaded
    # earlier, from another folder, would be taken instead of this folder's: set aside.
    set_aside = {
        sibling.stem: sys.modules.pop(sibling.stem)
        for sibling in Path(folder).glob("*.py")
        if sibling.stem in sys.modules
    }
    before = set(sys.modules)
    try:
        os.chdir(folder)  # publishconf.py appends os.curdir to find pelicanconf
        spec = importlib.util.spec_from_file_location(f"_settings_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except SettingsError:
        raise
    except Exception as exc:  # noqa: BLE001 - any error in the file is the user's to fix
        raise SettingsError(
            f"the settings file {path} cannot be read ({type(exc).__name__}: {exc})"
        ) from exc
    finally:
        os.chdir(previous)
        if added:
            sys.path.remove(folder)
        # Settings modules it imported (publishconf's `from pelicanconf import *`) are
        # forgotten, so another settings file of the same name is read afresh.
        for name in set(sys.modules) - before:
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if origin and Path(origin).resolve().parent == Path(folder):
                del sys.modules[name]
        sys.modules.update(set_aside)
    return {name: getattr(module, name) for name in dir(module) if name.isupper()}


# ------------------------------------------------------------- the settings reference


@dataclass(frozen=True)
class Section:
    """One concern of the settings reference: a title, where its settings are declared,
    the page that explains them, and the settings themselves."""

    title: str
    source: str
    settings: tuple[Setting, ...]
    page: str = ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(value: object) -> str:
    if value is None or value == "" or value == () or value == []:
        return "empty" if value is not None else "None"
    if isinstance(value, list | tuple) and len(repr(value)) > 60:
        return f"{len(value)} entries (see the source)"
    return f"`{value!r}`"


def reference(sections: Iterable[Section], header: str = "") -> str:
    """The settings reference as Markdown: a table per section (key, default, environment
    rule, what it does), then every environment variable in one list."""
    sections = list(sections)
    lines = [header.rstrip(), ""] if header else []
    for section in sections:
        lines += [f"## {section.title}", ""]
        where = "Declared in " + ", ".join(f"`{s.strip()}`" for s in section.source.split(","))
        lines += [where + (f"; explained in {section.page}." if section.page else "."), ""]
        lines += ["| Setting | Default | Environment | What it does |"]
        lines += ["| --- | --- | --- | --- |"]
        for item in section.settings:
            lines.append(
                f"| `{item.key}` | {_cell(_default(item.default))} | {item.env} "
                f"| {_cell(item.doc)} |"
            )
        lines.append("")
    lines += ["## Environment variables", ""]
    lines += [
        "Each variable below is read by the one loader (`lib/site_common/settings.py`); a "
        "blank value counts as unset. Every other setting comes from the settings file only.",
        "",
    ]
    for section in sections:
        for item in section.settings:
            if item.env is not Env.FILE:
                lines.append(f"- `{item.key}` ({item.env}): {item.doc}")
    return "\n".join(lines).rstrip() + "\n"
