"""The last check of a build: the site as a visitor sees it. Every page of the checked
output is rendered in headless Chromium (Debian's ``chromium``, driven by Playwright) at a
phone and a desktop width, full page, with its scripts as published, and the face engine
runs on the screenshots. A page can assemble a face no file holds (tiles put back by a CSS
grid, a sprite sheet, a squeezed photo shown at its true shape, an SVG filter, traced
paths, box-shadow pixel art, a canvas, a font glyph), so every face found on a screenshot
must be accounted for:

- inside a picture the gate passed, where that picture is drawn (the DOM gives the box of
  every ``<img>``, background and SVG ``<image>`` whose URL is a passed picture), at a
  place where the gate's verdict on that picture saw a face, and with the screenshot's
  pixels there those of the picture (so a filter, an overlay or a stretch that shows
  something else is not taken for it); or
- matched by the same rule as a face in a photo (``face_engine.decision.match_face``):
  a person with consent on file.

Any other face fails the build, naming the page, the width and the place; the output
folder then keeps the last good site. Under CONSENT_STRICT a page that tries to load
anything from another host fails the build too (the browser is only ever let onto the
loopback server that serves the staged output; every other request is refused).

A page's rendering is cached by the page's bytes and the bytes of every file it loaded
(``RenderCache``): a warm rebuild of an unchanged site starts no browser. When Chromium is
missing, a strict build fails with how to install it; a development build warns, and the
outcome records that the check did not run (``RenderOutcome.ran``).

Nothing here imports Pelican.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from site_common.settings import Env, Setting

from .errors import GateError

logger = logging.getLogger(__name__)

# Bump when the rendering or what is kept of it changes: cached renderings are keyed by it.
RENDER_VERSION = "1"
# Phone and desktop (CSS pixels), as the accessibility tests use.
WIDTHS = (375, 1280)
VIEWPORT_HEIGHT = 800
# Debian's browser; CONSENT_CHROMIUM names another binary (or a missing one, to test).
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM = Setting(
    "CONSENT_CHROMIUM",
    DEFAULT_CHROMIUM,
    "The Chromium binary the rendered-page check runs.",
    env=Env.ONLY,
)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
INSTALL_HINT = (
    "install Debian's browser (`sudo apt-get install chromium`), or set CONSENT_CHROMIUM to "
    "the path of a Chromium binary"
)
# A screenshot taller than this is searched in bands (with an overlap a face fits in).
BAND_HEIGHT = 3000
BAND_OVERLAP = 400
# Page background kept around what is drawn, so a face at its edge is searched whole.
BACKGROUND_MARGIN = 16
# The longest page rendered (CSS pixels): a page longer than this fails closed.
MAX_PAGE_HEIGHT = 60_000
# Time given to a page's scripts after it loaded, and again after its pictures decoded.
# Short: content scripts are removed before (``scripts``), only the theme's run. (Running
# the page's clock forward instead left Chromium's screenshot waiting for a frame.)
SCRIPT_TIME_MS = 300
# Pages open at once, waiting out that time together, while the faces of the last batch
# are searched on a thread: the 16 renderings of an 8-page site took 23.5 s one at a time,
# 18 s eight at a time (2 cores, measured twice each). Each page is loaded anew at its
# second width in its own context, rather than in a second context: 54 renderings took 26
# CPU-seconds instead of 38 (a context's first page starts a renderer process).
RENDER_BATCH = 8
# A full-page screenshot of a long page on a loaded machine can take a while.
SCREENSHOT_TIMEOUT_MS = 180_000
# Mean absolute difference (0-255 grey) under which the screenshot at a face shows the
# passed picture's own pixels there. Resampling and JPEG cost 2-8 on the shared photos; a
# scrambled picture unscrambled by a filter, or another picture over it, is 40 or more.
PIXEL_MATCH_MAX = 18.0
# A face on screen belongs to a face of the verdict when their boxes overlap this much.
FACE_OVERLAP_MIN = 0.3
_PAGE_SUFFIXES = (".html", ".htm")


class RenderCheckError(GateError):
    """The rendered site shows a face the gate cannot account for (or could not be checked)."""


@dataclass
class Picture:
    """A passed picture the page can draw: its output path, bytes on disk, and the boxes
    (top, right, bottom, left, in its own pixels) of the faces its verdict saw."""

    rel: str
    path: Path
    faces: list[tuple[int, int, int, int]]


@dataclass
class Problem:
    page: str
    width: int
    where: str
    reason: str

    def message(self) -> str:
        return f"{self.page} at {self.width} px wide, {self.where}: {self.reason}"


@dataclass
class RenderOutcome:
    ran: bool  # False: Chromium was missing (a development build), nothing was rendered
    pages: int = 0
    rendered: int = 0  # renderings made this build (the rest came from the cache)
    faces: int = 0  # faces seen on the screenshots
    problems: list[Problem] = field(default_factory=list)
    remote: list[tuple[str, str]] = field(default_factory=list)  # (page, URL) refused
    seconds_rendering: float = 0.0

    def to_json(self) -> dict:
        return {
            "ran": self.ran,
            "pages": self.pages,
            "rendered": self.rendered,
            "faces": self.faces,
            "seconds_rendering": round(self.seconds_rendering, 2),
            "problems": [p.message() for p in self.problems],
            "remote_requests": [{"page": p, "url": u} for p, u in self.remote],
        }


def chromium_path() -> str:
    return CHROMIUM.from_environment() or DEFAULT_CHROMIUM


def chromium_available() -> bool:
    path = chromium_path()
    return (
        Path(path).is_file()
        and os.access(path, os.X_OK)
        or bool(os.sep not in path and shutil.which(path))
    )


# ---------------------------------------------------------------- drawings on their own

# A drawing's longer side, as it is drawn to be face-checked: small icons are drawn larger
# (a traced face in a 64 px icon is still found at 512), large drawings smaller.
DRAWING_MIN_SIDE = 512
DRAWING_MAX_SIDE = 2048
_DRAWING_PAGE = (
    "<!doctype html><html><body style='margin:0;background:#fff'>"
    "<img id=d alt='' style='display:block'></body></html>"
)
_DRAWING_JS = """async ([url, low, high]) => {
  const d = document.getElementById('d');
  d.src = url;
  try { await d.decode(); } catch (e) { return 'it cannot be drawn (' + e + ')'; }
  const w = d.naturalWidth || 300, h = d.naturalHeight || 150;
  const scale = Math.min(Math.max(1, low / Math.max(w, h)), high / Math.max(w, h));
  d.style.width = Math.max(1, Math.round(w * scale)) + 'px';
  d.style.height = Math.max(1, Math.round(h * scale)) + 'px';
  return [Math.max(1, Math.round(w * scale)), Math.max(1, Math.round(h * scale))];
}"""


def draw_svgs(svgs: Mapping[str, bytes]) -> dict[str, bytes | str]:
    """Every SVG file drawn by Chromium as a page's ``<img>`` draws it (no scripts, nothing
    loaded from elsewhere), its longer side between ``DRAWING_MIN_SIDE`` and
    ``DRAWING_MAX_SIDE``: rel -> PNG bytes, or why it could not be drawn. So a photo traced
    into paths is searched for faces whether a page shows the drawing or not (a drawing
    opened as a page of its own never finished its screenshot).

    Raises RenderCheckError when Chromium is missing or does not start."""
    import base64

    if not svgs:
        return {}
    if not chromium_available():
        raise RenderCheckError(
            f"no Chromium at {chromium_path()}, which draws the site's SVG files to check "
            "them for faces: install it (apt-get install chromium) or set CONSENT_CHROMIUM"
        )
    from playwright.sync_api import sync_playwright

    drawn: dict[str, bytes | str] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(), args=CHROMIUM_ARGS
            )
            try:
                context = browser.new_context(
                    viewport={"width": DRAWING_MAX_SIDE, "height": DRAWING_MAX_SIDE},
                    device_scale_factor=1,
                    java_script_enabled=True,
                    offline=True,
                )
                page = context.new_page()
                page.set_content(_DRAWING_PAGE)
                for rel, data in sorted(svgs.items()):
                    url = "data:image/svg+xml;base64," + base64.b64encode(data).decode()
                    try:
                        size = page.evaluate(_DRAWING_JS, [url, DRAWING_MIN_SIDE, DRAWING_MAX_SIDE])
                        if isinstance(size, str):
                            drawn[rel] = size
                            continue
                        drawn[rel] = page.screenshot(
                            clip={"x": 0, "y": 0, "width": size[0], "height": size[1]},
                            type="png",
                            timeout=SCREENSHOT_TIMEOUT_MS,
                        )
                    except Exception as exc:  # noqa: BLE001 - this drawing is withheld
                        drawn[rel] = f"Chromium could not draw it ({type(exc).__name__}: {exc})"
            finally:
                browser.close()
    except RenderCheckError:
        raise
    except Exception as exc:  # noqa: BLE001 - the browser itself failed: the caller decides
        raise RenderCheckError(
            f"Chromium ({chromium_path()}) could not draw the site's SVG files ({exc})"
        ) from exc
    return drawn


# ---------------------------------------------------------------- the loopback server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".wasm": "application/wasm",
        ".svg": "image/svg+xml",
        ".webmanifest": "application/manifest+json",
    }

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class _Server:
    """The staged output on 127.0.0.1 (a free port), in a thread of this process."""

    def __init__(self, folder: Path):
        handler = lambda *a, **k: _QuietHandler(*a, directory=str(folder), **k)  # noqa: E731
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------- what the page draws

# Every drawn picture: <img> (its current source), CSS backgrounds (every layer), SVG
# <image>, video posters; boxes in page coordinates (CSS pixels).
_DRAWN_JS = r"""
() => {
  const out = [];
  const sx = window.scrollX, sy = window.scrollY;
  const abs = (u) => { try { return new URL(u, document.baseURI).href; } catch (e) { return ""; } };
  const px = (v) => parseFloat(v) || 0;
  for (const el of document.querySelectorAll('*')) {
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden') continue;
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    const border = {x: r.left + sx, y: r.top + sy, w: r.width, h: r.height};
    const inner = {
      x: border.x + px(cs.borderLeftWidth) + px(cs.paddingLeft),
      y: border.y + px(cs.borderTopWidth) + px(cs.paddingTop),
      w: border.w - px(cs.borderLeftWidth) - px(cs.borderRightWidth)
         - px(cs.paddingLeft) - px(cs.paddingRight),
      h: border.h - px(cs.borderTopWidth) - px(cs.borderBottomWidth)
         - px(cs.paddingTop) - px(cs.paddingBottom),
    };
    const tag = el.tagName.toLowerCase();
    if (tag === 'img' && el.currentSrc) {
      out.push({kind: 'img', url: abs(el.currentSrc), box: inner, clip: border,
                fit: cs.objectFit, pos: cs.objectPosition});
    } else if (tag === 'video' && el.poster) {
      out.push({kind: 'poster', url: abs(el.poster), box: inner, clip: border,
                fit: 'contain', pos: '50% 50%'});
    } else if (tag === 'image' && el.href && el.href.animVal) {
      out.push({kind: 'svg-image', url: abs(el.href.animVal), box: border, clip: border,
                fit: 'contain', pos: '50% 50%'});
    }
    const bg = cs.backgroundImage;
    if (bg && bg !== 'none') {
      const sizes = cs.backgroundSize.split(','), places = cs.backgroundPosition.split(',');
      const found = [...bg.matchAll(/url\("((?:[^"\\]|\\.)*)"\)/g)];
      found.forEach((m, i) => {
        out.push({kind: 'background', url: abs(m[1]), box: border, clip: border,
                  size: (sizes[i] || sizes[0]).trim(), pos: (places[i] || places[0]).trim()});
      });
    }
  }
  return out;
}
"""

# What a page kept in the browser, forgotten before it is loaded at its next width.
_FORGET_JS = "() => { try { localStorage.clear(); sessionStorage.clear(); } catch (e) {} }"
_SETTLE_JS = r"""
async () => {
  for (const img of document.images) img.loading = 'eager';
  const waits = [...document.images].map((img) => img.decode().catch(() => null));
  if (document.fonts) waits.push(document.fonts.ready);
  await Promise.race([Promise.all(waits), new Promise((r) => setTimeout(r, 3000))]);
  const body = document.body ? document.body.scrollHeight : 0;
  return Math.max(document.documentElement.scrollHeight, body);
}
"""


def _length(value: str, room: float, default: float) -> float:
    value = value.strip()
    if value.endswith("%"):
        return room * float(value[:-1]) / 100
    if value.endswith("px"):
        return float(value[:-2])
    if value in ("left", "top"):
        return 0.0
    if value in ("right", "bottom"):
        return room
    if value == "center":
        return room / 2
    try:
        return float(value)
    except ValueError:
        return default


def drawn_rect(item: dict, natural: tuple[int, int]) -> tuple[float, float, float, float]:
    """Where the whole picture is drawn (x, y, width, height in page CSS pixels), from the
    element's box, object-fit/-position or background-size/-position (first tile)."""
    nw, nh = natural
    box = item["box"]
    bw, bh = max(box["w"], 1e-6), max(box["h"], 1e-6)
    if item["kind"] == "background":
        size = item.get("size", "auto").split()
        if size[0] in ("cover", "contain"):
            scale = (max if size[0] == "cover" else min)(bw / nw, bh / nh)
            dw, dh = nw * scale, nh * scale
        else:
            w_spec = size[0]
            h_spec = size[1] if len(size) > 1 else "auto"
            dw = None if w_spec == "auto" else _length(w_spec, bw, nw)
            dh = None if h_spec == "auto" else _length(h_spec, bh, nh)
            if dw is None and dh is None:
                dw, dh = float(nw), float(nh)
            elif dw is None:
                dw = dh * nw / nh
            elif dh is None:
                dh = dw * nh / nw
        pos = item.get("pos", "0% 0%").split()
    else:
        fit = item.get("fit") or "fill"
        if fit == "fill":
            return box["x"], box["y"], bw, bh
        contain = min(bw / nw, bh / nh)
        scale = {
            "contain": contain,
            "cover": max(bw / nw, bh / nh),
            "none": 1.0,
            "scale-down": min(1.0, contain),
        }.get(fit, 1.0)
        dw, dh = nw * scale, nh * scale
        pos = (item.get("pos") or "50% 50%").split()
    pos = (pos + ["50%"])[:2] if pos else ["50%", "50%"]

    def offset(spec: str, room: float) -> float:
        spec = spec.strip()
        if spec.endswith("%"):
            return room * float(spec[:-1]) / 100
        return _length(spec, room, room / 2)

    x = box["x"] + offset(pos[0], bw - dw)
    y = box["y"] + offset(pos[1], bh - dh)
    return x, y, dw, dh


