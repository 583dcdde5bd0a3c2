"""The installed `consent` command under a real wrong clock (libfaketime from Debian's
`faketime` package) with the real face engine: `consent check` decides for the school's day
as the build does (TIMEZONE and SITE_DATE), and a clock the registry shows to be wrong is
refused, by `check`, `purge-expired` and every change."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from consent_registry.registry import Registry

from .conftest import CONSENT_SCRIPT

FACES = Path(__file__).resolve().parents[3] / "shared" / "faces"
OBAMA1 = FACES / "people/obama/obama1.jpg"
OBAMA2 = FACES / "people/obama/obama2.jpg"
FAKETIME = shutil.which("faketime")

pytestmark = pytest.mark.skipif(
    FAKETIME is None, reason="needs libfaketime (Debian: apt-get install faketime)"
)

# The record is added on 2030-12-08; its consent ends on 2030-12-10 (its last day).
ADDED_AT = "2030-12-08 12:00:00"
ENDS = "2030-12-10"
SETTINGS = 'PLUGINS = ["consent_gate"]\nTIMEZONE = "America/New_York"\n'


def run(office: dict, when: str, *args: str, site_date: str | None = None, command=None):
    """`consent ARGS` (or `command`) on a UTC machine whose clock reads `when`."""
    env = {
        **os.environ,
        "TZ": "UTC",
        "CONSENT_REGISTRY": str(office["registry"]),
        "CONSENT_KEY_FILE": str(office["key_file"]),
    }
    env.pop("SITE_DATE", None)
    if site_date:
        env["SITE_DATE"] = site_date
    argv = command or [str(CONSENT_SCRIPT), *args, "--settings", str(office["settings"])]
    return subprocess.run(
        [FAKETIME, when, *argv], cwd=office["root"], env=env, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory, _session_face_cache) -> dict:
    """A registry holding OBAMA (from obama1.jpg, consent to 2030-12-10) added on 2030-12-08.
    Its face cache is the session's (kept by content hash and model version), so obama2.jpg
    is examined once a run, not by the first check of every test's copy (1.1 CPU-seconds
    each)."""
    if not FACES.is_dir():
        pytest.fail(f"the shared face photos are missing: expected them at {FACES}")
    root = tmp_path_factory.mktemp("clock")
    office = _office(root, SETTINGS + f"CONSENT_CACHE_DIR = {str(_session_face_cache)!r}\n")
    added = run(office, ADDED_AT, "add", "OBAMA", "--name", "Barack Obama",
                "--expires", ENDS, "--photo", str(OBAMA1))  # fmt: skip
    assert added.returncode == 0, added.stderr
    return office


def _office(root: Path, settings: str | None = None) -> dict:
    if settings is not None:
        (root / "conf.py").write_text(settings)
    return {
        "root": root,
        "settings": root / "conf.py",
        "registry": root / "consent" / "registry.sqlite3",
        "key_file": root / "keys" / "consent.key",
    }


@pytest.fixture
def office(template, tmp_path) -> dict:
    """A copy of the template office (its registry, key and face cache) for one test."""
    shutil.copytree(template["root"], tmp_path / "office")
    return _office(tmp_path / "office")


def verdict(done: subprocess.CompletedProcess) -> str:
    assert done.returncode in (0, 3), done.stderr
    found = json.loads(done.stdout)[0]["verdict"]
    # The installed command's exit code: 3 when an image is withheld.
    assert done.returncode == (3 if found == "withhold" else 0), found
    return found


def test_the_last_day_in_new_york_is_the_last_day_on_a_utc_machine(office):
    # 01:30 UTC on the 11th is 20:30 on the 10th in New York: consent still holds.
    late = run(office, "2030-12-11 01:30:00", "check", "--json", str(OBAMA2))
    assert verdict(late) == "publish"
    # The build decides for the same day (its gate, the same clock and settings).
    build = run(office, "2030-12-11 01:30:00", command=[sys.executable, "-c", BUILD_DAY,
                str(office["settings"]), str(OBAMA2)])  # fmt: skip
    assert build.returncode == 0, build.stderr
    assert build.stdout.split() == ["2030-12-10", "publish"]
    next_day = run(office, "2030-12-11 12:00:00", "check", "--json", str(OBAMA2))
    assert verdict(next_day) == "withhold"
    assert "expired" in json.loads(next_day.stdout)[0]["reasons"][0]


# The build's own day and verdict: the gate plugin's consent_today and load_snapshot.
BUILD_DAY = """
import sys
from pathlib import Path
from consent_registry.clock import consent_today
from site_gate.gate import load_snapshot
from consent_registry.settings import load_settings
from face_engine.batch import check_files
settings = load_settings(Path(sys.argv[1]))
today = consent_today(settings.timezone)
snapshot, _ = load_snapshot(settings, today)
(verdict,) = check_files([Path(sys.argv[2])], snapshot, settings, progress=False)
print(today.isoformat(), "publish" if verdict.publish else "withhold")
"""


def test_with_site_date_after_the_end_check_withholds_as_the_build_does(office):
    when = "2030-12-09 12:00:00"
    assert verdict(run(office, when, "check", "--json", str(OBAMA2))) == "publish"
    checked = run(office, when, "check", "--json", str(OBAMA2), site_date="2030-12-11")
    assert verdict(checked) == "withhold"
    build = run(office, when, site_date="2030-12-11", command=[sys.executable, "-c", BUILD_DAY,
                str(office["settings"]), str(OBAMA2)])  # fmt: skip
    assert build.stdout.split() == ["2030-12-11", "withhold"], build.stderr


def test_a_clock_behind_the_registry_is_refused_unless_the_date_is_given(office):
    behind = "2030-11-20 12:00:00"
    checked = run(office, behind, "check", "--json", str(OBAMA2))
    assert checked.returncode == 1 and checked.stdout == ""
    assert "earlier than the consent registry's newest audit entry" in checked.stderr
    assert "Set the clock right" in checked.stderr
    told = run(office, behind, "check", "--json", str(OBAMA2), site_date="2030-12-09")
    assert verdict(told) == "publish"
    # A change would be dated before the last one: refused, nothing saved.
    extended = run(office, behind, "add", "OBAMA", "--replace", "--expires", "2031-06-30")
    assert extended.returncode == 1
    assert "earlier than the registry's newest audit" in extended.stderr
    purged = run(office, behind, "purge-expired")
    assert purged.returncode == 1 and "earlier than" in purged.stderr
    with Registry.open(office["registry"], office["key_file"]) as registry:
        person = registry.get("OBAMA")
        assert person.expires.isoformat() == ENDS and person.templates == 4
        newest = registry.audit_log()[-1]
        assert [e.action for e in registry.audit_log()] == ["create-registry", "add"]
    # A withdrawal never waits for the clock: recorded at the newest entry's time.
    revoked = run(office, behind, "revoke", "OBAMA")
    assert revoked.returncode == 0, revoked.stderr
    with Registry.open(office["registry"], office["key_file"]) as registry:
        assert registry.get("OBAMA").status == "revoked"
        entry = registry.audit_log()[-1]
        assert entry.action == "revoke" and entry.at == newest.at
        assert entry.details["clock_read"].startswith("2030-11-20T12:00")


def test_a_clock_weeks_ahead_deletes_nothing_until_the_date_is_confirmed(office):
    ahead = "2031-01-20 12:00:00"  # 50 days after the last change; the consent ended meanwhile
    purged = run(office, ahead, "purge-expired")
    assert purged.returncode == 1
    assert "OBAMA (last day 2030-12-10)" in purged.stderr and "only this clock" in purged.stderr
    assert "consent purge-expired --date 2031-01-20" in purged.stderr
    checked = run(office, ahead, "check", "--json", str(OBAMA2))
    assert checked.returncode == 1 and "only this clock says so" in checked.stderr
    with Registry.open(office["registry"], office["key_file"]) as registry:
        assert registry.get("OBAMA").templates == 4
    # A date that is not the clock's own day says the clock is wrong: nothing is purged.
    for other in ("2031-02-01", "2031-01-10"):
        wrong = run(office, ahead, "purge-expired", "--date", other)
        assert wrong.returncode == 1 and "is not today by this machine's clock" in wrong.stderr
    # The office confirms the date: the purge runs and the registry records it.
    confirmed = run(office, ahead, "purge-expired", "--date", "2031-01-20")
    assert confirmed.returncode == 0, confirmed.stderr
    assert "OBAMA" in confirmed.stdout
    assert verdict(run(office, ahead, "check", "--json", str(OBAMA2))) == "withhold"


def test_a_quiet_registry_with_no_consent_ending_meanwhile_is_not_questioned(office):
    # The consent is extended (the rest of the record stays, --name included) ...
    extended = run(office, "2030-12-08 12:05:00", "add", "OBAMA", "--replace",
                   "--expires", "2031-06-30")  # fmt: skip
    assert extended.returncode == 0, extended.stderr
    # ... then six weeks without a change and no consent ending: the clock is not doubted.
    quiet = "2031-01-20 12:00:00"
    assert verdict(run(office, quiet, "check", "--json", str(OBAMA2))) == "publish"
    purged = run(office, quiet, "purge-expired")
    assert purged.returncode == 0 and "nothing to delete" in purged.stdout
