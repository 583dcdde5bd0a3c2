"""The photos the workspace shows: the build's report (what was withheld and why, who is in
each photo), the source files in the content folder, and thumbnails with numbered boxes.

The report (``GateSettings.report_path``) holds, per image, its SHA-256, verdict, pages and
faces (box, person id, reason); never face templates. A withheld photo is deleted from
output/, so its thumbnail is made from the file the webmaster dropped in the content folder
whose SHA-256 is the report's (the gate hashes the bytes as they are in content/).
Thumbnails are made in memory for a signed-in user and never written to disk.
"""

from __future__ import annotations

import copy
import hashlib
import io
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

from face_engine.imaging import open_bounded
from PIL import Image, ImageDraw, ImageFont, ImageOps
from site_gate.report import BuildReport, ReportMissing, ReportUnreadable
from site_gate.report import read_report as read_built_report

THUMBNAIL_SIDE = 640
BOX_COLOUR = (255, 214, 0)  # yellow on a dark outline: visible on light and dark photos


@dataclass
class Face:
    number: int
    box: dict
    person_id: str | None
    ok: bool
    reason: str  # the gate's words
    plain: str = ""  # the office's words ("not on file", "Rose Leslie: consent revoked on …")
    built_person_id: str | None = None  # whom the build recognised (person_id: as of now)
    kind: str = ""  # the reason's filter key (REASON_KINDS)
    note: str = ""  # when the record changed after the build, or the build's faces are gone
    closest: list = field(default_factory=list)  # [(Person, distance, withdrawn)], unmatched


@dataclass
class ReportImage:
    sha256: str
    name: str
    verdict: str
    kind: str
    reasons: list[str]
    pages: list[str]
    faces: list[Face] = field(default_factory=list)
    current: str = ""  # the verdict against the registry as it is now ("" before matching)
    current_reasons: list[str] = field(default_factory=list)
    from_cache: bool = False  # the faces were matched again from the face cache

    @property
    def recognised(self) -> list[str]:
        return [f.person_id for f in self.faces if f.person_id]

    def shows(self, person_id: str) -> bool:
        """Recognised now, or by the build (a withdrawal since deletes the templates)."""
        return any(person_id in (f.person_id, f.built_person_id) for f in self.faces)


@dataclass
class Report:
    path: Path
    generated_at: str
    images: list[ReportImage]
    problem: str | None = None  # why there is no usable report, in plain words

    @property
    def built_at(self) -> datetime | None:
        try:
            moment = datetime.fromisoformat(self.generated_at)
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    @property
    def withheld(self) -> list[ReportImage]:
        return [i for i in self.images if i.verdict == "withhold"]

    @property
    def current_verdicts(self) -> dict[str, str]:
        """sha256 -> the verdict against the registry as it is now, for the images
        matched again (``as_of_now``)."""
        return {i.sha256: i.current for i in self.images if i.current}


