"""The gate's inventory of a built site: every file, its kind from its bytes (``sniff``)
and its SHA-256, each file read once.

A built photo is published as the cached re-encoding of the bytes it was decided as
(``raster.ReencodeCache``), never as the file's own bytes. So a photo Pelican copied from a
content file whose path, size and modification time (to the nanosecond) are those of the
last build, and whose copy has that size, is taken, unread, to be the bytes it was then
(``BuiltPhotos``), as make and rsync judge a file unchanged. Were it changed with its time
set back, the pixels checked last time are published, never the new bytes; and whenever
there is no cached re-encoding, the re-encoder reads the file and refuses it unless it
still hashes as recorded. Measured on 1,000 photos of 440 KB: reading and hashing them
took 0.35 s of a 2 s rebuild.

Such a photo need not even be copied: Pelican is told to skip it (``uncopied``), the gate
decides it by its recorded hash and links its cached re-encoding into place, and only a
photo whose bytes are needed after all (no cached face work or re-encoding, a blur) is
copied from its content file then, and refused unless it still hashes as recorded
(``BuiltPhotos.copy_in``). Copying 1,000 such photos took 0.3-0.5 s of a 2.5 s rebuild.

Nothing here imports Pelican.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from face_engine.model import sha256_bytes
from site_common.files import write_cache_json

from .output_scan import relative
from .sniff import Kind, content_type, sniff

logger = logging.getLogger(__name__)

# Text larger than this is not read whole; it is withheld (no page of a school site is).
MAX_TEXT_BYTES = 32 * 1024 * 1024
INDEX_FORMAT = 2


@dataclass
class OutputFile:
    rel: str
    path: Path
    kind: Kind
    detail: str
    sha256: str  # of the bytes now in the output
    source_sha256: str = ""  # of the bytes as built, before re-encoding (face cache key)
    content_type: str = ""
    persons: tuple[str, ...] = ()
    # Registry ids seen only in the gate's copies of it (drawn, stretched): see manifest.
    copy_persons: tuple[str, ...] = ()
    text: bytes | None = None  # the bytes of a text file, kept so it is read once
    unread: bool = False  # a photo taken as the bytes of the last build (``BuiltPhotos``)
    on_disk: bool = True  # False: not copied into the output (``BuiltPhotos.uncopied``)


def walk_files(output: Path) -> list[Path]:
    """Every file under output, hidden ones included, in a stable order."""
    found = []
    # os.walk reads each folder once; rglob with is_file() costs a stat per file.
    for folder, _dirs, names in os.walk(output):
        found += [Path(folder, name) for name in names]
    return sorted(path for path in found if path.is_file() or path.is_symlink())


def remove_unverified(output: Path, passed: set[Path]) -> int:
    """Delete every file under output that is not in `passed`; return how many."""
    removed = 0
    if not output.is_dir():
        return 0
    for path in walk_files(output):
        if path not in passed:
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
    return removed


class BuiltPhotos:
    """Each built photo's hash by its output path and the content file it was copied from
    (path, size, modification time), from the last build; see the module docstring."""

    def __init__(
        self,
        site_cache: Path | None,
        sources: Mapping[str, Path] | None = None,
        uncopied: Collection[str] = (),
    ):
        """`site_cache`: the site's own cache folder (``cache_upkeep.site_folder``), or None
        to read every photo; `sources`: output path -> the content file Pelican copied (or
        was told not to copy: the output paths in `uncopied`, see ``unchanged_photos``)."""
        self.site_cache = Path(site_cache) if site_cache else None
        self.sources = {rel: Path(source) for rel, source in (sources or {}).items()}
        self.uncopied = frozenset(uncopied) & self.sources.keys()
        self.path = self.site_cache / "built-photos.json" if self.site_cache else None
        self.entries: dict[str, list] = {}
        self.changed = False
        if self.path is None:
            return
        try:
            data = json.loads(self.path.read_bytes())
            if data.get("format") == INDEX_FORMAT:
                self.entries = dict(data["photos"])
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            logger.debug("ignoring the built-photo index %s (%s)", self.path, exc)

    def lookup(self, rel: str, size: int | None) -> tuple[str, str] | None:
        """(sha256, sniffed detail) when the photo at `rel`, of `size` bytes (None: not
        copied), comes from a content file as it was when recorded."""
        source = self.sources.get(rel)
        entry = self.entries.get(rel) if self.path and source else None
        if not entry or (size is not None and entry[0] != size) or entry[1] != str(source):
            return None
        try:
            stat = source.stat()
        except OSError:
            return None
        if [stat.st_size, stat.st_mtime_ns] != entry[2:4]:
            return None
        return entry[4], entry[5]

    def unchanged_photos(self) -> set[str]:
        """The output paths of photos whose content file is as recorded: those a build
        need not copy (``uncopied``)."""
        return {rel for rel in self.sources if self.lookup(rel, None) is not None}

    def copy_in(self, file: OutputFile) -> None:
        """Copy a photo that was not copied (``uncopied``) from its content file, now that
        its bytes are needed. Raises OSError, naming the file, unless the copy hashes as
        the photo was decided (it changed since: the build must look at it again)."""
        if file.on_disk:
            return
        self._copy_source(file)
        if _sha256_file(file.path) != file.sha256:
            file.path.unlink()
            raise OSError(f"{self.sources[file.rel]} changed during the build: rebuild")

    def record(self, rel: str, size: int, sha256: str, detail: str) -> None:
        """Remember a photo read in full, when it was copied from a content file of the
        same size (else it is read at every build)."""
        source = self.sources.get(rel)
        try:
            stat = source.stat() if source else None
        except OSError:
            stat = None
        if stat is None or stat.st_size != size:
            self.forget(rel)
            return
        entry = [size, str(source), stat.st_size, stat.st_mtime_ns, sha256, detail]
        if self.entries.get(rel) != entry:
            self.entries[rel] = entry
            self.changed = True

    def _copy_source(self, file: OutputFile) -> None:
        """Copy a photo's content file to its output path (a new file renamed into place)."""
        file.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.path.with_name(file.path.name + ".tmp-gate")
        try:
            shutil.copyfile(self.sources[file.rel], tmp)
            os.replace(tmp, file.path)
        except BaseException:
            tmp.unlink(missing_ok=True)  # never a partial copy left behind
            raise
        file.on_disk = True

    def reread(self, file: OutputFile) -> None:
        """Read a photo taken unread after all (``inventory``), updating it in place; one
        not copied is copied from its content file first, whatever it holds now."""
        if not file.on_disk:
            self._copy_source(file)
        size = file.path.stat().st_size
        fresh = read_file(file.path, file.rel, size)
        file.__dict__.update(fresh.__dict__)
        if file.kind == Kind.RASTER:
            self.record(file.rel, size, file.sha256, file.detail)
        else:
            self.forget(file.rel)

    def forget(self, rel: str) -> None:
        if self.entries.pop(rel, None) is not None:
            self.changed = True

    def save(self) -> None:
        """Write atomically; an index that cannot be written only costs time next build,
        unless the disk refused it (full, read-only, failing): then the build fails."""
        if not self.changed or self.path is None:
            return
        write_cache_json(self.path, {"format": INDEX_FORMAT, "photos": self.entries})
        self.changed = False