# ---------------------------------------------------------------- faces on a screenshot


def _faces_on(png: bytes, scale: float) -> list[dict]:
    """Every face on a full-page screenshot (device pixels), searched in bands; boxes in
    page CSS pixels (divided by `scale`), with their encodings."""
    from face_engine.faces import detect_faces
    from PIL import Image, ImageChops

    image = Image.open(io.BytesIO(png)).convert("RGB")
    found: list[dict] = []
    top = 0
    while True:
        bottom = min(image.height, top + BAND_HEIGHT)
        band = image.crop((0, top, image.width, bottom))
        # Only the part that is not plain page background is searched (a page's margins
        # are half a desktop screenshot); a band of background alone holds no face.
        drawn = ImageChops.difference(band, Image.new("RGB", band.size, band.getpixel((0, 0))))
        bbox = drawn.getbbox()
        faces = []
        left = upper = 0
        if bbox is not None:
            left = max(0, bbox[0] - BACKGROUND_MARGIN)
            upper = max(0, bbox[1] - BACKGROUND_MARGIN)
            right = min(band.width, bbox[2] + BACKGROUND_MARGIN)
            lower = min(band.height, bbox[3] + BACKGROUND_MARGIN)
            buffer = io.BytesIO()
            band.crop((left, upper, right, lower)).save(buffer, "PNG")
            faces = detect_faces(buffer.getvalue(), encode=True, source="a rendered page")
        for face in faces:
            b = face.box
            box = [
                (b.top + top + upper) / scale,
                (b.right + left) / scale,
                (b.bottom + top + upper) / scale,
                (b.left + left) / scale,
            ]
            if any(_iou(box, other["box"]) > 0.3 for other in found):
                continue
            found.append(
                {
                    "box": box,
                    "score": face.score,
                    "encoding": None if face.encoding is None else face.encoding.tolist(),
                }
            )
        if bottom >= image.height:
            break
        top = bottom - BAND_OVERLAP
    return found


