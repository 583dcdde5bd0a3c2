"""Incremental publishing of a built site to an S3 bucket.

The plan compares the MD5 of the bytes each file would be uploaded as with the object's
ETag (every upload is a single-part PUT, so the ETag stays the MD5): an identical rebuild
uploads nothing, and an interrupted publish finishes on the next run without sending again
what already arrived. Every image is re-checked against the consent registry first; a
withheld image is never uploaded and, when it is in the bucket, is taken down before
anything else happens. Order: takedowns, assets, pages, then ordinary deletions, which a
cap (S3_MAX_DELETES) guards against publishing an empty or wrong folder.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import logging
import random
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)
from site_gate.manifest import Manifest, ManifestError, read_manifest
from site_gate.output_scan import find_derivatives
from site_gate.policy import FACE_KINDS, file_problem
from site_gate.sniff import sniff
from tqdm import tqdm

from .consent import Checker, ImageDecision, decide
from .errors import PublishError, PublishInterrupted
from .headers import cache_control_for, gzip_bytes, is_text_type
from .publish_log import PublishLog, log_path_for
from .settings import PublishSettings

log = logging.getLogger(__name__)

PAGE_SUFFIXES = (".html", ".htm")
DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
# More changed paths than this and one "/*" invalidation is cheaper than listing them.
CLOUDFRONT_MAX_PATHS = 100
CREDENTIAL_ERRORS = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "InvalidClientTokenId",
    "AuthorizationHeaderMalformed",
    "403",
}
RETRYABLE_ERRORS = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
    "500",
    "502",
    "503",
    "504",
}


@dataclass(frozen=True)
class LocalFile:
    """One file of the built site, as it would be uploaded."""

    path: Path
    name: str  # path inside the site, POSIX style
    key: str  # prefix + name
    content_type: str
    cache_control: str | None
    gzip: bool
    md5: str  # of the bytes that are uploaded (after gzip)
    size: int
    kind: str = ""  # what the gate found the file to be (site_gate.sniff.Kind)
    source_sha256: str = ""  # photos and PDFs: their face-cache and approval key
    # Pictures: whom the build's face work saw in it (the manifest's); None: not recorded.
    persons: tuple[str, ...] | None = None
    data: bytes | None = None  # a page rewritten at publish time: these bytes, not the file

    @property
    def is_page(self) -> bool:
        return self.name.lower().endswith(PAGE_SUFFIXES)

    def body(self) -> bytes:
        data = self.path.read_bytes() if self.data is None else self.data
        return gzip_bytes(data) if self.gzip else data


@dataclass(frozen=True)
class Takedown:
    key: str
    name: str
    reasons: tuple[str, ...]


@dataclass
class Plan:
    bucket: str
    prefix: str
    endpoint: str
    uploads: list[LocalFile] = field(default_factory=list)  # assets first, then pages
    new_keys: set[str] = field(default_factory=set)
    unchanged: list[LocalFile] = field(default_factory=list)
    takedowns: list[Takedown] = field(default_factory=list)
    deletions: list[str] = field(default_factory=list)
    withheld: list[ImageDecision] = field(default_factory=list)  # in output, not uploaded
    refused: list[tuple[str, str]] = field(default_factory=list)  # (name, why): not gated
    remote_count: int = 0
    delete_limit: int | None = None
    # The publish log (``publish_log``): keys the listing shows that it lacks, and keys it
    # holds that are not in the bucket (checked one by one).
    adopt: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)
    pages_fixed: list[str] = field(default_factory=list)  # rewritten with the placeholder
    notes: list[str] = field(default_factory=list)  # reported, not acted on

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def over_delete_limit(self) -> bool:
        return self.delete_limit is not None and len(self.deletions) > self.delete_limit


def split_search_index(keys: list[str]) -> tuple[list[str], list[str]]:
    """(the keys of Pagefind's search index, the others)."""
    search = [key for key in keys if "/pagefind/" in f"/{key}"]
    return search, [key for key in keys if "/pagefind/" not in f"/{key}"]


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


# ---------------------------------------------------------------------------- clients


def make_client(settings: PublishSettings, service: str = "s3", session=None):
    """A boto3 client using the standard credential chain (AWS_PROFILE, env, config files)."""
    session = session or boto3.session.Session()
    config = Config(
        retries={"mode": "standard", "max_attempts": settings.max_attempts},
        max_pool_connections=max(10, settings.workers * 2),
        connect_timeout=10,
        read_timeout=60,
    )
    region = settings.region
    if service == "s3" and settings.endpoint_url:
        # S3-compatible servers: path-style URLs, and no newer checksum headers they may reject.
        config = config.merge(
            Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            )
        )
        region = region or session.region_name or "us-east-1"
        return session.client(
            "s3", endpoint_url=settings.endpoint_url, region_name=region, config=config
        )
    return session.client(service, region_name=region, config=config)