def inventory(output: Path, built: BuiltPhotos) -> list[OutputFile]:
    """Every file under `output`, classified by its bytes; photos copied from a content
    file unchanged since the last build (``BuiltPhotos``) unread, and those not copied
    (``BuiltPhotos.uncopied``) as well, as files to come."""
    files = []
    for path in walk_files(output):
        rel = relative(path, output)
        if path.is_symlink():
            # A link can point anywhere on the build machine: never followed, never published.
            files.append(OutputFile(rel, path, Kind.UNKNOWN, "a symbolic link", "", ""))
            continue
        size = path.stat().st_size
        known = built.lookup(rel, size)
        if known is not None:
            sha256, detail = known
            files.append(OutputFile(rel, path, Kind.RASTER, detail, sha256, sha256, unread=True))
            continue
        files.append(read_file(path, rel, size))
        if files[-1].kind == Kind.RASTER:
            built.record(rel, size, files[-1].sha256, files[-1].detail)
        else:
            built.forget(rel)
    on_disk = {f.rel for f in files}
    for rel in sorted(built.uncopied - on_disk):
        path = output / rel
        known = built.lookup(rel, None)
        if known is None:  # its content file changed since Pelican was told to skip it
            pending = OutputFile(rel, path, Kind.RASTER, "", "", on_disk=False)
            built.reread(pending)
            files.append(pending)
            continue
        sha256, detail = known
        files.append(
            OutputFile(rel, path, Kind.RASTER, detail, sha256, sha256, unread=True, on_disk=False)
        )
    if len(files) > len(on_disk):
        files.sort(key=lambda f: f.path)
    return files


def read_file(path: Path, rel: str, size: int) -> OutputFile:
    """One file read (text whole and kept), sniffed and hashed."""
    with path.open("rb") as handle:
        data = handle.read(MAX_TEXT_BYTES if size > MAX_TEXT_BYTES else -1)
    found = sniff(data, rel)
    digest = sha256_bytes(data) if size <= MAX_TEXT_BYTES else _sha256_file(path)
    if size > MAX_TEXT_BYTES and found.is_text:
        found = type(found)(Kind.UNKNOWN, f"text larger than {MAX_TEXT_BYTES >> 20} MB")
    return OutputFile(
        rel,
        path,
        found.kind,
        found.detail,
        digest,
        digest,
        content_type(found, rel, data),
        text=data if found.is_text else None,
    )


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