def _iou(a, b) -> float:
    """Overlap of two (top, right, bottom, left) boxes over their union."""
    top, bottom = max(a[0], b[0]), min(a[2], b[2])
    left, right = max(a[3], b[3]), min(a[1], b[1])
    if bottom <= top or right <= left:
        return 0.0
    inter = (bottom - top) * (right - left)
    union = (a[2] - a[0]) * (a[1] - a[3]) + (b[2] - b[0]) * (b[1] - b[3]) - inter
    return inter / union if union > 0 else 0.0


def _grey(image) -> list:
    import numpy as np

    return np.asarray(image.convert("L"), dtype=np.float32)


def _pixels_match(shot, face_box, rect, picture: Path, scale: float) -> bool:
    """Whether the screenshot at `face_box` shows the picture's own pixels there, as drawn
    in `rect` (x, y, w, h, CSS pixels): a filter, a blend or anything drawn over it fails."""
    import numpy as np
    from PIL import Image, ImageOps

    top, right, bottom, left = face_box
    x, y, w, h = rect
    if w <= 0 or h <= 0:
        return False
    try:
        with Image.open(picture) as opened:
            source = ImageOps.exif_transpose(opened).convert("RGB")
    except OSError:
        return False
    # The face's box in the picture's own pixels.
    sx, sy = source.width / w, source.height / h
    crop = (
        (left - x) * sx,
        (top - y) * sy,
        (right - x) * sx,
        (bottom - y) * sy,
    )
    if crop[0] < -1 or crop[1] < -1 or crop[2] > source.width + 1 or crop[3] > source.height + 1:
        return False
    device = tuple(round(v * scale) for v in (left, top, right, bottom))
    if device[2] - device[0] < 4 or device[3] - device[1] < 4:
        return False
    seen = shot.crop(device)
    expected = source.resize(seen.size, Image.Resampling.BILINEAR, box=crop)
    diff = float(np.mean(np.abs(_grey(seen) - _grey(expected))))
    return diff <= PIXEL_MATCH_MAX


