"""The workspace's own audit entries (accounts, review notes, takedowns, restores), written
to the registry's one audit log and its hash chain.

The registry's own changes (add, revoke, approve, …) are audited by the registry itself,
with the signed-in user's name as the actor; this is only for what the registry has no
method for.
"""

from __future__ import annotations

from consent_registry.registry import Registry


def record(
    registry: Registry, actor: str, action: str, details: dict, person_id: str | None = None
) -> None:
    """Append one entry to the registry's audit log, in its own transaction."""
    with registry.transaction():
        # The registry's chained audit writer: one log, one chain, verified by
        # `consent audit --verify`.
        registry._audit(actor, action, person_id, details)
