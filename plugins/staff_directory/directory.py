"""Read the staff directory from the office's CSV export(s) and group it by department.

Columns: name, role, department, email, phone, and optionally photo (a file name in the
same folder). A row that cannot be used is left out with one problem naming the file and
line; the rest of the directory is still published.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from school_feeds.text import clean_text, slugify
from site_common.errors import SiteError

# Header spellings of the common student-information and HR exports.
COLUMNS = {
    "name": ("name", "full name", "staff name", "display name"),
    "role": ("role", "title", "job title", "position"),
    "department": ("department", "dept", "office", "group"),
    "email": ("email", "e-mail", "email address", "work email"),
    "phone": ("phone", "telephone", "phone number", "work phone", "extension"),
    "photo": ("photo", "picture", "photo file", "image"),
}
REQUIRED = ("name", "role", "department")
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[A-Za-z]{2,}$")
# (555) 014-2201, 555-014-2201, 555.014.2201, +1 555 014 2201, with "x12" or "ext. 12".
PHONE = re.compile(
    r"^(?P<number>\+?[\d\s().-]{7,20}?)\s*(?:(?:x|ext\.?|extension)\s*(?P<ext>\d{1,6}))?$", re.I
)


class StaffFileError(SiteError, ValueError):
    """A whole CSV file that cannot be used; the message says what is wrong."""


@dataclass(frozen=True)
class StaffMember:
    name: str
    role: str
    department: str
    email: str
    phone: str  # as the office wrote it: "(555) 014-2201"
    tel: str  # for tel: links: "+15550142201" or "+15550142200,214"
    photo: Path | None  # the source file, checked by the consent gate once copied
    source: str
    line: int
    photo_url: str = ""
    anchor: str = ""  # the card's id: "staff-angela-ruiz", unique on the page


@dataclass
class Department:
    name: str
    members: list[StaffMember] = field(default_factory=list)
    url: str = ""

    @property
    def slug(self) -> str:
        return slugify(self.name) or "staff"


@dataclass
class Directory:
    departments: list[Department] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(d.members) for d in self.departments)

    def department(self, slug: str) -> Department | None:
        return next((d for d in self.departments if d.slug == slug), None)


def tel_link(phone: str) -> str | None:
    """The tel: target for a US phone number as written, or None when it is not one."""
    match = PHONE.match(phone.strip())
    if not match:
        return None
    digits = re.sub(r"\D", "", match["number"])
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        return None
    extension = f",{match['ext']}" if match["ext"] else ""
    return f"+1{digits}{extension}"


def parse_csv(raw: bytes, path: Path) -> tuple[list[StaffMember], list[str]]:
    """The usable rows of one CSV file and a problem ("line 7: ...") for each row left out."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            # Excel on Windows saves "CSV" in its own code page unless told UTF-8.
            text = raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise StaffFileError(
                f"not a text file ({exc.reason} at byte {exc.start}); save it as CSV UTF-8"
            ) from None
    reader = csv.DictReader(io.StringIO(text))
    headers = {clean_text(h).lower().replace("_", " "): h for h in reader.fieldnames or [] if h}
    columns = {
        key: next((headers[s] for s in spellings if s in headers), None)
        for key, spellings in COLUMNS.items()
    }
    missing = [key for key in REQUIRED if columns[key] is None]
    if missing:
        found = ", ".join(headers) or "nothing"
        raise StaffFileError(
            f"the first line must name the columns name, role, department, email, phone "
            f"(and photo if used); missing {', '.join(missing)}, found {found}"
        )
    members, problems = [], []
    for row in reader:
        line = reader.line_num

        def cell(key: str, row=row) -> str:
            return clean_text(row.get(columns[key])) if columns[key] else ""

        if not any(clean_text(v) for v in row.values() if isinstance(v, str)):
            continue
        empty = [key for key in REQUIRED if not cell(key)]
        if empty:
            problems.append(f"line {line}: the {' and '.join(empty)} column is empty; skipped")
            continue
        email = cell("email")
        if email and not EMAIL.match(email):
            problems.append(
                f"line {line}: {cell('name')}: {email!r} is not an email address "
                "(write name@cedarhollow.example.org); skipped"
            )
            continue
        phone = cell("phone")
        tel = tel_link(phone) if phone else ""
        if tel is None:
            problems.append(
                f"line {line}: {cell('name')}: {phone!r} is not a phone number "
                "(write (555) 014-2201, with x12 for an extension); skipped"
            )
            continue
        photo = None
        if cell("photo"):
            photo, problem = _photo(path.parent, cell("photo"))
            if problem:
                problems.append(f"line {line}: {cell('name')}: {problem}; shown without a photo")
        members.append(
            StaffMember(
                cell("name"), cell("role"), cell("department"), email, phone, tel, photo,
                path.name, line,
            )
        )  # fmt: skip
    return members, problems


def _photo(folder: Path, name: str) -> tuple[Path | None, str | None]:
    candidate = (folder / name).resolve()
    if not candidate.is_relative_to(folder.resolve()):
        return None, f"the photo {name!r} is outside {folder}"
    if candidate.suffix.lower() not in PHOTO_SUFFIXES:
        kinds = ", ".join(sorted(PHOTO_SUFFIXES))
        return None, f"the photo {name!r} is not one of {kinds}"
    if not candidate.is_file():
        return None, f"the photo {name!r} is not in {folder}"
    return candidate, None


def load_directory(folder: Path, order: tuple[str, ...] = ()) -> Directory:
    """Every *.csv in `folder`, grouped by department: the departments in `order` first,
    then the others as they first appear; people in the order of the file (the office
    puts the principal before the secretaries, which no alphabet does)."""
    directory = Directory()
    members: list[StaffMember] = []
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        try:
            found, problems = parse_csv(path.read_bytes(), path)
        except (StaffFileError, OSError, csv.Error) as exc:
            directory.problems.append(f"{path}: {exc}; the file was skipped")
            continue
        directory.files.append(path)
        members += found
        directory.problems += [f"{path}: {problem}" for problem in problems]
    groups: dict[str, Department] = {}
    taken: dict[str, int] = {}
    for member in members:
        base = "staff-" + (slugify(member.name) or "member")
        taken[base] = taken.get(base, 0) + 1
        # Two people with one name (it happens) must not share an id on the page.
        anchor = base if taken[base] == 1 else f"{base}-{taken[base]}"
        key = member.department.casefold()
        department = groups.setdefault(key, Department(member.department))
        department.members.append(replace(member, anchor=anchor))
    ranks = {name.casefold(): rank for rank, name in enumerate(order)}
    appearance = {key: index for index, key in enumerate(groups)}
    directory.departments = sorted(
        groups.values(),
        key=lambda d: (ranks.get(d.name.casefold(), len(ranks)), appearance[d.name.casefold()]),
    )
    return directory
