"""Bulk import of consent from a student-information-system export (CSV).

The import is all or nothing: every row is checked first, then every reference photo is
turned into a template, and only when nothing is wrong are the changes saved, in one
transaction. Every problem is reported with its row number, not just the first one.

What each row does:

- photo release "yes", new id: a record is added (reference photos required);
- photo release "yes", id already in the registry: the record is updated (its templates
  are replaced when the row brings photos, kept otherwise). A record the consent office
  revoked is not re-activated by an import: that is done with ``consent add --replace``;
- photo release "no": nothing is stored (no face templates are made for a family that did
  not consent, and an unknown face is withheld anyway). If the registry still holds active
  consent for that id, it is revoked: the export is the newer word;
- an expiry date that has already passed: the row is skipped.

Reference photos come from the disk (`consent import`: the photo column's paths, or a folder
per student id under ``--photos-dir``) or, in the workspace, only from the files uploaded
with the CSV (``photos=``): there a photo column is matched by file name against the
uploads and never opened as a path on the server, so `/etc/shadow` or `../../etc/passwd`
is a row problem that says nothing about the server's files.

The preview lists, for every record it changes, each field's value before and after
(``ImportRow.changes``).

One person, one record: the templates of every row that brings photos are compared with
every record and with the other rows (``Registry.lookalike_conflicts``, the gate's own
distance and tolerance); a match is a problem of that row. Twins are added one at a time
with ``consent add --lookalike-of``; the confirmation then holds for later imports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
from face_engine.model import ConsentRecord

from .clock import consent_today
from .csv_files import read_table
from .registry import KNOWN_SCOPES, RESTORE, Person, Registry, RegistryError, check_person_id

# Accepted column names, compared without case, spaces or punctuation.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("Student_Number", "Student ID", "StudentID", "Student No", "ID", "Local ID"),
    "name": ("Name", "Full Name", "Student Name", "LastFirst"),
    "first": ("First_Name", "First Name", "Given Name", "FirstName"),
    "last": ("Last_Name", "Last Name", "Surname", "Family Name", "LastName"),
    "grade": ("Grade_Level", "Grade", "Year", "Year Group"),
    "release": (
        "Photo Release",
        "Permission to Publish",
        "Media Release",
        "Photo Permission",
        "Photo Consent",
        "Media Consent",
    ),
    "no_photo": ("No Photo", "Photo Opt Out", "Media Opt Out", "No Media"),
    "expires": (
        "Expires",
        "Expiry",
        "Expiry Date",
        "Expiration Date",
        "Release Expires",
        "Consent Expires",
    ),
    "photo": ("Photo", "Photos", "Photo Path", "Photo File", "Reference Photo", "Picture"),
    "scopes": ("Scopes", "Scope"),
}
YES = frozenset({"yes", "y", "1", "true", "t", "x"})
NO = frozenset({"no", "n", "0", "false", "f"})
PHOTOS_NOT_CHECKED = "(The photos are checked for faces once these problems are fixed.)"
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", header.lower())


_ALIAS_INDEX = {
    _key(alias): column for column, aliases in COLUMN_ALIASES.items() for alias in aliases
}


def accepted_columns() -> str:
    return "; ".join(f"{c}: {', '.join(a)}" for c, a in COLUMN_ALIASES.items())


class ImportFailed(RegistryError):
    """The file cannot be imported; `problems` lists everything that is wrong."""

    def __init__(self, source: Path, problems: Sequence[str], note: str = ""):
        self.source = source
        self.problems = list(problems)
        self.note = note
        super().__init__(self.message())

    def message(self) -> str:
        count = len(self.problems)
        lines = [
            f"Nothing was imported from {self.source}: "
            f"{count} problem{'s' if count != 1 else ''} to fix."
        ]
        lines += [f"  - {p}" for p in self.problems]
        if self.note:
            lines.append(self.note)
        lines.append("Fix the file and run the import again.")
        return "\n".join(lines)


@dataclass(frozen=True)
class UploadedPhoto:
    """A reference photo uploaded with the CSV (memory only): read like a Path."""

    name: str
    data: bytes = field(repr=False)

    def read_bytes(self) -> bytes:
        return self.data

    def __str__(self) -> str:
        return self.name


@dataclass
class ImportRow:
    row: int  # line number in the file (the header is line 1)
    person_id: str
    name: str
    grade: str | None
    release: bool
    expires: date | None
    scopes: tuple[str, ...]
    photos: list[Path | UploadedPhoto]
    action: str = ""  # add, update, revoke, skip-no-release, skip-expired, skip-revoked
    encodings: list[np.ndarray] = field(default_factory=list)
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (what, before, after)

    @property
    def label(self) -> str:
        return f"row {self.row} ({self.person_id})" if self.person_id else f"row {self.row}"


@dataclass
class ImportSummary:
    source: Path
    dry_run: bool
    rows: list[ImportRow]
    photos_encoded: int

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    def ids(self, action: str) -> list[str]:
        return [r.person_id for r in self.rows if r.action == action]

    def lines(self) -> list[str]:
        verb = "Would" if self.dry_run else "Done:"
        head = (
            f"Dry run of {self.source}: nothing was saved."
            if self.dry_run
            else f"Imported {self.source}."
        )
        out = [head]
        added, updated, revoked = self.count("add"), self.count("update"), self.count("revoke")
        if self.dry_run:
            out.append(f"{verb} add {added}, update {updated}, revoke {revoked} record(s).")
        else:
            out.append(f"{verb} {added} added, {updated} updated, {revoked} revoked.")
        out.append(f"Reference photos turned into templates: {self.photos_encoded}.")
        skips = [
            ("skip-no-release", "no photo release (nothing stored; their photos are withheld)"),
            ("skip-expired", "expiry date already passed"),
            ("skip-revoked", "revoked by the consent office (use `consent add --replace`)"),
        ]
        for action, why in skips:
            if self.count(action):
                ids = ", ".join(self.ids(action))
                out.append(f"Skipped {self.count(action)}: {why}: {ids}.")
        if revoked:
            out.append(f"Revoked (the export now says no): {', '.join(self.ids('revoke'))}.")
        if self.dry_run:
            out += self.change_lines()
        return out

    def change_lines(self) -> list[str]:
        """Each record the import would change, withdrawals first, with every changed
        field before and after."""
        order = {"revoke": 0, "update": 1}
        changed = sorted(
            (r for r in self.rows if r.action in order),
            key=lambda r: (order[r.action], r.row),
        )
        out = ["Changes, withdrawals first:"] if changed else []
        for row in changed:
            fields = "; ".join(
                f"{what}: {before} -> {after}" for what, before, after in row.changes
            )
            out.append(f"  {row.label}, {row.name}: {fields or 'nothing differs'}")
        return out


def _read_rows(path: Path, data: bytes | None = None) -> tuple[list[str], list]:
    """The header and rows of the export: `data` when given (`path` then only names it),
    else the file at `path`; encoding and delimiter as ``csv_files.read_table`` finds them."""
    if data is None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ImportFailed(path, [f"the file {path} does not exist"]) from None
        except OSError as exc:
            raise ImportFailed(path, [f"{path} cannot be read ({exc.strerror or exc})"]) from None
    table = read_table(data)
    if not table.header:
        raise ImportFailed(path, [f"{path} is empty: export it with a header row"])
    return table.header, table.rows


def unknown_columns(header: list[str]) -> list[str]:
    """The columns of an export the import does not use (shown, then left out)."""
    return [title.strip() for title in header if _key(title) and _key(title) not in _ALIAS_INDEX]


def _map_columns(path: Path, header: list[str], ignore: Sequence[str]) -> dict[str, int]:
    ignored = {_key(i) for i in ignore}
    columns: dict[str, int] = {}
    problems = []
    for index, title in enumerate(header):
        key = _key(title)
        if not key or key in ignored:
            continue
        column = _ALIAS_INDEX.get(key)
        if column is None:
            problems.append(
                f"unknown column '{title.strip()}' (column {index + 1}): rename it to an "
                f'accepted name or leave it out with --ignore-column "{title.strip()}". '
                f"Accepted columns: {accepted_columns()}"
            )
        elif column in columns:
            problems.append(
                f"two columns mean the same ({header[columns[column]].strip()!r} and "
                f"{title.strip()!r}): keep one"
            )
        else:
            columns[column] = index
    if "id" not in columns:
        problems.append(f"no student id column (accepted: {', '.join(COLUMN_ALIASES['id'])})")
    if "name" not in columns and not {"first", "last"} <= columns.keys():
        problems.append(
            "no name column: give 'Name' or both 'First_Name' and 'Last_Name' "
            f"(accepted: {', '.join(COLUMN_ALIASES['name'] + COLUMN_ALIASES['first'])}, ...)"
        )
    if "release" not in columns and "no_photo" not in columns:
        problems.append(
            "no photo release column: add one of "
            f"{', '.join(COLUMN_ALIASES['release'] + COLUMN_ALIASES['no_photo'])}"
        )
    if problems:
        raise ImportFailed(path, problems)
    return columns


def _yes_no(value: str, column: str, blank: bool | None) -> bool:
    word = value.strip().lower()
    if not word and blank is not None:
        return blank
    if word in YES:
        return True
    if word in NO:
        return False
    shown = value.strip() or "empty"
    raise ValueError(f"{column} is {shown!r}: write yes or no (Y/N, 1/0, true/false)")


def parse_date(value: str) -> date:
    """YYYY-MM-DD, or M/D/YYYY as US student-information systems export it."""
    text = value.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"expiry date {text!r} is not a date: write YYYY-MM-DD, e.g. 2027-06-30")


def _photo_names(cell: str) -> list[str]:
    return [n.strip() for n in re.split(r"[;|]", cell) if n.strip()]


def _uploaded_name(name: str) -> str | None:
    """The file name a photo cell names, for matching uploads; None for an absolute path
    or one that climbs out of its folder (a server path, never looked up)."""
    for pure in (PurePosixPath(name), PureWindowsPath(name)):
        if pure.is_absolute() or pure.anchor or ".." in pure.parts:
            return None
    return PureWindowsPath(name).name.casefold() or None


def _uploaded_photos_for(
    cell: str, person_id: str, uploads: Mapping[str, UploadedPhoto]
) -> tuple[list[UploadedPhoto], list[str]]:
    """A row's photos among the uploads: the photo column's file names, or (empty column)
    the uploads named after the student id (S1001.jpg) or in a folder so named."""
    problems: list[str] = []
    photos: list[UploadedPhoto] = []
    by_name = {PureWindowsPath(key).name.casefold(): photo for key, photo in uploads.items()}
    names = _photo_names(cell)
    for name in names:
        wanted = _uploaded_name(name)
        if wanted is None:
            problems.append(
                f"photo {name!r} is a path on the server, which the workspace never opens: "
                "write the photo's file name (e.g. S1001.jpg) and upload that photo with the CSV"
            )
        elif wanted in by_name:
            photos.append(by_name[wanted])
        else:
            problems.append(
                f"photo {name!r} is not among the uploaded photos: upload it with the CSV "
                "(several photos, or one ZIP of them)"
            )
    if not names:
        key = person_id.casefold()
        photos = [
            photo
            for upload_name, photo in sorted(uploads.items())
            if PureWindowsPath(upload_name).stem.casefold() == key
            or key in (p.casefold() for p in PureWindowsPath(upload_name).parts[:-1])
        ]
    return photos, problems


def _photos_for(
    cell: str, person_id: str, base: Path, photos_dir: Path | None
) -> tuple[list[Path], list[str]]:
    problems = []
    photos = []
    names = _photo_names(cell)
    if names:
        for name in names:
            photo = Path(name).expanduser()
            if not photo.is_absolute():
                photo = base / photo
            if photo.is_file():
                photos.append(photo)
            else:
                problems.append(f"photo {photo} not found: check the photo column")
    elif photos_dir is not None and (photos_dir / person_id).is_dir():
        photos = sorted(
            p
            for p in (photos_dir / person_id).iterdir()
            if p.is_file() and p.suffix.lower() in PHOTO_EXTENSIONS
        )
        if not photos:
            problems.append(f"the folder {photos_dir / person_id} holds no photos")
    return photos, problems


def read_export(
    path: Path,
    photos_dir: Path | None = None,
    ignore_columns: Sequence[str] = (),
    data: bytes | None = None,
    uploads: Mapping[str, UploadedPhoto] | None = None,
) -> list[ImportRow]:
    """Every row of the export, checked; ImportFailed lists every problem found.

    With `uploads` (the workspace), photos are only ever the uploaded ones."""
    path = Path(path)
    header, raw_rows = _read_rows(path, data)
    columns = _map_columns(path, header, ignore_columns)
    base = photos_dir if photos_dir is not None else path.parent
    problems: list[str] = []
    rows: list[ImportRow] = []
    first_seen: dict[str, int] = {}

    def cell(cells: list[str], column: str) -> str:
        index = columns.get(column)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    for line, cells in raw_rows:
        person_id = cell(cells, "id")
        label = f"row {line} ({person_id})" if person_id else f"row {line}"
        row_problems = []
        try:
            person_id = check_person_id(person_id) if person_id else ""
            if not person_id:
                row_problems.append("the student id is empty")
        except RegistryError as exc:
            row_problems.append(str(exc))
        if person_id in first_seen:
            row_problems.append(f"duplicate id: {person_id} is also on row {first_seen[person_id]}")
        elif person_id:
            first_seen[person_id] = line

        if "name" in columns:
            name = cell(cells, "name")
            if _key(header[columns["name"]]) == "lastfirst" and "," in name:
                last, first = (part.strip() for part in name.split(",", 1))
                name = f"{first} {last}"
        else:
            name = f"{cell(cells, 'first')} {cell(cells, 'last')}".strip()
        if not name:
            row_problems.append("the name is empty")

        release = True
        try:
            if "release" in columns:
                release = _yes_no(cell(cells, "release"), header[columns["release"]].strip(), None)
            if "no_photo" in columns and _yes_no(
                cell(cells, "no_photo"), header[columns["no_photo"]].strip(), False
            ):
                release = False
        except ValueError as exc:
            row_problems.append(str(exc))

        expires = None
        if cell(cells, "expires"):
            try:
                expires = parse_date(cell(cells, "expires"))
            except ValueError as exc:
                row_problems.append(str(exc))

        scopes: tuple[str, ...] = ("website",)
        if cell(cells, "scopes"):
            scopes = tuple(s.strip().lower() for s in re.split(r"[;,| ]+", cell(cells, "scopes")))
            scopes = tuple(s for s in scopes if s)
            unknown = [s for s in scopes if s not in KNOWN_SCOPES]
            if unknown:
                row_problems.append(
                    f"unknown scope {', '.join(unknown)}: use {', '.join(KNOWN_SCOPES)}"
                )

        photos: list = []
        if release and person_id and uploads is not None:
            photos, photo_problems = _uploaded_photos_for(cell(cells, "photo"), person_id, uploads)
            row_problems += photo_problems
        elif release and person_id:
            photos, photo_problems = _photos_for(cell(cells, "photo"), person_id, base, photos_dir)
            row_problems += photo_problems

        problems += [f"{label}: {p}" for p in row_problems]
        rows.append(
            ImportRow(
                row=line,
                person_id=person_id,
                name=name,
                grade=cell(cells, "grade") or None,
                release=release,
                expires=expires,
                scopes=scopes,
                photos=photos,
            )
        )
    if not rows and not problems:
        problems.append(f"{path} has a header but no students")
    if problems:
        raise ImportFailed(path, problems, note=PHOTOS_NOT_CHECKED)
    return rows


def plan(rows: list[ImportRow], registry: Registry, today: date, path: Path) -> None:
    """Decide what each row does against the registry as it is now."""
    problems = []
    for row in rows:
        existing = registry.get(row.person_id)
        if existing is not None and not existing.authentic:
            problems.append(
                f"{row.label}: the registry's record {row.person_id} was changed outside the "
                f"consent command: {RESTORE}, or remove the record "
                f"(`consent remove {row.person_id} --yes`) before importing"
            )
            continue
        if not row.release:
            active = existing is not None and existing.status == "active"
            row.action = "revoke" if active else "skip-no-release"
        elif row.expires is not None and row.expires < today:
            row.action = "skip-expired"
        elif existing is not None and existing.status == "revoked":
            row.action = "skip-revoked"
        elif existing is not None:
            row.action = "update"
        else:
            row.action = "add"
            if not row.photos:
                problems.append(
                    f"{row.label}: no reference photo: fill the photo column or put the "
                    f"photos in a folder named {row.person_id} under --photos-dir"
                )
        if existing is not None and row.action in ("update", "revoke"):
            row.changes = _changes(existing, row)
    if problems:
        raise ImportFailed(path, problems, note=PHOTOS_NOT_CHECKED)


def _changes(existing: Person, row: ImportRow) -> list[tuple[str, str, str]]:
    """What an update or a revocation changes in a record: (what, before, after)."""
    if row.action == "revoke":
        return [("consent", "on file", "revoked (the export says no photo release)")]

    def day(value: date | None) -> str:
        return value.isoformat() if value else "none"

    pairs = [
        ("name", existing.name, row.name),
        ("grade", existing.grade or "none", row.grade or "none"),
        ("expires", day(existing.expires), day(row.expires)),
        ("scopes", ", ".join(existing.scopes), ", ".join(sorted(set(row.scopes)))),
    ]
    changes = [(what, before, after) for what, before, after in pairs if before != after]
    if row.photos:
        changes.append(
            (
                "reference photos",
                f"{existing.templates} template(s)",
                f"replaced from {len(row.photos)} photo(s): "
                + ", ".join(str(getattr(p, "name", p)) for p in row.photos),
            )
        )
    return changes


def import_export(
    registry: Registry,
    path: Path,
    encode: Callable[[bytes, str], list[np.ndarray]],
    face_errors: tuple[type[BaseException], ...],
    photos_dir: Path | None = None,
    ignore_columns: Sequence[str] = (),
    today: date | None = None,
    actor: str | None = None,
    dry_run: bool = False,
    progress: bool = True,
    tolerance: float | None = None,
    data: bytes | None = None,
    uploads: Mapping[str, UploadedPhoto] | None = None,
) -> ImportSummary:
    """Check, encode and (unless `dry_run`) save a whole export; ImportFailed on any problem.

    `encode(image_bytes, source)` makes the templates of a reference photo and raises one of
    `face_errors` (with a plain message) when the photo is not usable. The workspace passes
    the CSV's bytes as `data` (`path` is then only its name in messages) and the uploaded
    photos as `uploads` (file name -> UploadedPhoto): nothing is read from the disk.
    """
    from tqdm import tqdm

    path = Path(path)
    today = today or consent_today(None)  # callers give the school's day
    rows = read_export(path, photos_dir, ignore_columns, data=data, uploads=uploads)
    plan(rows, registry, today, path)

    work = [(row, photo) for row in rows if row.action in ("add", "update") for photo in row.photos]
    problems = []
    for row, photo in tqdm(
        work, desc="reference photos", unit="photo", disable=not progress or not work
    ):
        try:
            row.encodings += encode(photo.read_bytes(), str(photo))
        except OSError as exc:
            problems.append(f"{row.label}: photo {photo} cannot be read ({exc.strerror or exc})")
        except face_errors as exc:
            problems.append(f"{row.label}: {exc}")
    if problems:
        raise ImportFailed(path, problems)
    problems = _lookalike_problems(registry, rows, today, tolerance)
    if problems:
        raise ImportFailed(path, problems)

    if not dry_run:
        try:
            with registry.transaction():
                for row in rows:
                    if row.action in ("add", "update"):
                        registry.add(
                            row.person_id,
                            row.name,
                            row.encodings,
                            role="student",
                            scopes=row.scopes,
                            expires=row.expires,
                            grade=row.grade,
                            actor=actor,
                            replace=row.action == "update",
                            tolerance=tolerance,
                            check_lookalikes=False,  # checked for the whole export above
                        )
                    elif row.action == "revoke":
                        registry.revoke(row.person_id, actor=actor)
        except RegistryError as exc:
            raise ImportFailed(path, [str(exc)]) from None
    return ImportSummary(path, dry_run, rows, photos_encoded=len(work))


def _lookalike_problems(
    registry: Registry, rows: list[ImportRow], today: date, tolerance: float | None
) -> list[str]:
    """Rows whose photos match another record or another row of the export."""
    new = [r for r in rows if r.action in ("add", "update") and r.encodings]
    if not new:
        return []
    stored = [
        r for r in registry.snapshot(today).records if r.person_id not in {n.person_id for n in new}
    ]
    incoming = [
        ConsentRecord(
            person_id=r.person_id,
            name=r.name,
            role="student",
            scopes=frozenset(r.scopes),
            expires=r.expires,
            revoked=False,
            never_publish=False,
            encodings=tuple(r.encodings),
        )
        for r in new
    ]
    problems = []
    for index, row in enumerate(new):
        existing = registry.get(row.person_id)
        others = stored + incoming[:index] + incoming[index + 1 :]
        conflicts = registry.lookalike_conflicts(
            row.person_id,
            row.encodings,
            tolerance=tolerance,
            confirmed=existing.lookalikes if existing else (),
            records=others,
        )
        if conflicts:
            other, distance = conflicts[0]
            in_file = next((r for r in new if r.person_id == other), None)
            where = f"{in_file.label} of this file" if in_file else f"the record {other}"
            problems.append(
                f"{row.label}: the face in its photos matches {where} (distance "
                f"{distance:.2f}): one person may have only one record. Fix the photo or the "
                f"id; if they are different people who look alike (twins), leave the row out "
                f"and add it with `consent add {row.person_id} ... --lookalike-of {other}`"
            )
    return problems
