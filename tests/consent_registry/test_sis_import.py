"""`consent import`: a student-information-system export, all or nothing."""

from __future__ import annotations

import textwrap

import pytest
from consent_cli.cli import main
from consent_registry.registry import Registry
from consent_registry.sis_import import parse_date

from .conftest import fake_encoding, write_photo


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def csv_file(folder, text: str, name: str = "export.csv"):
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def people(paths) -> dict:
    if not paths["registry"].exists():
        return {}
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        return {p.person_id: p for p in registry.list_people()}


@pytest.fixture
def photos(tmp_path):
    """Reference photos: a folder per id, and loose files for the photo column."""
    folder = tmp_path / "photos"
    write_photo(folder / "S1001" / "front.jpg", 1)
    write_photo(folder / "S1001" / "side.png", 11)
    write_photo(folder / "S1002" / "a.jpg", 2)
    write_photo(folder / "loose" / "s1003.jpg", 3)
    return folder


def test_powerschool_export(paths, fake_faces, capsys, tmp_path, photos):
    export = csv_file(
        tmp_path,
        """
        Student_Number,LastFirst,Grade_Level,Photo Release,Release Expires,Photo
        S1001,"Rivera, Jamie",5,Y,2099-06-30,
        S1002,"Okafor, Chidi",6,yes,06/30/2099,
        S1003,"Lindqvist, Maja",K,1,,loose/s1003.jpg
        S1004,"Nakamura, Ren",4,N,,
        S1005,"Dubois, Léa",3,yes,2020-06-30,
        """,
    )
    code, out, err = run(capsys, "import", str(export), "--photos-dir", str(photos))
    assert code == 0, err
    assert "Done: 3 added, 0 updated, 0 revoked." in out
    assert "Reference photos turned into templates: 4." in out
    assert "Skipped 1: no photo release" in out and "S1004" in out
    assert "Skipped 1: expiry date already passed" in out and "S1005" in out
    assert len(fake_faces) == 4

    found = people(paths)
    assert sorted(found) == ["S1001", "S1002", "S1003"]
    assert found["S1001"].name == "Jamie Rivera" and found["S1001"].templates == 2
    assert found["S1002"].expires.isoformat() == "2099-06-30" and found["S1002"].grade == "6"
    assert found["S1003"].expires is None and found["S1003"].grade == "K"
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        records = {
            r.person_id: r for r in registry.snapshot(found["S1001"].created_at.date()).records
        }
        assert [e.action for e in registry.audit_log("S1003")] == ["add"]
    assert (records["S1003"].encodings[0] == fake_encoding(3)).all()


def test_no_photo_flag_first_and_last_names_tabs(paths, fake_faces, capsys, tmp_path, photos):
    export = csv_file(
        tmp_path,
        "student id\tfirst name\tLAST NAME\tNo Photo\n"
        "S1001\tJamie\tRivera\t\n"
        "S1002\tChidi\tOkafor\tX\n",
        name="export.tsv",
    )
    code, out, err = run(capsys, "import", str(export), "--photos-dir", str(photos))
    assert code == 0, err
    assert "1 added" in out and "Skipped 1: no photo release" in out
    assert list(people(paths)) == ["S1001"]
    assert people(paths)["S1001"].name == "Jamie Rivera"


def test_reimport_updates_revokes_and_respects_the_office(
    paths, fake_faces, capsys, tmp_path, photos
):
    first = csv_file(
        tmp_path,
        """
        Student_Number,First_Name,Last_Name,Grade_Level,Photo Release
        S1001,Jamie,Rivera,5,Y
        S1002,Chidi,Okafor,6,Y
        """,
        name="first.csv",
    )
    assert run(capsys, "import", str(first), "--photos-dir", str(photos))[0] == 0
    assert run(capsys, "revoke", "S1002")[0] == 0  # the office revokes S1002 by hand
    fake_faces.clear()

    later = csv_file(
        tmp_path,
        """
        Student_Number,First_Name,Last_Name,Grade_Level,Photo Release
        S1001,Jamie,Rivera,6,N
        S1002,Chidi,Okafor,7,Y
        """,
        name="later.csv",
    )
    code, out, err = run(capsys, "import", str(later), "--by", "registrar")
    assert code == 0, err
    assert "0 added, 0 updated, 1 revoked" in out
    assert "Revoked (the export now says no): S1001." in out
    assert "Skipped 1: revoked by the consent office" in out and "S1002" in out
    found = people(paths)
    assert found["S1001"].status == "revoked" and found["S1001"].templates == 0
    assert found["S1002"].status == "revoked" and found["S1002"].grade == "6"
    assert fake_faces == []

    grade7 = csv_file(
        tmp_path,
        "Student_Number,Name,Grade,Photo Release\nS1003,Maja Lindqvist,K,Y\n",
        name="new.csv",
    )
    write_photo(photos / "S1003" / "x.jpg", 3)
    assert run(capsys, "import", str(grade7), "--photos-dir", str(photos))[0] == 0
    update = csv_file(
        tmp_path,
        "Student_Number,Name,Grade,Photo Release\nS1003,Maja Lindqvist,1,Y\n",
        name="update.csv",
    )
    code, out, _ = run(capsys, "import", str(update))  # no photos: templates are kept
    assert code == 0 and "0 added, 1 updated" in out
    assert people(paths)["S1003"].grade == "1" and people(paths)["S1003"].templates == 1


