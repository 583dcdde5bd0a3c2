"""Synthetic hard cases for the consent gate: "class photos" built from the shared photos.

Faces are cropped at run time from the shared face photos (never copied into the project)
and pasted, scaled down, rotated, blurred or cut by the frame edge, onto noisy coloured
canvases. Every scene records which person each pasted face is and where it landed, so
detection recall, leaks and over-blocking can be measured. Seeded: the same seed gives
the same scenes.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

# Reference photos give the records their templates; they never appear in a scene. As the
# consent office is asked to, people with enough photos are enrolled with two.
REFERENCES = {
    "obama": ("people/obama/obama1.jpg", "people/obama/obama2.jpg"),
    "biden": ("people/biden/biden1.jpg",),
    "alex_lacamoire": ("people/alex_lacamoire/alex1.jpg", "people/alex_lacamoire/alex2.jpg"),
    "kit_harington": ("people/kit_harington/kit1.jpg", "people/kit_harington/kit2.jpg"),
    "rose_leslie": ("people/rose_leslie/rose1.jpg",),
}
# Scene material: (file, person). The child comes from a group photo (see _child_face).
# obama_small.jpg is left out: it is the reference photo obama1.jpg scaled down.
MATERIAL = [
    ("people/obama/obama3.jpg", "obama"),
    ("people/obama/obama4.jpg", "obama"),
    ("people/obama/obama_partial_face.jpg", "obama"),
    ("people/biden/biden2.jpg", "biden"),
    ("people/alex_lacamoire/alex3.png", "alex_lacamoire"),
    ("people/kit_harington/kit3.jpg", "kit_harington"),
    ("people/rose_leslie/rose2.jpg", "rose_leslie"),
    ("people/lin_manuel_miranda/lin1.png", "lin_manuel_miranda"),
]
CHILD_SOURCE = "groups/biden_obama_and_child.jpg"
# Who may be published in the bench registry; rose has a record whose consent was revoked,
# lin and the child have no record at all.
CONSENTED = ("obama", "biden", "alex_lacamoire", "kit_harington")
REVOKED = ("rose_leslie",)
UNCONSENTED = ("rose_leslie", "lin_manuel_miranda", "unknown_child")


@dataclass
class SourceFace:
    person: str
    file: str  # the shared photo it was cut from
    patch: Image.Image  # RGBA head crop with a soft oval mask
    face_center: tuple[float, float]  # face centre inside the patch
    face_side: float  # face box side inside the patch


@dataclass
class PastedFace:
    person: str
    source: str  # the shared photo it was cut from
    box: tuple[float, float, float, float]  # visible face box in the scene (x1, y1, x2, y2)
    side: float  # full face size in pixels (before any cut by the frame)
    angle: float
    blur: float
    cut: bool


@dataclass
class Scene:
    name: str
    kind: str
    image_bytes: bytes
    faces: list[PastedFace] = field(default_factory=list)

    @property
    def all_consented(self) -> bool:
        return all(f.person in CONSENTED for f in self.faces)


def _read(root: Path, relative: str) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image = Image.open(root / relative)
        image.load()
    return ImageOps.exif_transpose(image).convert("RGB")


def _hog_faces(image: Image.Image) -> tuple[list[tuple[int, int, int, int]], float]:
    """HOG face boxes (top, right, bottom, left) in the image's own pixels."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import face_recognition
    factor = min(1.0, 900 / max(image.size))
    small = image.resize((round(image.width * factor), round(image.height * factor)))
    boxes = face_recognition.face_locations(np.asarray(small), number_of_times_to_upsample=1)
    return [tuple(round(v / factor) for v in box) for box in boxes], factor


def _crop_head(
    image: Image.Image, box: tuple[int, int, int, int], person: str, file: str
) -> SourceFace:
    top, right, bottom, left = box
    side = (right - left + bottom - top) / 2
    cx, cy = (left + right) / 2, (top + bottom) / 2
    x1, y1 = max(0, round(cx - 0.95 * side)), max(0, round(cy - 1.25 * side))
    x2, y2 = min(image.width, round(cx + 0.95 * side)), min(image.height, round(cy + 1.05 * side))
    patch = image.crop((x1, y1, x2, y2)).convert("RGBA")
    mask = Image.new("L", patch.size, 0)
    inset = max(2, round(min(patch.size) * 0.04))
    ImageDraw.Draw(mask).ellipse((inset, inset, patch.width - inset, patch.height - inset), 255)
    patch.putalpha(mask.filter(ImageFilter.GaussianBlur(inset)))
    return SourceFace(person, file, patch, (cx - x1, cy - y1), side)


