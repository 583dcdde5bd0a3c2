"""Staff directory: the office's CSV export in content/data/staff/, grouped by department.

Pelican glue only; the work is in directory.py. Templates read `staff` (a
directory.Directory). The build writes a page per department (staff-directory/<slug>/) and
copies the photos the CSV names into the output as ordinary files: the consent gate checks
them like every other image, and withholds any it cannot pass.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path

from pelican import signals
from pelican.generators import Generator

from .settings import StaffSettings, publish_defaults

logger = logging.getLogger(__name__)


def set_defaults(pelican) -> None:
    publish_defaults(pelican.settings)


class StaffGenerator(Generator):
    """Reads the directory into the context, then writes department pages and photos."""

    def generate_context(self) -> None:
        from school_feeds.pages import PluginPage, declare

        from .directory import load_directory

        config = StaffSettings.from_mapping(self.settings)
        folder = Path(self.settings["PATH"]) / config.path
        directory = load_directory(folder, config.departments)
        for problem in directory.problems:
            logger.warning("Staff directory: %s", problem)
        for department in directory.departments:
            department.url = config.department_url.format(slug=department.slug)
            department.members = [
                _with_photo_url(member, folder, config) for member in department.members
            ]
        self.context["staff"] = directory
        self.pages = declare(
            self,
            (
                PluginPage(
                    config.department_save_as.format(slug=d.slug),
                    "staff_department",
                    {"department": d},
                )
                for d in directory.departments
            ),
        )
        logger.info(
            "staff_directory: %d people in %d departments from %d file(s)",
            directory.count,
            len(directory.departments),
            len(directory.files),
        )

    def generate_output(self, writer) -> None:
        from school_feeds.pages import write

        directory = self.context.get("staff")
        if directory is None:
            return
        write(self, writer, self.pages)
        output = Path(self.output_path)
        for department in directory.departments:
            for member in department.members:
                if member.photo is not None:
                    target = output / member.photo_url
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(member.photo, target)


def _with_photo_url(member, folder: Path, config: StaffSettings):
    if member.photo is None:
        return member
    name = member.photo.relative_to(folder.resolve()).as_posix()
    return replace(member, photo_url=config.photo_save_as.format(name=name))


def get_generators(pelican):
    return StaffGenerator


def register():
    signals.initialized.connect(set_defaults)
    signals.get_generators.connect(get_generators)