def test_dry_run_saves_nothing(paths, fake_faces, capsys, tmp_path, photos):
    export = csv_file(
        tmp_path,
        "Student_Number,Name,Photo Release\nS1001,Jamie Rivera,Y\nS1002,Chidi Okafor,Y\n",
    )
    code, out, _ = run(capsys, "import", str(export), "--photos-dir", str(photos), "--dry-run")
    assert code == 0
    assert "nothing was saved" in out and "Would add 2" in out
    assert len(fake_faces) == 3  # the photos are still checked
    assert people(paths) == {}


def test_ignore_column(paths, fake_faces, capsys, tmp_path, photos):
    export = csv_file(
        tmp_path, "Student_Number,Name,Homeroom,Photo Release\nS1001,Jamie Rivera,5B,Y\n"
    )
    code, _, err = run(capsys, "import", str(export), "--photos-dir", str(photos))
    assert code == 1
    assert "unknown column 'Homeroom'" in err and "Accepted columns:" in err
    assert "Student_Number" in err and "Photo Release" in err
    assert people(paths) == {}
    code, out, _ = run(
        capsys,
        "import",
        str(export),
        "--photos-dir",
        str(photos),
        "--ignore-column",
        "homeroom",
    )
    assert code == 0 and "1 added" in out


@pytest.mark.parametrize(
    ("text", "messages"),
    [
        (
            "Student_Number,Name,Photo Release\nS1001,Jamie Rivera,Y\nS1001,Jamie Again,Y\n",
            ["row 3 (S1001): duplicate id: S1001 is also on row 2"],
        ),
        (
            "Student_Number,Name,Photo Release,Expires\nS1001,Jamie Rivera,Y,2099-13-45\n",
            ["row 2 (S1001): expiry date '2099-13-45' is not a date"],
        ),
        (
            "Student_Number,Name,Photo Release\nS1001,Jamie Rivera,maybe\nS1002,Chidi Okafor,\n",
            [
                "row 2 (S1001): Photo Release is 'maybe': write yes or no",
                "row 3 (S1002): Photo Release is 'empty': write yes or no",
            ],
        ),
        (
            "Student_Number,Name,Photo Release,Photo\nS1001,Jamie Rivera,Y,nowhere.jpg\n",
            ["row 2 (S1001): photo", "nowhere.jpg not found"],
        ),
        (
            "Student_Number,Name,Photo Release\nS1009,New Student,Y\n",
            ["row 2 (S1009): no reference photo"],
        ),
        (
            "Student_Number,Name,Photo Release\nS 1,Jamie Rivera,Y\n,Chidi Okafor,Y\nS7,,Y\n",
            [
                "row 2 (S 1): 'S 1' is not a valid id",
                "row 3: the student id is empty",
                "row 4 (S7): the name is empty",
            ],
        ),
        (
            "Name,Grade\nJamie Rivera,5\n",
            ["no student id column", "no photo release column"],
        ),
        ("", ["is empty"]),
        ("Student_Number,Name,Photo Release\n", ["has a header but no students"]),
    ],
)
def test_every_error_is_listed_and_nothing_is_imported(
    paths, fake_faces, capsys, tmp_path, photos, text, messages
):
    export = csv_file(tmp_path, text) if text else tmp_path / "export.csv"
    if not text:
        export.write_text("")
    code, out, err = run(capsys, "import", str(export), "--photos-dir", str(photos))
    assert code == 1
    assert f"Nothing was imported from {export}" in err
    for message in messages:
        assert message in err
    assert "Fix the file and run the import again." in err
    assert people(paths) == {}
    assert fake_faces == []  # the photos are only checked once the rows are right


