"""The `consent` commands other programs print as advice (the build's log, `consent review`).

One home: the gate imports `approve_command` instead of keeping its own copy, and a test
runs the printed text through ``consent_cli.cli.main``, so the advice cannot drift
from the command it names.

The build's log names an image by the first `SHORT_HASH` hex digits of its SHA-256, which
`consent approve` accepts when one image of the last build's report starts with them:
Pelican's log handler wraps long lines at the terminal's width, and a whole hash (64
characters with no space) was cut across two lines, so the pasted command failed.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from face_engine.model import NOBODY

# What the office replaces in the printed command.
YOUR_NAME = "Your Name"
WHY = "why it may be published"
# 48 bits: unique among any school's photos; `consent approve` refuses a prefix two share.
SHORT_HASH = 12


def short_hash(sha256: str) -> str:
    """The image's hash as the build's log prints it (whole: it has no space to wrap at)."""
    return sha256[:SHORT_HASH]


def approve_command(sha256: str, shows: Sequence[str] = ()) -> str:
    """`consent approve` for one image by its hash, ready to run.

    `shows` are the people the gate recognised with consent on file; without them the
    command says ``--shows nobody``, which the office changes to ``--shows ID`` for each
    person it recognises in the photo."""
    people = list(dict.fromkeys(shows)) or [NOBODY]
    who = " ".join(f"--shows {shlex.quote(person)}" for person in people)
    return (
        f"consent approve {sha256} {who} --by {shlex.quote(YOUR_NAME)} --reason {shlex.quote(WHY)}"
    )


def approve_advice(sha256: str, shows: Sequence[str] = ()) -> str:
    """The build's advice for a withheld image: who decides, and the command they run
    (with the short hash; `consent review` prints the same command on one line)."""
    return (
        "ask the consent office to check consent; if the office decides to publish, it runs "
        f"`{approve_command(short_hash(sha256), shows)}`, naming with --shows each person it "
        "recognises in the photo (nobody when no one is identifiable; `consent review` "
        "prints this command on one line)"
    )