def endpoint_of(client) -> str:
    return getattr(getattr(client, "meta", None), "endpoint_url", None) or "AWS S3"


def _explain_client_error(
    exc: Exception, bucket: str, endpoint: str, doing: str, changed: str = "Nothing was changed."
) -> PublishError:
    """A PublishError saying what went wrong and what to do; `changed` says what the run
    had done by then (nothing, unless files were already uploaded)."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return PublishError(
            f"no S3 credentials found for bucket {bucket} at {endpoint}: set AWS_PROFILE, or "
            f"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, in the environment. {changed}"
        )
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = error.get("Message", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in CREDENTIAL_ERRORS or status == 403:
            return PublishError(
                f"S3 refused the credentials for bucket {bucket} at {endpoint} while {doing} "
                f"({code}: {message}): check AWS_PROFILE / AWS_ACCESS_KEY_ID / "
                f"AWS_SECRET_ACCESS_KEY and that they may list and write the bucket. {changed}"
            )
        if code in ("NoSuchBucket", "404"):
            return PublishError(
                f"the bucket {bucket} does not exist at {endpoint}: create it (see README, "
                f"Deploying) or fix S3_BUCKET / --bucket. {changed}"
            )
        return PublishError(f"S3 error while {doing} ({bucket} at {endpoint}): {code}: {message}")
    return PublishError(f"cannot reach S3 at {endpoint} while {doing}: {exc}. {changed}".rstrip())


# ---------------------------------------------------------------------------- planning


def scan_output(
    output_dir: Path, settings: PublishSettings, manifest: Manifest, progress: bool = False
) -> tuple[list[LocalFile], list[tuple[str, str]]]:
    """The files the gate passed, with their keys, headers and upload MD5; and the files
    that may not be uploaded, with why (not in the manifest, or changed since the build).

    Each file is read once: its SHA-256 is checked against the manifest and its MD5 is
    what the bucket's ETag is compared with."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        # A build killed in the middle of its swap leaves the last good site beside it.
        from site_gate.staging import recover

        recover(output_dir)
    if not output_dir.is_dir():
        raise PublishError(
            f"the output folder {output_dir} does not exist: build the site first "
            "(make publish, or publish --build)"
        )
    paths = sorted(p for p in output_dir.rglob("*") if p.is_file() or p.is_symlink())
    files, refused = [], []
    for path in tqdm(paths, desc="hashing", unit="file", disable=not progress, leave=False):
        name = path.relative_to(output_dir).as_posix()
        entry = manifest.entries.get(name)
        if entry is None or path.is_symlink():
            refused.append((name, "not passed by the consent gate (added after the build)"))
            continue
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            refused.append((name, "changed since the consent gate checked it"))
            continue
        compress = settings.gzip and is_text_type(entry.content_type)
        body = gzip_bytes(data) if compress else data
        files.append(
            LocalFile(
                path=path,
                name=name,
                key=settings.prefix + name,
                content_type=entry.content_type,
                cache_control=cache_control_for(name, settings.cache_control),
                gzip=compress,
                md5=hashlib.md5(body).hexdigest(),
                size=len(body),
                kind=entry.kind,
                source_sha256=entry.source_sha256,
                persons=tuple(entry.persons) if entry.face_record else None,
            )
        )
    return files, refused


def list_remote(client, bucket: str, prefix: str) -> dict[str, str]:
    """key -> ETag (unquoted, lower case) of every object under prefix."""
    endpoint = endpoint_of(client)
    remote: dict[str, str] = {}
    try:
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith("/"):  # folder marker, not a file of the site
                    continue
                remote[obj["Key"]] = obj.get("ETag", "").strip('"').lower()
    except (ClientError, BotoCoreError) as exc:
        raise _explain_client_error(exc, bucket, endpoint, "listing the bucket") from exc
    return remote


