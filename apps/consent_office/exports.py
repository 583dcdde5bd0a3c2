"""What the office reads and downloads: consents ending soon and the audit log, as pages and
as CSV files.

Every CSV goes through ``consent_registry.csv_files.csv_text`` (cells a spreadsheet would run
as formulas are made text), and every download is itself written to the audit log with the
user and their address. The audit log page checks the chain first (``verify_audit``) and,
when it is broken, says so above the entries and in the downloaded file, so a row added
with plain sqlite3 is never shown as genuine.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from consent_registry.csv_files import csv_text
from consent_registry.registry import Person, Registry, RegistryError
from flask import Flask, Response, g, request

from .audit import record_event
from .web import Workspace, details_text

log = logging.getLogger(__name__)
SHOWN_ENTRIES = 500


def csv_download(name: str, header: list[str], rows: list[list]) -> Response:
    """A CSV file to download, safe to open in a spreadsheet."""
    return Response(
        csv_text(header, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def register(app: Flask, ws: Workspace) -> None:
    settings = ws.settings
    today = ws.today
    open_registry = ws.open_registry
    page = ws.page

    def _expiring(registry: Registry | None) -> list[Person]:
        if registry is None:
            return []
        horizon = today() + timedelta(days=settings.expiring_days)
        return sorted(
            (
                p
                for p in registry.list_people()
                if p.state(today()) == "active" and p.expires and p.expires <= horizon
            ),
            key=lambda p: (p.expires, p.person_id),
        )

    def _audit_export(name: str, rows: int) -> None:
        """Write the download to the audit log (who, from where, which file, how many rows)."""
        actor = g.session.user.name
        try:
            with open_registry(create=True) as registry:
                record_event(
                    registry, actor, "export", {"file": name, "rows": rows}, request=request
                )
        except RegistryError as exc:
            log.warning("The export of %s by %s was not audited: %s", name, actor, exc)

    @app.get("/expiring")
    def expiring() -> Response:
        registry = open_registry()
        people = []
        if registry is not None:
            with registry:
                people = _expiring(registry)
        return page(
            "expiring.html",
            title=f"Consent ending in the next {settings.expiring_days} days",
            people=people,
        )

    @app.get("/expiring.csv")
    def expiring_csv() -> Response:
        registry = open_registry()
        people = []
        if registry is not None:
            with registry:
                people = _expiring(registry)
        rows = [[p.person_id, p.name, p.grade or "", p.expires.isoformat()] for p in people]
        name = "consent-expiring.csv"
        _audit_export(name, len(rows))
        return csv_download(name, ["id", "name", "grade", "expires"], rows)

    def _audit_entries() -> tuple[list, list[str]]:
        """The log, newest first, and where its chain breaks ([] when intact)."""
        registry = open_registry()
        if registry is None:
            return [], []
        with registry:
            return list(reversed(registry.audit_log())), registry.verify_audit()

    @app.get("/audit")
    def audit() -> Response:
        entries, broken = _audit_entries()
        return page(
            "audit.html",
            title="Audit log",
            entries=entries[:SHOWN_ENTRIES],
            total=len(entries),
            broken=broken,
        )

    @app.get("/audit.csv")
    def audit_csv() -> Response:
        entries, broken = _audit_entries()
        zone = settings.zone
        rows = [
            [
                e.at.astimezone(zone).isoformat(timespec="seconds"),
                e.actor,
                e.action,
                e.person_id or "",
                details_text(e.details),
            ]
            for e in reversed(entries)
        ]
        # A broken chain is said in the file too, before any entry, in every column's reach.
        warning = [["NOT INTACT", "", "audit-chain-broken", "", p] for p in broken]
        name = "consent-audit-log.csv"
        _audit_export(name, len(rows))
        return csv_download(name, ["at", "who", "action", "person", "details"], warning + rows)