def test_photo_problems_are_all_listed(paths, fake_faces, capsys, tmp_path, photos):
    write_photo(photos / "S2001" / "empty.jpg", "NOFACE")
    write_photo(photos / "S2002" / "group.jpg", "TWOFACES")
    export = csv_file(
        tmp_path,
        """
        Student_Number,Name,Photo Release
        S1001,Jamie Rivera,Y
        S2001,Ola Nordmann,Y
        S2002,Kari Nordmann,Y
        """,
    )
    code, _, err = run(capsys, "import", str(export), "--photos-dir", str(photos))
    assert code == 1
    assert "2 problems to fix" in err
    assert "row 3 (S2001): no face found in" in err and "empty.jpg" in err
    assert "row 4 (S2002): 2 faces found in" in err and "group.jpg" in err
    assert people(paths) == {}
    assert len(fake_faces) == 4  # every photo was checked, not just up to the first error


def test_a_folder_without_photos(paths, fake_faces, capsys, tmp_path, photos):
    (photos / "S3001").mkdir()
    (photos / "S3001" / "notes.txt").write_text("no photos here")
    export = csv_file(tmp_path, "Student_Number,Name,Photo Release\nS3001,Jamie Rivera,Y\n")
    code, _, err = run(capsys, "import", str(export), "--photos-dir", str(photos))
    assert code == 1 and "holds no photos" in err


def test_windows_csv_and_missing_file(paths, fake_faces, capsys, tmp_path, photos):
    # Excel on Windows saves "CSV" in Windows-1252; the workspace and the command read it
    # the same way (csv_files.read_table), so Léa stays Léa.
    export = tmp_path / "windows.csv"
    export.write_bytes("Student_Number,Name,Photo Release\nS1001,Léa Dubois,Y\n".encode("cp1252"))
    code, out, err = run(capsys, "import", str(export), "--photos-dir", str(photos))
    assert code == 0, err
    assert people(paths)["S1001"].name == "Léa Dubois"
    code, _, err = run(capsys, "import", str(tmp_path / "missing.csv"))
    assert code == 1 and "does not exist" in err
    code, _, err = run(capsys, "import", str(export), "--photos-dir", str(tmp_path / "nope"))
    assert code == 1 and "is not a folder" in err


def test_a_semicolon_export_from_a_european_excel(paths, fake_faces, capsys, tmp_path, photos):
    export = tmp_path / "semicolons.csv"
    export.write_bytes(
        (
            "\ufeffStudent_Number;LastFirst;Photo Release\n"
            "S1001;Núñez, Inés;Y\nS1002;O'Brien, Seán;Y\n"
        ).encode("utf-8")
    )
    code, out, err = run(capsys, "import", str(export), "--photos-dir", str(photos))
    assert code == 0, err
    found = people(paths)
    assert found["S1001"].name == "Inés Núñez" and found["S1002"].name == "Seán O'Brien"


def test_parse_date():
    assert parse_date("2027-06-30").isoformat() == "2027-06-30"
    assert parse_date(" 6/30/2027 ").isoformat() == "2027-06-30"
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_date("30.06.2027")


def test_a_dry_run_shows_each_change_before_and_after_withdrawals_first(
    paths, fake_faces, capsys, tmp_path, photos
):
    first = csv_file(
        tmp_path,
        """
        Student_Number,Name,Grade_Level,Photo Release
        S1001,Jamie Rivera,5,Y
        S1002,Chidi Okafor,6,Y
        """,
    )
    assert run(capsys, "import", str(first), "--photos-dir", str(photos))[0] == 0
    second = csv_file(
        tmp_path,
        """
        Student_Number,Name,Grade_Level,Photo Release
        S1001,Jamie Rivera-Long,6,Y
        S1002,Chidi Okafor,6,N
        """,
        name="second.csv",
    )
    code, out, err = run(capsys, "import", str(second), "--dry-run")
    assert code == 0, err
    lines = out.splitlines()
    start = lines.index("Changes, withdrawals first:")
    assert lines[start + 1].startswith("  row 3 (S1002), Chidi Okafor: consent: on file -> revoked")
    assert lines[start + 2] == (
        "  row 2 (S1001), Jamie Rivera-Long: name: Jamie Rivera -> Jamie Rivera-Long; grade: 5 -> 6"
    )