def plan_publish(
    client,
    output_dir: Path,
    settings: PublishSettings,
    checker: Checker,
    manifest: Manifest,
    *,
    force: bool = False,
    progress: bool = False,
    published: set[str] | None = None,
    page_fix: PageFix | None = None,
) -> Plan:
    """Compare the output folder with the bucket and decide every change; changes nothing.

    `published`: the keys the publish log says may be online (``publish_log``). Takedowns
    follow what must not be online, not the listing: every key the site withholds is
    deleted, listed or not, and every logged key the listing does not show is read back
    (gone, or re-checked like a listed one). `page_fix`: how to rewrite the pages that show a
    withheld picture (default: the gate's placeholder, SITEURL unknown)."""
    if not settings.bucket:
        raise PublishError(
            "no bucket to publish to: set S3_BUCKET in the settings file or the environment, "
            "or pass --bucket"
        )
    bucket, prefix = settings.bucket, settings.prefix
    plan = Plan(bucket=bucket, prefix=prefix, endpoint=endpoint_of(client))
    local, plan.refused = scan_output(output_dir, settings, manifest, progress=progress)
    # Listing first: wrong credentials fail fast, before the slow consent re-check.
    remote = list_remote(client, bucket, prefix)
    plan.remote_count = len(remote)
    published = set(published or ())
    plan.adopt = set(remote) - published

    # Re-check every photo and PDF against the registry as it is now (faces from the cache;
    # on a miss, the persons the build recorded: see consent.registry_checker).
    pictures = [f for f in local if f.kind in FACE_KINDS]
    recorded = getattr(checker, "recorded", None)
    if isinstance(recorded, dict):
        recorded.clear()
        recorded.update(
            {
                f.source_sha256: f.persons
                for f in pictures
                if f.source_sha256 and f.persons is not None
            }
        )
    decisions = decide(
        checker,
        [f.path for f in pictures],
        [f.name for f in pictures],
        [f.source_sha256 for f in pictures],
    )
    withheld = {d.name: d for d in decisions if not d.publish}
    plan.notes.extend(getattr(checker, "notes", ()) or ())

    # Objects in the bucket that the output no longer has (or may not upload): re-check the
    # published copy, so one that may not be shown now is a takedown (first, never capped),
    # not an ordinary deletion. Keys the log has and the listing lacks are read back too.
    local_keys = {f.key for f in local}
    kept_refused = {prefix + name for name, _ in plan.refused}
    unlisted = sorted(k for k in published - set(remote) if k not in local_keys)
    stale = sorted(k for k in remote if k not in local_keys and k not in kept_refused)
    stale_found, present, plan.gone = {}, {}, set()
    if stale or unlisted:
        stale_found, present, plan.gone = _check_stale(
            client, bucket, prefix, stale + unlisted, checker
        )
        withheld.update(stale_found)
    for key in unlisted:
        if key in present:  # online, though the listing did not show it
            remote[key] = present[key]
            if key not in kept_refused:
                stale.append(key)

    # Variants of a withheld photo go with it (the build gate's own rule, so both agree).
    photos = {f.name for f in pictures} | {k[len(prefix) :] for k in stale}
    for name, original in find_derivatives(list(withheld), sorted(photos)).items():
        if name not in withheld:
            withheld[name] = ImageDecision(
                name=name, publish=False, reasons=[f"derivative of withheld {original}"]
            )

    assets, pages = [], []
    for f in local:
        if f.name in withheld:
            plan.withheld.append(withheld[f.name])
        elif force or remote.get(f.key) != f.md5:
            (pages if f.is_page else assets).append(f)
            if f.key not in remote:
                plan.new_keys.add(f.key)
        else:
            plan.unchanged.append(f)
    plan.uploads = assets + pages

    uploadable = {f.key for f in local if f.name not in withheld}
    # Every key of a withheld file comes down, whether or not the listing shows it.
    withheld_keys = {prefix + name for name in withheld}
    for key in sorted(set(remote) | withheld_keys):
        name = key[len(prefix) :]
        if name in withheld:
            plan.takedowns.append(Takedown(key, name, tuple(withheld[name].reasons)))
        elif key not in uploadable and key not in kept_refused and name not in manifest.missing:
            plan.deletions.append(key)
    plan.delete_limit = _delete_limit(settings.max_deletes, len(remote))

    # The pages that show a withheld picture go up again in this publish, with the
    # placeholder where the picture was (never a broken image and its description).
    if withheld:
        _fix_pages(plan, local, set(withheld), remote, page_fix or PageFix(), force)
    return plan


