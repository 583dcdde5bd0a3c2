"""Fixtures for the publishing tests: small site folders (the real SeaweedFS S3 server on
127.0.0.1, `local_s3` and `s3_bucket`, is the session's, in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.publish.publish_helpers import write_site


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return write_site(tmp_path / "output")
