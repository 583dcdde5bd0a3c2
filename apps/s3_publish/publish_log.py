"""The publish log: every key `publish` ever put in a bucket, and the ones it saw go.

Takedowns must not depend on the bucket's listing (a listing can come back empty or
short): `publish` takes down every key the site withholds, and re-checks every key the log
says may still be online that the site no longer has, whatever the listing shows. The log
is append-only, beside the publish manifest (outside the site), one JSON object a line:

    {"op": "put", "bucket": "...", "key": "...", "at": "..."}   about to be uploaded
    {"op": "gone", "bucket": "...", "key": "...", "at": "..."}  deleted and verified gone

A key is written as "put" before its upload starts, so a publish killed halfway still has
it on record. Each append is one write() of whole lines followed by fsync; a last line cut
short by a crash is ignored when the log is read. Nothing here imports Pelican.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIX = ".published.jsonl"


def log_path_for(manifest_path: Path) -> Path:
    """The publish log kept beside a publish manifest (reports/publish-manifest.json ->
    reports/publish-manifest.published.jsonl)."""
    manifest_path = Path(manifest_path)
    return manifest_path.with_name(manifest_path.stem + SUFFIX)


class PublishLog:
    """The keys put in `bucket` (under `prefix`) and not since seen gone."""

    def __init__(self, path: Path, bucket: str, prefix: str = ""):
        self.path = Path(path)
        self.bucket = bucket
        self.prefix = prefix

    def live(self) -> set[str]:
        """Every key under the prefix put and not verified gone since. A log that cannot be
        read raises OSError (publishing stops: it cannot know what must come down)."""
        live: set[str] = set()
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return live
        for line in data.splitlines():
            try:
                entry = json.loads(line)
                op, bucket, key = entry["op"], entry["bucket"], entry["key"]
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash
            if bucket != self.bucket or not key.startswith(self.prefix):
                continue
            if op == "put":
                live.add(key)
            elif op == "gone":
                live.discard(key)
        return live

    def record(self, op: str, keys: Iterable[str]) -> None:
        """Append one line per key (one write, then fsync). Raises OSError when the log
        cannot be written: an upload the log does not know of must not happen."""
        at = datetime.now(UTC).isoformat(timespec="seconds")
        lines = [
            json.dumps({"op": op, "bucket": self.bucket, "key": key, "at": at}) + "\n"
            for key in sorted(set(keys))
        ]
        if not lines:
            return
        data = "".join(lines).encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            # A file that does not end with a newline (a crash mid-line) gets one first.
            size = os.fstat(fd).st_size
            if size:
                with open(self.path, "rb") as handle:
                    handle.seek(size - 1)
                    if handle.read(1) != b"\n":
                        data = b"\n" + data
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        finally:
            os.close(fd)
