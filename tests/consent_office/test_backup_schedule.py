"""The nightly registry backup in tools/systemd/ (beside the daily publish) and the publish's
hooks for the takedowns the office queues: the units pass `systemd-analyze verify` and name
the Makefile targets that exist."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

UNITS = ROOT / "tools" / "systemd"
SERVICE = UNITS / "school-site-consent-backup.service"
TIMER = UNITS / "school-site-consent-backup.timer"


def unit(path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(path.read_text())
    return parser


def make_dry_run(*args: str) -> str:
    proc = subprocess.run(
        ["make", "--no-print-directory", "-n", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_backup_units_pass_systemd_analyze_verify():
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed: the units are read by the next test")
    proc = subprocess.run(
        [analyze, "verify", "--man=no", str(SERVICE), str(TIMER)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = [
        line for line in (proc.stdout + proc.stderr).splitlines() if "consent-backup" in line
    ]
    assert proc.returncode == 0 and not problems, proc.stdout + proc.stderr


def test_the_backup_runs_nightly_and_the_publish_answers_queued_takedowns():
    service, timer = unit(SERVICE), unit(TIMER)
    assert timer["Timer"]["Unit"] == SERVICE.name
    assert re.fullmatch(r"\*-\*-\* 01:30:00 America/New_York", timer["Timer"]["OnCalendar"])
    start = service["Service"]["ExecStart"]
    target, folder = re.fullmatch(r"/usr/bin/make (\S+) BACKUP_DIR=(\S+)", start).groups()
    assert f"consent backup {folder}" in make_dry_run(target, f"BACKUP_DIR={folder}")
    assert folder in service["Service"]["ReadWritePaths"]

    publish = unit(UNITS / "school-site-publish.service")["Service"]
    before = publish["ExecStartPre"].removeprefix("-/usr/bin/make ")
    after = publish["ExecStartPost"].removeprefix("-/usr/bin/make ")
    assert "consent takedowns-ran --starting" in make_dry_run(before)
    assert make_dry_run(after).strip().endswith("consent takedowns-ran")
    cron = (UNITS / "consent-backup.crontab.example").read_text()
    assert f"make {target} BACKUP_DIR={folder}" in cron and "30 1 * * *" in cron
