"""The sample site built once for the translation tests (tests/i18n), on a school day."""

from __future__ import annotations

import re

import pytest

from tests.site.helpers import build

SCHOOL_DAY = "2026-11-30T07:30"  # a Monday with menus and games


@pytest.fixture(scope="package")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("i18n") / "output"
    build(out, site_date=SCHOOL_DAY)
    return out


def html_lang(path) -> str:
    return re.search(r'<html lang="([^"]+)"', path.read_text(encoding="utf-8")).group(1)
