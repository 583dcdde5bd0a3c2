"""Planning a publish: which files of the built site go up, which objects come down
(takedowns first), and which pages are rewritten because they show a withheld picture.
Nothing here changes the bucket."""

from __future__ import annotations

import gzip
import hashlib
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from site_gate.manifest import Manifest
from site_gate.output_scan import find_derivatives
from site_gate.policy import FACE_KINDS, file_problem
from site_gate.sniff import sniff
from tqdm import tqdm

from .clients import endpoint_of, explain_client_error, is_missing
from .consent import Checker, ImageDecision, decide, decide_copies
from .errors import PublishError
from .headers import cache_control_for, gzip_bytes, is_text_type
from .settings import PublishSettings

log = logging.getLogger(__name__)


PAGE_SUFFIXES = (".html", ".htm")


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
    # Whom the gate saw in the pictures it made of the file (drawn, stretched): manifest.
    copy_persons: tuple[str, ...] = ()
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
                copy_persons=tuple(entry.copy_persons),
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
        raise explain_client_error(exc, bucket, endpoint, "listing the bucket") from exc
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
    # Files whose face shows only in a picture the gate made of them (an SVG drawn, a photo
    # stretched by its page): no scan of the file finds it, so whom the gate saw there must
    # all still be shown today.
    for decision in decide_copies(checker, [f for f in local if f.copy_persons]):
        if not decision.publish:
            withheld[decision.name] = decision

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
                if is_missing(exc):
                    gone.add(key)
                    continue
                raise explain_client_error(exc, bucket, endpoint, f"reading {key}") from exc
            except BotoCoreError as exc:
                raise explain_client_error(exc, bucket, endpoint, f"reading {key}") from exc
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


def _delete_limit(max_deletes: int | float | None, remote_count: int) -> int | None:
    if max_deletes is None:
        return None
    if isinstance(max_deletes, float):
        return int(max_deletes * remote_count)
    return int(max_deletes)
