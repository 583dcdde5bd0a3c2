"""Why a Markdown page or article could not be read (no Pelican imports).

Pelican skips such a file with one log line and the build still succeeds, so a news story
with a typo in its header silently never appears. site_checks stops the build instead,
with the file, the line and the fix that this module works out.
"""

from __future__ import annotations

import re
from pathlib import Path

# Python-Markdown's meta extension: "Key: value", continuation lines indented.
_META_LINE = re.compile(r"^[A-Za-z0-9_-]+:\s?")
_CONTINUATION = re.compile(r"^ {4,}|\t")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")


def header_problem(text: str, needs_date: bool) -> str | None:
    """The first thing wrong with a Markdown file's header, or None if it looks right."""
    lines = text.lstrip("\ufeff").splitlines()
    fields: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            break
        if _CONTINUATION.match(line) and fields:
            continue
        if not _META_LINE.match(line):
            key = line.split()[0] if line.split() else line
            hint = f" (write `{key}: {line[len(key) :].strip()}`)" if fields or number == 1 else ""
            return (
                f"line {number}: {line.strip()[:60]!r} is not a `Key: value` header line; "
                f"a colon is missing{hint}. The header ends at the first empty line"
            )
        key, _, value = line.partition(":")
        fields[key.strip().lower()] = value.strip()
    if not fields.get("title"):
        return "the header has no `Title:` line (the first lines, before an empty line)"
    if needs_date and "date" in fields and not _DATE.match(fields["date"]):
        return (
            f"`Date: {fields['date']}` is not a date; write it as YYYY-MM-DD or "
            "YYYY-MM-DD HH:MM, e.g. 2026-11-02 09:00"
        )
    return None


def explain(path: Path, needs_date: bool) -> str:
    """A one-line reason a content file was skipped, for the build's error message."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return f"it is not UTF-8 text (byte {exc.start}); save it as UTF-8"
    except OSError as exc:
        return f"it cannot be opened ({exc.strerror})"
    problem = header_problem(text, needs_date)
    if problem:
        return problem
    return "Pelican could not read it; run `make html DEBUG=1` to see why"
