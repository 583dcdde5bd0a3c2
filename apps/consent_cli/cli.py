"""`consent`: the consent office's command for the registry and the photo gate.

The consent settings come from the same loader as the build's (``settings.load_settings``
on ``--settings``, by default ``pelicanconf.py`` in the current folder when there is one),
so `consent check` decides as the build does; --registry / --key-file override them.

Exit codes: 0 done, 1 a problem to fix (the message says what to do), 3 `consent check`
found an image the gate would withhold.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sqlite3
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from consent_registry import storage
from consent_registry.advice import SHORT_HASH, approve_command
from consent_registry.clock import consent_today, school_day
from consent_registry.registry import (
    KNOWN_SCOPES,
    RESTORE,
    ROLES,
    SHA256,
    Person,
    Registry,
    RegistryError,
    check_person_id,
    default_actor,
)
from consent_registry.settings import DEFAULTS, GateSettings
from consent_registry.sis_import import ImportFailed, import_export, parse_date
from face_engine.model import NOBODY, PUBLISH, Approval, sha256_bytes
from site_gate.report import BuildReport, ReportMissing, ReportUnreadable, read_report
from site_gate.review import verdicts_now, waiting_for_decision

from .common import DEFAULT_SETTINGS_FILE, CliError, open_registry, settings_of

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_WITHHELD = 3
# A whole image hash, or its start as the build's log prints it (advice.SHORT_HASH).
HASH_PREFIX = re.compile(rf"^[0-9a-f]{{{SHORT_HASH},64}}$")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        self.print_usage(sys.stderr)
        raise CliError(f"{message} (see `{self.prog} --help`)")


def _out(text: str = "") -> None:
    print(text, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ helpers


def _open_existing(args: argparse.Namespace) -> Registry:
    registry = open_registry(args, create=False)
    if registry is None:
        raise CliError(_no_registry(args))
    return registry


def _no_registry(args: argparse.Namespace) -> str:
    return (
        f"There is no consent registry at {settings_of(args).registry} yet. Add people with "
        "`consent add` or `consent import`, or point --registry / CONSENT_REGISTRY at it."
    )


def _today(args: argparse.Namespace) -> date:
    """The day the command decides for: ``clock.consent_today`` of the settings' TIMEZONE
    (SITE_DATE, when later, counts as for the build)."""
    return consent_today(settings_of(args).timezone)


def _check_clock(args: argparse.Namespace, registry: Registry, what: str) -> date:
    """The day to decide for, refused (ClockError) when the registry's audit log shows the
    clock to be wrong (``snapshot.check_dated``)."""
    from consent_registry.snapshot import check_dated

    today = _today(args)
    check_dated(registry, today, timezone=settings_of(args).timezone, what=what)
    return today


def _actor(args: argparse.Namespace) -> str:
    return getattr(args, "by", None) or default_actor()


def _describe(person: Person) -> str:
    return f"{person.person_id} ({person.name})"


def _expiry_text(expires: date | None) -> str:
    return f"expires {expires.isoformat()}" if expires else "no expiry date"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


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


def _image_hash(args: argparse.Namespace) -> tuple[str, str]:
    """(sha256, what to call the image) from IMAGE or --sha256."""
    if args.sha256 and args.image:
        raise CliError("give either an image file or --sha256, not both")
    if args.sha256:
        return _whole_hash(args, args.sha256)
    if not args.image:
        raise CliError("give the image file (or its hash with --sha256 HASH from `consent review`)")
    path = Path(args.image)
    if HASH_PREFIX.match(args.image.strip().lower()) and not path.exists():
        # The hash as `consent review` prints it, or its start as the build's log does.
        return _whole_hash(args, args.image)
    try:
        return sha256_bytes(path.read_bytes()), str(path)
    except FileNotFoundError:
        raise CliError(f"the image {path} does not exist: check the path") from None
    except OSError as exc:
        raise CliError(f"the image {path} cannot be read ({exc.strerror or exc})") from None


def _whole_hash(args: argparse.Namespace, text: str) -> tuple[str, str]:
    """(sha256, what to call the image) of a whole hash, or of the start of one
    (``advice.SHORT_HASH`` or more hex digits) that one image of the last build's report
    has: the build's log prints the short form."""
    text = text.strip().lower()
    if SHA256.match(text):
        return text, f"sha256 {text[:12]}…"
    if not HASH_PREFIX.match(text):
        raise CliError(
            f"{text!r} is not an image hash: give the whole SHA-256 (64 hex digits, as "
            f"`consent review` prints it) or at least its first {SHORT_HASH}"
        )
    report_path, report = _read_report(args, required=False)
    found = sorted({i.sha256 for i in report.images if i.sha256.startswith(text)} if report else ())
    if len(found) == 1:
        return found[0], f"sha256 {found[0][:12]}…"
    if found:
        raise CliError(
            f"{len(found)} images of the build's report {report_path} have a hash starting "
            f"with {text}: give more of it (`consent review` prints the whole hash)"
        )
    raise CliError(
        f"no image of the build's report {report_path} has a hash starting with {text}: "
        "give the whole hash (`consent review` prints it) or the image file, or run "
        "`make html` to write the report again"
    )


