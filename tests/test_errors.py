"""One error base per package, and one root for them all.

Every error class defined in lib/, plugins/ and apps/ derives from
``site_common.errors.SiteError``; a package's errors derive from its one base (a plugin's
few errors from SiteError directly), so one ``except`` stops on anything a package refuses
and anything else is a bug. A class that starts a root of its own fails here. Errors keep
the builtin base they had (``except ValueError`` still catches them). ``KeyboardInterrupt``'s
kin (``site_gate.staging.BuildInterrupted``) is no Exception and stays outside: an
``except Exception`` must not swallow a Ctrl-C.
"""

from __future__ import annotations

import importlib
import inspect
import types

import pytest
from site_common.errors import SiteError

from tests.test_layout import MODULES

# The one base of each package; a package not named here (a plugin) uses SiteError itself.
BASES = {
    "site_common": "site_common.errors.SiteError",
    "consent_registry": "consent_registry.errors.RegistryError",
    "face_engine": "face_engine.errors.FaceError",
    "school_feeds": "school_feeds.errors.FeedError",
    "site_gate": "site_gate.errors.GateError",
    "consent_office": "consent_office.errors.OfficeError",
    "s3_publish": "s3_publish.errors.PublishError",
    "consent_cli": "consent_cli.common.CliError",
}


def _resolve(dotted: str) -> type:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _project_modules() -> list[types.ModuleType]:
    # A package's __main__ runs its command when imported.
    return [importlib.import_module(name) for name in MODULES if not name.endswith("__main__")]


def _base_of(module_name: str) -> type:
    package = module_name.split(".")[0]
    return _resolve(BASES[package]) if package in BASES else SiteError


def _strays(modules: list[types.ModuleType]) -> list[str]:
    """Every Exception class defined in `modules` that does not derive from its package's
    base and SiteError, as "module.Class (its bases) is not a Base"."""
    found = []
    for module in modules:
        base = _base_of(module.__name__)
        for obj in vars(module).values():
            if not (inspect.isclass(obj) and issubclass(obj, Exception)):
                continue
            if obj.__module__ != module.__name__:  # imported, checked where it is defined
                continue
            name = f"{module.__name__}.{obj.__qualname__}"
            missing = [b for b in (base, SiteError) if not issubclass(obj, b)]
            if not missing:
                continue
            bases = ", ".join(b.__name__ for b in obj.__bases__)
            found.append(f"{name} ({bases}) is not a {missing[0].__name__}")
    return found


def test_every_error_derives_from_its_package_base():
    assert _strays(_project_modules()) == []


@pytest.mark.parametrize("package", sorted(BASES))
def test_each_package_base_is_its_own_and_a_site_error(package):
    base = _resolve(BASES[package])
    assert base.__module__.split(".")[0] == package
    assert issubclass(base, SiteError)


def test_errors_keep_their_builtin_base():
    """Callers that catch the builtin type (``except ValueError``) still catch these."""
    from consent_registry.clock import ClockError
    from face_engine.imaging import ImageTooLarge
    from face_engine.pdf import PdfUnreadable
    from s3_publish.local_s3 import LocalS3Error
    from school_feeds.fetch import FeedError
    from school_feeds.site_date import SiteDateError
    from site_common.settings import SettingsError
    from site_gate.gate import GateError
    from site_gate.report import ReportMissing, ReportPathError

    assert issubclass(ClockError, ValueError)
    assert issubclass(ImageTooLarge, ValueError) and issubclass(PdfUnreadable, ValueError)
    assert issubclass(LocalS3Error, RuntimeError) and issubclass(GateError, RuntimeError)
    assert issubclass(FeedError, ValueError) and issubclass(ReportPathError, ValueError)
    assert issubclass(SiteDateError, SettingsError)
    # FileNotFoundError comes first in its bases, so it is still built as an OSError.
    missing = ReportMissing(2, "No such file", "report.json")
    assert isinstance(missing, FileNotFoundError)
    assert (missing.errno, missing.filename) == (2, "report.json")


def test_the_checker_finds_a_stray_root():
    """The checker itself, on made-up modules: a lib package's error that is only a
    ValueError, and a plugin's that is not a SiteError, are found; derived ones are not."""
    from site_gate.errors import GateError

    lib = types.ModuleType("site_gate.made_up")
    plugin = types.ModuleType("made_up_plugin.things")
    classes = {
        lib: {"Stray": (ValueError,), "Fine": (GateError, ValueError)},
        plugin: {"Loose": (Exception,), "Kept": (SiteError, ValueError)},
    }
    for module, made in classes.items():
        for name, bases in made.items():
            setattr(module, name, type(name, bases, {"__module__": module.__name__}))
    assert _strays([lib, plugin]) == [
        "site_gate.made_up.Stray (ValueError) is not a GateError",
        "made_up_plugin.things.Loose (Exception) is not a SiteError",
    ]