@dataclass(frozen=True)
class PageFix:
    """What publish needs to rewrite a page as the gate does: the site's address (to
    resolve its URLs), the placeholder, and the gate's page cache (parsed pages)."""

    siteurl: str = ""
    placeholder: str = ""
    cache_dir: Path | None = None


_DOCUMENT_KINDS = ("html", "xml", "css", "svg")


def _fix_pages(
    plan: Plan,
    local: list[LocalFile],
    withheld: set[str],
    remote: dict[str, str],
    fix: PageFix,
    force: bool,
) -> None:
    """Rewrite, with the gate's own rewriter (``site_gate.pages``), every page, feed,
    style sheet and drawing of the output that uses a withheld picture; upload it in place
    of the built copy. A document that cannot be rewritten is taken down."""
    from site_gate.output_scan import UrlResolver
    from site_gate.pages import resolve_uses, rewrite_document
    from site_gate.placeholders import PLACEHOLDER_HTML

    placeholder = fix.placeholder or PLACEHOLDER_HTML
    resolver = UrlResolver(fix.siteurl)
    replaced: dict[str, LocalFile] = {}
    for f in local:
        if f.kind not in _DOCUMENT_KINDS or f.name in withheld:
            continue
        text = f.path.read_bytes().decode("utf-8", errors="surrogateescape")
        base = "index.html" if f.kind == "xml" else f.name
        try:
            pairs = resolve_uses(text, f.kind, base, resolver, fix.cache_dir)
            blocked = {
                (use.kind, use.url)
                for use, target in pairs
                if target.kind == "local" and target.path in withheld
            }
            if not blocked:
                continue
            new_text, _count = rewrite_document(
                text, f.kind, lambda use, b=blocked: (use.kind, use.url) in b, placeholder
            )
        except ValueError as exc:
            plan.takedowns.append(
                Takedown(
                    f.key, f.name, (f"it shows a withheld picture and cannot be rewritten ({exc})",)
                )
            )
            continue
        data = new_text.encode("utf-8", errors="surrogateescape")
        body = gzip_bytes(data) if f.gzip else data
        replaced[f.key] = LocalFile(
            **{
                **f.__dict__,
                "data": data,
                "md5": hashlib.md5(body).hexdigest(),
                "size": len(body),
            }
        )
        plan.pages_fixed.append(f.name)
    if not replaced:
        return
    taken = {t.key for t in plan.takedowns}
    plan.unchanged = [f for f in plan.unchanged if f.key not in replaced]
    kept = [f for f in plan.uploads if f.key not in replaced]
    for key, f in replaced.items():
        if key in taken:
            continue
        if force or remote.get(key) != f.md5:
            kept.append(f)
            if key not in remote:
                plan.new_keys.add(key)
        else:
            plan.unchanged.append(f)
    plan.uploads = [f for f in kept if not f.is_page] + [f for f in kept if f.is_page]


def _check_stale(
    client, bucket: str, prefix: str, keys: list[str], checker: Checker
) -> tuple[dict[str, ImageDecision], dict[str, str], set[str]]:
    """The stale objects that may not stay public: photos and PDFs the registry now
    refuses, and anything the gate would not publish as it is (by the bytes' kind); the
    ETag of each object read; and the keys that are not in the bucket at all."""
    endpoint = endpoint_of(client)
    found: dict[str, ImageDecision] = {}
    present: dict[str, str] = {}
    gone: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="publish-recheck-") as tmp:
        paths, names = [], []
        for i, key in enumerate(keys):
            name = key[len(prefix) :]
            try:
                obj = client.get_object(Bucket=bucket, Key=key)
                present[key] = str(obj.get("ETag", "")).strip('"').lower()
                data = obj["Body"].read()
                if obj.get("ContentEncoding") == "gzip":
                    data = gzip.decompress(data)
            except ClientError as exc:
                if _is_missing(exc):
                    gone.add(key)
                    continue
                raise _explain_client_error(exc, bucket, endpoint, f"reading {key}") from exc
            except BotoCoreError as exc:
                raise _explain_client_error(exc, bucket, endpoint, f"reading {key}") from exc
            except (OSError, EOFError) as exc:
                found[name] = ImageDecision(name, False, [f"cannot be read back ({exc})"])
                continue
            sniffed = sniff(data, name)
            if sniffed.kind in FACE_KINDS:
                path = Path(tmp) / f"{i:06d}"
                path.write_bytes(data)
                paths.append(path)
                names.append(name)
                continue
            problem = file_problem(sniffed, data)
            if problem:
                found[name] = ImageDecision(name, False, [problem])
        found.update({d.name: d for d in decide(checker, paths, names) if not d.publish})
    return found, present, gone


