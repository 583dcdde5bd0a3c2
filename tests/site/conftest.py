"""Fixtures for the site tests: real Pelican builds of the theme and sample content."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import built_once
from tests.site.helpers import PRODUCTION_URL, build


@pytest.fixture(scope="session")
def production_site(tmp_path_factory) -> Path:
    """The sample site built with absolute production URLs, once for the session."""

    def make(folder: Path) -> None:
        build(
            folder / "output",
            SITEURL=PRODUCTION_URL,
            FEED_DOMAIN=PRODUCTION_URL,
            RELATIVE_URLS=False,
        )

    return built_once(tmp_path_factory, "site-prod", make) / "output"
