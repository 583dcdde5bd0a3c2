"""The `consent` commands other programs print as advice (the build's log, `consent review`).

One home: the gate imports `approve_command` instead of keeping its own copy, and a test
runs the printed text through ``consent_cli.cli.main``, so the advice cannot drift
from the command it names.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from face_engine.model import NOBODY

# What the office replaces in the printed command.
YOUR_NAME = "Your Name"
WHY = "why it may be published"


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
    """The build's advice for a withheld image: who decides, and the command they run."""
    return (
        "ask the consent office to check consent; if the office decides to publish, it runs "
        f"`{approve_command(sha256, shows)}`, naming with --shows each person it "
        "recognises in the photo (nobody when no one is identifiable)"
    )