def _is_missing(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(error.get("Code", "")) in ("NoSuchKey", "404", "NotFound") or status == 404


def _delete_limit(max_deletes: int | float | None, remote_count: int) -> int | None:
    if max_deletes is None:
        return None
    if isinstance(max_deletes, float):
        return int(max_deletes * remote_count)
    return int(max_deletes)


# ---------------------------------------------------------------------------- execution


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
    _record(keys_log, "gone", plan.gone)
    _record(keys_log, "put", plan.adopt)
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
    _record(keys_log, "put", [f.key for f in plan.uploads])
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
        _record(keys_log, "gone", plan.deletions)
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
            upload_file(client, plan.bucket, f, settings.max_attempts)
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
            exc = _explain_client_error(
                exc, plan.bucket, plan.endpoint, f"uploading {f.key}", changed=""
            )
        raise PublishError(
            f"upload of {f.key} failed: {str(exc).rstrip('. ')}. {result.uploaded} files "
            f"arrived before the stop ({result.takedowns} takedowns were made, no other "
            "deletions); run publish again to finish (files that arrived are not uploaded "
            "again)."
        )


def upload_file(client, bucket: str, f: LocalFile, attempts: int = 3) -> None:
    """One single-part PUT (so the ETag is the body's MD5), retried on throttling and
    network errors on top of boto3's own retries."""
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
    response = _with_retries(lambda: client.put_object(**args), attempts, f"PUT {f.key}")
    etag = str(response.get("ETag", "")).strip('"').lower()
    if etag and etag != md5.hexdigest():
        log.warning(
            "the server's ETag for %s is not its MD5; unchanged files cannot be recognised "
            "and will be uploaded again on every publish",
            f.key,
        )


def _with_retries(call: Callable, attempts: int, what: str):
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except (BotoConnectionError, ReadTimeoutError) as exc:
            error: Exception = exc
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code not in RETRYABLE_ERRORS:
                raise
            error = exc
        if attempt == attempts:
            raise error
        delay = min(8.0, 0.5 * 2 ** (attempt - 1)) * (0.5 + random.random())
        log.info("%s failed (%s); retrying in %.1f s", what, error, delay)
        time.sleep(delay)
    raise AssertionError("unreachable")


def _record(keys_log: PublishLog | None, op: str, keys) -> None:
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
    _record(keys_log, "gone", gone)
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
        return not _is_missing(exc)
    except BotoCoreError:
        return True
    return True


def _delete_keys(client, plan: Plan, keys: Sequence[str]) -> int:
    deleted = 0
    for start in range(0, len(keys), DELETE_BATCH):
        batch = list(keys[start : start + DELETE_BATCH])
        try:
            response = _with_retries(
                lambda batch=batch: client.delete_objects(
                    Bucket=plan.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                ),
                3,
                "DELETE",
            )
        except (ClientError, BotoCoreError) as exc:
            raise _explain_client_error(exc, plan.bucket, plan.endpoint, "deleting") from exc
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
    _record(keys_log, "put", plan.adopt)
    takedowns = take_down(client, plan, keys_log) if plan.takedowns else 0
    listed = "\n".join(f"  refused  {name}: {why}" for name, why in plan.refused[:20])
    more = f"\n  ... and {len(plan.refused) - 20} more" if len(plan.refused) > 20 else ""
    done = f"{takedowns} takedowns were carried out; " if takedowns else ""
    raise PublishError(
        f"{len(plan.refused)} file(s) in the output were not passed by the consent gate, so "
        f"nothing was uploaded ({done}nothing else changed in {plan.location}). Rebuild the "
        f"site with the gate (make html / publish --build) and publish again.\n{listed}{more}"
    )
