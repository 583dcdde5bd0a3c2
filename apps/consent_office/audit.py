"""The workspace's own audit entries (sign-ins, failed sign-ins, sign-outs, exports,
accounts, review notes, takedowns, restores), written to the registry's one audit log and
its hash chain through ``Registry.record_event``.

The registry's own changes (add, revoke, approve, …) are audited by the registry itself,
with the signed-in user's name as the actor; this is only for what the registry has no
method for. Entries made from a web request carry the client's address: the one waitress
reports, which is the proxy's X-Forwarded-For only for CONSENT_OFFICE_TRUSTED_PROXY.
"""

from __future__ import annotations

from consent_registry.registry import Registry


def record(
    registry: Registry, actor: str, action: str, details: dict, person_id: str | None = None
) -> None:
    """Append one entry to the registry's audit log, in its own transaction."""
    registry.record_event(actor, action, details, person_id=person_id)


def record_event(
    registry: Registry,
    actor: str,
    action: str,
    details: dict,
    person_id: str | None = None,
    request=None,
) -> None:
    """An entry for a web request: its details gain the client's address."""
    if request is not None:
        details = {**details, "address": request.remote_addr or "unknown"}
    record(registry, actor, action, details, person_id=person_id)
