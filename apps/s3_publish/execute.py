"""Carrying out a publish plan: takedowns (each confirmed gone), assets, pages, ordinary
deletions, then the CloudFront invalidation; the publish log is written before each step."""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from .clients import explain_client_error, is_missing, make_client
from .errors import PublishError, PublishInterrupted
from .plan import LocalFile, Plan, split_search_index
from .publish_log import PublishLog
from .settings import PublishSettings

log = logging.getLogger(__name__)


DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
# More changed paths than this and one "/*" invalidation is cheaper than listing them.
CLOUDFRONT_MAX_PATHS = 100


@dataclass
class PublishResult:
    plan: Plan
    uploaded: int = 0
    deleted: int = 0
    takedowns: int = 0
    dry_run: bool = False
    invalidation_id: str | None = None

    def summary(self) -> str:
        plan = self.plan
        takedowns = [f"  takedown {t.key}: {'; '.join(t.reasons)}" for t in plan.takedowns]
        if self.dry_run:
            lines = [
                f"Dry run for {plan.location}: {len(plan.uploads)} to upload, "
                f"{len(plan.deletions) + len(plan.takedowns)} to delete "
                f"({len(plan.takedowns)} takedowns), {len(plan.unchanged)} unchanged. "
                "Nothing was changed."
            ]
            lines += [
                f"  upload   {f.key} ({'new' if f.key in plan.new_keys else 'changed'})"
                for f in plan.uploads
            ]
            lines += [f"  delete   {key}" for key in plan.deletions]
            lines += [f"  refused  {name}: {why}" for name, why in plan.refused]
            lines += takedowns
        else:
            # Takedowns right under the totals: what the consent office reads the summary for.
            lines = [
                f"Published to {plan.location}: {self.uploaded} uploaded, "
                f"{self.deleted} deleted ({self.takedowns} takedowns), "
                f"{len(plan.unchanged)} unchanged.",
                *takedowns,
            ]
            search, other = split_search_index(plan.deletions)
            if search:
                lines.append(
                    f"  deleted  {len(search)} old search-index files (pagefind/: Pagefind "
                    "names its files anew at every build)"
                )
            lines += [f"  deleted  {key}" for key in other]
        lines += [f"  withheld {d.name}: {'; '.join(d.reasons)}" for d in plan.withheld]
        lines += [
            f"  page     {name}: withheld photo replaced by the placeholder"
            for name in plan.pages_fixed
        ]
        lines += [f"  note     {note}" for note in plan.notes]
        if self.invalidation_id:
            lines.append(f"  CloudFront invalidation {self.invalidation_id} created")
        return "\n".join(lines)


def execute_plan(
    client,
    plan: Plan,
    settings: PublishSettings,
    *,
    progress: bool = False,
    cloudfront_client=None,
    keys_log: PublishLog | None = None,
) -> PublishResult:
    """Carry the plan out: takedowns, assets, pages, deletions, then CloudFront.

    Ctrl-C stops it between requests and raises PublishInterrupted, which says how much
    went out (a rerun finishes the rest without sending it again)."""
    result = PublishResult(plan=plan)
    try:
        return _execute(client, plan, settings, result, progress, cloudfront_client, keys_log)
    except KeyboardInterrupt:
        raise PublishInterrupted(
            f"publishing was interrupted: {result.uploaded} of {len(plan.uploads)} files were "
            f"uploaded and {result.deleted} objects deleted ({result.takedowns} takedowns) in "
            f"{plan.location}. Run publish again to finish: files that arrived are not sent "
            "again."
        ) from None