def _read_report(args: argparse.Namespace, required: bool) -> tuple[Path, BuildReport | None]:
    """(path, the build's consent report, ``site_gate.report.read_report``); None when
    there is none or it cannot be read, and not `required` (said on stderr)."""
    report_path = (
        Path(args.report) if getattr(args, "report", None) else settings_of(args).report_path
    )
    try:
        return report_path, read_report(report_path)
    except ReportMissing as exc:
        if required:
            raise CliError(str(exc)) from None
    except ReportUnreadable as exc:
        if required:
            raise CliError(str(exc)) from None
        _err(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
    return report_path, None


def _photos_showing(args: argparse.Namespace, person_id: str, approvals: list[Approval]) -> None:
    """Print the photos of the last build that show `person_id`, the approvals that name
    them, and what the next publish does with each."""
    report_path, report = _read_report(args, required=False)
    named = {a.sha256: a for a in approvals if a.shows and person_id in a.shows}
    if report is None:
        _out(
            f"There is no build report at {report_path}, so the photos showing {person_id} "
            "cannot be listed: run `make html` to see them. Any photo the gate no longer "
            "passes is taken down from the website at the next publish."
        )
        images = []
    else:
        images = [i for i in report.images if person_id in i.recognised or i.sha256 in named]
    if report is not None:
        built = report.generated_at or "?"
        if not images:
            _out(f"No photo of the last build (report of {built}) shows {person_id}.")
        else:
            _out(f"Photos showing {person_id} in the last build (report of {built}):")
        for image in images:
            where = f", on {', '.join(image.pages)}" if image.pages else ""
            if image.verdict == PUBLISH:
                fate = "taken down from the website at the next publish"
            else:
                fate = "already withheld; it stays off the website"
            approval = named.get(image.sha256)
            note = (
                f" (the approval by {approval.by} no longer holds)" if approval is not None else ""
            )
            _out(f"  {image.name}{where}: {fate}{note}")
    shown = {image.sha256 for image in images}
    unbuilt = [a for sha, a in named.items() if sha not in shown]
    if unbuilt:
        _out(f"Approvals naming {person_id}, which no longer hold:")
        for approval in unbuilt:
            label = approval.label or f"sha256 {approval.sha256[:12]}…"
            _out(
                f"  {label}, approved by {approval.by} on {approval.at:%Y-%m-%d}: "
                "withheld wherever it is used, taken down from the website at the next publish"
            )


# ------------------------------------------------------------------ commands


def _face_choices(args: argparse.Namespace, photos: list[Path]) -> list[int | str]:
    """The face to take from each photo: --face N once (every photo) or once per --photo,
    in order; without it the largest clear face when the others are much smaller."""
    faces_given = args.face or []
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


def cmd_add(args: argparse.Namespace) -> int:
    from face_engine import faces

    if not args.replace and not (args.name or "").strip():
        raise CliError(_NAME_NEEDED.format(id=args.id))
    expires = _parse_expires(args.expires, _today(args))
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
            actor=_actor(args),
            replace=args.replace,
            lookalike_of=args.lookalike_of or (),
            tolerance=settings_of(args).tolerance,
            expected_version=args.if_version,
        )
    verb = "Updated" if existing else "Added"
    photo_text = (
        _plural(len(photos), "reference photo")
        if encodings
        else f"kept {_plural(person.templates, 'stored template')}"
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
    _out(
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
        f" Kept to block them, never to publish: {_plural(kept.templates, 'face template')} "
        f"and the hashes of {_plural(len(kept.photos), 'photo')} that showed them, until "
        f"{kept.keep_until.isoformat()} (CONSENT_BLOCK_RETENTION_DAYS); an approval cannot "
        f"publish those photos unless consent is given again (`consent reconsent {person_id}`)."
    )


def cmd_revoke(args: argparse.Namespace) -> int:
    with _open_existing(args) as registry:
        before = registry.get(args.id)
        person = registry.revoke(
            args.id,
            actor=_actor(args),
            expected_version=args.if_version,
            settings=settings_of(args),
        )
        approvals = list(registry.approvals().values())
        kept = _blocked_text(registry, person.person_id)
    _out(
        f"Revoked consent for {_describe(person)}: deleted "
        f"{_plural(before.templates, 'face template')}. From the next build on, every photo "
        f"showing them is withheld, approved ones included.{kept}"
    )
    _photos_showing(args, person.person_id, approvals)
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    with _open_existing(args) as registry:
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
                _out("Nothing was removed.")
                return EXIT_OK
        registry.remove(args.id, actor=_actor(args), expected_version=args.if_version)
        approvals = list(registry.approvals().values())
    _out(
        f"Removed {_describe(person)}: the record and "
        f"{_plural(person.templates, 'face template')} are deleted. The audit log keeps a "
        "line saying so. From the next build on, every photo showing them is withheld, "
        "approved ones included."
    )
    _photos_showing(args, person.person_id, approvals)
    return EXIT_OK


def cmd_never_publish(args: argparse.Namespace) -> int:
    with _open_existing(args) as registry:
        person = registry.set_never_publish(
            args.id,
            actor=_actor(args),
            expected_version=args.if_version,
            settings=settings_of(args),
        )
        approvals = list(registry.approvals().values())
    _out(
        f"Marked {_describe(person)} never-publish: any photo in which the gate recognises "
        "them is withheld, approved ones included."
    )
    _photos_showing(args, person.person_id, approvals)
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    registry = open_registry(args, create=False)
    if registry is None:
        if args.json:
            _out("[]")
        else:
            _out(_no_registry(args))
        return EXIT_OK
    with registry:
        people = registry.list_people()
        problems = registry.integrity_problems()
    for problem in problems:
        _err(f"consent: warning: {problem}")
    today = _today(args)
    if args.json:
        _out(json.dumps([p.to_json(today) for p in people], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not people:
        _out("The registry is empty. Add people with `consent add` or `consent import`.")
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
        _out("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    _out(f"{_plural(len(people), 'record')}.")
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


def cmd_show(args: argparse.Namespace) -> int:
    registry = open_registry(args, create=False)
    if registry is None:
        raise CliError(_no_registry(args))
    with registry:
        person = registry.get(args.id)
        history = registry.audit_log(args.id)
        blocked = next((w for w in registry.withdrawals() if w.person_id == args.id), None)
    if person is None:
        if history:
            _out(f"{args.id} is no longer in the registry. History:")
            for entry in history:
                _out("  " + _audit_line(entry))
            return EXIT_OK
        raise CliError(
            f"there is no record for {args.id} in the registry (`consent list` shows them all)"
        )
    today = _today(args)
    _out(f"{person.person_id}: {person.name}")
    _out(f"  role:       {person.role}")
    _out(f"  grade:      {person.grade or '-'}")
    _out(f"  scopes:     {', '.join(person.scopes)}")
    _out(f"  expires:    {person.expires.isoformat() if person.expires else 'no expiry date'}")
    _out(f"  status:     {person.state(today)}")
    _out(f"  templates:  {person.templates}")
    _out(f"  added:      {person.created_at:%Y-%m-%d %H:%M} UTC")
    _out(f"  updated:    {person.updated_at:%Y-%m-%d %H:%M} UTC")
    _out(f"  version:    {person.version} (give --if-version {person.version} to change it)")
    if blocked:
        _out(
            f"  withdrawn:  {blocked.why} on {blocked.withdrawn_on.isoformat()}: "
            f"{_plural(blocked.templates, 'template')} and {_plural(len(blocked.photos), 'photo')}"
            f" kept to block, never to publish, until {blocked.keep_until.isoformat()}"
        )
    _out("History:")
    for entry in history:
        _out("  " + _audit_line(entry))
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    registry = open_registry(args, create=False)
    if registry is None:
        raise CliError(_no_registry(args))
    with registry:
        if args.verify:
            problems = registry.verify_audit()
            rows = registry.integrity_problems()
            count = len(registry.audit_log())
        else:
            entries = registry.audit_log(args.id)
    if args.verify:
        if not problems and not rows:
            _out(
                f"The audit log is intact ({count} {'entry' if count == 1 else 'entries'}, "
                "each covering the one before) and every record, template and approval "
                "carries its key's authentication."
            )
            return EXIT_OK
        for problem in problems + rows:
            _out(problem)
        raise CliError(
            f"the registry {settings_of(args).registry} was changed without the key "
            f"({_plural(len(problems) + len(rows), 'problem')} above): {RESTORE}"
        )
    if args.json:
        _out(json.dumps([e.to_json() for e in entries], indent=2, ensure_ascii=False))
    else:
        for entry in entries:
            _out(_audit_line(entry))
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
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
            actor=_actor(args),
            dry_run=args.dry_run,
            tolerance=settings_of(args).tolerance,
            today=_today(args),
        )
    for line in summary.lines():
        _out(line)
    return EXIT_OK


def _shows(args: argparse.Namespace) -> tuple[str, ...]:
    """The people named with --shows; () for `--shows nobody` (or for --not-student alone:
    everyone in it who is not named is not a student)."""
    given = [s.strip() for s in args.shows or () if s.strip()]
    if not given and (getattr(args, "not_student", None) or "").strip():
        return ()
    if not given:
        raise CliError(
            "say who is in the photo: --shows ID for each person you recognise in it "
            "(repeat it), --not-student visitor|parent|TEXT for people who are not "
            "students, or --shows nobody when no one in it can be identified"
        )
    if any(s.lower() == NOBODY for s in given):
        if len(given) > 1:
            raise CliError("--shows nobody cannot be given with ids: name the people, or nobody")
        return ()
    try:
        return tuple(dict.fromkeys(check_person_id(s) for s in given))
    except RegistryError as exc:
        raise CliError(f"--shows: {exc}") from None


def _gate_recognises(args: argparse.Namespace, sha256: str, registry: Registry) -> set[str]:
    """Who the gate recognises in the image: from the last build's report and, for a
    file, from the gate's own verdict on it now."""
    found: set[str] = set()
    _, report = _read_report(args, required=False)
    for image in report.images if report else ():
        if image.sha256 == sha256:
            found.update(image.recognised)
    if args.image and Path(args.image).is_file():
        from face_engine.decision import check_files

        settings = settings_of(args)
        snapshot = registry.snapshot(_today(args))
        (verdict,) = check_files([Path(args.image)], snapshot, settings, progress=False)
        found.update(f.person_id for f in verdict.faces if f.person_id)
    return found


def _print_unmatched(registry: Registry, sha256: str, today: date, settings) -> None:
    """Before an approval: each face of the image (as the face cache holds it) that
    matches no active record, with the closest records, withdrawn ones flagged."""
    from consent_registry.registry import closest_text
    from face_engine.cache import FaceCache
    from face_engine.decision import match_face

    faces = FaceCache(settings.cache_dir).get(sha256, need_encodings=False)
    if faces is None:
        _err(
            "The faces of this image are not known on this machine (no build or `consent "
            "check` has scanned it), so the closest records cannot be shown: give the image "
            "file instead of its hash to have it scanned."
        )
        return
    snapshot = registry.snapshot(today)
    for number, face in enumerate(faces, 1):
        if face.encoding is None or match_face(face, snapshot, settings).person_id:
            continue
        near = registry.closest_records(face.encoding, limit=3)
        _out(
            f"Face {number} at ({face.box.left},{face.box.top}) matches no active record; "
            f"closest: {closest_text(near)}."
        )


def cmd_approve(args: argparse.Namespace) -> int:
    from consent_registry.registry import BlockedImage, UnstatedFaces

    sha256, label = _image_hash(args)
    shows = _shows(args)
    with open_registry(args) as registry:
        today = _check_clock(args, registry, "the approval")
        missing = sorted(_gate_recognises(args, sha256, registry) - set(shows))
        if missing:
            raise CliError(
                f"the gate recognises {', '.join(missing)} in {label}: name everyone in the "
                f"photo ({' '.join('--shows ' + m for m in missing)}), so the approval ends "
                "when their consent does. Nothing was approved."
            )
        _print_unmatched(registry, sha256, today, settings_of(args))
        try:
            approval = registry.approve(
                sha256,
                by=args.by,
                reason=args.reason,
                shows=shows,
                label=label if args.image and not label.startswith("sha256 ") else "",
                scope=settings_of(args).scope,
                today=today,
                not_student=args.not_student or "",
                settings=settings_of(args),
            )
        except BlockedImage as exc:
            raise CliError(
                f"{label} cannot be approved: " + "; ".join(exc.reasons) + ". Nothing was approved."
            ) from None
        except UnstatedFaces as exc:
            raise CliError(f"{label}: {exc}") from None
    _out(
        f"Approved {label} (sha256 {approval.sha256[:12]}…) by {approval.by}: "
        f"{approval.reason}. It shows {approval.shows_text()}. It is published at the next "
        "build, for as long as everyone it shows keeps consent; the approval covers this "
        "exact file only (an edited copy needs its own)."
    )
    return EXIT_OK


def cmd_unapprove(args: argparse.Namespace) -> int:
    sha256, label = _image_hash(args)
    with _open_existing(args) as registry:
        registry.withdraw_approval(sha256, actor=_actor(args))
    _out(f"Withdrew the approval of {label}: the gate decides it by its faces again.")
    return EXIT_OK


def cmd_review(args: argparse.Namespace) -> int:
    """The withheld images waiting for a decision: the workspace's review queue lists the
    same ones (``review.waiting_for_decision``), the office's keep-withheld decisions
    included when its workspace file is there."""
    from consent_office.accounts import Accounts, office_db_path

    _, report = _read_report(args, required=True)
    settings = settings_of(args)
    registry = open_registry(args, create=False)
    snapshot = None
    if registry is not None:
        with registry:
            snapshot = registry.snapshot(_today(args))
    kept: set[str] = set()
    if office_db_path(settings.registry).is_file():
        with Accounts(office_db_path(settings.registry)) as accounts:
            kept = set(accounts.kept_withheld())
    withheld = [i for i in report.withheld if i.sha256 not in kept]
    now = verdicts_now(withheld, snapshot, settings)
    waiting = waiting_for_decision(withheld, snapshot, settings, now=now)
    published_now = len(withheld) - len(waiting)
    generated = report.generated_at or "an unknown time"
    if not waiting:
        _out(f"No withheld images waiting for a decision (report of {generated}).")
    else:
        _out(
            f"{_plural(len(waiting), 'withheld image')} waiting for a decision "
            f"(report of {generated}):"
        )
        for image in waiting:
            _out("")
            _out(image.path or image.output_path)
            if image.pages:
                _out(f"    used on: {', '.join(image.pages)}")
            for reason in image.reasons or ["no reason recorded"]:
                _out(f"    - {reason}")
            if image.kind not in ("raster", "pdf"):
                _out("    an approval cannot publish this kind of file: see the reason above")
            elif image.sha256:
                _out(f"    to publish it: {approve_command(image.sha256, image.consented)}")
    if published_now:
        _out(
            f"{_plural(published_now, 'withheld image')} approved since that build, or "
            "covered by the records as they are now: run `make html` to publish them."
        )
    kept_here = len(report.withheld) - len(withheld)
    if kept_here:
        _out(f"{_plural(kept_here, 'withheld image')} kept withheld by the consent office.")
    return EXIT_OK


def _expand_images(paths: Sequence[str]) -> list[Path]:
    found, missing = [], []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
            )
        elif path.is_file():
            found.append(path)
        else:
            missing.append(name)
    if missing:
        raise CliError(f"not found: {', '.join(missing)}. Check the path(s).")
    if not found:
        raise CliError(f"no images found in {', '.join(paths)}")
    return found


def cmd_check(args: argparse.Namespace) -> int:
    from consent_registry.snapshot import open_snapshot
    from face_engine.decision import check_files

    settings = settings_of(args)
    paths = _expand_images(args.images)
    snapshot, present = open_snapshot(
        settings.registry, settings.key_file, _today(args), timezone=settings.timezone
    )
    if not present:
        _err(_no_registry(args) + " Every face counts as unknown.")
    verdicts = check_files(
        paths,
        snapshot,
        settings,
        progress=not args.json,
        display_names=[str(p) for p in paths],
    )
    if args.json:
        _out(json.dumps([v.to_json() for v in verdicts], indent=2, ensure_ascii=False))
    else:
        for verdict in verdicts:
            label = "PUBLISH " if verdict.publish else "WITHHOLD"
            _out(f"{label} {verdict.path} — {'; '.join(verdict.reasons)}")
            for number, face in enumerate(verdict.faces, 1):
                box = face.box
                distance = ""
                if face.distance is not None and "distance" not in face.reason:
                    distance = f" (distance {face.distance:.2f})"
                _out(
                    f"    face {number} at ({box.left},{box.top}) {box.width}x{box.height}: "
                    f"{face.reason}{distance}"
                )
    withheld = sum(1 for v in verdicts if not v.publish)
    if not args.json:
        _out(
            f"{_plural(len(verdicts), 'image')}: {len(verdicts) - withheld} publish, "
            f"{withheld} withheld."
        )
    return EXIT_WITHHELD if withheld else EXIT_OK


def cmd_purge_expired(args: argparse.Namespace) -> int:
    """Delete the templates of consent that ended before the school's day by the clock,
    or before --date. Never by SITE_DATE: a preview's future date must not delete anything
    (``clock.consent_today`` moves only later for that reason, so it is not used here)."""
    from consent_registry.snapshot import check_dated

    timezone = settings_of(args).timezone
    clock_day = school_day(timezone)
    told = None
    if args.date:
        try:
            told = parse_date(args.date)
        except ValueError as exc:
            raise CliError(f"--date: {exc}") from None
        if told != clock_day:
            raise CliError(
                f"--date {told.isoformat()} is not today by this machine's clock "
                f"({clock_day.isoformat()}), so the clock is wrong: set it right first "
                "(`timedatectl`, or the machine's time settings), then run this again; "
                "the registry records every change at the clock's time. Nothing was deleted."
            )
    today = told or clock_day
    with _open_existing(args) as registry:
        check_dated(
            registry,
            today,
            timezone=timezone,
            told=told,
            what="consent purge-expired",
            how_to_tell=f"`consent purge-expired --date {today.isoformat()}`",
        )
        purged = registry.purge_expired(today, actor=_actor(args), settings=settings_of(args))
        # Block data past its retention date (CONSENT_BLOCK_RETENTION_DAYS): by the
        # clock's day, like the templates.
        unblocked = registry.purge_block_data(today, actor=_actor(args))
    if purged:
        _out(
            f"Deleted the face templates of {_plural(len(purged), 'expired record')}: "
            f"{', '.join(purged)}. Their photos stay blocked until the consent is renewed."
        )
    else:
        _out("No expired records hold face templates: nothing to delete.")
    if unblocked:
        _out(
            f"Deleted the block data (kept templates and photo hashes) of "
            f"{_plural(len(unblocked), 'withdrawal')} past its retention date: "
            f"{', '.join(unblocked)}."
        )
    return EXIT_OK


def cmd_reconsent(args: argparse.Namespace) -> int:
    try:
        given_on = parse_date(args.on)
    except ValueError as exc:
        raise CliError(f"--on: {exc}") from None
    with _open_existing(args) as registry:
        today = _today(args)
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
            actor=_actor(args),
            expected_version=args.if_version,
            scopes=args.scope or None,
            expires=_parse_expires(args.expires, today),
        )
    templates = (
        f"its {_plural(person.templates, 'kept face template')} recognise them again"
        if person.templates
        else "no face template was kept: add reference photos with "
        f"`consent add {person.person_id} --replace --photo FILE`"
    )
    _out(
        f"Consent given again for {_describe(person)} on {given_on.isoformat()} by "
        f"{args.given_by} ({args.evidence}): the record is active and the photos blocked by "
        f"the withdrawal are judged by their faces again; {templates}."
    )
    return EXIT_OK


def cmd_shared_cache_key(args: argparse.Namespace) -> int:
    from face_engine.shared_cache import SharedCacheError, new_key

    path = Path(args.path).expanduser() if args.path else settings_of(args).shared_cache_key_file
    try:
        new_key(path)
    except SharedCacheError as exc:
        raise CliError(str(exc)) from None
    _out(
        f"Wrote a new key for the district's shared face cache to {path} (readable by you "
        "only). Copy this file to CONSENT_SHARED_CACHE_KEY_FILE on every machine that builds "
        "the district's sites (over a secure channel), and keep a copy with the backup of the "
        "registry's key: without it the shared cache cannot be read, and photos are scanned "
        "again."
    )
    return EXIT_OK


# ------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    defaults = GateSettings.from_mapping()
    where = _Parser(add_help=False)
    where.add_argument(
        "--settings",
        metavar="FILE",
        help=f"the Pelican settings file the build uses (default: {DEFAULT_SETTINGS_FILE} in "
        "the current folder, when it is there): CONSENT_* settings are read from it",
    )
    where.add_argument(
        "--registry",
        metavar="PATH",
        help="the registry file (default: CONSENT_REGISTRY of the environment or the "
        f"settings, else {DEFAULTS['CONSENT_REGISTRY']})",
    )
    where.add_argument(
        "--key-file",
        metavar="PATH",
        help="the key that encrypts face templates (default: CONSENT_KEY_FILE of the "
        f"environment or the settings, else {DEFAULTS['CONSENT_KEY_FILE']})",
    )
    who = _Parser(add_help=False)
    who.add_argument(
        "--by", metavar="NAME", help="who makes the change, for the audit log (default: you)"
    )
    both = [where, who]
    edits = _Parser(add_help=False)
    edits.add_argument(
        "--if-version",
        type=int,
        metavar="N",
        help="the record's version you decided on (`consent show ID`): the change is refused "
        "if someone changed the record since",
    )

    parser = _Parser(
        prog="consent",
        description="Keep the school's photo consent registry and check photos against it.",
        epilog="Run `consent COMMAND --help` for the details of one command.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("add", parents=[*both, edits], help="add a person with reference photos")
    p.add_argument("id", help="the student or staff id, e.g. S1024")
    p.add_argument(
        "--name",
        help='full name, e.g. "Jamie Rivera" (needed for a new record; with --replace, '
        "the stored name stays when it is left out)",
    )
    p.add_argument(
        "--photo",
        action="append",
        metavar="FILE",
        help="a reference photo of the person alone (repeat for more); never stored",
    )
    p.add_argument("--role", choices=ROLES, help="student (default) or staff")
    p.add_argument(
        "--scope",
        action="append",
        choices=KNOWN_SCOPES,
        help="where photos may be used (repeat for more; default: website)",
    )
    p.add_argument("--expires", metavar="YYYY-MM-DD", help="the date the consent ends")
    p.add_argument("--grade", help="grade or class, e.g. 5")
    p.add_argument(
        "--replace",
        action="store_true",
        help="update an existing record: new photos replace the stored templates; "
        "details not given stay as they are",
    )
    p.add_argument(
        "--lookalike-of",
        action="append",
        metavar="ID",
        help="the photos match the record ID, and you confirm they are different people "
        "who look alike (twins); recorded in the audit log",
    )
    p.add_argument(
        "--face",
        action="append",
        type=int,
        metavar="N",
        help="the student's face in a photo with several (1 is the leftmost; once for every "
        "photo, or once after each --photo); without it the largest clear face is taken "
        "when the others are much smaller",
    )
    p.set_defaults(func=cmd_add)

    report_help = "the build's consent report, to list the photos showing them (default: %s)"
    p = sub.add_parser(
        "revoke", parents=[*both, edits], help="consent withdrawn: block, never publish"
    )
    p.add_argument("id")
    p.add_argument("--report", metavar="PATH", help=report_help % defaults.report_path)
    p.set_defaults(func=cmd_revoke)

    p = sub.add_parser(
        "remove", parents=[*both, edits], help="delete a record for good (student left)"
    )
    p.add_argument("id")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--report", metavar="PATH", help=report_help % defaults.report_path)
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("never-publish", parents=[*both, edits], help="safeguarding: never publish")
    p.add_argument("id")
    p.add_argument("--report", metavar="PATH", help=report_help % defaults.report_path)
    p.set_defaults(func=cmd_never_publish)

    p = sub.add_parser(
        "reconsent",
        parents=[where, edits],
        help="consent given again to a withdrawn record (the only way to make it active)",
    )
    p.add_argument("id")
    p.add_argument("--on", required=True, metavar="YYYY-MM-DD", help="the date it was given")
    p.add_argument(
        "--by", dest="given_by", required=True, metavar="NAME", help="who gave it (the parent)"
    )
    p.add_argument(
        "--evidence",
        required=True,
        metavar="TEXT",
        help="where the new consent is kept, e.g. 'signed form, office file 2026/14'",
    )
    p.add_argument(
        "--scope",
        action="append",
        choices=KNOWN_SCOPES,
        help="where photos may be used under the new consent (repeat; default: as before)",
    )
    p.add_argument("--expires", metavar="YYYY-MM-DD", help="the date the new consent ends")
    p.set_defaults(func=cmd_reconsent)

    p = sub.add_parser("list", parents=[where], help="list everyone in the registry")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", parents=[where], help="one record and its history")
    p.add_argument("id")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("audit", parents=[where], help="the audit log (all changes)")
    p.add_argument("id", nargs="?", help="only this person's entries")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--verify",
        action="store_true",
        help="check the audit log's chain and every row's authentication; says where it breaks",
    )
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("import", parents=both, help="bulk import a student-information export")
    p.add_argument("csv", metavar="FILE.csv")
    p.add_argument(
        "--photos-dir",
        metavar="DIR",
        help="where reference photos are: photo-column paths are relative to it, or one "
        "folder per student id",
    )
    p.add_argument("--dry-run", action="store_true", help="check everything, save nothing")
    p.add_argument(
        "--ignore-column",
        action="append",
        metavar="NAME",
        help="a column of the export to leave out (repeat for more)",
    )
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("approve", parents=[where], help="publish one exact image anyway")
    p.add_argument(
        "image",
        nargs="?",
        metavar="IMAGE",
        help="the image file as it is in content/, or its SHA-256 as the build prints it",
    )
    p.add_argument("--sha256", help="the image's hash (from `consent review`) instead of a file")
    p.add_argument(
        "--shows",
        action="append",
        metavar="ID",
        help="a person you recognise in the photo (repeat for each), or `nobody` when no "
        "one can be identified; the approval ends when anyone named loses consent",
    )
    p.add_argument(
        "--not-student",
        metavar="WHO",
        help="the faces matching no record are not students: visitor, parent, or your own "
        "words (required when the photo has such a face and --shows does not name it)",
    )
    p.add_argument("--by", required=True, metavar="NAME", help="who decides")
    p.add_argument("--reason", required=True, metavar="TEXT", help="why it may be published")
    p.add_argument(
        "--report",
        metavar="PATH",
        help=f"the build's consent report (default: {defaults.report_path})",
    )
    p.set_defaults(func=cmd_approve)

    p = sub.add_parser("unapprove", parents=both, help="withdraw an image's approval")
    p.add_argument("image", nargs="?", metavar="IMAGE")
    p.add_argument("--sha256", help="the image's hash instead of a file")
    p.set_defaults(func=cmd_unapprove)

    p = sub.add_parser("review", parents=[where], help="withheld images waiting for a decision")
    p.add_argument(
        "--report",
        metavar="PATH",
        help=f"the build's consent report (default: {defaults.report_path})",
    )
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("check", parents=[where], help="the gate's verdict for images")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "purge-expired", parents=both, help="delete the templates of expired consent"
    )
    p.add_argument(
        "--date",
        metavar="YYYY-MM-DD",
        help="confirm today's date when the command doubts the clock (it says when): it "
        "must be the clock's day at the school; consent that ended before it is purged",
    )
    p.set_defaults(func=cmd_purge_expired)

    p = sub.add_parser(
        "shared-cache-key",
        parents=[where],
        help="make the key of a district's shared face cache (CONSENT_SHARED_CACHE)",
    )
    p.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="where to write it (default: CONSENT_SHARED_CACHE_KEY_FILE, else "
        f"{DEFAULTS['CONSENT_SHARED_CACHE_KEY_FILE']})",
    )
    p.set_defaults(func=cmd_shared_cache_key)

    # serve, user add/list, backup, restore, takedowns-ran: the office's workspace and the file.
    from consent_cli.office import add_commands

    add_commands(sub, where, who)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args = None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return args.func(args)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    except ImportFailed as exc:
        _err(exc.message())
        return EXIT_ERROR
    except (CliError, RegistryError, ValueError) as exc:
        _err(f"consent: {exc}")
        return EXIT_ERROR
    except sqlite3.Error as exc:  # "the disk is full", "damaged: restore from backup", …
        settings = getattr(args, "_gate_settings", None)
        _err(f"consent: {storage.describe(exc, getattr(settings, 'registry', None))}")
        return EXIT_ERROR
    except OSError as exc:
        _err(f"consent: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("consent: interrupted; nothing more was saved")
        return 130


if __name__ == "__main__":
    sys.exit(main())
