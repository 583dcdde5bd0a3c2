"""The sample site of a school day for the translation tests (tests/i18n)."""

from __future__ import annotations

import re

import pytest

SCHOOL_DAY = "2026-11-30T07:30"  # a Monday with menus and games


@pytest.fixture(scope="package")
def site(sample_site):
    return sample_site(SCHOOL_DAY)


def html_lang(path) -> str:
    return re.search(r'<html lang="([^"]+)"', path.read_text(encoding="utf-8")).group(1)