def _execute(
    client, plan, settings, result, progress, cloudfront_client, keys_log=None
) -> PublishResult:
    record_keys(keys_log, "gone", plan.gone)
    record_keys(keys_log, "put", plan.adopt)
    if plan.takedowns:
        result.takedowns = take_down(client, plan, keys_log)
        result.deleted += result.takedowns
    if plan.over_delete_limit:
        done = f"{result.takedowns} takedowns were carried out; " if plan.takedowns else ""
        search = len(split_search_index(plan.deletions)[0])
        of_which = f" ({search} of them old Pagefind search-index files)" if search else ""
        raise PublishError(
            f"this publish would delete {len(plan.deletions)} objects from {plan.location}"
            f"{of_which}, "
            f"more than S3_MAX_DELETES allows ({plan.delete_limit}). Is --output the right, "
            f"fully built folder? {done}nothing else was uploaded or deleted. If the deletions "
            "are intended, raise S3_MAX_DELETES or pass --max-deletes."
        )
    assets = [f for f in plan.uploads if not f.is_page]
    pages = [f for f in plan.uploads if f.is_page]
    # On record before the first byte goes: a publish killed halfway is still in the log.
    record_keys(keys_log, "put", [f.key for f in plan.uploads])
    total_bytes = sum(f.size for f in plan.uploads)
    with tqdm(
        total=total_bytes,
        unit="B",
        unit_scale=True,
        desc="uploading",
        disable=not progress or not plan.uploads,
    ) as bar:
        for group in (assets, pages):
            _upload_all(client, plan, settings, group, bar, result)
    if plan.deletions:
        result.deleted += _delete_keys(client, plan, plan.deletions)
        record_keys(keys_log, "gone", plan.deletions)
    if settings.cloudfront_distribution_id and (plan.uploads or result.deleted):
        result.invalidation_id = invalidate_cloudfront(
            cloudfront_client or make_client(settings, "cloudfront"),
            settings.cloudfront_distribution_id,
            changed_paths(plan),
        )
    return result


def _upload_all(
    client, plan: Plan, settings: PublishSettings, files, bar, result: PublishResult
) -> None:
    """Upload files in parallel, counting each arrival in `result` as it happens."""
    if not files:
        return
    failed: list[tuple[LocalFile, Exception]] = []
    stop = threading.Event()
    lock = threading.Lock()

    def upload(f: LocalFile) -> None:
        if stop.is_set():
            return
        try:
            upload_file(client, plan.bucket, f)
        except Exception as exc:  # reported below, after the in-flight uploads finish
            stop.set()
            with lock:
                failed.append((f, exc))
            return
        with lock:
            result.uploaded += 1
            bar.update(f.size)

    pool = ThreadPoolExecutor(max_workers=settings.workers)
    try:
        list(pool.map(upload, files))
    except KeyboardInterrupt:
        stop.set()  # the uploads under way finish; no new one starts
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if failed:
        f, exc = failed[0]
        if isinstance(exc, ClientError | BotoCoreError):
            exc = explain_client_error(
                exc, plan.bucket, plan.endpoint, f"uploading {f.key}", changed=""
            )
        raise PublishError(
            f"upload of {f.key} failed: {str(exc).rstrip('. ')}. {result.uploaded} files "
            f"arrived before the stop ({result.takedowns} takedowns were made, no other "
            "deletions); run publish again to finish (files that arrived are not uploaded "
            "again)."
        )


def upload_file(client, bucket: str, f: LocalFile) -> None:
    """One single-part PUT (so the ETag is the body's MD5). Throttling and network errors
    are retried by the client itself (``clients.make_client``), not here."""
    body = f.body()
    md5 = hashlib.md5(body)
    args = {
        "Bucket": bucket,
        "Key": f.key,
        "Body": body,
        "ContentType": f.content_type,
        "ContentMD5": base64.b64encode(md5.digest()).decode("ascii"),
    }
    if f.cache_control:
        args["CacheControl"] = f.cache_control
    if f.gzip:
        args["ContentEncoding"] = "gzip"
    response = client.put_object(**args)
    etag = str(response.get("ETag", "")).strip('"').lower()
    if etag and etag != md5.hexdigest():
        log.warning(
            "the server's ETag for %s is not its MD5; unchanged files cannot be recognised "
            "and will be uploaded again on every publish",
            f.key,
        )