def _in_picture(face_box, rect) -> tuple[float, float, float, float]:
    """The face's box in the picture's own pixels, given where it is drawn."""
    top, right, bottom, left = face_box
    x, y, w, h, nw, nh = rect
    sx, sy = nw / w, nh / h
    return ((top - y) * sy, (right - x) * sx, (bottom - y) * sy, (left - x) * sx)


# ---------------------------------------------------------------- the cache


class RenderCache:
    """One file per (page, width, page bytes): what its rendering found and the bytes
    (SHA-256) of every file the page loaded. Used while every one of those is unchanged."""

    def __init__(self, folder: Path | None):
        self.folder = folder

    def _path(self, key: str) -> Path | None:
        return self.folder / key[:2] / f"{key}.json" if self.folder else None

    def get(self, key: str, digests: Mapping[str, str]) -> dict | None:
        path = self._path(key)
        if path is None:
            return None
        try:
            entry = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None
        loaded = entry.get("loaded")
        if not isinstance(loaded, dict):
            return None
        for rel, digest in loaded.items():
            if digests.get(rel, "missing") != digest:
                return None
        return entry

    def put(self, key: str, entry: dict) -> None:
        path = self._path(key)
        if path is None:
            return
        from site_common.files import write_cache_json

        try:
            write_cache_json(path, entry)
        except OSError as exc:
            logger.debug("could not cache the rendering %s: %s", key, exc)


