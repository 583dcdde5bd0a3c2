"""The photos the workspace shows: the build's report (what was withheld and why, who is in
each photo), the source files in the content folder, and thumbnails with numbered boxes.

The report (``GateSettings.report_path``) holds, per image, its SHA-256, verdict, pages and
faces (box, person id, reason); never face templates. A withheld photo is deleted from
output/, so its thumbnail is made from the file the webmaster dropped in the content folder
whose SHA-256 is the report's (the gate hashes the bytes as they are in content/).
Thumbnails are made in memory for a signed-in user and never written to disk.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from face_engine.imaging import open_bounded
from face_engine.model import Approval
from PIL import Image, ImageDraw, ImageFont, ImageOps

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


@dataclass
class ReportImage:
    sha256: str
    name: str
    verdict: str
    kind: str
    reasons: list[str]
    pages: list[str]
    faces: list[Face] = field(default_factory=list)

    @property
    def recognised(self) -> list[str]:
        return [f.person_id for f in self.faces if f.person_id]


@dataclass
class Report:
    path: Path
    generated_at: str
    images: list[ReportImage]
    problem: str | None = None  # why there is no usable report, in plain words

    @property
    def withheld(self) -> list[ReportImage]:
        return [i for i in self.images if i.verdict == "withhold"]


def read_report(path: Path) -> Report:
    """The build's report; an empty one with `problem` set when it is missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        return Report(
            path,
            "",
            [],
            f"There is no build report at {path} yet: build the site (make html) and the "
            "photos appear here.",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        images = []
        for entry in data["images"]:
            if not isinstance(entry, dict):
                continue
            faces = [
                Face(
                    number,
                    dict(face.get("box") or {}),
                    face.get("person_id"),
                    bool(face.get("ok")),
                    str(face.get("reason") or ""),
                )
                for number, face in enumerate(entry.get("faces") or [], 1)
                if isinstance(face, dict)
            ]
            images.append(
                ReportImage(
                    sha256=str(entry.get("sha256") or ""),
                    name=str(entry.get("output_path") or entry.get("path") or ""),
                    verdict=str(entry.get("verdict") or ""),
                    kind=str(entry.get("kind") or "raster"),
                    reasons=[str(r) for r in entry.get("reasons") or []],
                    pages=[str(p) for p in entry.get("pages") or []],
                    faces=faces,
                )
            )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return Report(
            path, "", [], f"The build report {path} cannot be read ({exc}): build the site again."
        )
    return Report(path, str(data.get("generated_at") or ""), images)


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


# ---------------------------------------------------------------- photos showing someone


@dataclass
class Showing:
    name: str
    pages: list[str]
    fate: str  # what the next publish does with it once the person's consent ends


def photos_showing(report: Report, person_id: str, approvals: list[Approval]) -> list[Showing]:
    """The photos of the last build that show `person_id` (the gate recognised them, or an
    approval names them), from person ids only, and what the next publish does with each
    when their consent ends."""
    named = {a.sha256: a for a in approvals if a.shows and person_id in a.shows}
    found = []
    seen = set()
    for image in report.images:
        if person_id not in image.recognised and image.sha256 not in named:
            continue
        seen.add(image.sha256)
        if image.verdict == "publish":
            fate = "taken down from the website at the next publish"
        else:
            fate = "already withheld; it stays off the website"
        approval = named.get(image.sha256)
        if approval is not None:
            fate += f" (the approval by {approval.by} no longer holds)"
        found.append(Showing(image.name, image.pages, fate))
    for sha256, approval in named.items():
        if sha256 not in seen:
            found.append(
                Showing(
                    approval.label or f"image {sha256[:12]}…",
                    [],
                    f"approved by {approval.by}: withheld wherever it is used, taken down at "
                    "the next publish",
                )
            )
    return found
