"""Reading the office's staff CSV: columns as exports spell them, tel: links, photos, and
bad rows left out with a problem naming the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from staff_directory.directory import StaffFileError, load_directory, parse_csv, tel_link

HEADER = "name,role,department,email,phone,photo\n"


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def test_rows_grouped_by_department_in_file_order(tmp_path):
    write(
        tmp_path,
        "staff.csv",
        HEADER
        + "Dr. Angela Ruiz,Principal,Office and leadership,aruiz@x.org,(555) 014-2201,\n"
        + "Peter Lindqvist,Food service manager,Food service,plindqvist@x.org,555-014-2240,\n"
        + "Linda Marsh,Office manager,office and leadership,office@x.org,(555) 014-2200,\n",
    )
    directory = load_directory(tmp_path)
    assert directory.problems == []
    assert [d.name for d in directory.departments] == ["Office and leadership", "Food service"]
    office = directory.departments[0]
    # Departments match whatever their case; people keep the office's order.
    assert [m.name for m in office.members] == ["Dr. Angela Ruiz", "Linda Marsh"]
    assert office.slug == "office-and-leadership"
    assert office.members[0].tel == "+15550142201"
    assert directory.department("food-service").members[0].phone == "555-014-2240"


def test_people_with_the_same_name_get_their_own_anchor(tmp_path):
    write(
        tmp_path,
        "staff.csv",
        HEADER + "Sam Lee,Teacher,Lower School,,,\nSam Lee,Aide,Upper School,,,\n",
    )
    anchors = [m.anchor for d in load_directory(tmp_path).departments for m in d.members]
    assert anchors == ["staff-sam-lee", "staff-sam-lee-2"]


def test_department_order_setting_comes_first(tmp_path):
    write(
        tmp_path,
        "staff.csv",
        HEADER + "A B,Nurse,Student support,,,\nC D,Principal,Office and leadership,,,\n",
    )
    order = ("Office and leadership",)
    assert [d.name for d in load_directory(tmp_path, order).departments] == [
        "Office and leadership",
        "Student support",
    ]


def test_export_spellings_of_the_columns(tmp_path):
    path = write(
        tmp_path,
        "export.csv",
        "Full Name,Job Title,Dept,E-mail,Work Phone\n"
        "Owen Byrne,Athletics director,Athletics,obyrne@x.org,(555) 014-2200 ext. 31\n",
    )
    (member,), problems = parse_csv(path.read_bytes(), path)
    assert problems == []
    assert (member.role, member.department) == ("Athletics director", "Athletics")
    assert member.tel == "+15550142200,31" and member.photo is None


@pytest.mark.parametrize(
    ("phone", "tel"),
    [
        ("(555) 014-2201", "+15550142201"),
        ("555.014.2201", "+15550142201"),
        ("+1 555 014 2201", "+15550142201"),
        ("555-014-2200 x214", "+15550142200,214"),
        ("014-2201", None),
        ("call the office", None),
    ],
)
def test_tel_links(phone, tel):
    assert tel_link(phone) == tel


def test_bad_rows_are_skipped_with_file_and_line(tmp_path):
    path = write(
        tmp_path,
        "staff.csv",
        HEADER
        + "Jenna Park,School nurse,Student support,jpark@x.org,(555) 014-2220,\n"  # line 2
        + ",Counselor,Student support,mbell@x.org,(555) 014-2221,\n"  # 3: no name
        + "Helen Adeyemi,Counselor,Student support,hadeyemi at x.org,(555) 014-2222,\n"  # 4
        + "\n"  # 5: an empty line is not a problem
        + "Carla Nunes,Transportation director,,cnunes@x.org,(555) 014-2230,\n"  # 6
        + "Sam Whitaker,Art teacher,Arts,swhitaker@x.org,ext 12,\n"  # 7
        + '"Luis Delgado","Music teacher, K–12",Arts,ldelgado@x.org,(555) 014-2200,\n',  # 8
    )
    directory = load_directory(tmp_path)
    names = [m.name for d in directory.departments for m in d.members]
    assert names == ["Jenna Park", "Luis Delgado"]
    assert directory.problems == [
        f"{path}: line 3: the name column is empty; skipped",
        f"{path}: line 4: Helen Adeyemi: 'hadeyemi at x.org' is not an email address "
        "(write name@cedarhollow.example.org); skipped",
        f"{path}: line 6: the department column is empty; skipped",
        f"{path}: line 7: Sam Whitaker: 'ext 12' is not a phone number "
        "(write (555) 014-2201, with x12 for an extension); skipped",
    ]


def test_missing_columns_skip_the_file_and_say_which(tmp_path):
    path = write(tmp_path, "staff.csv", "name,email\nA,a@x.org\n")
    write(tmp_path, "more.csv", HEADER + "B C,Nurse,Student support,,,\n")
    directory = load_directory(tmp_path)
    assert [m.name for d in directory.departments for m in d.members] == ["B C"]
    (problem,) = directory.problems
    assert problem.startswith(f"{path}: the first line must name the columns")
    assert "missing role, department" in problem and problem.endswith("the file was skipped")
    with pytest.raises(StaffFileError):
        parse_csv(path.read_bytes(), path)


def test_excel_code_page_is_read(tmp_path):
    write(tmp_path, "staff.csv", HEADER + "Tomás Herrera,AP,Office,,,\n", encoding="cp1252")
    (department,) = load_directory(tmp_path).departments
    assert department.members[0].name == "Tomás Herrera"


def test_photos_must_be_image_files_inside_the_folder(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "ruiz.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "notes.txt").write_text("x")
    path = write(
        tmp_path,
        "staff.csv",
        HEADER
        + "A Ruiz,Principal,Office,,,photos/ruiz.jpg\n"
        + "B Foster,AP,Office,,,photos/missing.jpg\n"
        + "C Osei,Attendance,Office,,,notes.txt\n"
        + "D Marsh,Manager,Office,,,../../etc/passwd.jpg\n",
    )
    directory = load_directory(tmp_path)
    members = directory.departments[0].members
    assert members[0].photo == (tmp_path / "photos" / "ruiz.jpg").resolve()
    assert [m.photo for m in members[1:]] == [None, None, None]  # still listed, no photo
    assert [p.split(": ", 2)[1] for p in directory.problems] == ["line 3", "line 4", "line 5"]
    assert all(p.startswith(f"{path}: ") for p in directory.problems)
    assert all(p.endswith("shown without a photo") for p in directory.problems)