@functools.cache
def _code_key() -> str:
    digest = hashlib.sha256(RENDER_VERSION.encode())
    digest.update(Path(__file__).read_bytes())
    try:
        from face_engine.config import MODEL_VERSION

        digest.update(MODEL_VERSION.encode())
    except ImportError:
        pass
    return digest.hexdigest()


def render_key(rel: str, width: int, page_sha: str) -> str:
    return hashlib.sha256(f"{_code_key()}\0{rel}\0{width}\0{page_sha}".encode()).hexdigest()


# ---------------------------------------------------------------- rendering


@dataclass
class _OpenPage:
    """One page open in its own browser context, and the requests it made."""

    rel: str
    width: int
    context: object
    page: object
    loaded: dict[str, str]
    remote: list[str]


class _Renderer:
    """One browser for the build; one fresh context per page, in which the page is loaded
    anew at each width (its cookies and storage cleared between)."""

    def __init__(self, folder: Path, digests: Mapping[str, str], pictures: Mapping[str, Picture]):
        self.folder = folder
        self.digests = digests
        self.pictures = pictures
        self._playwright = None
        self._browser = None
        self._server: _Server | None = None

    def __enter__(self) -> _Renderer:
        from playwright.sync_api import sync_playwright

        self._server = _Server(self.folder).__enter__()
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=chromium_path(), args=CHROMIUM_ARGS
            )
        except Exception:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for close in (
            lambda: self._browser and self._browser.close(),
            lambda: self._playwright and self._playwright.stop(),
            lambda: self._server and self._server.__exit__(),
        ):
            try:
                close()
            except Exception as error:  # noqa: BLE001 - closing down; the result stands
                logger.debug("closing the render check's browser: %s", error)

    def _rel_of(self, url: str) -> str | None:
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self._server.origin:
            return None
        rel = unquote(parts.path).lstrip("/")
        if rel == "" or rel.endswith("/"):
            rel += "index.html"
        elif (self.folder / rel).is_dir():
            rel += "/index.html"
        return rel

    def render_all(self, jobs: list[tuple[str, int]]) -> Iterator[tuple[tuple[str, int], dict]]:
        """Render every (page, width) of `jobs`: what each loaded, refused and drew, and its
        faces, in the order given. `RENDER_BATCH` pages are open at once, so they wait out
        their scripts' time together; the faces of one batch's screenshots are searched on a
        thread while the browser draws the next batch."""
        from concurrent.futures import ThreadPoolExecutor

        widths: dict[str, list[int]] = {}
        for rel, width in jobs:
            widths.setdefault(rel, []).append(width)
        pages = list(widths)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="render-faces") as faces:
            pending = []
            for start in range(0, len(pages), RENDER_BATCH):
                batch = {rel: widths[rel] for rel in pages[start : start + RENDER_BATCH]}
                shots = self._shoot(batch)
                pending += [(job, faces.submit(self._entry, *shot)) for job, shot in shots]
                while pending and (pending[0][1].done() or len(pending) > 2 * RENDER_BATCH):
                    job, future = pending.pop(0)
                    yield job, future.result()
            for job, future in pending:
                yield job, future.result()

    def _shoot(self, widths: dict[str, list[int]]) -> list[tuple[tuple[str, int], tuple]]:
        """Full-page screenshots of each page at each of its widths: (job, (png, drawn,
        loaded, remote)). A page opens in a fresh context at its first width and is loaded
        anew at the next (the route sees every request again: routing turns the browser's
        cache off)."""
        opened: list[_OpenPage] = []
        shots = []
        try:
            for rel, sizes in widths.items():
                opened.append(self._open(rel, sizes[0]))
            for step in range(max(len(sizes) for sizes in widths.values())):
                now = [one for one in opened if step < len(widths[one.rel])]
                if step:
                    for one in now:
                        self._reload(one, widths[one.rel][step])
                self._settle(now)
                for one in now:
                    png = one.page.screenshot(
                        full_page=True, type="png", timeout=SCREENSHOT_TIMEOUT_MS
                    )
                    drawn = one.page.evaluate(_DRAWN_JS)
                    shot = (png, drawn, dict(one.loaded), list(one.remote))
                    shots.append(((one.rel, one.width), shot))
            return shots
        finally:
            for one in opened:
                one.context.close()

    def _open(self, rel: str, width: int) -> _OpenPage:
        """A new context showing `rel` at `width`, its requests to the served output
        recorded and every other request refused."""
        loaded: dict[str, str] = {}
        remote: list[str] = []
        context = self._browser.new_context(
            viewport={"width": width, "height": VIEWPORT_HEIGHT},
            service_workers="block",
            device_scale_factor=1,
        )

        def route(request_route):
            url = request_route.request.url
            target = self._rel_of(url)
            if target is None:
                remote.append(url)
                request_route.abort("blockedbyclient")
                return
            loaded[target] = self.digests.get(target, "missing")
            request_route.continue_()

        try:
            context.route("**/*", route)
            page = context.new_page()
            page.goto(f"{self._server.origin}/{rel}", wait_until="load", timeout=60_000)
        except BaseException:
            context.close()
            raise
        return _OpenPage(rel, width, context, page, loaded, remote)

    def _reload(self, one: _OpenPage, width: int) -> None:
        """`one`'s page loaded anew at `width`, as a first visit: cookies and storage
        cleared, and only this load's requests recorded."""
        one.page.evaluate(_FORGET_JS)
        one.context.clear_cookies()
        one.loaded.clear()
        one.remote.clear()
        one.width = width
        one.page.set_viewport_size({"width": width, "height": VIEWPORT_HEIGHT})
        one.page.goto(f"{self._server.origin}/{one.rel}", wait_until="load", timeout=60_000)

    def _settle(self, opened: list[_OpenPage]) -> None:
        """Give the open pages' scripts their time, load every picture, and refuse a page
        too long to read."""
        if not opened:
            return
        opened[-1].page.wait_for_timeout(SCRIPT_TIME_MS)
        for one in opened:
            height = one.page.evaluate(_SETTLE_JS)
            if height > MAX_PAGE_HEIGHT:
                raise RenderCheckError(
                    f"{one.rel} is {height} px tall at {one.width} px wide, over the "
                    f"{MAX_PAGE_HEIGHT} px the render check reads: split the page"
                )
        opened[-1].page.wait_for_timeout(SCRIPT_TIME_MS)

    def _entry(self, png: bytes, drawn: list[dict], loaded: dict, remote: list) -> dict:
        from PIL import Image

        shot = Image.open(io.BytesIO(png)).convert("RGB")
        faces = _faces_on(png, 1.0)
        for face in faces:
            face["pictures"] = self._pictures_at(face["box"], drawn, shot)
        return {"loaded": loaded, "remote": sorted(set(remote)), "faces": faces}

    def _pictures_at(self, face_box, drawn: list[dict], shot) -> list[dict]:
        """The passed pictures drawn where the face is, with the face's box in each one's
        own pixels and whether the screenshot shows that picture's pixels there."""
        top, right, bottom, left = face_box
        cx, cy = (left + right) / 2, (top + bottom) / 2
        found = []
        for item in drawn:
            rel = self._rel_of(item["url"])
            picture = self.pictures.get(rel) if rel else None
            if picture is None:
                continue
            clip = item["clip"]
            if not (
                clip["x"] <= cx <= clip["x"] + clip["w"]
                and clip["y"] <= cy <= clip["y"] + clip["h"]
            ):
                continue
            natural = _natural_size(picture.path)
            if natural is None:
                continue
            x, y, w, h = drawn_rect(item, natural)
            if not _inside(cx, cy, x, y, w, h):
                continue
            found.append(
                {
                    "rel": rel,
                    "box": list(_in_picture(face_box, (x, y, w, h, *natural))),
                    "pixels": _pixels_match(shot, face_box, (x, y, w, h), picture.path, 1.0),
                }
            )
        return found


