"""`consent` commands on the records: add, revoke, remove, never-publish, reconsent,
list, show, audit and import; a withdrawal lists the photos of the last build that show
the person."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
from consent_registry.registry import KNOWN_SCOPES, RESTORE, ROLES, Person, Registry
from consent_registry.sis_import import import_export, parse_date
from face_engine.model import Approval
from site_gate.review import photos_showing

from .common import (
    EXIT_OK,
    Args,
    CliError,
    actor_of,
    by_option,
    command,
    decision_day,
    err,
    if_version_option,
    no_registry,
    open_existing,
    open_registry,
    out,
    plural,
    report_of,
    report_option,
    settings_of,
    where_options,
)

# What a withdrawal reads the build's report for (--report).
SHOWING = ", to list the photos showing them"


def _describe(person: Person) -> str:
    return f"{person.person_id} ({person.name})"


def _expiry_text(expires: date | None) -> str:
    return f"expires {expires.isoformat()}" if expires else "no expiry date"


def _parse_expires(text: str | None, today: date) -> date | None:
    if not text:
        return None
    try:
        expires = parse_date(text)
    except ValueError as exc:
        raise CliError(f"--expires: {exc}") from None
    if expires < today:
        raise CliError(
            f"--expires {expires.isoformat()} is in the past: give the date the consent ends"
        )
    return expires


def _photos_showing(args: Args, person_id: str, approvals: list[Approval]) -> None:
    """Print the photos of the last build that show `person_id`, the approvals that name
    them, and what the next publish does with each (``site_gate.review.photos_showing``,
    the rule the workspace's record pages follow too)."""
    report_path, report = report_of(args, required=False)
    if report is None:
        out(
            f"There is no build report at {report_path}, so the photos showing {person_id} "
            "cannot be listed: run `make html` to see them. Any photo the gate no longer "
            "passes is taken down from the website at the next publish."
        )
    showing = photos_showing(report.images if report else (), person_id, approvals)
    if report is not None:
        built = report.generated_at or "?"
        in_build = [s for s in showing if s.built]
        if not in_build:
            out(f"No photo of the last build (report of {built}) shows {person_id}.")
        else:
            out(f"Photos showing {person_id} in the last build (report of {built}):")
        for s in in_build:
            where = f", on {', '.join(s.pages)}" if s.pages else ""
            out(f"  {s.name}{where}: {s.fate}")
    approved_only = [s for s in showing if not s.built]
    if approved_only:
        out(f"Approvals naming {person_id}, which no longer hold:")
        for s in approved_only:
            out(f"  {s.name}, {s.fate}")


def _face_choices(args: Args, photos: list[Path]) -> list[int | str]:
    """The face to take from each photo: --face N once (every photo) or once per --photo,
    in order; without it the largest clear face when the others are much smaller."""
    faces_given = list(args.face)
    if not faces_given:
        return ["auto"] * len(photos)
    if len(faces_given) == 1:
        return faces_given * len(photos)
    if len(faces_given) != len(photos):
        raise CliError(
            f"{len(faces_given)} --face values for {len(photos)} photos: give --face once "
            "(for every photo) or once after each --photo. Nothing was saved."
        )
    return list(faces_given)


_NAME_NEEDED = (
    'give {id}\'s full name with --name "FIRST LAST": a new record needs it (--replace '
    "keeps the stored name when --name is left out). Nothing was saved."
)


@command("add", help="add a person with reference photos")
@where_options
@by_option
@if_version_option
@click.argument("id", help="the student or staff id, e.g. S1024")
@click.option(
    "--name",
    help='full name, e.g. "Jamie Rivera" (needed for a new record; with --replace, '
    "the stored name stays when it is left out)",
)
@click.option(
    "--photo",
    multiple=True,
    metavar="FILE",
    help="a reference photo of the person alone (repeat for more); never stored",
)
@click.option("--role", type=click.Choice(ROLES), help="student (default) or staff")
@click.option(
    "--scope",
    multiple=True,
    type=click.Choice(KNOWN_SCOPES),
    help="where photos may be used (repeat for more; default: website)",
)
@click.option("--expires", metavar="YYYY-MM-DD", help="the date the consent ends")
@click.option("--grade", help="grade or class, e.g. 5")
@click.option(
    "--replace",
    is_flag=True,
    help="update an existing record: new photos replace the stored templates; "
    "details not given stay as they are",
)
@click.option(
    "--lookalike-of",
    multiple=True,
    metavar="ID",
    help="the photos match the record ID, and you confirm they are different people "
    "who look alike (twins); recorded in the audit log",
)
@click.option(
    "--face",
    multiple=True,
    type=int,
    metavar="N",
    help="the student's face in a photo with several (1 is the leftmost; once for every "
    "photo, or once after each --photo); without it the largest clear face is taken "
    "when the others are much smaller",
)
def cmd_add(args: Args) -> int:
    from face_engine import faces

    if not args.replace and not (args.name or "").strip():
        raise CliError(_NAME_NEEDED.format(id=args.id))
    expires = _parse_expires(args.expires, decision_day(args))
    photos = [Path(p) for p in args.photo or ()]
    if not photos and not args.replace:
        raise CliError("give at least one reference photo with --photo FILE")
    missing = [str(p) for p in photos if not p.is_file()]
    if missing:
        raise CliError(f"photo not found: {', '.join(missing)}. Check the path; nothing was saved.")

    with open_registry(args) as registry:
        existing = registry.get(args.id)
        if existing is not None and not args.replace:
            raise CliError(
                f"{_describe(existing)} is already in the registry. Add --replace to update "
                "the record (and its photos), or choose another id. Nothing was saved."
            )
        # An update keeps what the command does not mention.
        if existing is None and not (args.name or "").strip():
            raise CliError(_NAME_NEEDED.format(id=args.id))
        name = args.name if (args.name or "").strip() else existing.name
        role = args.role or (existing.role if existing else "student")
        scopes = tuple(args.scope or (existing.scopes if existing else ("website",)))
        if existing is not None and args.expires is None:
            expires = existing.expires
        grade = args.grade if args.grade is not None or not existing else existing.grade
        encodings, problems = [], []
        from tqdm import tqdm

        chosen = zip(photos, _face_choices(args, photos), strict=True)
        for photo, face in tqdm(
            list(chosen), desc="reference photos", unit="photo", disable=len(photos) < 2
        ):
            try:
                encodings += faces.reference_templates(
                    photo.read_bytes(), source=str(photo), face=face
                )
            except faces.FaceError as exc:
                problems.append(str(exc))
        if problems:
            raise CliError(
                "Nothing was saved: "
                + "; ".join(problems)
                + ". Use clear photos of the person alone, face visible."
            )
        person = registry.add(
            args.id,
            name,
            encodings,
            role=role,
            scopes=scopes,
            expires=expires,
            grade=grade,
            actor=actor_of(args),
            replace=args.replace,
            lookalike_of=args.lookalike_of or (),
            tolerance=settings_of(args).tolerance,
            expected_version=args.if_version,
        )
    verb = "Updated" if existing else "Added"
    photo_text = (
        plural(len(photos), "reference photo")
        if encodings
        else f"kept {plural(person.templates, 'stored template')}"
    )
    never = " It stays marked never-publish." if person.never_publish else ""
    if person.status == "revoked":
        never += (
            " Consent stays revoked: an update does not give it again (`consent reconsent "
            f"{person.person_id} --on DATE --by NAME --evidence TEXT` does)."
        )
    twins = (
        f" Recorded as a different person from {', '.join(args.lookalike_of)}, who looks alike."
        if args.lookalike_of
        else ""
    )
    out(
        f"{verb} consent for {_describe(person)}: {photo_text}, scopes "
        f"{', '.join(person.scopes)}, {_expiry_text(person.expires)}.{never}{twins}"
    )
    return EXIT_OK


def _blocked_text(registry: Registry, person_id: str) -> str:
    """What the block list keeps of a withdrawn person, in one sentence."""
    kept = next((w for w in registry.withdrawals() if w.person_id == person_id), None)
    if kept is None:
        return ""
    return (
        f" Kept to block them, never to publish: {plural(kept.templates, 'face template')} "
        f"and the hashes of {plural(len(kept.photos), 'photo')} that showed them, until "
        f"{kept.keep_until.isoformat()} (CONSENT_BLOCK_RETENTION_DAYS); an approval cannot "
        f"publish those photos unless consent is given again (`consent reconsent {person_id}`)."
    )


@command("revoke", help="consent withdrawn: block, never publish")
@where_options
@by_option
@if_version_option
@click.argument("id")
@report_option(SHOWING)
def cmd_revoke(args: Args) -> int:
    with open_existing(args) as registry:
        before = registry.get(args.id)
        person = registry.revoke(
            args.id,
            actor=actor_of(args),
            expected_version=args.if_version,
            settings=settings_of(args),
        )
        approvals = list(registry.approvals().values())
        kept = _blocked_text(registry, person.person_id)
    out(
        f"Revoked consent for {_describe(person)}: deleted "
        f"{plural(before.templates, 'face template')}. From the next build on, every photo "
        f"showing them is withheld, approved ones included.{kept}"
    )
    _photos_showing(args, person.person_id, approvals)
    return EXIT_OK


@command("remove", help="delete a record for good (student left)")
@where_options
@by_option
@if_version_option
@click.argument("id")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@report_option(SHOWING)
def cmd_remove(args: Args) -> int:
    with open_existing(args) as registry:
        person = registry.get(args.id)
        if person is None:
            raise CliError(
                f"there is no record for {args.id} in the registry (`consent list` shows them all)"
            )
        if not args.yes:
            if not sys.stdin or not sys.stdin.isatty():
                raise CliError(
                    f"`consent remove` deletes {_describe(person)} for good and asks for "
                    "confirmation: run it in a terminal, or add --yes"
                )
            answer = input(
                f"Remove {_describe(person)} and delete their face templates for good? [y/N] "
            )
            if answer.strip().lower() not in ("y", "yes"):
                out("Nothing was removed.")
                return EXIT_OK
        registry.remove(args.id, actor=actor_of(args), expected_version=args.if_version)
        approvals = list(registry.approvals().values())
    out(
        f"Removed {_describe(person)}: the record and "
        f"{plural(person.templates, 'face template')} are deleted. The audit log keeps a "
        "line saying so. From the next build on, every photo showing them is withheld, "
        "approved ones included."
    )
    _photos_showing(args, person.person_id, approvals)
    return EXIT_OK


@command("never-publish", help="safeguarding: never publish")
@where_options
@by_option
@if_version_option
@click.argument("id")
@report_option(SHOWING)
def cmd_never_publish(args: Args) -> int:
    with open_existing(args) as registry:
        person = registry.set_never_publish(
            args.id,
            actor=actor_of(args),
            expected_version=args.if_version,
            settings=settings_of(args),
        )
        approvals = list(registry.approvals().values())
    out(
        f"Marked {_describe(person)} never-publish: any photo in which the gate recognises "
        "them is withheld, approved ones included."
    )
    _photos_showing(args, person.person_id, approvals)
    return EXIT_OK


@command("list", help="list everyone in the registry")
@where_options
@click.option("--json", is_flag=True, help="machine-readable output")
def cmd_list(args: Args) -> int:
    registry = open_registry(args, create=False)
    if registry is None:
        if args.json:
            out("[]")
        else:
            out(no_registry(args))
        return EXIT_OK
    with registry:
        people = registry.list_people()
        problems = registry.integrity_problems()
    for problem in problems:
        err(f"consent: warning: {problem}")
    today = decision_day(args)
    if args.json:
        out(json.dumps([p.to_json(today) for p in people], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not people:
        out("The registry is empty. Add people with `consent add` or `consent import`.")
        return EXIT_OK
    header = ("ID", "NAME", "ROLE", "GRADE", "SCOPES", "EXPIRES", "STATUS", "TEMPLATES")
    rows = [
        (
            p.person_id,
            p.name,
            p.role,
            p.grade or "-",
            ",".join(p.scopes),
            p.expires.isoformat() if p.expires else "-",
            p.state(today),
            str(p.templates),
        )
        for p in people
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        out("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    out(f"{plural(len(people), 'record')}.")
    return EXIT_OK


def _audit_line(entry) -> str:
    details = ", ".join(
        f"{key}: {', '.join(map(str, value)) if isinstance(value, list) else value}"
        for key, value in entry.details.items()
        if value not in (None, "", [])
    )
    who = f" {entry.person_id}" if entry.person_id else ""
    return f"{entry.at:%Y-%m-%d %H:%M} UTC  {entry.actor}: {entry.action}{who}" + (
        f" ({details})" if details else ""
    )


@command("show", help="one record and its history")
@where_options
@click.argument("id")
def cmd_show(args: Args) -> int:
    registry = open_registry(args, create=False)
    if registry is None:
        raise CliError(no_registry(args))
    with registry:
        person = registry.get(args.id)
        history = registry.audit_log(args.id)
        blocked = next((w for w in registry.withdrawals() if w.person_id == args.id), None)
    if person is None:
        if history:
            out(f"{args.id} is no longer in the registry. History:")
            for entry in history:
                out("  " + _audit_line(entry))
            return EXIT_OK
        raise CliError(
            f"there is no record for {args.id} in the registry (`consent list` shows them all)"
        )
    today = decision_day(args)
    out(f"{person.person_id}: {person.name}")
    out(f"  role:       {person.role}")
    out(f"  grade:      {person.grade or '-'}")
    out(f"  scopes:     {', '.join(person.scopes)}")
    out(f"  expires:    {person.expires.isoformat() if person.expires else 'no expiry date'}")
    out(f"  status:     {person.state(today)}")
    out(f"  templates:  {person.templates}")
    out(f"  added:      {person.created_at:%Y-%m-%d %H:%M} UTC")
    out(f"  updated:    {person.updated_at:%Y-%m-%d %H:%M} UTC")
    out(f"  version:    {person.version} (give --if-version {person.version} to change it)")
    if blocked:
        out(
            f"  withdrawn:  {blocked.why} on {blocked.withdrawn_on.isoformat()}: "
            f"{plural(blocked.templates, 'template')} and {plural(len(blocked.photos), 'photo')}"
            f" kept to block, never to publish, until {blocked.keep_until.isoformat()}"
        )
    out("History:")
    for entry in history:
        out("  " + _audit_line(entry))
    return EXIT_OK


@command("audit", help="the audit log (all changes)")
@where_options
@click.argument("id", required=False, help="only this person's entries")
@click.option("--json", is_flag=True)
@click.option(
    "--verify",
    is_flag=True,
    help="check the audit log's chain and every row's authentication; says where it breaks",
)
def cmd_audit(args: Args) -> int:
    registry = open_registry(args, create=False)
    if registry is None:
        raise CliError(no_registry(args))
    with registry:
        if args.verify:
            problems = registry.verify_audit()
            rows = registry.integrity_problems()
            count = len(registry.audit_log())
        else:
            entries = registry.audit_log(args.id)
    if args.verify:
        if not problems and not rows:
            out(
                f"The audit log is intact ({count} {'entry' if count == 1 else 'entries'}, "
                "each covering the one before) and every record, template and approval "
                "carries its key's authentication."
            )
            return EXIT_OK
        for problem in problems + rows:
            out(problem)
        raise CliError(
            f"the registry {settings_of(args).registry} was changed without the key "
            f"({plural(len(problems) + len(rows), 'problem')} above): {RESTORE}"
        )
    if args.json:
        out(json.dumps([e.to_json() for e in entries], indent=2, ensure_ascii=False))
    else:
        for entry in entries:
            out(_audit_line(entry))
    return EXIT_OK


@command("import", help="bulk import a student-information export")
@where_options
@by_option
@click.argument("csv", metavar="FILE.csv")
@click.option(
    "--photos-dir",
    metavar="DIR",
    help="where reference photos are: photo-column paths are relative to it, or one "
    "folder per student id",
)
@click.option("--dry-run", is_flag=True, help="check everything, save nothing")
@click.option(
    "--ignore-column",
    multiple=True,
    metavar="NAME",
    help="a column of the export to leave out (repeat for more)",
)
def cmd_import(args: Args) -> int:
    from face_engine import faces

    photos_dir = Path(args.photos_dir).expanduser() if args.photos_dir else None
    if photos_dir is not None and not photos_dir.is_dir():
        raise CliError(f"--photos-dir {photos_dir} is not a folder: check the path")
    with open_registry(args) as registry:
        summary = import_export(
            registry,
            Path(args.csv),
            encode=lambda data, source: faces.reference_templates(data, source=source),
            face_errors=(faces.FaceError,),
            photos_dir=photos_dir,
            ignore_columns=args.ignore_column or (),
            actor=actor_of(args),
            dry_run=args.dry_run,
            tolerance=settings_of(args).tolerance,
            today=decision_day(args),
        )
    for line in summary.lines():
        out(line)
    return EXIT_OK


@command(
    "reconsent", help="consent given again to a withdrawn record (the only way to make it active)"
)
@where_options
@if_version_option
@click.argument("id")
@click.option("--on", required=True, metavar="YYYY-MM-DD", help="the date it was given")
@click.option("--by", "given_by", required=True, metavar="NAME", help="who gave it (the parent)")
@click.option(
    "--evidence",
    required=True,
    metavar="TEXT",
    help="where the new consent is kept, e.g. 'signed form, office file 2026/14'",
)
@click.option(
    "--scope",
    multiple=True,
    type=click.Choice(KNOWN_SCOPES),
    help="where photos may be used under the new consent (repeat; default: as before)",
)
@click.option("--expires", metavar="YYYY-MM-DD", help="the date the new consent ends")
def cmd_reconsent(args: Args) -> int:
    try:
        given_on = parse_date(args.on)
    except ValueError as exc:
        raise CliError(f"--on: {exc}") from None
    with open_existing(args) as registry:
        today = decision_day(args)
        if given_on > today:
            raise CliError(
                f"--on {given_on.isoformat()} is after today ({today.isoformat()}): give the "
                "date the family gave consent again. Nothing was changed."
            )
        person = registry.give_consent_again(
            args.id,
            given_on=given_on,
            by=args.given_by,
            evidence=args.evidence,
            actor=actor_of(args),
            expected_version=args.if_version,
            scopes=args.scope or None,
            expires=_parse_expires(args.expires, today),
        )
    templates = (
        f"its {plural(person.templates, 'kept face template')} recognise them again"
        if person.templates
        else "no face template was kept: add reference photos with "
        f"`consent add {person.person_id} --replace --photo FILE`"
    )
    out(
        f"Consent given again for {_describe(person)} on {given_on.isoformat()} by "
        f"{args.given_by} ({args.evidence}): the record is active and the photos blocked by "
        f"the withdrawal are judged by their faces again; {templates}."
    )
    return EXIT_OK


# In `consent --help`, in this order.
COMMANDS = (
    cmd_add,
    cmd_revoke,
    cmd_remove,
    cmd_never_publish,
    cmd_reconsent,
    cmd_list,
    cmd_show,
    cmd_audit,
    cmd_import,
)
