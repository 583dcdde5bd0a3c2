"""`consent` commands on photos: the gate's verdict (`check`), the withheld photos waiting
for a decision (`review`, the same list as the workspace's review queue) and the
decisions on them (`approve`, `unapprove`)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import click
from consent_registry.advice import SHORT_HASH, approve_command
from consent_registry.registry import SHA256, Registry, RegistryError, check_person_id
from face_engine.model import NOBODY, sha256_bytes
from site_gate.review import verdicts_now, waiting_for_decision

from .common import (
    EXIT_OK,
    EXIT_WITHHELD,
    Args,
    CliError,
    actor_of,
    by_option,
    command,
    decision_day,
    err,
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

# A whole image hash, or its start as the build's log prints it (advice.SHORT_HASH).
HASH_PREFIX = re.compile(rf"^[0-9a-f]{{{SHORT_HASH},64}}$")


def _check_clock(args: Args, registry: Registry, what: str) -> date:
    """The day to decide for, refused (ClockError) when the registry's audit log shows the
    clock to be wrong (``snapshot.check_dated``)."""
    from consent_registry.snapshot import check_dated

    today = decision_day(args)
    check_dated(registry, today, timezone=settings_of(args).timezone, what=what)
    return today


def _image_hash(args: Args) -> tuple[str, str]:
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


def _whole_hash(args: Args, text: str) -> tuple[str, str]:
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
    report_path, report = report_of(args, required=False)
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


def _shows(args: Args) -> tuple[str, ...]:
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


def _gate_recognises(args: Args, sha256: str, registry: Registry) -> set[str]:
    """Who the gate recognises in the image: from the last build's report and, for a
    file, from the gate's own verdict on it now."""
    found: set[str] = set()
    _, report = report_of(args, required=False)
    for image in report.images if report else ():
        if image.sha256 == sha256:
            found.update(image.recognised)
    if args.image and Path(args.image).is_file():
        from face_engine.batch import check_files

        settings = settings_of(args)
        snapshot = registry.snapshot(decision_day(args))
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
        err(
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
        out(
            f"Face {number} at ({face.box.left},{face.box.top}) matches no active record; "
            f"closest: {closest_text(near)}."
        )


@command("approve", help="publish one exact image anyway")
@where_options
@click.argument(
    "image",
    required=False,
    metavar="[IMAGE]",
    help="the image file as it is in content/, or its SHA-256 as the build prints it",
)
@click.option("--sha256", help="the image's hash (from `consent review`) instead of a file")
@click.option(
    "--shows",
    multiple=True,
    metavar="ID",
    help="a person you recognise in the photo (repeat for each), or `nobody` when no "
    "one can be identified; the approval ends when anyone named loses consent",
)
@click.option(
    "--not-student",
    metavar="WHO",
    help="the faces matching no record are not students: visitor, parent, or your own "
    "words (required when the photo has such a face and --shows does not name it)",
)
@click.option("--by", required=True, metavar="NAME", help="who decides")
@click.option("--reason", required=True, metavar="TEXT", help="why it may be published")
@report_option()
def cmd_approve(args: Args) -> int:
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
    out(
        f"Approved {label} (sha256 {approval.sha256[:12]}…) by {approval.by}: "
        f"{approval.reason}. It shows {approval.shows_text()}. It is published at the next "
        "build, for as long as everyone it shows keeps consent; the approval covers this "
        "exact file only (an edited copy needs its own)."
    )
    return EXIT_OK


@command("unapprove", help="withdraw an image's approval")
@where_options
@by_option
@click.argument("image", required=False, metavar="[IMAGE]")
@click.option("--sha256", help="the image's hash instead of a file")
def cmd_unapprove(args: Args) -> int:
    sha256, label = _image_hash(args)
    with open_existing(args) as registry:
        registry.withdraw_approval(sha256, actor=actor_of(args))
    out(f"Withdrew the approval of {label}: the gate decides it by its faces again.")
    return EXIT_OK


@command("review", help="withheld images waiting for a decision")
@where_options
@report_option()
def cmd_review(args: Args) -> int:
    """The withheld images waiting for a decision: the workspace's review queue lists the
    same ones (``review.waiting_for_decision``), the office's keep-withheld decisions
    included when its workspace file is there."""
    from consent_office.accounts import Accounts, office_db_path

    _, report = report_of(args, required=True)
    settings = settings_of(args)
    registry = open_registry(args, create=False)
    snapshot = None
    if registry is not None:
        with registry:
            snapshot = registry.snapshot(decision_day(args))
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
        out(f"No withheld images waiting for a decision (report of {generated}).")
    else:
        out(
            f"{plural(len(waiting), 'withheld image')} waiting for a decision "
            f"(report of {generated}):"
        )
        for image in waiting:
            out("")
            out(image.path or image.output_path)
            if image.pages:
                out(f"    used on: {', '.join(image.pages)}")
            for reason in image.reasons or ["no reason recorded"]:
                out(f"    - {reason}")
            if image.kind not in ("raster", "pdf"):
                out("    an approval cannot publish this kind of file: see the reason above")
            elif image.sha256:
                out(f"    to publish it: {approve_command(image.sha256, image.consented)}")
    if published_now:
        out(
            f"{plural(published_now, 'withheld image')} approved since that build, or "
            "covered by the records as they are now: run `make html` to publish them."
        )
    kept_here = len(report.withheld) - len(withheld)
    if kept_here:
        out(f"{plural(kept_here, 'withheld image')} kept withheld by the consent office.")
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


@command("check", help="the gate's verdict for images")
@where_options
@click.argument(
    "images", nargs=-1, required=True, metavar="IMAGE...", help="image files or folders"
)
@click.option("--json", is_flag=True, help="machine-readable output")
def cmd_check(args: Args) -> int:
    from consent_registry.snapshot import open_snapshot
    from face_engine.batch import check_files

    settings = settings_of(args)
    paths = _expand_images(args.images)
    snapshot, present = open_snapshot(
        settings.registry, settings.key_file, decision_day(args), timezone=settings.timezone
    )
    if not present:
        err(no_registry(args) + " Every face counts as unknown.")
    verdicts = check_files(
        paths,
        snapshot,
        settings,
        progress=not args.json,
        display_names=[str(p) for p in paths],
    )
    if args.json:
        out(json.dumps([v.to_json() for v in verdicts], indent=2, ensure_ascii=False))
    else:
        for verdict in verdicts:
            label = "PUBLISH " if verdict.publish else "WITHHOLD"
            out(f"{label} {verdict.path} — {'; '.join(verdict.reasons)}")
            for number, face in enumerate(verdict.faces, 1):
                box = face.box
                distance = ""
                if face.distance is not None and "distance" not in face.reason:
                    distance = f" (distance {face.distance:.2f})"
                out(
                    f"    face {number} at ({box.left},{box.top}) {box.width}x{box.height}: "
                    f"{face.reason}{distance}"
                )
    withheld = sum(1 for v in verdicts if not v.publish)
    if not args.json:
        out(
            f"{plural(len(verdicts), 'image')}: {len(verdicts) - withheld} publish, "
            f"{withheld} withheld."
        )
    return EXIT_WITHHELD if withheld else EXIT_OK


# In `consent --help`, in this order.
COMMANDS = (cmd_approve, cmd_unapprove, cmd_review, cmd_check)