def _inside(cx: float, cy: float, x: float, y: float, w: float, h: float) -> bool:
    return x <= cx <= x + w and y <= cy <= y + h


def _natural_size(path: Path) -> tuple[int, int] | None:
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as image:
            width, height = ImageOps.exif_transpose(image).size
    except OSError:
        return None
    return (width, height) if width and height else None


# ---------------------------------------------------------------- accounting


def _face_of(item: dict):
    import numpy as np
    from face_engine.model import DetectedFace, FaceBox

    top, right, bottom, left = (round(v) for v in item["box"])
    encoding = item.get("encoding")
    return DetectedFace(
        FaceBox(top, right, bottom, left),
        "render",
        float(item.get("score") or 0),
        None if encoding is None else np.asarray(encoding, dtype=np.float64),
    )


def _by_picture(face: dict, pictures: Mapping[str, Picture]) -> str | None:
    """The passed picture the face on screen is, or None: drawn there, its verdict saw a
    face at that place, and the screenshot shows its pixels."""
    for candidate in face.get("pictures", ()):
        picture = pictures.get(candidate["rel"])
        if picture is None or not candidate.get("pixels"):
            continue
        if any(_iou(candidate["box"], seen) >= FACE_OVERLAP_MIN for seen in picture.faces):
            return candidate["rel"]
    return None