def load_sources(root: Path) -> list[SourceFace]:
    sources = []
    for relative, person in MATERIAL:
        image = _read(root, relative)
        boxes, _ = _hog_faces(image)
        if len(boxes) != 1:
            raise RuntimeError(f"expected one face in {relative}, found {len(boxes)}")
        sources.append(_crop_head(image, boxes[0], person, relative))
    sources.append(_child_face(root))
    return sources


def _child_face(root: Path) -> SourceFace:
    """The child in the group photo is the lowest face (the adults stand behind her)."""
    image = _read(root, CHILD_SOURCE)
    boxes, _ = _hog_faces(image)
    if len(boxes) < 3:
        raise RuntimeError(f"expected three faces in {CHILD_SOURCE}, found {len(boxes)}")
    child = max(boxes, key=lambda b: b[0])
    return _crop_head(image, child, "unknown_child", CHILD_SOURCE)


def reference_photos(root: Path) -> dict[str, list[bytes]]:
    return {
        person: [(root / relative).read_bytes() for relative in paths]
        for person, paths in REFERENCES.items()
    }


# ---------------------------------------------------------------- scenes


def _background(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    base = rng.integers(30, 220, size=3)
    other = rng.integers(30, 220, size=3)
    t = np.linspace(0, 1, width)[None, :, None]
    gradient = base[None, None, :] * (1 - t) + other[None, None, :] * t
    gradient = np.repeat(gradient, height, axis=0)
    noise = rng.normal(0, rng.uniform(6, 22), size=(height, width, 3))
    array = np.clip(gradient + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(array, "RGB")


def _paste(
    canvas: Image.Image,
    source: SourceFace,
    side: float,
    center: tuple[float, float],
    angle: float,
    blur: float,
) -> PastedFace:
    scale = side / source.face_side
    patch = source.patch.resize(
        (max(2, round(source.patch.width * scale)), max(2, round(source.patch.height * scale))),
        Image.LANCZOS,
    )
    fx, fy = source.face_center[0] * scale, source.face_center[1] * scale
    if angle:
        # Rotate about the patch centre; track where the face centre moves.
        pcx, pcy = patch.width / 2, patch.height / 2
        rotated = patch.rotate(angle, resample=Image.BICUBIC, expand=True)
        rad = math.radians(angle)
        dx, dy = fx - pcx, fy - pcy
        fx = rotated.width / 2 + dx * math.cos(rad) + dy * math.sin(rad)
        fy = rotated.height / 2 - dx * math.sin(rad) + dy * math.cos(rad)
        patch = rotated
    if blur:
        patch = patch.filter(ImageFilter.GaussianBlur(blur))
    x, y = round(center[0] - fx), round(center[1] - fy)
    canvas.paste(patch, (x, y), patch)
    half = side / 2
    x1, y1 = max(0.0, center[0] - half), max(0.0, center[1] - half)
    x2, y2 = min(canvas.width, center[0] + half), min(canvas.height, center[1] + half)
    cut = (x2 - x1) < side - 1 or (y2 - y1) < side - 1
    return PastedFace(source.person, source.file, (x1, y1, x2, y2), side, angle, blur, cut)


def _grid(
    rng: np.random.Generator, width: int, height: int, count: int, cell: float
) -> list[tuple[float, float]]:
    cols = max(1, int(width // cell))
    rows = max(1, int(height // cell))
    slots = [(c, r) for r in range(rows) for c in range(cols)]
    # In random order: callers take points from the front and keep the rest as spares.
    chosen = rng.choice(len(slots), size=min(count, len(slots)), replace=False)
    points = []
    for index in chosen:
        c, r = slots[index]
        jitter = rng.uniform(-0.12, 0.12, size=2) * cell
        points.append(((c + 0.5) * cell + jitter[0], (r + 0.5) * cell + jitter[1]))
    return points


def _intersects(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _scene(
    rng: np.random.Generator,
    name: str,
    kind: str,
    sources: list[SourceFace],
    people: list[str],
    count: int,
    size: tuple[float, float],
    angle: tuple[float, float],
    blur: tuple[float, float],
    canvas_size: tuple[int, int] = (1600, 1000),
    edge_cuts: int = 0,
) -> Scene:
    width, height = canvas_size
    canvas = _background(rng, width, height)
    by_person: dict[str, list[SourceFace]] = {}
    for source in sources:
        by_person.setdefault(source.person, []).append(source)
    cell = size[1] * 2.2
    faces = []
    heads: list[tuple[float, float, float, float]] = []
    # Spare grid points: a face whose head would cover another one moves on to the next point,
    # so every listed person (above all the unconsented ones) lands in the scene.
    queue = list(people[:count])
    for center in _grid(rng, width, height, count * 2, cell):
        if not queue:
            break
        person = queue[0]
        source = by_person[person][int(rng.integers(len(by_person[person])))]
        side = float(rng.uniform(*size))
        magnitude = float(rng.uniform(*angle))
        turn = magnitude * (1 if rng.random() < 0.5 else -1)
        sigma = float(rng.uniform(*blur))
        placed = len(faces)
        if placed < edge_cuts:
            # Push the face over an edge so that 25-40 % of it is outside the frame.
            outside = float(rng.uniform(0.25, 0.40)) * side
            edge = placed % 4
            cx, cy = center
            if edge == 0:
                cx = side / 2 - outside
            elif edge == 1:
                cx = width - side / 2 + outside
            elif edge == 2:
                cy = side / 2 - outside
            else:
                cy = height - side / 2 + outside
            center = (cx, cy)
        # Heads must not cover one another, or the ground truth would list hidden faces.
        head = (center[0] - side, center[1] - 1.3 * side, center[0] + side, center[1] + 1.1 * side)
        if any(_intersects(head, other) for other in heads):
            continue
        heads.append(head)
        faces.append(_paste(canvas, source, side, center, turn, sigma))
        queue.pop(0)
    missing = [p for p in queue if p not in CONSENTED]
    if missing:
        raise RuntimeError(f"scene {name}: no room left for {missing}; use a larger canvas")
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=90)
    return Scene(name, kind, buffer.getvalue(), faces)


def build_scenes(root: Path, seed: int = 20240611, scale: float = 1.0) -> list[Scene]:
    """The hard-case set. `scale` multiplies the number of scenes of each kind."""
    rng = np.random.default_rng(seed)
    sources = load_sources(root)
    consented = list(CONSENTED)

    def n(count: int) -> int:
        return max(1, round(count * scale))

    scenes: list[Scene] = []

    def mix(unconsented: int, total: int) -> list[str]:
        people = [consented[int(rng.integers(len(consented)))] for _ in range(total)]
        for slot in rng.choice(total, size=unconsented, replace=False):
            people[slot] = UNCONSENTED[int(rng.integers(len(UNCONSENTED)))]
        return people

    # All-consented class photos: the over-blocking measure.
    for i in range(n(20)):
        count = int(rng.integers(20, 25))
        scenes.append(
            _scene(rng, f"class-consented-{i}", "class-consented", sources,
                   mix(0, count), count, (60, 100), (0, 12), (0, 0.8))
        )  # fmt: skip
    # The same with one unconsented face hidden among them: must be withheld.
    for i in range(n(6)):
        count = int(rng.integers(20, 25))
        scenes.append(
            _scene(rng, f"class-mixed-{i}", "class-mixed", sources,
                   mix(1, count), count, (45, 95), (0, 20), (0, 1.2))
        )  # fmt: skip
    for i in range(n(4)):
        count = 24
        scenes.append(
            _scene(rng, f"small-{i}", "small", sources,
                   mix(2, count), count, (30, 50), (0, 10), (0, 0.6), (1400, 900))
        )  # fmt: skip
    for i in range(n(3)):
        count = 30
        scenes.append(
            _scene(rng, f"tiny-{i}", "tiny", sources,
                   mix(2, count), count, (20, 32), (0, 25), (0.5, 1.5), (1400, 900))
        )  # fmt: skip
    for i in range(n(4)):
        count = 10
        scenes.append(
            _scene(rng, f"tilted-{i}", "tilted", sources,
                   mix(1 + i % 2, count), count, (70, 120), (15, 35), (0, 0.5), (1400, 900))
        )  # fmt: skip
    for i in range(n(3)):
        count = 8
        scenes.append(
            _scene(rng, f"sideways-{i}", "sideways", sources,
                   mix(1, count), count, (80, 120), (40, 60), (0, 0.5), (1400, 900))
        )  # fmt: skip
    for i in range(n(4)):
        count = 10
        scenes.append(
            _scene(rng, f"blurred-{i}", "blurred", sources,
                   mix(1 + i % 2, count), count, (60, 110), (0, 10), (1.5, 3.0), (1400, 900))
        )  # fmt: skip
    for i in range(n(4)):
        count = 8
        scenes.append(
            _scene(rng, f"edge-{i}", "edge", sources,
                   mix(1 + i % 2, count), count, (80, 130), (0, 15), (0, 0.6), (1400, 900),
                   edge_cuts=4)
        )  # fmt: skip
    # Camera-sized photos: small faces that a scaled-down detection pass shrinks too far.
    for i in range(n(2)):
        count = 60
        scenes.append(
            _scene(rng, f"large-{i}", "large", sources,
                   mix(2, count), count, (26, 40), (0, 12), (0, 0.6), (5000, 3400))
        )  # fmt: skip
    return scenes
