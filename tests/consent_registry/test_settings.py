"""The consent settings loader: one for the build, `consent` and `publish`; unsafe values
are refused with a message saying what to change."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from consent_registry.clock import consent_today
from consent_registry.settings import (
    GateSettings,
    SettingsError,
    check_plugins,
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
    assert consent_today("America/New_York") == date(2099, 1, 27)
    monkeypatch.setenv("SITE_DATE", "2001-01-01")
    # Today in the school's time zone: at most a day from this machine's date (any day of
    # the year, 29 February too).
    assert abs(consent_today("America/New_York") - date.today()) <= timedelta(days=1)
    assert consent_today("America/New_York") != date(2001, 1, 1)


def test_relative_paths_are_taken_from_consent_root_wherever_it_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("CONSENT_REGISTRY", raising=False)
    monkeypatch.delenv("CONSENT_KEY_FILE", raising=False)
    project = tmp_path / "project"
    project.mkdir()
    (project / "pelicanconf.py").write_text(
        "from pathlib import Path\n"
        'PLUGINS = ["consent_gate"]\n'
        "CONSENT_ROOT = str(Path(__file__).resolve().parent)\n"
    )
    for where in ("a", "b"):
        (tmp_path / where).mkdir()
        monkeypatch.chdir(tmp_path / where)
        settings = load_settings(project / "pelicanconf.py")
        assert settings.cache_dir == project / ".cache" / "consent"
        assert settings.registry == project / "consent" / "registry.sqlite3"
        assert settings.manifest_path == project / "reports" / "publish-manifest.json"
    # The environment's paths are taken as typed, from where the command runs.
    monkeypatch.setenv("CONSENT_REGISTRY", "office.sqlite3")
    assert load_settings(project / "pelicanconf.py").registry == tmp_path / "b" / "office.sqlite3"
    # Without CONSENT_ROOT: the current folder, as before.
    assert GateSettings.from_mapping({}).cache_dir == Path(".cache/consent")


def test_cache_upkeep_settings_are_checked():
    settings = GateSettings.from_mapping({"CONSENT_CACHE_KEEP_DAYS": 7, "CONSENT_CACHE_MAX_MB": 64})
    assert (settings.cache_keep_days, settings.cache_max_mb) == (7, 64)
    with pytest.raises(SettingsError, match="CONSENT_CACHE_KEEP_DAYS"):
        GateSettings.from_mapping({"CONSENT_CACHE_MAX_MB": -1})