def _where(box) -> str:
    top, right, bottom, left = (round(v) for v in box)
    return f"the face at x={left}, y={top} ({right - left}x{bottom - top} px)"


def account(
    page: str,
    width: int,
    entry: dict,
    pictures: Mapping[str, Picture],
    matcher: Callable[[object], tuple[bool, str]],
) -> list[Problem]:
    """Every face of one rendering that is neither a passed picture's face, where it is
    drawn, nor a person with consent (`matcher`: the photo rule)."""
    problems = []
    for face in entry.get("faces", ()):
        if _by_picture(face, pictures):
            continue
        ok, reason = matcher(_face_of(face))
        if ok:
            continue
        drawn = [c["rel"] for c in face.get("pictures", ())]
        inside = (
            f" (drawn over {', '.join(drawn)}, but not as the gate checked it)" if drawn else ""
        )
        problems.append(Problem(page, width, _where(face["box"]) + inside, reason))
    return problems


def render_check(
    output: Path,
    pages: list[str],
    digests: Mapping[str, str],
    pictures: Mapping[str, Picture],
    matcher_factory: Callable[[], Callable[[object], tuple[bool, str]]],
    *,
    strict: bool,
    cache_dir: Path | None,
) -> RenderOutcome:
    """Render `pages` (output paths) of the checked `output` and account for every face;
    `digests`: output path -> SHA-256 of every file now in the output; `pictures`: the
    passed pictures; `matcher_factory` gives the photo rule (opened only when a face needs
    it). Raises RenderCheckError naming every unaccounted face, every remote request under
    `strict`, or (under `strict`) a missing Chromium."""
    import time

    outcome = RenderOutcome(ran=True, pages=len(pages))
    cache = RenderCache(cache_dir)
    todo: list[tuple[str, int, str]] = []
    entries: dict[tuple[str, int], dict] = {}
    for rel in pages:
        for width in WIDTHS:
            key = render_key(rel, width, digests.get(rel, ""))
            entry = cache.get(key, digests)
            if entry is None:
                todo.append((rel, width, key))
            else:
                entries[(rel, width)] = entry
    if todo and not chromium_available():
        if strict:
            raise RenderCheckError(
                f"the pages cannot be checked as a visitor sees them: no Chromium at "
                f"{chromium_path()}. A CONSENT_STRICT build needs it: {INSTALL_HINT}"
            )
        logger.warning(
            "Consent gate: the rendered pages were NOT face-checked (no Chromium at %s): a "
            "face assembled by a page (tiles, a filter, a drawing) is not caught in this "
            "development build, and the publish manifest records that the check did not run. "
            "To check them: %s.",
            chromium_path(),
            INSTALL_HINT,
        )
        outcome.ran = False
        return outcome
    if todo:
        started = time.perf_counter()
        keys = {(rel, width): key for rel, width, key in todo}
        with _Renderer(output, digests, pictures) as renderer:
            for (rel, width), entry in renderer.render_all(list(keys)):
                cache.put(keys[(rel, width)], entry)
                entries[(rel, width)] = entry
                outcome.rendered += 1
        outcome.seconds_rendering = time.perf_counter() - started
    matcher = None
    for (rel, width), entry in sorted(entries.items()):
        outcome.faces += len(entry.get("faces", ()))
        outcome.remote += [(rel, url) for url in entry.get("remote", ())]
        if entry.get("faces") and matcher is None:
            matcher = matcher_factory()
        outcome.problems += account(rel, width, entry, pictures, matcher or _no_match)
    remote_pages = sorted({page for page, _url in outcome.remote})
    if outcome.remote:
        urls = sorted({url for _page, url in outcome.remote})
        message = (
            f"{len(remote_pages)} rendered page(s) asked for {len(urls)} file(s) from another "
            f"site ({', '.join(remote_pages[:3])}: {', '.join(_short(u) for u in urls[:3])}), "
            "which the consent gate cannot check"
        )
        if strict:
            outcome.problems += [
                Problem(page, 0, "a request to another site", f"it loads {_short(url)}")
                for page, url in sorted(set(outcome.remote))
            ]
        else:
            logger.warning("%s: refused while checking; a visitor's browser loads them.", message)
    if outcome.problems:
        for problem in outcome.problems:
            logger.error("Consent gate render check: %s", problem.message())
        shown = outcome.problems[:10]
        more = len(outcome.problems) - len(shown)
        raise RenderCheckError(
            f"the rendered site shows {len(outcome.problems)} thing(s) the consent gate did not "
            "pass: "
            + "; ".join(p.message() for p in shown)
            + (f"; and {more} more" if more else "")
            + ". A page can assemble a picture no single file holds (tiles, sprites, a "
            "stretched or filtered image, a drawing, a script, a font): remove it from the "
            "page, or use the photo as a plain file the gate can check."
        )
    return outcome


