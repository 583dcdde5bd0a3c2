"""The daily schedule in tools/systemd/: the units pass `systemd-analyze verify`, the timer
fires every morning before school (5:45 a.m. school time) and runs `make s3_upload`, and the
cron line says the same."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import ROOT

UNITS = ROOT / "tools" / "systemd"
SERVICE = UNITS / "school-site-publish.service"
TIMER = UNITS / "school-site-publish.timer"
CRON = UNITS / "crontab.example"


def unit(path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(path.read_text())
    return parser


def test_the_units_pass_systemd_analyze_verify():
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip(
            "systemd-analyze is not installed (no systemd on this machine): the unit files "
            "are checked by test_the_timer_runs_the_publish_every_morning only"
        )
    proc = subprocess.run(
        [analyze, "verify", "--man=no", str(SERVICE), str(TIMER)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = [
        line
        for line in (proc.stdout + proc.stderr).splitlines()
        # verify also reports units of this machine it happens to load; only ours count.
        if "school-site-publish" in line
    ]
    assert proc.returncode == 0 and not problems, proc.stdout + proc.stderr


def test_the_timer_runs_the_publish_every_morning():
    service, timer = unit(SERVICE), unit(TIMER)
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["ExecStart"].endswith("make s3_upload")
    assert timer["Timer"]["Unit"] == SERVICE.name
    assert timer["Timer"]["Persistent"] == "true"  # a missed morning runs at boot
    assert timer["Install"]["WantedBy"] == "timers.target"
    when = timer["Timer"]["OnCalendar"]
    assert re.fullmatch(r"\*-\*-\* 0?5:45:00 America/New_York", when), when
    analyze = shutil.which("systemd-analyze")
    if analyze:  # systemd's own reading of the expression: 5:45 every day, school time
        out = subprocess.run(
            [analyze, "calendar", "--iterations=2", when],
            capture_output=True,
            text=True,
            env={"TZ": "UTC", "PATH": "/usr/bin:/bin"},
        ).stdout
        assert "Normalized form: *-*-* 05:45:00 America/New_York" in out, out
        school = ZoneInfo("America/New_York")
        runs = [
            datetime.fromisoformat(f"{day}T{clock}+00:00").astimezone(school)
            for day, clock in re.findall(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC", out)
        ]
        assert len(runs) == 2, out
        assert {(run.hour, run.minute) for run in runs} == {(5, 45)}, out
        assert runs[1].date() - runs[0].date() == timedelta(days=1), out


def test_the_cron_line_matches_the_timer():
    lines = [line for line in CRON.read_text().splitlines() if line and not line.startswith("#")]
    assert "CRON_TZ=America/New_York" in lines
    (job,) = [line for line in lines if line[0].isdigit()]
    assert job.startswith("45 5 * * * ") and "make s3_upload" in job