def read_report(path: Path) -> Report:
    """The build's report (``site_gate.report.read_report``) as the workspace shows it; an
    empty one with `problem` set when it is missing or unreadable."""
    path = Path(path)
    try:
        built = _built_report(path)
    except ReportMissing:
        return Report(
            path,
            "",
            [],
            f"There is no build report at {path} yet: build the site (make html) and the "
            "photos appear here.",
        )
    except (OSError, ReportUnreadable) as exc:
        return Report(path, "", [], f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
    images = [
        ReportImage(
            sha256=entry.sha256,
            name=entry.output_path or entry.path,
            verdict=entry.verdict,
            kind=entry.kind,
            reasons=list(entry.reasons),
            pages=list(entry.pages),
            faces=[
                Face(number, dict(face.box), face.person_id, face.ok, face.reason)
                for number, face in enumerate(entry.faces, 1)
            ],
        )
        for entry in built.images
    ]
    return Report(path, built.generated_at, images)


_REPORTS: dict[Path, tuple[tuple[int, int], BuildReport]] = {}
_REPORTS_LOCK = threading.Lock()


def _built_report(path: Path) -> BuildReport:
    """The report, read once per version of the file (a 1,000-photo report is about 1 MB;
    every thumbnail and queue page needs it)."""
    stat = path.stat() if path.is_file() else None
    key = (stat.st_mtime_ns, stat.st_size) if stat else (0, 0)
    with _REPORTS_LOCK:
        cached = _REPORTS.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    built = read_built_report(path)
    with _REPORTS_LOCK:
        _REPORTS.clear()  # one report file per workspace: keep the latest only
        _REPORTS[path] = (key, built)
    return built


def plain_reason(face: Face, people: dict, today: date, revoked_on: dict[str, str]) -> str:
    """The gate's reason for one face in the office's words."""
    person = people.get(face.person_id) if face.person_id else None
    if person is not None:
        name = person.name
        state = person.state(today)
        if face.ok and state == "active":
            return f"{name}: consent on file"
        if state == "revoked":
            when = revoked_on.get(person.person_id)
            return f"{name}: consent revoked" + (f" on {when}" if when else "")
        if state == "expired":
            return f"{name}: consent expired on {person.expires.isoformat()}"
        if state == "never-publish":
            return f"{name}: marked never publish"
        if state == "altered":
            return f"{name}: the record was changed outside the consent office: restore from backup"
        return f"{name}: {face.reason.split(': ', 1)[-1]}"
    if face.person_id:  # recognised by the build, removed from the registry since
        return f"{face.person_id}: no longer on file"
    built = people.get(face.built_person_id) if face.built_person_id else None
    if built is not None and built.state(today) in ("revoked", "never-publish", "expired"):
        # Not matched now because the withdrawal deleted the templates: the build knew them.
        return plain_reason(replace(face, person_id=built.person_id), people, today, revoked_on)
    reason = face.reason.lower()
    if "too small" in reason or "could not be encoded" in reason:
        return "too small to check"
    if reason.startswith("ambiguous"):
        return "looks like two people on file: check by eye"
    if "detect-only" in reason:
        return "a face (faces are not matched in detect-only mode)"
    if reason.startswith("unknown face") or not reason:
        return "not on file"
    return face.reason


REASON_KINDS = {
    "not-on-file": "Not on file",
    "withdrawn": "Consent withdrawn or never publish",
    "expired": "Consent expired",
    "scope": "Consent does not cover this use",
    "too-small": "Too small to check",
    "ambiguous": "Looks like two people",
    "recognised": "Consent on file",
    "other": "Other",
}


def reason_kind(plain: str) -> str:
    """The filter key (REASON_KINDS) of a face's plain reason."""
    text = plain.lower()
    for needle, kind in (
        ("consent revoked", "withdrawn"),
        ("never publish", "withdrawn"),
        ("consent withdrawn", "withdrawn"),
        ("no longer on file", "withdrawn"),
        ("consent expired", "expired"),
        ("does not cover", "scope"),
        ("too small", "too-small"),
        ("two people", "ambiguous"),
        ("not on file", "not-on-file"),
        ("consent on file", "recognised"),
    ):
        if needle in text:
            return kind
    return "other"


def describe_faces(
    image: ReportImage, people: dict, today: date, revoked_on: dict[str, str], built_at
) -> None:
    """Each face's plain reason, filter key and note on records changed since the build."""
    for face in image.faces:
        face.plain = plain_reason(face, people, today, revoked_on)
        face.kind = reason_kind(face.plain)
        # The gate's block list: a face close to someone whose consent was withdrawn.
        where = f"face at ({face.box.get('left')},{face.box.get('top')}) "
        blocked = [r for r in image.current_reasons if r.startswith(where) and "close to" in r]
        if blocked and face.kind != "withdrawn":
            face.plain = "close to " + blocked[0].split("close to ", 1)[1]
            face.kind = "withdrawn"
        who = people.get(face.person_id or face.built_person_id or "")
        if not image.from_cache and image.current:
            face.note = "the face cache no longer holds this photo's faces: as the build saw them"
        elif who is not None and built_at is not None and who.updated_at > built_at:
            face.note = (
                f"{who.name}'s record changed after the build: matched against the record "
                "as it is now"
            )


# ---------------------------------------------------------------- matching again


class LRU:
    """A bounded map (by count, and by bytes when `max_bytes`), least recently used out
    first, safe across the server's threads."""

    def __init__(self, max_items: int, max_bytes: int | None = None):
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict = OrderedDict()  # key -> (value, size)
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key, value, size: int = 0) -> None:
        with self._lock:
            if key in self._items:
                self.size -= self._items.pop(key)[1]
            self._items[key] = (value, size)
            self.size += size
            while self._items and (
                len(self._items) > self.max_items
                or (self.max_bytes is not None and self.size > self.max_bytes)
            ):
                self.size -= self._items.popitem(last=False)[1][1]

    def __len__(self) -> int:
        return len(self._items)


# Thumbnails: 640 px JPEGs are 40-90 KB; 64 MB keeps about a thousand, a whole queue.
THUMBNAILS_MAX_BYTES = 64 * 1024 * 1024


