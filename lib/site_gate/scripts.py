"""Scripts are pictures too: a script can paint a canvas from numbers, join base64 into a
``blob:`` picture or build the URL of a remote one, and nothing of that is a file the gate
can check. So content carries no script:

- a script file is published only when it is not a content file (the theme's own files,
  the site search's bundle); a script file from content is withheld;
- in a page, a ``<script>`` stays only when it is the theme's own: written in the page
  with the exact text (the hash) of one of the theme's ``.js`` files, or loading a script
  file that is published; every other ``<script>``, event-handler attribute
  (``onload=``...) and ``javascript:`` URL is removed, with a warning naming the page;
- the HTML that feed entries carry (Atom, RSS) loses every script, the theme's too;
- every page gets a Content-Security-Policy ``<meta>`` (first in its ``<head>``): scripts
  only from the site itself and the theme's inline scripts by hash, no inline handlers,
  pictures only from the site itself under CONSENT_STRICT, no plugins, no ``<base>``
  elsewhere. The same policy belongs in the CDN's response headers (README).

Nothing here imports Pelican.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from .html_tokens import TreeBuilder

logger = logging.getLogger(__name__)

# Bump when hardening changes: cached results are keyed by it.
SCRIPTS_VERSION = "1"
# <script type> values a browser runs; any other type is data (JSON-LD, templates).
_JS_TYPES = frozenset(
    {"", "module", "text/javascript", "application/javascript", "application/ecmascript"}
    | {"text/ecmascript", "text/jscript", "text/livescript", "application/x-javascript"}
    | {"text/x-javascript", "text/javascript1.0", "text/javascript1.5"}
)
_URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "data", "xlink:href"})
_JAVASCRIPT_URL = re.compile(r"^[\x00-\x20]*j\s*a\s*v\s*a\s*s\s*c\s*r\s*i\s*p\s*t\s*:", re.I)


def script_hash(text: str) -> str:
    """A text's hash as the theme's allow-list and the policy's comparison use."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()


def theme_script_hashes(theme: Path | str | None) -> frozenset[str]:
    """The theme's own scripts: the hash of every ``.js`` file in the theme folder."""
    if not theme:
        return frozenset()
    folder = Path(theme)
    hashes = set()
    for path in sorted(folder.rglob("*.js")) if folder.is_dir() else ():
        try:
            hashes.add(script_hash(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            logger.warning("the theme's script %s cannot be read (%s): it will not run", path, exc)
    return frozenset(hashes)


def csp_source(text: str) -> str:
    """The policy's hash source for an inline script's exact text."""
    return (
        "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"
    )


def content_security_policy(strict: bool, inline_hashes: Iterable[str] = ()) -> str:
    """The site's policy; `inline_hashes`: the theme's inline scripts (``csp_source``)."""
    scripts = " ".join(["'self'", *sorted(set(inline_hashes)), "'wasm-unsafe-eval'"])
    images = "'self'" if strict else "'self' https: data:"
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "script-src-attr 'none'",
            f"img-src {images}",
            "style-src 'self' 'unsafe-inline'",
            "font-src 'self'",
            "connect-src 'self'",
            "media-src 'self'",
            "object-src 'none'",
            "frame-src 'self'",
            "worker-src 'self'",
            "manifest-src 'self'",
            "base-uri 'self'",
            "form-action 'self'",
        ]
    )


@dataclass
class Hardened:
    text: str
    removed: list[str] = field(default_factory=list)  # what was taken out, in plain words
    inline: list[str] = field(default_factory=list)  # the theme's inline scripts kept


def _is_js(attrs: dict[str, str]) -> bool:
    """Whether a browser may run the element: anything but data (JSON, JSON-LD) is taken
    for a script, as an unknown type today may be run by a browser tomorrow."""
    kind = attrs.get("type", "").strip().lower().split(";")[0].strip()
    return kind in _JS_TYPES or "json" not in kind


def strip_scripts(
    text: str,
    theme_hashes: frozenset[str],
    script_allowed: Callable[[str], bool],
) -> Hardened:
    """The HTML without content scripts: every ``<script>`` but the theme's own, every
    event-handler attribute and ``javascript:`` URL removed. The one rule for pages and
    for the HTML that feed entries carry (``feeds.FeedDoc.map_entries``).
    `script_allowed(url)`: whether a ``<script src>`` loads a published script file."""
    result, edits, _head_at = _script_edits(text, theme_hashes, script_allowed)
    result.text = _apply(text, _outermost(edits))
    return result


def harden_page(
    text: str,
    theme_hashes: frozenset[str],
    script_allowed: Callable[[str], bool],
    strict: bool,
) -> Hardened:
    """The page without content scripts (``strip_scripts``), with the policy meta first
    in its head."""
    result, edits, head_at = _script_edits(text, theme_hashes, script_allowed)
    edits = _outermost(edits)
    policy = content_security_policy(strict, result.inline)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{escape(policy)}">'
    insert_at = head_at if head_at is not None else _after_doctype(text)
    edits.append((insert_at, insert_at, meta))
    result.text = _apply(text, edits)
    return result