def record_keys(keys_log: PublishLog | None, op: str, keys) -> None:
    if keys_log is None or not keys:
        return
    try:
        keys_log.record(op, keys)
    except OSError as exc:
        raise PublishError(
            f"cannot write the publish log {keys_log.path} ({exc}): publishing stopped before "
            "anything it would not know of later was changed. Free disk space or fix the "
            "folder's permissions and publish again."
        ) from exc


def take_down(client, plan: Plan, keys_log: PublishLog | None = None) -> int:
    """Delete every takedown, then ask for each (HEAD) that it is gone. Any that is still
    online, or that cannot be confirmed gone, stops publishing with every one named."""
    keys = [t.key for t in plan.takedowns]
    failure: PublishError | None = None
    try:
        _delete_keys(client, plan, keys)
    except PublishError as exc:
        failure = exc
    online = [t for t in plan.takedowns if _still_online(client, plan.bucket, t.key)]
    gone = [t.key for t in plan.takedowns if t not in online]
    record_keys(keys_log, "gone", gone)
    for key in gone:
        log.warning("took down %s", key)
    if online or failure:
        listed = "\n".join(f"  still online  {t.key}: {'; '.join(t.reasons)}" for t in online)
        cause = f" ({failure})" if failure else ""
        raise PublishError(
            f"the takedown in {plan.location} failed{cause}: {len(online)} of "
            f"{len(keys)} withheld file(s) are still online or could not be confirmed gone. "
            "Nothing was uploaded. Run publish again now; if it fails again, delete them by "
            f"hand (aws s3 rm) and tell the consent office.\n{listed}".rstrip()
        )
    return len(keys)


def _still_online(client, bucket: str, key: str) -> bool:
    """Whether a HEAD finds `key`; a HEAD that fails says it may be (fail closed)."""
    try:
        client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        return not is_missing(exc)
    except BotoCoreError:
        return True
    return True


def _delete_keys(client, plan: Plan, keys: Sequence[str]) -> int:
    deleted = 0
    for start in range(0, len(keys), DELETE_BATCH):
        batch = list(keys[start : start + DELETE_BATCH])
        try:
            response = client.delete_objects(
                Bucket=plan.bucket,
                Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
            )
        except (ClientError, BotoCoreError) as exc:
            raise explain_client_error(exc, plan.bucket, plan.endpoint, "deleting") from exc
        errors = response.get("Errors") or []
        if errors:
            details = ", ".join(f"{e.get('Key')} ({e.get('Code')})" for e in errors[:5])
            raise PublishError(
                f"S3 did not delete {len(errors)} objects from {plan.location}: {details}"
            )
        deleted += len(batch)
    return deleted


def changed_paths(plan: Plan) -> list[str]:
    """Site paths (as visitors request them) of everything uploaded or deleted."""
    names = [f.name for f in plan.uploads]
    names += [t.name for t in plan.takedowns]
    names += [k[len(plan.prefix) :] for k in plan.deletions]
    paths = set()
    for name in names:
        paths.add("/" + quote(name, safe="/-_.~"))
        if name == "index.html" or name.endswith("/index.html"):
            paths.add("/" + quote(name[: -len("index.html")], safe="/-_.~"))
    return sorted(paths)


def invalidate_cloudfront(cloudfront, distribution_id: str, paths: list[str]) -> str | None:
    if not paths:
        return None
    if len(paths) > CLOUDFRONT_MAX_PATHS:
        paths = ["/*"]
    try:
        response = cloudfront.create_invalidation(
            DistributionId=distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": len(paths), "Items": paths},
                "CallerReference": f"publish-{time.time_ns()}",
            },
        )
    except (ClientError, BotoCoreError) as exc:
        raise PublishError(
            f"the site was published, but the CloudFront invalidation for {distribution_id} "
            f"failed: {exc}. Visitors may see cached copies until they expire."
        ) from exc
    return response["Invalidation"]["Id"]