class LiveMatcher:
    """The last build's faces (from the face cache: no face is scanned here) matched
    against the registry as it is now, with the gate's own verdict
    (``decision.verdict_for_faces``), remembered per registry fingerprint.

    Measured: matching 2,000 faces against 3,000 records one record at a time
    (``match_face`` stacks each record's templates per face) took about 30 s; here all
    templates are one matrix, each face's three closest records are found at once, and
    ``verdict_for_faces`` then decides against those records only (its result depends on
    the best and second-best record alone), with every never-publish record kept for the
    blur rule."""

    def __init__(self, cache_dir: Path):
        from face_engine.cache import FaceCache

        self.cache = FaceCache(cache_dir)
        self._faces = LRU(20_000)  # sha256 -> [DetectedFace] (photos' faces never change)
        self._verdicts: dict[str, object] = {}
        self._fingerprint = ""
        self._built = None
        self._closest, self._closest_of = None, ""
        self._lock = threading.Lock()

    def faces(self, sha256: str) -> list | None:
        found = self._faces.get(sha256)
        if found is None:
            found = self.cache.get(sha256, need_encodings=True)
            if found is None:
                return None
            self._faces.put(sha256, found)
        return found

    def _index(self, snapshot):
        """(records with templates, their templates as one matrix, where each record's
        rows start), built once per registry fingerprint."""
        import numpy as np

        with self._lock:
            if self._fingerprint != snapshot.fingerprint:
                self._verdicts, self._fingerprint = {}, snapshot.fingerprint
                self._built = None
            if self._built is not None:
                return self._built
        records = [r for r in snapshot.records if r.encodings]
        matrix = np.stack([e for r in records for e in r.encodings]) if records else None
        starts = np.cumsum([0] + [len(r.encodings) for r in records[:-1]]).astype(int)
        built = (records, matrix, starts)
        with self._lock:
            if self._fingerprint == snapshot.fingerprint:
                self._built = built
        return built

    def _nearest(self, snapshot, encodings: list, keep: int):
        """Per face: [(record, distance)] of the `keep` closest records, closest first."""
        import numpy as np

        records, matrix, starts = self._index(snapshot)
        if matrix is None or not encodings:
            return [[] for _ in encodings]
        faces = np.stack(encodings)
        squared = (faces**2).sum(1)[:, None] + (matrix**2).sum(1)[None, :] - 2 * faces @ matrix.T
        per_record = np.sqrt(np.maximum(np.minimum.reduceat(squared, starts, axis=1), 0))
        keep = min(keep, len(records))
        chosen = np.argpartition(per_record, keep - 1, axis=1)[:, :keep]
        found = []
        for row, indexes in enumerate(chosen):
            pairs = sorted((float(per_record[row, i]), int(i)) for i in indexes)
            found.append([(records[i], d) for d, i in pairs])
        return found

    def closest(self, snapshot, people: dict, encoding, limit: int = 5) -> list:
        """[Closest(person, distance, withdrawn)] closest first, withdrawn people included
        (their block-list templates): who a face matching no active record may be. The
        registry's one rule (``closest.ClosestIndex``), its index kept per snapshot."""
        from consent_registry.closest import ClosestIndex

        if encoding is None:
            return []
        with self._lock:
            index = self._closest if self._closest_of == snapshot.fingerprint else None
        if index is None:
            index = ClosestIndex(snapshot)
            with self._lock:
                self._closest, self._closest_of = index, snapshot.fingerprint
        return index.closest(encoding, people, limit)

    def verdicts(self, images: list[ReportImage], snapshot, settings) -> dict[str, object]:
        """sha256 -> the verdict now, for the images whose faces the cache holds."""
        from face_engine.decision import verdict_for_faces

        self._index(snapshot)  # a new fingerprint forgets the verdicts
        with self._lock:
            known = dict(self._verdicts)
        todo = [(i.sha256, self.faces(i.sha256)) for i in images if i.sha256 not in known]
        todo = [(sha, found) for sha, found in todo if found is not None]
        if not todo:
            return known
        encoded = [f.encoding for _sha, found in todo for f in found if f.encoding is not None]
        nearest = iter(self._nearest(snapshot, encoded, 3))
        always = {r.person_id: r for r in snapshot.records if r.never_publish}
        by_id = {r.person_id: r for r in snapshot.records}
        for sha256, found in todo:
            chosen = dict(always)
            for face in found:
                if face.encoding is not None:
                    chosen.update((r.person_id, r) for r, _d in next(nearest))
            approval = snapshot.approvals.get(sha256)
            for person_id in (approval.shows or ()) if approval else ():
                if person_id in by_id:
                    chosen[person_id] = by_id[person_id]
            # Every other part of the snapshot (approvals, the block list) as it is.
            alone = replace(snapshot, records=tuple(chosen.values()))
            known[sha256] = verdict_for_faces(sha256, found, alone, settings)
        with self._lock:
            if self._fingerprint == snapshot.fingerprint:
                self._verdicts.update(known)
        return known


