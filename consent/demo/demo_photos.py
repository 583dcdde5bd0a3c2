"""Copy the demo's reference photos from installed packages into a folder per demo id.

    python consent/demo/demo_photos.py /tmp/demo-photos

The photos are sample images shipped with scikit-image and matplotlib (dev dependencies);
they are copied at demo time and never committed.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

# demo id -> (package, path inside the package)
DEMO_PHOTOS = {
    "DEMO-0001": ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
    "DEMO-0002": ("skimage", "data/astronaut.png"),
}


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{package} is not installed: run `uv sync` (it is a dev dependency)")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise SystemExit(f"the sample photo {path} is missing: reinstall {package}")
    return path


def copy_demo_photos(target: Path) -> list[Path]:
    copied = []
    for demo_id, (package, relative) in DEMO_PHOTOS.items():
        source = _package_file(package, relative)
        folder = Path(target) / demo_id
        folder.mkdir(parents=True, exist_ok=True)
        copied.append(Path(shutil.copyfile(source, folder / source.name)))
    return copied


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    for path in copy_demo_photos(Path(sys.argv[1])):
        print(path)
