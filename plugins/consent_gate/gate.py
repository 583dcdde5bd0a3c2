"""The consent gate over a built site: every image in the output folder is checked, and
only photos the registry allows stay.

Steps, after every writer has finished:

0. delete SVG files that draw embedded or remote pictures (they cannot be checked);
1. remove EXIF/XMP/IPTC metadata from every image (so the bytes checked are the bytes
   published, and an approval by content hash matches both);
2. decide every image against the registry (``decision.check_files``);
3. withhold: delete the file and its derivatives (see ``output_scan``), replace it in every
   page and feed entry with the placeholder, drop it from og:image/twitter:image meta
   (pages are found by a quick scan; only pages that change are parsed, and a rewrite is
   cached by page content and withheld URLs, so a rebuild parses nothing again);
4. replace pictures written into pages as data: URLs (they cannot be checked either); warn
   about hot-linked images (and, strict, replace them too) and about student names
   in image file names and alt text;
5. write the JSON report outside the output folder.

Fail closed: if any step raises, every image not both checked and cleaned is deleted from
the output before the error is passed on (the build then fails with a non-zero exit), so a
failed gate never leaves an unchecked photo behind.

Nothing here imports Pelican.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from html import unescape
from pathlib import Path

from consent_registry.settings import GateSettings
from face_engine.model import PUBLISH, WITHHOLD, RegistrySnapshot, Verdict, sha256_bytes
from tqdm import tqdm

from .feeds import FeedDoc
from .html_rewrite import ImageUse, PageDoc, scan_uses
from .metadata import MetadataError, strip_file
from .output_scan import (
    PAGE_SUFFIXES,
    UrlResolver,
    find_derivatives,
    list_files,
    names_in,
    relative,
    student_name_tokens,
    svg_embedded_images,
)
from .report import check_report_path, write_report

logger = logging.getLogger(__name__)

NO_REGISTRY_FINGERPRINT = "no-registry"
FEED_SUFFIXES = (".xml",)
# Replaced by content sniffing in the default-deny gate.
LEGACY_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff")
# Bump when page rewriting changes: cached rewrites are keyed by it.
REWRITE_VERSION = "2"
# Image uses a placeholder can stand in for (links to a withheld image are unwrapped).
_SHOWN = ("img", "svg-image", "source", "poster", "meta", "link")
# Uses whose remote or data: URL puts a picture on the page (a <link> does not).
_DISPLAYED = ("img", "svg-image", "source", "poster", "meta")


class GateError(RuntimeError):
    """The gate could not finish; unchecked images have been removed from the output."""


@dataclass
class GateOutcome:
    checked: int
    published: int
    withheld: int
    remote: int
    placeholders: int
    pages_rewritten: int
    metadata_cleaned: int
    name_warnings: int
    report_path: Path
    verdicts: dict[str, Verdict]

    def summary_line(self, report_label: str) -> str:
        return (
            f"Consent gate: {self.checked} images checked — {self.published} published, "
            f"{self.withheld} withheld (see {report_label})"
        )


def approve_hint(sha256: str, shows: tuple[str, ...] = ()) -> str:
    """What to do about a withheld image. The command text has one home in the registry
    package (``consent_registry.advice``); `shows`: people recognised with consent."""
    from consent_registry.advice import approve_advice

    return approve_advice(sha256, shows)


def load_snapshot(settings: GateSettings, today: date) -> tuple[RegistrySnapshot, bool]:
    """The registry as of today, and whether a registry file was there.

    Without a registry file the snapshot is empty: every photo with a face is withheld.
    A registry that exists but cannot be read raises (and the gate fails closed).
    """
    if not settings.registry.exists():
        return RegistrySnapshot(records=(), approvals={}, today=today,
                                fingerprint=NO_REGISTRY_FINGERPRINT), False  # fmt: skip
    from consent_registry.registry import Registry

    with Registry.open(settings.registry, settings.key_file) as registry:
        # Retention: expired consent loses its templates at the first build after expiry.
        # Never purge by a preview date (SITE_DATE) in the future: only by the real one.
        registry.purge_expired(min(today, date.today()), actor="site build")
        return registry.snapshot(today), True


def remove_unverified(output: Path, extensions: tuple[str, ...], safe: set[Path]) -> int:
    """Delete every image under output that is not in `safe`; return how many."""
    removed = 0
    if not output.is_dir():
        return 0
    for path in list_files(output, extensions):
        if path not in safe:
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
    return removed


def run_gate(
    output: Path,
    settings: GateSettings,
    *,
    siteurl: str,
    placeholder: str,
    today: date,
    progress: bool = True,
) -> GateOutcome:
    """Check, clean and withhold every image in `output`; see the module docstring."""
    safe: set[Path] = set()
    try:
        return _run(output, settings, siteurl, placeholder, today, progress, safe)
    except BaseException as exc:
        removed = remove_unverified(output, LEGACY_IMAGE_SUFFIXES, safe)
        if isinstance(exc, Exception):
            raise GateError(
                f"the consent gate failed ({exc.__class__.__name__}: {exc}); "
                f"{removed} image(s) that were not checked have been deleted from {output}, "
                "so nothing unchecked is published. Fix the cause above and rebuild."
            ) from exc
        raise


def _run(
    output: Path,
    settings: GateSettings,
    siteurl: str,
    placeholder: str,
    today: date,
    progress: bool,
    safe: set[Path],
) -> GateOutcome:
    report_path = check_report_path(settings.report_path, output)
    # 0. SVG files that draw embedded or remote pictures cannot be checked: they go first.
    svg_problems = _withhold_unchecked_svgs(output)
    images = list_files(output, LEGACY_IMAGE_SUFFIXES)
    rels = [relative(path, output) for path in images]
    path_of = dict(zip(rels, images, strict=True))

    # 1. Metadata first: the bytes checked are the bytes published.
    strip_errors: dict[str, str] = {}
    cleaned = 0
    clean_cache = settings.cache_dir / "clean"
    bar = tqdm(
        images,
        desc="Consent gate: removing photo metadata",
        unit="image",
        disable=not progress or len(images) < 20,
        leave=False,
    )
    for path in bar:
        try:
            cleaned += strip_file(path, clean_cache).changed
        except (MetadataError, OSError) as exc:
            strip_errors[relative(path, output)] = str(exc)

    # 2. Decide.
    snapshot, has_registry = load_snapshot(settings, today)
    if not has_registry:
        logger.warning(
            "no consent registry at %s: every photo with a face is withheld; see consent/README.md",
            settings.registry,
        )
    verdicts: dict[str, Verdict] = {}
    if images:
        from face_engine.decision import check_files

        results = check_files(images, snapshot, settings, progress=progress, display_names=rels)
        if len(results) != len(images):
            raise GateError(
                f"the face check returned {len(results)} verdicts for {len(images)} images"
            )
        verdicts = dict(zip(rels, results, strict=True))
    for rel, message in strip_errors.items():
        _withhold(verdicts[rel], f"its metadata could not be removed: {message}")
    for rel, (path, digest, message) in svg_problems.items():
        verdicts[rel] = Verdict(rel, digest, WITHHOLD, [message], [])
        rels.append(rel)
        path_of[rel] = path

    # 3. Which pages (and feeds) use which image: a quick scan of every one.
    resolver = UrlResolver(siteurl)
    resolve = cache(resolver.resolve)  # the same URLs recur on every page
    image_set = set(rels)
    used_by: dict[str, set[str]] = defaultdict(set)
    fed_by: dict[str, set[str]] = defaultdict(set)
    remote_uses: list[dict] = []
    inline_uses: list[dict] = []  # data: URLs: never checked, so always replaced
    missing_uses: dict[str, set[str]] = defaultdict(set)
    alt_texts: dict[tuple[str, str], set[str]] = defaultdict(set)
    scanned: dict[Path, tuple[str, str, str, list[ImageUse]]] = {}
    extensions = LEGACY_IMAGE_SUFFIXES
    for page_path in list_files(output, PAGE_SUFFIXES + FEED_SUFFIXES):
        page = relative(page_path, output)
        is_feed = page_path.suffix.lower() in FEED_SUFFIXES
        text = page_path.read_text(encoding="utf-8", errors="surrogateescape")
        uses = scan_uses(unescape(text) if is_feed else text)
        # Feed entries hold URLs relative to the site, not to the feed file.
        base = "index.html" if is_feed else page
        keep = False
        for use in uses:
            target = resolve(use.url, base)
            if target.kind == "local":
                is_image = target.path in image_set
                if is_image:
                    (fed_by if is_feed else used_by)[target.path].add(page)
                    keep = True
                elif use.kind in _SHOWN and target.path.lower().endswith(extensions):
                    if not is_feed:
                        missing_uses[target.path].add(page)
                    keep = True
                shown = is_image or target.path in missing_uses
                if use.kind == "img" and use.alt and not is_feed and shown:
                    alt_texts[(target.path, use.alt)].add(page)
            elif target.kind in ("remote", "inline") and use.kind in _DISPLAYED:
                if not is_feed:
                    uses_list = remote_uses if target.kind == "remote" else inline_uses
                    uses_list.append({"page": page, "kind": use.kind, "url": _short(use.url)})
                keep = True
        if keep:
            scanned[page_path] = (page, base, text, uses)

    # 4. Withhold: the image, its derivatives, its uses in pages.
    withheld = {rel for rel, verdict in verdicts.items() if not verdict.publish}
    for derivative, original in sorted(find_derivatives(withheld, rels).items()):
        _withhold(verdicts[derivative], f"derived from the withheld image {original}")
        withheld.add(derivative)
    for rel in sorted(withheld):
        path_of[rel].unlink(missing_ok=True)
    safe.update(path_of[rel] for rel in rels if rel not in withheld)

    def blocked(use: ImageUse, page: str) -> bool:
        target = resolve(use.url, page)
        if target.kind == "local":
            if target.path in withheld:
                return True
            return use.kind in _SHOWN and target.path in missing_uses
        if use.kind not in _DISPLAYED:
            return False
        return target.kind == "inline" or (settings.strict and target.kind == "remote")

    placeholders = 0
    pages_rewritten = 0
    page_cache = settings.cache_dir / "pages"
    for page_path, (page, base, text, uses) in scanned.items():
        blocked_urls = sorted({use.url for use in uses if blocked(use, base)})
        if not blocked_urls:
            continue
        is_feed = page_path.suffix.lower() in FEED_SUFFIXES
        try:
            new_text, count = _rewrite_cached(
                text,
                is_feed,
                lambda use, base=base: blocked(use, base),
                blocked_urls,
                placeholder,
                page_cache,
            )
        except ET.ParseError as exc:
            logger.warning(
                "%s is not well-formed XML (%s): withheld photos stay named in it; "
                "check the feed settings",
                page,
                exc,
            )
            continue
        if new_text != text:
            page_path.write_text(new_text, encoding="utf-8", errors="surrogateescape")
            pages_rewritten += 1
            placeholders += count

    # 5. Tell the webmaster.
    for rel in sorted(withheld):
        verdict = verdicts[rel]
        pages = sorted(used_by.get(rel, ()))
        logger.warning(
            "Consent gate withheld %s (used by %s): %s.%s",
            rel,
            ", ".join(pages) if pages else "no page",
            "; ".join(verdict.reasons) or "no reason given",
            "" if rel in svg_problems else f" What to do: {approve_hint(verdict.sha256)}.",
        )
    for rel, pages in sorted(missing_uses.items()):
        logger.warning(
            "%s is used by %s but is not in the output (missing from content?): "
            "the page shows the withheld-photo placeholder instead",
            rel,
            ", ".join(sorted(pages)),
        )
    by_page: dict[str, list[str]] = defaultdict(list)
    for use in remote_uses:
        by_page[use["page"]].append(use["url"])
    for page, urls in sorted(by_page.items()):
        logger.warning(
            "%s shows %d image(s) from another site, which the consent gate cannot check "
            "(%s): copy the photo into content/images so it is checked%s",
            page,
            len(urls),
            ", ".join(sorted(set(urls))[:3]),
            "; replaced by the placeholder (CONSENT_STRICT)" if settings.strict else "",
        )
    inline_by_page: dict[str, int] = defaultdict(int)
    for use in inline_uses:
        inline_by_page[use["page"]] += 1
    for page, count in sorted(inline_by_page.items()):
        logger.warning(
            "%s has %d picture(s) written into the page itself (a data: URL), which the consent "
            "gate cannot check: replaced by the placeholder. Save the photo as a file in "
            "content/images and link to it instead",
            page,
            count,
        )
    name_warnings = _name_warnings(snapshot, rels, alt_texts)
    for warning in name_warnings:
        logger.warning("%s", warning["message"])

    published = len(rels) - len(withheld)
    summary = {
        "checked": len(rels),
        "published": published,
        "withheld": len(withheld),
        "metadata_cleaned": cleaned,
        "remote_images": len(remote_uses),
        "inline_images": len(inline_uses),
        "missing_images": len(missing_uses),
        "placeholders": placeholders,
        "pages_rewritten": pages_rewritten,
        "name_warnings": len(name_warnings),
        "registry": "present" if has_registry else "missing",
        "mode": settings.mode,
        "strict": settings.strict,
    }
    write_report(
        report_path,
        registry_fingerprint=snapshot.fingerprint,
        summary=summary,
        images=[
            {
                **verdicts[rel].to_json(),
                "output_path": rel,
                "pages": sorted(used_by.get(rel, ())),
                "feeds": sorted(fed_by.get(rel, ())),
            }
            for rel in rels
        ],
        remote_images=remote_uses,
        name_warnings=name_warnings,
    )
    return GateOutcome(
        checked=len(rels),
        published=published,
        withheld=len(withheld),
        remote=len(remote_uses),
        placeholders=placeholders,
        pages_rewritten=pages_rewritten,
        metadata_cleaned=cleaned,
        name_warnings=len(name_warnings),
        report_path=report_path,
        verdicts=verdicts,
    )


def _rewrite_cached(
    text: str,
    is_feed: bool,
    blocked: Callable[[ImageUse], bool],
    blocked_urls: list[str],
    placeholder: str,
    cache_dir: Path,
) -> tuple[str, int]:
    """Rewrite a page, or reuse the rewrite of the same page with the same blocked URLs
    from an earlier build (a rebuild then parses no page again)."""
    key_source = "\0".join([REWRITE_VERSION, placeholder, "\n".join(blocked_urls), text])
    key = sha256_bytes(key_source.encode("utf-8", "surrogateescape"))
    cached = cache_dir / key[:2] / key
    try:
        count, _, new_text = cached.read_bytes().decode("utf-8", "surrogateescape").partition("\n")
        return new_text, int(count)
    except (OSError, ValueError):
        pass
    doc = FeedDoc(text) if is_feed else PageDoc(text)
    new_text, count = doc.rewrite(blocked, placeholder)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(key + ".tmp")
        tmp.write_bytes(f"{count}\n{new_text}".encode("utf-8", "surrogateescape"))
        tmp.replace(cached)
    except OSError as exc:
        logger.debug("could not cache the rewrite of a page: %s", exc)
    return new_text, count


def _withhold_unchecked_svgs(output: Path) -> dict[str, tuple[Path, str, str]]:
    """Delete every SVG that draws an embedded or remote picture (or cannot be read);
    return {path: (file, sha256, reason)} for the report and the pages that use them."""
    found = {}
    for path in list_files(output, (".svg",)):
        data = path.read_bytes()
        try:
            embedded = svg_embedded_images(data)
        except ValueError as exc:
            reason = f"{exc}, so the pictures it may hold cannot be checked"
        else:
            if not embedded:
                continue
            reason = (
                f"the drawing holds {len(embedded)} picture(s) the gate cannot check "
                f"({', '.join(embedded[:2])}): export the photo as its own JPEG or PNG file"
            )
        path.unlink()
        found[relative(path, output)] = (path, sha256_bytes(data), reason)
    return found


def _withhold(verdict: Verdict, reason: str) -> None:
    verdict.verdict = WITHHOLD
    verdict.reasons.append(reason)


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "..."


def _name_warnings(
    snapshot: RegistrySnapshot, rels: list[str], alt_texts: dict[tuple[str, str], set[str]]
) -> list[dict]:
    tokens = student_name_tokens(snapshot.records)
    if not tokens:
        return []
    warnings = []
    for rel in rels:
        found = names_in(rel.rsplit("/", 1)[-1].rsplit(".", 1)[0], tokens)
        if found:
            warnings.append(
                {
                    "image": rel,
                    "where": "file name",
                    "names": found,
                    "message": (
                        f"The image file name {rel} contains a registered student's name "
                        f"({', '.join(found)}): rename the file so it does not identify "
                        "the child"
                    ),
                }
            )
    for (rel, alt), pages in sorted(alt_texts.items()):
        found = names_in(alt, tokens)
        if found:
            warnings.append(
                {
                    "image": rel,
                    "where": "alt text",
                    "pages": sorted(pages),
                    "names": found,
                    "message": (
                        f"The alt text of {rel} on {', '.join(sorted(pages))} contains a "
                        f"registered student's name ({', '.join(found)}): describe the "
                        "scene without naming the child"
                    ),
                }
            )
    return warnings


__all__ = ["GateError", "GateOutcome", "PUBLISH", "WITHHOLD", "load_snapshot", "run_gate"]
