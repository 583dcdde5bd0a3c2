"""The one settings loader (lib/site_common/settings.py): each setting's environment rule
holds, every setting is documented once, and docs/settings.md is what the generator writes
from the fields (`make settings-doc` rewrites it)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from site_common.settings import Env, SettingsError, flag, load, setting

from tools import settings_reference

PREFIXES = {
    "Consent gate": ("CONSENT_",),
    "The machine's": ("SITE_DATE", "CONSENT_CHROMIUM", "CONSENT_GATE_"),
    "Consent office": ("CONSENT_OFFICE_",),
    "Lunch": ("LUNCH_",),
    "Athletics": ("ATHLETICS_",),
    "School calendar": ("EVENTS_",),
    "Staff": ("STAFF_",),
    "Site search": ("SEARCH_",),
    "Alert banner": ("ALERTS",),
    "Publishing": ("S3_", "CLOUDFRONT_"),
}


@dataclass(frozen=True)
class Example:
    file_only: str = setting("EXAMPLE_FILE", "a", "Settings file only.")
    override: str = setting("EXAMPLE_OVERRIDE", "b", "Env wins.", env=Env.OVERRIDE)
    only: str = setting("EXAMPLE_ONLY", "c", "Env only.", env=Env.ONLY)


def test_each_environment_rule_holds():
    file = {"EXAMPLE_FILE": "file", "EXAMPLE_OVERRIDE": "file", "EXAMPLE_ONLY": "file"}
    env = {"EXAMPLE_FILE": "env", "EXAMPLE_OVERRIDE": "env", "EXAMPLE_ONLY": "env"}
    raw = load(Example, file, env)
    assert raw == {"EXAMPLE_FILE": "file", "EXAMPLE_OVERRIDE": "env", "EXAMPLE_ONLY": "env"}
    assert raw.from_environment == {"EXAMPLE_OVERRIDE", "EXAMPLE_ONLY"}
    # A blank variable counts as unset: the file's value (or the default) stays.
    blank = load(Example, file, {"EXAMPLE_OVERRIDE": " ", "EXAMPLE_ONLY": ""})
    assert blank == {"EXAMPLE_FILE": "file", "EXAMPLE_OVERRIDE": "file", "EXAMPLE_ONLY": "c"}
    assert load(Example, {}, {}) == {
        "EXAMPLE_FILE": "a",
        "EXAMPLE_OVERRIDE": "b",
        "EXAMPLE_ONLY": "c",
    }


def test_a_yes_no_setting_refuses_anything_else():
    assert flag("X", "yes") is True and flag("X", "0") is False and flag("X", 1) is True
    with pytest.raises(SettingsError, match="X must be true or false"):
        flag("X", "maybe")


def test_the_environment_wins_for_consent_and_publish_settings(monkeypatch):
    from consent_registry.settings import GateSettings
    from s3_publish.settings import PublishSettings

    monkeypatch.setenv("CONSENT_RENDER_CHECK", "1")
    assert GateSettings.from_mapping({"CONSENT_RENDER_CHECK": False}).render_check is True
    monkeypatch.setenv("CONSENT_RENDER_CHECK", "perhaps")
    with pytest.raises(SettingsError, match="CONSENT_RENDER_CHECK"):
        GateSettings.from_mapping({})
    settings = PublishSettings.from_mapping({"S3_BUCKET": "file"}, env={"S3_BUCKET": "env"})
    assert settings.bucket == "env"
    # S3_REGION has no environment rule: the variable is not read.
    assert PublishSettings.from_mapping({}, env={"S3_REGION": "eu-west-1"}).region is None


def test_every_setting_is_documented_once_under_its_concern():
    seen = set()
    for section in settings_reference.sections():
        prefixes = next(p for title, p in PREFIXES.items() if section.title.startswith(title))
        for item in section.settings:
            assert item.key.startswith(prefixes), (section.title, item.key)
            assert item.doc.strip(), item.key
            assert item.key not in seen, item.key
            seen.add(item.key)


def test_the_settings_reference_is_up_to_date():
    page = settings_reference.PAGE.read_text(encoding="utf-8")
    assert page == settings_reference.render(), (
        "docs/settings.md differs from the settings' fields: run `make settings-doc`"
    )


def test_publish_reads_a_settings_file_with_the_one_reader(tmp_path, monkeypatch):
    from consent_registry.settings import load_settings as consent_settings
    from s3_publish.cli import load_settings

    project = tmp_path / "project"
    project.mkdir()
    (project / "pelicanconf.py").write_text(
        'PLUGINS = ["consent_gate"]\nOUTPUT_PATH = "built"\nCONSENT_STRICT = False\n'
    )
    (project / "publishconf.py").write_text(
        "import os, sys\nsys.path.append(os.curdir)\nfrom pelicanconf import *\n"
        'CONSENT_STRICT = True\nS3_BUCKET = "site"\n'
    )
    # From another folder: publishconf.py still finds pelicanconf.py beside it.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("S3_BUCKET", raising=False)
    values = load_settings(project / "publishconf.py")
    assert values["OUTPUT_PATH"] == str(project / "built")
    assert values["CONSENT_STRICT"] is True and values["S3_BUCKET"] == "site"
    assert values["DEFAULT_LANG"] == "en"  # Pelican's defaults underneath
    assert consent_settings(project / "publishconf.py").strict is True