def as_of_now(image: ReportImage, verdict) -> ReportImage:
    """A copy of `image` whose faces are the verdict's (matched now), keeping whom the
    build recognised in each; `image` itself when there is no verdict (cache emptied)."""
    if verdict is None:
        now = copy.copy(image)
        now.faces = [replace(f, built_person_id=f.person_id) for f in image.faces]
        now.current = image.verdict
        return now
    built = {
        (f.box.get("top"), f.box.get("right"), f.box.get("bottom"), f.box.get("left")): f
        for f in image.faces
    }
    faces = []
    for number, result in enumerate(verdict.faces, 1):
        old = built.get(result.box.as_css())
        faces.append(
            Face(
                number,
                {
                    "top": result.box.top,
                    "right": result.box.right,
                    "bottom": result.box.bottom,
                    "left": result.box.left,
                },
                result.person_id,
                result.ok,
                result.reason,
                built_person_id=old.person_id if old is not None else None,
            )
        )
    now = copy.copy(image)
    now.faces = faces
    now.current = verdict.verdict
    now.current_reasons = list(verdict.reasons)
    now.from_cache = True
    return now


# ---------------------------------------------------------------- content files


class ContentIndex:
    """sha256 -> file in the content folder, rehashing only files whose size or time
    changed (hashing 200 photos of 3 MB costs about a second; a page view must not)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._known: dict[Path, tuple[int, int, str]] = {}
        self._lock = threading.Lock()

    def find(self, sha256: str) -> Path | None:
        with self._lock:
            seen: dict[Path, tuple[int, int, str]] = {}
            found = None
            for root, _dirs, names in os.walk(self.folder):
                for name in names:
                    path = Path(root, name)
                    try:
                        stat = path.stat()
                    except OSError:
                        continue
                    key = (stat.st_size, stat.st_mtime_ns)
                    cached = self._known.get(path)
                    if cached is not None and cached[:2] == key:
                        digest = cached[2]
                    else:
                        try:
                            digest = hashlib.sha256(path.read_bytes()).hexdigest()
                        except OSError:
                            continue
                    seen[path] = (*key, digest)
                    if digest == sha256 and found is None:
                        found = path
            self._known = seen
            return found

    def read(self, sha256: str) -> bytes | None:
        """The bytes of the content file with this hash, or None: none found, unreadable,
        or changed since it was indexed."""
        path = self.find(sha256)
        try:
            data = path.read_bytes() if path is not None else None
        except OSError:
            return None
        return data if data is not None and hashlib.sha256(data).hexdigest() == sha256 else None


def thumbnail(data: bytes, faces: list[dict], side: int = THUMBNAIL_SIDE) -> bytes:
    """A JPEG at most `side` pixels, with each face box drawn and numbered (1, 2, …).

    `faces` are boxes {top, right, bottom, left} in the pixels of the photo as displayed
    (orientation applied), as the gate reports them. The face engine's pixel limit holds:
    ``imaging.open_bounded`` raises ImageTooLarge before any pixel is decoded."""
    with open_bounded(data) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    scale = min(1.0, side / max(image.size))
    if scale < 1.0:
        image = image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
            Image.Resampling.LANCZOS,
        )
    draw = ImageDraw.Draw(image)
    font_size = max(14, round(max(image.size) / 28))
    font = ImageFont.load_default(size=font_size)
    for number, box in enumerate(faces, 1):
        try:
            left, top = box["left"] * scale, box["top"] * scale
            right, bottom = box["right"] * scale, box["bottom"] * scale
        except (KeyError, TypeError):
            continue
        width = max(2, round(font_size / 6))
        draw.rectangle(
            (left - 1, top - 1, right + 1, bottom + 1), outline=(0, 0, 0), width=width + 2
        )
        draw.rectangle((left, top, right, bottom), outline=BOX_COLOUR, width=width)
        label = str(number)
        x0, y0, x1, y1 = draw.textbbox((0, 0), label, font=font)
        pad = 3
        lx, ly = left, max(0, top - (y1 - y0) - 2 * pad)
        draw.rectangle((lx, ly, lx + (x1 - x0) + 2 * pad, ly + (y1 - y0) + 2 * pad), fill=(0, 0, 0))
        draw.text((lx + pad - x0, ly + pad - y0), label, fill=BOX_COLOUR, font=font)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()