def _no_match(_face) -> tuple[bool, str]:
    return False, "unknown face"


def _short(url: str) -> str:
    return url if len(url) <= 100 else url[:97] + "..."


def page_paths(rels: list[str]) -> list[str]:
    """The pages of a site to render: its HTML files."""
    return sorted(rel for rel in rels if rel.lower().endswith(_PAGE_SUFFIXES))


__all__ = [
    "RenderCheckError",
    "RenderOutcome",
    "Picture",
    "chromium_available",
    "page_paths",
    "render_check",
]


def check_rendered_site(
    output: Path,
    files,
    withheld: set[str],
    verdicts: Mapping,
    text_digest: Callable[[object], str],
    matcher_factory: Callable[[], Callable[[object], tuple[bool, str]]],
    *,
    strict: bool,
    cache_dir: Path,
) -> RenderOutcome:
    """The gate's step: every remaining page of `output` rendered and accounted for.
    `files`: the gate's ``OutputFile`` list; `text_digest(file)`: the SHA-256 of its bytes
    now (pages may have been rewritten)."""
    from .policy import FACE_KINDS
    from .sniff import Kind

    kept = [f for f in files if f.rel not in withheld]
    digests = {f.rel: text_digest(f) for f in kept}
    pictures = {}
    for f in kept:
        verdict = verdicts.get(f.rel)
        if f.kind in FACE_KINDS and f.kind == Kind.RASTER and verdict is not None:
            faces = [r.box for r in verdict.faces] + list(verdict.blurred or ())
            pictures[f.rel] = Picture(
                f.rel, f.path, [(b.top, b.right, b.bottom, b.left) for b in faces]
            )
    # SVG files are checked where a page shows them: Chromium's full-page screenshot of an
    # SVG document opened on its own never finished (180 s) in the gate's tests.
    pages = sorted(f.rel for f in kept if f.kind == Kind.HTML)
    return render_check(
        output,
        pages,
        digests,
        pictures,
        matcher_factory,
        strict=strict,
        cache_dir=cache_dir / "render",
    )
