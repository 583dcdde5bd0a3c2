"""The consent settings loader: one for the build, `consent` and `publish`; unsafe values
are refused with a message saying what to change."""

from __future__ import annotations

from datetime import date

import pytest
from consent_registry.settings import (
    GateSettings,
    SettingsError,
    check_plugins,
    gate_today,
    load_settings,
)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"CONSENT_TOLERANCE": 0.9}, "CONSENT_TOLERANCE = 0.9 is unsafe"),
        ({"CONSENT_TOLERANCE": "lots"}, "is not a number"),
        ({"CONSENT_IMAGE_EXTENSIONS": (".jpg",)}, "no longer goes by file names"),
        ({"CONSENT_MODE": "trust"}, "CONSENT_MODE must be"),
        ({"CONSENT_MARGIN": -1}, "CONSENT_MARGIN must be 0 or more"),
    ],
)
def test_settings_that_weaken_the_gate_are_refused(values, message):
    with pytest.raises(SettingsError, match=message):
        GateSettings.from_mapping(values)


def test_the_documented_limit_is_accepted():
    assert GateSettings.from_mapping({"CONSENT_TOLERANCE": 0.6}).tolerance == 0.6


@pytest.mark.parametrize(
    "name", ["CONSENT_CACHE_DIR", "CONSENT_REPORT_PATH", "CONSENT_MANIFEST_PATH"]
)
def test_nothing_of_the_gate_may_live_in_the_published_folder(tmp_path, name):
    output = tmp_path / "output"
    settings = GateSettings.from_mapping({name: str(output / "inside")})
    with pytest.raises(SettingsError, match=f"{name} .* is inside the output folder"):
        settings.check_outside(output)
    GateSettings.from_mapping({name: str(tmp_path / "beside")}).check_outside(output)


def test_the_gate_must_be_last_in_plugins():
    check_plugins(["site_alerts", "consent_gate"])
    with pytest.raises(SettingsError, match="is not in PLUGINS"):
        check_plugins(["site_alerts"])
    with pytest.raises(SettingsError, match="is not the last of PLUGINS"):
        check_plugins(["consent_gate", "site_alerts"])


def test_a_settings_file_is_read_like_pelican_reads_it(tmp_path, monkeypatch):
    monkeypatch.delenv("CONSENT_REGISTRY", raising=False)
    (tmp_path / "pelicanconf.py").write_text(
        'PLUGINS = ["consent_gate"]\nCONSENT_REGISTRY = "office/registry.sqlite3"\n'
    )
    (tmp_path / "publishconf.py").write_text(
        "import os, sys\nsys.path.append(os.curdir)\nfrom pelicanconf import *\n"
        "CONSENT_STRICT = True\n"
    )
    settings = load_settings(tmp_path / "publishconf.py")
    assert settings.strict and str(settings.registry) == "office/registry.sqlite3"
    (tmp_path / "bad.py").write_text("PLUGINS = []\n")
    with pytest.raises(SettingsError, match="is not in PLUGINS"):
        load_settings(tmp_path / "bad.py")
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "missing.py")


def test_a_date_time_preview_moves_the_consent_date_only_later(monkeypatch):
    monkeypatch.setenv("SITE_DATE", "2099-01-27T07:00")
    assert gate_today("America/New_York") == date(2099, 1, 27)
    monkeypatch.setenv("SITE_DATE", "2001-01-01")
    assert gate_today("America/New_York") >= date.today().replace(year=date.today().year - 1)
    assert gate_today("America/New_York") != date(2001, 1, 1)
