"""Fixtures for the publishing tests: small site folders, a consent checker for unit tests,
and a real SeaweedFS S3 server on 127.0.0.1 for the integration tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from s3_publish.local_s3 import LocalS3

from tests.publish.publish_helpers import write_site


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return write_site(tmp_path / "output")


@pytest.fixture(scope="session")
def local_s3(tmp_path_factory) -> Iterator[LocalS3]:
    """A real SeaweedFS server on 127.0.0.1, for the whole test session."""
    server = LocalS3(tmp_path_factory.mktemp("s3data"), public_buckets=["public-site"])
    with server:
        yield server


@pytest.fixture
def s3_bucket(local_s3: LocalS3) -> str:
    """A fresh, empty bucket on the local server."""
    name = f"site-{uuid.uuid4().hex[:12]}"
    local_s3.create_bucket(name)
    return name
