"""Fixtures for the consent office's workspace: a registry, report and content folder in a
temporary project, accounts, the app in Flask's test client, and the app served by waitress
on a free loopback port for the Chromium tests."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from consent_office import accounts as accounts_module
from consent_office.accounts import Accounts, office_db_path
from consent_office.settings import OfficeSettings

PASSWORD = "correct horse battery"
VIEWER_PASSWORD = "quiet reader of ledgers"


@dataclass
class Office:
    root: Path
    settings: OfficeSettings
    user: str = "m.chen"
    password: str = PASSWORD

    @property
    def registry(self) -> Path:
        return self.settings.gate.registry

    @property
    def key_file(self) -> Path:
        return self.settings.gate.key_file

    @property
    def report(self) -> Path:
        return self.settings.gate.report_path

    @property
    def content(self) -> Path:
        return self.settings.content_path


# argon2id at argon2-cffi's defaults (64 MiB, 3 passes, the workspace's own) costs 0.05 s a
# hash on a quiet machine and 0.5 s on a busy one; every workspace test adds two accounts
# and signs in. The same algorithm with the least memory and passes stands in for it here:
# test_accounts.py checks that the workspace itself hashes at the defaults.
QUICK_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
WORKSPACE_HASHER = accounts_module._hasher


@pytest.fixture(autouse=True)
def quick_password_hashes(monkeypatch):
    monkeypatch.setattr(accounts_module, "_hasher", QUICK_HASHER)


@pytest.fixture
def office(tmp_path, monkeypatch) -> Office:
    root = tmp_path / "site"
    (root / "content").mkdir(parents=True)
    monkeypatch.chdir(root)
    registry = root / "consent" / "registry.sqlite3"
    key_file = tmp_path / "keys" / "consent.key"
    monkeypatch.setenv("CONSENT_REGISTRY", str(registry))
    monkeypatch.setenv("CONSENT_KEY_FILE", str(key_file))
    settings = OfficeSettings.from_mapping(
        {
            "PATH": str(root / "content"),
            "CONSENT_REPORT_PATH": str(root / "reports" / "consent-report.json"),
            "CONSENT_CACHE_DIR": str(tmp_path / "cache"),
            "CONSENT_OFFICE_PORT": 0,
            "CONSENT_OFFICE_TAKEDOWN": "queue",
        },
        project=root,
    )
    with Accounts(office_db_path(registry)) as accounts:
        accounts.add_user("m.chen", "office", PASSWORD)
        accounts.add_user("v.iewer", "viewer", VIEWER_PASSWORD)
    return Office(root, settings)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client, user: str = "m.chen", password: str = PASSWORD):
    page = client.get("/login")
    token = csrf_of(page.get_data(as_text=True))
    return client.post("/login", data={"name": user, "password": password, "csrf_token": token})


@pytest.fixture
def client(office):
    from consent_office.app import create_app

    app = create_app(office.settings)
    return app.test_client()


@contextmanager
def serving(settings: OfficeSettings) -> Iterator[str]:
    """The workspace served by waitress (as `consent serve` does) on a free loopback port."""
    from consent_office.app import make_server, wait_for

    server = make_server(settings)
    closing = threading.Event()

    def run() -> None:
        try:
            server.run()
        except OSError:
            # waitress has no stop: closing its sockets under its select() is the way,
            # and that select() then fails on them.
            if not closing.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.effective_port}"
    wait_for(url + "/login")
    try:
        yield url
    finally:
        closing.set()
        server.close()
        thread.join(timeout=5)


@pytest.fixture
def served(office) -> Iterator[str]:
    with serving(office.settings) as url:
        yield url
