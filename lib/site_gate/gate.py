"""The consent gate over a built site, default deny: every file in the output folder is
classified by its bytes (``sniff``) and only what passes a check stays; the publish
manifest lists exactly those files, and `publish` uploads nothing else.

Steps, after every writer has finished:

1. inventory (``inventory``): every file, its kind from its bytes and its SHA-256 (a
   photo copied from an unchanged content file is taken, unread, as last build's bytes);
2. pictures: rasters and PDFs go through the face engine (``face_engine.decision``),
   against the registry as of today (or the verdicts of the last build, when nothing
   they depend on changed: ``memo``); an SVG that draws a picture, a font with picture
   glyphs, video, audio, archives and unknown binary files are withheld; a derivative of a
   withheld photo (see ``output_scan``) goes with it;
3. withheld files are deleted; every raster that passes is re-encoded from the exact pixels
   the engine checked (``raster``; cached, and linked into place), so nothing else in
   the file is published;
4. pages, feeds and style sheets: every use of a withheld, missing or (data:) unchecked
   picture is replaced by the placeholder; remote pictures are warned about, and replaced
   under CONSENT_STRICT; a text file still holding a picture (a data: URL or base64 image
   that no rewrite could remove) is withheld whole;
   content scripts are removed and every page gets a Content-Security-Policy (``scripts``);
   then every page is rendered in Chromium and every face on it must be a passed
   picture's, where it is drawn, or a person with consent (``render_check``);
5. the report (every picture, its verdict and reasons) is written outside the output
   folder, and the outcome lists the manifest entries (every remaining file: path,
   SHA-256, kind, Content-Type, persons seen).

Fail closed: the manifest is written only when the gate has finished (by the plugin, once
the checked folder has replaced the output folder), and if any step raises, every file not
yet passed is deleted before the error goes on (the build then fails with a non-zero exit).

Nothing here imports Pelican.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from consent_registry.settings import GateSettings
from face_engine.model import PUBLISH, WITHHOLD, RegistrySnapshot, Verdict, sha256_bytes
from site_common.files import is_disk_failure, write_atomic

from .cache_upkeep import site_folder
from .errors import GateError
from .inventory import (
    BuiltPhotos,
    OutputFile,
    inventory,
    remove_unverified,
)
from .manifest import BuildSettings, ManifestEntry, write_manifest
from .memo import VerdictMemo, memo_key
from .output_scan import (
    NameTokens,
    UrlResolver,
    find_derivatives,
    names_in,
    student_name_tokens,
)
from .pages import ImageUse, code_key, is_blocked, resolve_uses, rewrite_document
from .placeholders import for_page as placeholder_for_page
from .policy import FACE_KINDS, file_problem, text_problem
from .raster import Placed, RasterError, ReencodeCache, replace_bytes
from .report import check_report_path, write_report
from .scripts import harden_site, script_file_problem, theme_script_hashes
from .sniff import TEXT_KINDS, TEXT_RULES_VERSION, Kind, Sniffed, content_type, sniff

logger = logging.getLogger(__name__)

# Bump when page rewriting changes: cached rewrites are keyed by it.
REWRITE_VERSION = "4"
# Documents that can show a picture by a URL: their uses are found and rewritten.
_DOCUMENT_KINDS = (Kind.HTML, Kind.XML, Kind.CSS, Kind.SVG, Kind.JSON)  # JSON: manifests
# Text that is not a drawing: checked for pictures after pages are rewritten.
TEXT_ONLY_KINDS = TEXT_KINDS - {Kind.SVG}


@dataclass
class GateOutcome:
    checked: int
    published: int
    withheld: int
    remote: int
    placeholders: int
    pages_rewritten: int
    reencoded: int
    name_warnings: int
    report_path: Path
    registry_fingerprint: str
    entries: list[ManifestEntry] = field(default_factory=list)  # every file that passed
    missing: list[str] = field(default_factory=list)  # shown by a page, but not built
    sources: set[str] = field(default_factory=set)  # every picture's hash as built
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    # Whether the rendered pages were face-checked (False: no Chromium, a development build).
    rendered_check: bool = False
    built_with: BuildSettings | None = None  # the settings the gate ran with

    def write_manifest(self, path: Path, output: Path, staged: bool = False) -> Path | None:
        """The publish manifest of these files, for the folder they are published from;
        `staged`: only its temp file, returned (``manifest.write_manifest``)."""
        if self.built_with is None:
            raise GateError("the gate's outcome does not say which settings built it")
        # Whether the rendered pages were face-checked is known once that check has run.
        ran = bool(getattr(self, "rendered_check", False))
        return write_manifest(
            path,
            output=output,
            registry_fingerprint=self.registry_fingerprint,
            entries=self.entries,
            built_with=replace(self.built_with, render_check=ran),
            missing=self.missing,
            staged=staged,
        )

    def summary_line(self, report_label: str) -> str:
        return (
            f"Consent gate: {self.checked} files that can show a picture checked — "
            f"{self.published} published, {self.withheld} withheld (see {report_label})"
        )


def approve_hint(sha256: str, shows: tuple[str, ...] = ()) -> str:
    """What to do about a withheld image. The command text has one home in the registry
    package (``consent_registry.advice``); `shows`: people recognised with consent."""
    from consent_registry.advice import approve_advice

    return approve_advice(sha256, shows)


def load_snapshot(settings: GateSettings, today: date) -> tuple[RegistrySnapshot, bool]:
    """The registry as of today, and whether a registry file was there. The build never
    changes the registry (expiry withholds; only `consent purge-expired` deletes), and a
    clock the registry shows to be wrong stops it; see ``consent_registry.snapshot``."""
    from consent_registry.snapshot import open_snapshot

    return open_snapshot(settings.registry, settings.key_file, today, timezone=settings.timezone)


def run_gate(
    output: Path,
    settings: GateSettings,
    *,
    siteurl: str,
    placeholder: str,
    today: date,
    progress: bool = True,
    missing_placeholder: str | None = None,
    site: Path | None = None,
    static_sources: Mapping[str, Path] | None = None,
    uncopied: Collection[str] = (),
    theme: Path | str | None = None,
) -> GateOutcome:
    """Check every file in `output`; see the module docstring. `missing_placeholder`
    stands in for pictures that are not in the site at all (default: `placeholder`).
    `site`: the folder the checked output will replace, whose cache (its built photos and
    remembered verdicts) a rebuild reuses; without it every file is read and decided.
    `static_sources`: output path -> the content file Pelican copied it from; `uncopied`:
    those of its output paths Pelican was told not to copy (``BuiltPhotos.uncopied``)."""
    passed: set[Path] = set()
    placeholders = (placeholder, missing_placeholder or placeholder)
    try:
        settings.check_outside(output)
        site_cache = site_folder(settings.cache_dir, site) if site else None
        built = BuiltPhotos(site_cache, static_sources, uncopied)
        return _run(output, settings, siteurl, placeholders, today, progress, passed, built, theme)
    except BaseException as exc:
        removed = remove_unverified(output, passed)
        if isinstance(exc, Exception):
            raise GateError(
                f"the consent gate failed ({exc.__class__.__name__}: {exc}); "
                f"{removed} file(s) that were not checked have been deleted from {output} "
                "and no publish manifest was written, so nothing unchecked can be "
                "published. Fix the cause above and rebuild."
            ) from exc
        raise


def _withheld_verdict(file: OutputFile, reason: str) -> Verdict:
    return Verdict(file.rel, file.source_sha256, WITHHOLD, [reason], [])


def _run(
    output: Path,
    settings: GateSettings,
    siteurl: str,
    placeholders: tuple[str, str],
    today: date,
    progress: bool,
    passed: set[Path],
    built: BuiltPhotos,
    theme: Path | str | None = None,
) -> GateOutcome:
    report_path = check_report_path(settings.report_path, output)
    files = inventory(output, built)
    by_rel = {f.rel: f for f in files}

    # 2. Pictures: decide every file that can show one; text waits for the page rewrite.
    verdicts: dict[str, Verdict] = {}
    for f in files:
        if f.kind not in FACE_KINDS and f.kind not in TEXT_ONLY_KINDS:
            data = f.text if f.text is not None else f.path.read_bytes()
            problem = file_problem(Sniffed(f.kind, f.detail), data)
            verdicts[f.rel] = (
                _withheld_verdict(f, problem)
                if problem
                else Verdict(f.rel, f.sha256, PUBLISH, [f"{f.detail}: nothing to withhold"], [])
            )

    memo = _decide_pictures(files, built, settings, today, progress, verdicts)
    copies = _CopyDecider(settings, today)
    _decide_drawings(files, settings, copies, verdicts)
    if not memo.has_registry:
        logger.warning(
            "no consent registry at %s: every photo with a face is withheld; see consent/README.md",
            settings.registry,
        )

    withheld = {rel for rel, verdict in verdicts.items() if not verdict.publish}
    raster_rels = [f.rel for f in files if f.kind == Kind.RASTER]
    for derivative, original in sorted(find_derivatives(withheld, raster_rels).items()):
        _withhold(verdicts[derivative], f"derived from the withheld image {original}")
        withheld.add(derivative)

    # 3. Re-encode what passes (a PDF: rewritten as checked, face_engine.pdf); withhold the rest.
    reencoded = _reencode_passed(
        [f for f in files if f.kind in FACE_KINDS and f.rel not in withheld],
        settings,
        verdicts,
        withheld,
        progress,
        built,
    )
    for f in files:  # scripts from content (``scripts``)
        problem = script_file_problem(f.rel, built.sources) if f.kind == Kind.JS else None
        if problem:
            verdicts[f.rel] = _withheld_verdict(f, problem)
            withheld.add(f.rel)
    for rel in withheld:
        by_rel[rel].path.unlink(missing_ok=True)

    # 4. Pages, feeds and style sheets.
    pages = _PageWork(output, files, withheld, settings, siteurl, placeholders)
    pages.stretched = _stretched_check(settings, copies)
    pages.run()
    copies.memo.save()
    harden_site(
        files,
        withheld,
        pages.rewritten,
        pages.resolver.resolve,
        theme_script_hashes(theme),
        settings.strict,
        settings.cache_dir / "pages" / "scripts",
    )
    residual = _withhold_text_with_pictures(files, withheld, settings.cache_dir)
    residual += [(by_rel[rel], reason) for rel, reason in pages.unreadable.items()]
    for f, reason in residual:
        verdicts[f.rel] = _withheld_verdict(f, reason)
        withheld.add(f.rel)
        f.path.unlink(missing_ok=True)

    # 5. Tell the webmaster, write the report, then the manifest.
    for rel in sorted(withheld):
        verdict = verdicts[rel]
        hint = ""
        if by_rel[rel].kind in FACE_KINDS and verdict.sha256:
            matched = tuple(face.person_id for face in verdict.faces if face.ok)
            hint = f" What to do: {approve_hint(verdict.sha256, matched)}."
        logger.warning(
            "Consent gate withheld %s (used by %s): %s.%s",
            rel,
            ", ".join(sorted(pages.used_by.get(rel, ()))) or "no page",
            "; ".join(verdict.reasons) or "no reason given",
            hint,
        )
    pages.warn()
    name_warnings = _name_warnings(memo.names, raster_rels, pages.alt_texts)
    for warning in name_warnings:
        logger.warning("%s", warning["message"])

    # The site as a visitor sees it: every page rendered, every face on it accounted for.
    if settings.render_check:
        render = _check_rendered(
            output, files, withheld, pages.rewritten, verdicts, settings, today
        )
    else:
        from .render_check import RenderOutcome

        logger.info("rendered-page face check off (CONSENT_RENDER_CHECK): a preview build")
        render = RenderOutcome(ran=False)

    checked = sorted(verdicts)
    published = len(checked) - len(withheld & set(checked))
    summary = {
        "checked": len(checked),
        "published": published,
        "withheld": len(withheld & set(checked)),
        "reencoded": reencoded,
        "remote_images": len(pages.remote_uses),
        "inline_images": len(pages.inline_uses),
        "missing_images": len(pages.missing_uses),
        "placeholders": pages.placeholders,
        "pages_rewritten": len(pages.rewritten),
        "stretched_withheld": [
            {"page": page, "image": rel, "reason": reason}
            for (page, rel), reason in sorted(pages.stretched_out.items())
        ],
        "name_warnings": len(name_warnings),
        "registry": "present" if memo.has_registry else "missing",
        "mode": settings.mode,
        "strict": settings.strict,
        "render_check": render.to_json(),
    }
    write_report(
        report_path,
        registry_fingerprint=memo.fingerprint,
        summary=summary,
        images=[
            {
                **verdicts[rel].to_json(),
                "output_path": rel,
                "kind": str(by_rel[rel].kind),
                "pages": sorted(pages.used_by.get(rel, ())),
                "feeds": sorted(pages.fed_by.get(rel, ())),
            }
            for rel in checked
        ],
        remote_images=pages.remote_uses,
        name_warnings=name_warnings,
    )
    entries = []
    for f in files:
        if f.rel in withheld:
            continue
        if f.rel in pages.rewritten:
            f.sha256 = sha256_bytes(f.text)
        entries.append(
            ManifestEntry(
                path=f.rel,
                sha256=f.sha256,
                kind=str(f.kind),
                content_type=f.content_type,
                source_sha256=f.source_sha256 if f.kind in FACE_KINDS else "",
                persons=list(f.persons),
                face_record=f.kind in FACE_KINDS,
                copy_persons=sorted(
                    set(f.copy_persons) | pages.stretched.persons_of.get(f.rel, set())
                    if pages.stretched is not None
                    else f.copy_persons
                ),
            )
        )
        passed.add(f.path)
    built.save()
    return GateOutcome(
        checked=len(checked),
        published=published,
        withheld=len(withheld & set(checked)),
        remote=len(pages.remote_uses),
        placeholders=pages.placeholders,
        pages_rewritten=len(pages.rewritten),
        reencoded=reencoded,
        name_warnings=len(name_warnings),
        report_path=report_path,
        registry_fingerprint=memo.fingerprint,
        entries=entries,
        missing=sorted(pages.missing_anywhere),
        verdicts=verdicts,
        sources={f.source_sha256 for f in files if f.kind in FACE_KINDS and f.source_sha256},
        rendered_check=render.ran,
        built_with=BuildSettings.of(settings),
    )


def _decide_pictures(
    files: list[OutputFile],
    built: BuiltPhotos,
    settings: GateSettings,
    today: date,
    progress: bool,
    verdicts: dict[str, Verdict],
) -> VerdictMemo:
    """Verdicts for every file that can show a face, into `verdicts`; the memo returned
    says what the build needs of the registry (fingerprint, student names).

    Verdicts come from the memo of the last build when nothing they depend on changed
    (``memo``); only the rest open the registry and go through the face engine."""
    from face_engine.config import MODEL_VERSION

    key = memo_key(settings, today, MODEL_VERSION)
    memo = VerdictMemo.load(built.site_cache, key)
    pictures = [f for f in files if f.kind in FACE_KINDS]
    todo = []
    for f in pictures:
        remembered = memo.get(f.sha256, f.rel) if memo.complete else None
        if remembered is None:
            todo.append(f)
        else:
            verdicts[f.rel], f.persons = remembered.verdict, remembered.persons
    if not todo and memo.complete:
        return memo

    snapshot, has_registry = load_snapshot(settings, today)
    fresh = VerdictMemo(key, snapshot.fingerprint, has_registry)
    fresh.names = student_name_tokens(snapshot.records)
    for f in pictures:
        if f.rel in verdicts:
            fresh.remember(verdicts[f.rel], f.persons)
    if todo:
        from face_engine.batch import check_files
        from face_engine.cache import FaceCache

        cache = FaceCache.for_settings(settings)
        cache.fetch_shared([f.sha256 for f in todo if f.kind in FACE_KINDS])
        for f in todo:
            if f.unread and not cache.path_for(f.sha256).exists():
                # No face work is cached for the bytes this photo was taken to be: read it.
                built.reread(f)
        for f in [f for f in todo if f.kind not in FACE_KINDS]:
            verdicts[f.rel] = _withheld_verdict(
                f, "it changed during the build (it is no longer a picture); rebuild"
            )
        todo = [f for f in todo if f.kind in FACE_KINDS]
        results = check_files(
            [f.path for f in todo],
            snapshot,
            settings,
            progress=progress,
            display_names=[f.rel for f in todo],
            hashes=[f.sha256 for f in todo],
            cache=cache,
        )
        if len(results) != len(todo):
            raise GateError(
                f"the face check returned {len(results)} verdicts for {len(todo)} files"
            )
        for f, verdict in zip(todo, results, strict=True):
            verdicts[f.rel] = verdict
            f.persons = _persons(verdict, snapshot)
            if cache.path_for(f.sha256).exists():  # decided from cached face work
                fresh.remember(verdict, f.persons)
        if cache.shared_hits or cache.shared_writes:
            logger.info(
                "Consent gate: %d photo(s) came from the district's shared face cache; %d "
                "scanned here were added to it.",
                cache.shared_hits,
                cache.shared_writes,
            )
    # Remembered only if the registry did not change while it was read (a purge, or the
    # office's workspace writing): else the memo could hold verdicts of an older state
    # under the newer state's key.
    if memo_key(settings, today, MODEL_VERSION) == key:
        fresh.save(built.site_cache)
    return fresh


def _decide_drawings(
    files: list[OutputFile],
    settings: GateSettings,
    copies: _CopyDecider,
    verdicts: dict[str, Verdict],
) -> None:
    """SVG files that passed their file check, drawn (``render_check.draw_svgs``) and
    decided as photos are (``batch.check_files``), whether a page shows them or not:
    a photo traced into paths is a face without a picture file. A drawing that cannot be
    drawn is withheld. Drawings are kept by their bytes (``<cache>/drawn``), so a rebuild
    starts no browser for unchanged ones."""
    from .render_check import RenderCheckError, draw_svgs

    drawings = [f for f in files if f.kind == Kind.SVG and verdicts[f.rel].publish]
    if not drawings:
        return
    folder = settings.cache_dir / "drawn"
    pngs: dict[str, Path] = {}
    todo: dict[str, bytes] = {}
    for f in drawings:
        png = folder / f.sha256[:2] / f"{f.sha256}.png"
        pngs[f.rel] = png
        if not png.is_file():
            todo[f.rel] = f.text if f.text is not None else f.path.read_bytes()
    try:
        drawn = draw_svgs(todo)
    except RenderCheckError as exc:
        drawn = {rel: str(exc) for rel in todo}
    for rel, result in drawn.items():
        if isinstance(result, str):
            _withhold(verdicts[rel], f"it could not be drawn to be checked for faces: {result}")
            pngs.pop(rel)
            continue
        pngs[rel].parent.mkdir(parents=True, exist_ok=True)
        write_atomic(pngs[rel], result)
    rels = sorted(pngs)
    decided = copies.decide([pngs[rel] for rel in rels], [f"{rel} (as drawn)" for rel in rels])
    by_rel = {f.rel: f for f in drawings}
    for rel, (why, persons) in zip(rels, decided, strict=True):
        if why:
            _withhold(verdicts[rel], f"drawn, the drawing shows a face: {why}")
        else:
            by_rel[rel].copy_persons = persons


class _CopyDecider:
    """Decides the pictures the gate makes from the build's files (SVG files drawn, photos
    stretched to a page's shape) by the photo verdict (``batch.check_files``); what
    it decided is remembered by the copies' hashes (``memo.CopyVerdicts``), so a rebuild
    opens the registry only for new copies."""

    def __init__(self, settings: GateSettings, today: date) -> None:
        from face_engine.config import MODEL_VERSION

        from .memo import CopyVerdicts

        self.settings, self.today = settings, today
        self.memo = CopyVerdicts(settings.cache_dir, memo_key(settings, today, MODEL_VERSION))
        self._snapshot: RegistrySnapshot | None = None

    def decide(self, paths: list[Path], names: list[str]) -> list[tuple[str, tuple[str, ...]]]:
        """For each copy: ("" when it passes, else why it is withheld; the registry ids
        seen in it, which the manifest keeps so that publish re-checks them)."""
        hashes = [sha256_bytes(Path(path).read_bytes()) for path in paths]
        found = [self.memo.get(digest) for digest in hashes]
        todo = [i for i, known in enumerate(found) if known is None]
        if not todo:
            return [known for known in found if known is not None]
        from face_engine.batch import check_files
        from face_engine.cache import FaceCache

        if self._snapshot is None:
            self._snapshot = load_snapshot(self.settings, self.today)[0]
        cache = FaceCache.for_settings(self.settings)
        results = check_files(
            [paths[i] for i in todo],
            self._snapshot,
            self.settings,
            progress=False,
            display_names=[names[i] for i in todo],
            hashes=[hashes[i] for i in todo],
            cache=cache,
        )
        for i, verdict in zip(todo, results, strict=True):
            passes = verdict.publish and not verdict.blurred
            reason = "" if passes else "; ".join(verdict.reasons) or "a face without consent"
            found[i] = (reason, _persons(verdict, self._snapshot))
            if cache.path_for(hashes[i]).exists():  # decided from face work, not an error
                self.memo.put(hashes[i], *found[i])
        return [known for known in found if known is not None]


def _stretched_check(settings: GateSettings, copies: _CopyDecider):
    """Step 4a (``stretched``): photos a page shows at another shape, decided at that
    shape by the same verdict as every photo."""
    from .stretched import StretchedCheck

    return StretchedCheck(settings.cache_dir / "stretched", copies.decide)


def _check_rendered(output, files, withheld, rewritten, verdicts, settings, today):
    """Step 4b (``render_check``): raises when a rendered page shows a face the gate
    did not pass; the photo rule (``match_face``) against the registry as of today."""
    from .render_check import RenderCheckError, check_rendered_site

    def matcher_factory():
        from face_engine.decision import match_face

        snapshot, _ = load_snapshot(settings, today)

        def matcher(face):
            result = match_face(face, snapshot, settings)
            return result.ok, result.reason

        return matcher

    try:
        return check_rendered_site(
            output,
            files,
            withheld,
            verdicts,
            lambda f: sha256_bytes(f.text) if f.rel in rewritten else f.sha256,
            matcher_factory,
            strict=settings.strict,
            cache_dir=settings.cache_dir,
        )
    except RenderCheckError as exc:
        raise GateError(str(exc)) from exc


def _persons(verdict: Verdict, snapshot: RegistrySnapshot) -> tuple[str, ...]:
    seen = {face.person_id for face in verdict.faces if face.person_id}
    approval = snapshot.approvals.get(verdict.sha256) if verdict.approved_by else None
    seen |= set(getattr(approval, "persons", ()) or ())
    return tuple(sorted(seen))


def _reencode_passed(
    rasters: list[OutputFile],
    settings: GateSettings,
    verdicts: dict[str, Verdict],
    withheld: set[str],
    progress: bool,
    built: BuiltPhotos,
) -> int:
    """Replace each passed raster by its re-encoded pixels; a failure withholds it. A
    photo that was not copied (``BuiltPhotos.uncopied``) is copied first when its bytes
    are needed (no cached re-encoding, or faces to blur)."""
    cache_ = ReencodeCache(settings.cache_dir / "published")
    changed = 0
    bar = rasters
    if progress and sum(not cache_.has(f.source_sha256) for f in rasters) >= 20:
        from tqdm import tqdm  # only when there is work to show (its import costs 60 ms)

        bar = tqdm(rasters, desc="Consent gate: re-encoding checked photos", unit="image")
    for f in bar:
        try:
            if verdicts[f.rel].blurred or not cache_.has(f.source_sha256):
                built.copy_in(f)
            blurred = _blur_hook(f, verdicts[f.rel])
            if blurred is not None:
                replace_bytes(f.path, blurred)
                placed = Placed(sha256_bytes(blurred), content_type(sniff(blurred[:4096]), f.rel))
            else:
                placed = cache_.place(f.path, f.source_sha256, f.rel)
        except (RasterError, OSError) as exc:
            if is_disk_failure(exc):  # a full or failing disk fails the build, never withholds
                raise
            _withhold(verdicts[f.rel], f"it could not be re-encoded: {exc}")
            withheld.add(f.rel)
            continue
        changed += placed.sha256 != f.source_sha256
        f.sha256, f.content_type = placed.sha256, placed.content_type
    cache_.save()
    return changed


def _blur_hook(f: OutputFile, verdict: Verdict) -> bytes | None:
    """CONSENT_BLUR: the published bytes of a photo whose verdict blurs faces (the checked
    pixels with those faces blurred, ``blur``), or None for every other photo."""
    if not verdict.blurred:
        return None
    from .blur import publishable_blurred

    return publishable_blurred(f.path, f.source_sha256, verdict.blurred, f.rel)


class _PageWork:
    """Which pages, feeds, style sheets and drawings use which picture, and the rewrite
    that withholds them (``pages``: every route a document can show a picture by)."""

    def __init__(self, output, files, withheld, settings, siteurl, placeholders):
        self.output = output
        self.files = files
        self.withheld = withheld
        self.settings = settings
        self.placeholder, self.missing_placeholder = placeholders
        self.siteurl = siteurl
        self.cache_dir = settings.cache_dir / "pages"
        self.resolver = UrlResolver(siteurl)
        # The same URLs recur on every page (the theme's, the navigation's): resolve once.
        self.resolver.resolve = functools.cache(self.resolver.resolve)
        self.present = {f.rel for f in files if f.rel not in withheld}
        self.used_by: dict[str, set[str]] = defaultdict(set)
        self.fed_by: dict[str, set[str]] = defaultdict(set)
        self.remote_uses: list[dict] = []
        self.inline_uses: list[dict] = []
        self.missing_uses: dict[str, set[str]] = defaultdict(set)
        self.missing_anywhere: set[str] = set()  # pictures some document shows, not built
        self.alt_texts: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.rewritten: set[str] = set()
        self.unreadable: dict[str, str] = {}  # documents that cannot be read: withheld
        self.placeholders = 0
        self.by_rel = {f.rel: f for f in files}
        self.stretched = None  # a ``stretched.StretchedCheck``: photos shown at another shape
        # (page, picture) -> why the page may not show the picture at the shape it does.
        self.stretched_out: dict[tuple[str, str], str] = {}

    def run(self) -> None:
        for f in self.files:
            if f.rel not in self.withheld and f.kind in _DOCUMENT_KINDS:
                self._document(f)

    def _document(self, f: OutputFile) -> None:
        kind = str(f.kind)
        is_feed = f.kind == Kind.XML
        text = f.text.decode("utf-8", errors="surrogateescape")
        # Feed entries hold URLs relative to the site, not to the feed file.
        base = "index.html" if is_feed else f.rel
        try:
            pairs = resolve_uses(text, kind, base, self.resolver, self.cache_dir)
        except ValueError as exc:
            self.unreadable[f.rel] = (
                f"it cannot be read ({exc}), so the pictures it names cannot be withheld "
                "from it: fix the file or the setting that writes it"
            )
            return
        missing: set[str] = set()
        # (kind, url) of each blocked use, and whether it is blocked only for being missing.
        blocked: dict[tuple[str, str], bool] = {}
        for use, target in pairs:
            if target.kind == "local":
                if target.path in self.present or target.path in self.withheld:
                    (self.fed_by if is_feed else self.used_by)[target.path].add(f.rel)
                elif use.displays:
                    missing.add(target.path)
                    self.missing_anywhere.add(target.path)
                    if f.kind == Kind.HTML:
                        self.missing_uses[target.path].add(f.rel)
                if use.kind == "img" and use.alt and f.kind == Kind.HTML:
                    self.alt_texts[(target.path, use.alt)].add(f.rel)
            elif target.kind in ("remote", "inline") and use.displays and not is_feed:
                uses_list = self.remote_uses if target.kind == "remote" else self.inline_uses
                uses_list.append({"page": f.rel, "kind": use.kind, "url": _short(use.url)})
            if is_blocked(
                use, target, withheld=self.withheld, missing=missing, strict=self.settings.strict
            ) or self._stretched_out(f.rel, use, target):
                key = (use.kind, use.url)
                only_missing = target.kind == "local" and target.path in missing
                blocked[key] = blocked.get(key, True) and only_missing
        if not blocked:
            return
        new_text, count = text, 0
        # Missing pictures first, with their own placeholder; then everything withheld.
        for placeholder, missing_pass in (
            (self.missing_placeholder, True),
            (self.placeholder, False),
        ):
            keys = {key for key, only_missing in blocked.items() if only_missing == missing_pass}
            if keys:
                new_text, added = _rewrite_cached(
                    new_text,
                    kind,
                    lambda use, keys=keys: (use.kind, use.url) in keys,
                    sorted(f"{k} {u}" for k, u in keys),
                    placeholder_for_page(placeholder, f.rel, self.siteurl),
                    self.cache_dir,
                )
                count += added
        if new_text != text:
            f.text = new_text.encode("utf-8", errors="surrogateescape")
            f.path.write_bytes(f.text)
            self.rewritten.add(f.rel)
            self.placeholders += count

    def _stretched_out(self, page: str, use: ImageUse, target) -> bool:
        """Whether `page` shows the local photo at a shape at which it may not be shown."""
        if not use.shown or self.stretched is None or target.kind != "local":
            return False
        picture = self.by_rel.get(target.path)
        if picture is None or picture.kind != Kind.RASTER or target.path in self.withheld:
            return False
        reason = self.stretched.reason(picture.rel, picture.path, picture.source_sha256, use.shown)
        if reason:
            self.stretched_out[(page, picture.rel)] = reason
        return bool(reason)

    def warn(self) -> None:
        for (page, rel), reason in sorted(self.stretched_out.items()):
            logger.warning(
                "Consent gate withheld %s from %s: %s. The page shows the placeholder there; "
                "show the photo at its own shape (width and height in proportion), or ask "
                "the consent office to review it",
                rel,
                page,
                reason,
            )
        for rel, pages in sorted(self.missing_uses.items()):
            logger.warning(
                "%s is used by %s but is not in the output (missing from content?): "
                "the page shows the withheld-photo placeholder instead",
                rel,
                ", ".join(sorted(pages)),
            )
        by_page: dict[str, list[str]] = defaultdict(list)
        for use in self.remote_uses:
            by_page[use["page"]].append(use["url"])
        for page, urls in sorted(by_page.items()):
            logger.warning(
                "%s shows %d image(s) from another site, which the consent gate cannot check "
                "(%s): copy the photo into content/images so it is checked%s",
                page,
                len(urls),
                ", ".join(sorted(set(urls))[:3]),
                "; replaced by the placeholder (CONSENT_STRICT)" if self.settings.strict else "",
            )
        inline_by_page: dict[str, int] = defaultdict(int)
        for use in self.inline_uses:
            inline_by_page[use["page"]] += 1
        for page, count in sorted(inline_by_page.items()):
            logger.warning(
                "%s has %d picture(s) written into the page itself (a data: URL), which the "
                "consent gate cannot check: replaced by the placeholder. Save the photo as a "
                "file in content/images and link to it instead",
                page,
                count,
            )


def _withhold_text_with_pictures(
    files: list[OutputFile], withheld: set[str], cache_dir: Path
) -> list[tuple[OutputFile, str]]:
    """Text files that still hold a picture after every rewrite: withheld whole.

    A text found clean is remembered by its hash (and the rules' version), so a rebuild
    reads the same pages' text again only when it changed."""
    found = []
    marks = cache_dir / f"clean-text-{TEXT_RULES_VERSION}"  # sniff's rules, versioned
    for f in files:
        if f.rel in withheld or f.kind not in TEXT_ONLY_KINDS:
            continue
        digest = sha256_bytes(f.text)
        mark = marks / digest[:2] / digest
        if mark.exists():
            continue
        problem = text_problem(f.text)
        if problem:
            found.append((f, problem))
            continue
        try:
            mark.parent.mkdir(parents=True, exist_ok=True)
            mark.touch()
        except OSError as exc:
            if is_disk_failure(exc):
                raise
            # otherwise only costs the check again next time
    return found


def _rewrite_cached(
    text: str,
    kind: str,
    blocked: Callable[[ImageUse], bool],
    blocked_keys: list[str],
    placeholder: str,
    cache_dir: Path,
) -> tuple[str, int]:
    """Rewrite a document, or reuse the rewrite of the same document with the same blocked
    uses from an earlier build (a rebuild then parses no document again)."""
    key_source = "\0".join([REWRITE_VERSION, kind, placeholder, "\n".join(blocked_keys), text])
    key = sha256_bytes(code_key() + key_source.encode("utf-8", "surrogateescape"))
    cached = cache_dir / "rewrites" / key[:2] / key
    try:
        count, _, new_text = cached.read_bytes().decode("utf-8", "surrogateescape").partition("\n")
        return new_text, int(count)
    except (OSError, ValueError):
        pass
    new_text, count = rewrite_document(text, kind, blocked, placeholder)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(cached, f"{count}\n{new_text}".encode("utf-8", "surrogateescape"))
    except OSError as exc:
        if is_disk_failure(exc):
            raise
        logger.debug("could not cache the rewrite of a document: %s", exc)
    return new_text, count


def _withhold(verdict: Verdict, reason: str) -> None:
    verdict.verdict = WITHHOLD
    verdict.reasons.append(reason)


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "..."


def _name_warnings(
    tokens: NameTokens | None, rels: list[str], alt_texts: dict[tuple[str, str], set[str]]
) -> list[dict]:
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