def _script_edits(
    text: str,
    theme_hashes: frozenset[str],
    script_allowed: Callable[[str], bool],
) -> tuple[Hardened, list[tuple[int, int, str]], int | None]:
    """What to remove from `text` (edits by offset), and where its ``<head>`` opens."""
    elements = TreeBuilder(text).finish()
    edits: list[tuple[int, int, str]] = []
    result = Hardened(text)
    head_at = None
    for element in elements:
        if element.tag == "head" and head_at is None and not element.foreign:
            head_at = element.start_end
        if element.tag == "script":
            if not _is_js(element.attrs):
                continue
            src = element.attrs.get("src")
            end = element.end if element.end >= 0 else element.start_end
            if src is not None:
                if script_allowed(src):
                    continue
                result.removed.append(f"a script loaded from {src[:80]}")
            else:
                body_end = element.end_tag_start if element.end_tag_start >= 0 else end
                body = text[element.start_end : body_end]
                if script_hash(body) in theme_hashes and not element.foreign:
                    result.inline.append(csp_source(body))
                    continue
                result.removed.append("a script written into the page")
            edits.append((element.start, end, ""))
            continue
        for attribute in element.attr_list:
            name = attribute.name
            if name.startswith("on") or (
                (name in _URL_ATTRIBUTES or name.endswith(":href"))
                and _JAVASCRIPT_URL.match(attribute.value)
            ):
                result.removed.append(f"the {name} attribute of a <{element.tag}>")
                edits.append((attribute.start, attribute.end, ""))
    return result, edits, head_at


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    pieces, position = [], 0
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1])):
        if start < position:
            continue
        pieces += [text[position:start], replacement]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def harden_feed(text: str) -> Hardened:
    """The feed with no script in the HTML its entries carry (``strip_scripts``; a feed
    reader runs none, but a page or another site may show the entry's HTML as it is).
    Raises ``ValueError`` when the feed is not well-formed XML."""
    import xml.etree.ElementTree as ET

    from .feeds import FeedDoc

    try:
        doc = FeedDoc(text)
    except ET.ParseError as exc:
        raise ValueError(f"it is not well-formed XML ({exc})") from exc
    removed: list[str] = []

    def strip(html: str) -> str:
        stripped = strip_scripts(html, frozenset(), lambda _url: False)
        removed.extend(stripped.removed)
        return stripped.text

    return Hardened(doc.map_entries(strip), removed)


def _outermost(edits: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Edits not inside another (an attribute of a removed script goes with it)."""
    kept = []
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], -e[1])):
        if kept and start < kept[-1][1] and start != end:
            continue
        kept.append((start, end, replacement))
    return kept


def _after_doctype(text: str) -> int:
    match = re.match(r"\s*<!doctype[^>]*>", text, re.I)
    return match.end() if match else 0


def script_file_problem(rel: str, content_files: Iterable[str]) -> str | None:
    """Why a script file may not be published: it came from content (a page's author)."""
    if rel in content_files:
        return (
            "a script from content, which could draw a picture the gate cannot check (a "
            "canvas, a blob: image, a remote address): only the theme's own scripts are "
            "published. Take the script out of content"
        )
    return None


def harden_site(
    files,
    withheld: set[str],
    rewritten: set[str],
    resolve: Callable[[str, str], object],
    theme_hashes: frozenset[str],
    strict: bool,
    cache_dir: Path | None,
) -> dict[str, list[str]]:
    """Every remaining page hardened in place (``harden_page``); returns page -> what was
    removed. `files`: the gate's ``OutputFile`` list (their ``text`` is updated);
    `rewritten` gets every page changed; `resolve(url, page)` is the gate's resolver."""
    from face_engine.model import sha256_bytes

    from .sniff import Kind

    published_js = {f.rel for f in files if f.kind == Kind.JS and f.rel not in withheld}
    removed: dict[str, list[str]] = {}
    key_base = "\0".join(
        [
            SCRIPTS_VERSION,
            str(strict),
            ",".join(sorted(theme_hashes)),
            ",".join(sorted(published_js)),
        ]
    )
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    for f in files:
        if f.rel in withheld or f.kind not in (Kind.HTML, Kind.XML) or f.text is None:
            continue
        text = f.text.decode("utf-8", errors="surrogateescape")
        key = sha256_bytes(f"{code}\0{key_base}\0{f.kind}\0{f.rel}\0".encode() + f.text)
        cached = cache_dir / key[:2] / key if cache_dir else None
        hardened = _read_cached(cached)
        if hardened is None and f.kind == Kind.XML:
            try:
                hardened = harden_feed(text)
            except ValueError:
                continue  # unreadable: the page rewrite has withheld it already
            _write_cached(cached, hardened)
        if hardened is None:

            def allowed(url: str, page: str = f.rel) -> bool:
                target = resolve(url, page)
                return getattr(target, "kind", "") == "local" and target.path in published_js

            hardened = harden_page(text, theme_hashes, allowed, strict)
            _write_cached(cached, hardened)
        if hardened.removed:
            removed[f.rel] = hardened.removed
        if hardened.text != text:
            f.text = hardened.text.encode("utf-8", errors="surrogateescape")
            f.path.write_bytes(f.text)
            rewritten.add(f.rel)
    for page, what in sorted(removed.items()):
        logger.warning(
            "%s carried %d script(s) of its own (%s): removed, because a script can draw a "
            "picture the consent gate cannot check. Only the theme's scripts run on the site; "
            "take the script out of the page's content",
            page,
            len(what),
            "; ".join(sorted(set(what))[:3]),
        )
    return removed


def _read_cached(path: Path | None) -> Hardened | None:
    if path is None:
        return None
    import json

    try:
        data = json.loads(path.read_bytes())
        return Hardened(data["text"], list(data["removed"]), list(data["inline"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cached(path: Path | None, hardened: Hardened) -> None:
    if path is None:
        return
    from site_common.files import write_cache_json

    try:
        write_cache_json(
            path,
            {"text": hardened.text, "removed": hardened.removed, "inline": hardened.inline},
        )
    except OSError as exc:
        logger.debug("could not cache a hardened page: %s", exc)
