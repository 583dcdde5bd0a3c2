"""The build's consent report: every image, its verdict and the pages that use it.

It lives outside the output folder (it names withheld photos and the reasons). This module
owns both ends of the file: the gate writes it (``write_report``) and the `consent`
command and the consent office's workspace read it (``read_report``: a typed
``BuildReport``), so the two readers cannot drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from site_common.files import write_atomic

from .errors import GateError


class ReportPathError(GateError, ValueError):
    """The report would be published with the site."""


def check_report_path(report_path: Path, output: Path) -> Path:
    """The absolute report path; refuses a path inside the output folder."""
    resolved = report_path.resolve()
    if resolved.is_relative_to(output.resolve()):
        raise ReportPathError(
            f"CONSENT_REPORT_PATH ({report_path}) is inside the output folder ({output}), "
            "so the report would be published with the site; set it to a path outside "
            "output/, e.g. reports/consent-report.json"
        )
    return resolved


def write_report(
    report_path: Path,
    *,
    registry_fingerprint: str,
    summary: dict,
    images: list[dict],
    remote_images: list[dict],
    name_warnings: list[dict],
) -> None:
    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "registry_fingerprint": registry_fingerprint,
        "summary": summary,
        "images": images,
        "remote_images": remote_images,
        "name_warnings": name_warnings,
    }
    report_path.parent.mkdir(parents=True, exist_ok=True)
    # No indent: json's C encoder writes it (an indented dump is pure Python, 20 ms of a
    # 0.2 s warm gate on 200 photos). `python -m json.tool` shows it indented. A full disk
    # leaves no partial report behind (write_atomic removes its temporary file).
    write_atomic(report_path, json.dumps(document, ensure_ascii=False) + "\n", mode=0o644)


# ---------------------------------------------------------------- reading


class ReportMissing(FileNotFoundError, GateError):
    """There is no report yet: the site was not built with the gate."""


class ReportUnreadable(GateError, ValueError):
    """The report exists but cannot be used (damaged, cut short, not a report)."""


@dataclass(frozen=True)
class ReportFace:
    """One face of an image as the build judged it: its box in the displayed photo's pixels
    ({top, right, bottom, left}), whom it matched, whether it may be published, and why."""

    box: dict[str, int]
    person_id: str | None
    ok: bool
    reason: str


@dataclass(frozen=True)
class ReportImage:
    """One checked image of the build."""

    sha256: str
    path: str  # the file the verdict was made for
    output_path: str  # where it is in the site
    verdict: str  # "publish" or "withhold"
    kind: str  # the sniffed kind: raster, pdf, svg, ...
    reasons: tuple[str, ...]
    pages: tuple[str, ...]
    faces: tuple[ReportFace, ...]

    @property
    def name(self) -> str:
        """What to call it: its place in the site, else its file, else its hash."""
        return self.output_path or self.path or self.sha256[:12]

    @property
    def withheld(self) -> bool:
        return self.verdict == "withhold"

    @property
    def recognised(self) -> list[str]:
        """The people the gate recognised in it (any verdict)."""
        return [f.person_id for f in self.faces if f.person_id]

    def shows(self, person_id: str) -> bool:
        """Whether the gate recognised `person_id` in it."""
        return person_id in self.recognised

    @property
    def consented(self) -> list[str]:
        """The people recognised in it whose consent covered it."""
        return [f.person_id for f in self.faces if f.ok and f.person_id]


@dataclass(frozen=True)
class BuildReport:
    path: Path
    generated_at: str  # ISO 8601, "" when the report does not say
    registry_fingerprint: str
    images: tuple[ReportImage, ...]

    @property
    def withheld(self) -> list[ReportImage]:
        return [i for i in self.images if i.withheld]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _face(data: dict) -> ReportFace:
    box = data.get("box") or {}
    return ReportFace(
        box={side: int(box[side]) for side in ("top", "right", "bottom", "left") if side in box},
        person_id=_text(data.get("person_id")) or None,
        ok=bool(data.get("ok")),
        reason=_text(data.get("reason")),
    )


def _image(data: dict) -> ReportImage:
    return ReportImage(
        sha256=_text(data.get("sha256")),
        path=_text(data.get("path")),
        output_path=_text(data.get("output_path")),
        verdict=_text(data.get("verdict")),
        kind=_text(data.get("kind")) or "raster",
        reasons=tuple(_text(r) for r in data.get("reasons") or ()),
        pages=tuple(_text(p) for p in data.get("pages") or ()),
        faces=tuple(_face(f) for f in data.get("faces") or () if isinstance(f, dict)),
    )


def read_report(report_path: Path) -> BuildReport:
    """The build's report at `report_path`. Raises ReportMissing when there is none yet and
    ReportUnreadable when it cannot be used; both messages name the file and what to do.
    Entries that are not objects are left out."""
    report_path = Path(report_path)
    try:
        text = report_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportMissing(
            f"There is no consent report at {report_path} yet. Run `make html` first: "
            "the build checks every photo and writes the report."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportUnreadable(
            f"the consent report {report_path} cannot be read ({exc}): build the site "
            "again (`make html`)"
        ) from None
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("images"), list):
            raise ValueError("it has no list of images")
        images = tuple(_image(i) for i in data["images"] if isinstance(i, dict))
    except (ValueError, KeyError, TypeError) as exc:
        raise ReportUnreadable(
            f"the consent report {report_path} cannot be read ({exc}): build the site "
            "again (`make html`)"
        ) from None
    return BuildReport(
        path=report_path,
        generated_at=_text(data.get("generated_at")),
        registry_fingerprint=_text(data.get("registry_fingerprint")),
        images=images,
    )
