"""Incremental publishing of a built site to an S3 bucket.

The plan compares the MD5 of the bytes each file would be uploaded as with the object's
ETag (every upload is a single-part PUT, so the ETag stays the MD5): an identical rebuild
uploads nothing, and an interrupted publish finishes on the next run without sending again
what already arrived. Every image is re-checked against the consent registry first; a
withheld image is never uploaded and, when it is in the bucket, is taken down before
anything else happens. Order: takedowns, assets, pages, then ordinary deletions, which a
cap (S3_MAX_DELETES) guards against publishing an empty or wrong folder.

``publish`` runs the steps: ``plan`` decides every change without making one, ``execute``
carries the plan out, ``clients`` makes the S3 client (and owns its retries).
"""

from __future__ import annotations

import logging
from pathlib import Path

from site_gate.manifest import ManifestError, read_manifest

from .clients import make_client
from .consent import Checker
from .errors import PublishError
from .execute import PublishResult, execute_plan, record_keys, take_down
from .plan import PageFix, Plan, plan_publish
from .publish_log import PublishLog, log_path_for
from .settings import PublishSettings

log = logging.getLogger(__name__)


def publish(
    output_dir: Path,
    settings: PublishSettings,
    checker: Checker,
    manifest_path: Path,
    *,
    client=None,
    cloudfront_client=None,
    dry_run: bool = False,
    force: bool = False,
    progress: bool = False,
    page_fix: PageFix | None = None,
) -> PublishResult:
    """Plan, then (unless dry_run) carry out. Raises PublishError with a clear message.

    Only files the gate's manifest passes, with the same bytes, are uploaded. Files it
    does not list, or that changed since, are refused: nothing is uploaded and nothing
    ordinary is deleted, but takedowns still happen."""
    try:
        manifest = read_manifest(manifest_path, output_dir)
    except ManifestError as exc:
        raise PublishError(f"{exc}. Nothing was changed.") from exc
    client = client or make_client(settings)
    keys_log = PublishLog(log_path_for(manifest_path), settings.bucket or "", settings.prefix)
    try:
        published = keys_log.live()
    except OSError as exc:
        raise PublishError(
            f"cannot read the publish log {keys_log.path} ({exc}), so what must be taken down "
            "cannot be known. Nothing was changed."
        ) from exc
    plan = plan_publish(
        client,
        output_dir,
        settings,
        checker,
        manifest,
        force=force,
        progress=progress,
        published=published,
        page_fix=page_fix,
    )
    if dry_run:
        if plan.over_delete_limit:
            raise PublishError(
                f"dry run: publishing would stop, because it would delete {len(plan.deletions)} "
                f"objects, more than S3_MAX_DELETES allows ({plan.delete_limit}). Nothing was "
                "changed.\n" + PublishResult(plan=plan, dry_run=True).summary()
            )
        return PublishResult(plan=plan, dry_run=True)
    if plan.refused:
        return refuse_unchecked(client, plan, settings, keys_log)
    return execute_plan(
        client,
        plan,
        settings,
        progress=progress,
        cloudfront_client=cloudfront_client,
        keys_log=keys_log,
    )


def refuse_unchecked(
    client, plan: Plan, settings: PublishSettings, keys_log: PublishLog | None = None
) -> PublishResult:
    """Files the gate did not pass are in the output: upload nothing, delete nothing but
    takedowns, and say which files and what to do."""
    record_keys(keys_log, "put", plan.adopt)
    takedowns = take_down(client, plan, keys_log) if plan.takedowns else 0
    listed = "\n".join(f"  refused  {name}: {why}" for name, why in plan.refused[:20])
    more = f"\n  ... and {len(plan.refused) - 20} more" if len(plan.refused) > 20 else ""
    done = f"{takedowns} takedowns were carried out; " if takedowns else ""
    raise PublishError(
        f"{len(plan.refused)} file(s) in the output were not passed by the consent gate, so "
        f"nothing was uploaded ({done}nothing else changed in {plan.location}). Rebuild the "
        f"site with the gate (make html / publish --build) and publish again.\n{listed}{more}"
    )
