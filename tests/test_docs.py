"""The docs work from a fresh checkout: a short README that sends each reader to a page of
docs/, links that resolve, and every shell command in them checked: a `make` target exists
in the Makefile, and a project program (`consent`, `publish`, `pelican`, `python -m ...`)
accepts its subcommand and every option the docs give it (against its own `--help`)."""

from __future__ import annotations

import functools
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
ROLE_PAGES = {
    "webmaster.md",
    "food-service.md",
    "athletics.md",
    "consent-office.md",
    "deploying.md",
    "settings.md",
}
# Programs of the system or of other tools, named in the docs but not the project's own.
OTHER_PROGRAMS = {
    "apt-get", "aws", "cat", "cd", "chmod", "chown", "cp", "crontab", "curl", "export", "git",
    "grep", "journalctl", "ln", "ls", "mkdir", "mv", "npm", "openssl", "pybabel", "rm",
    "sqlite3", "sudo", "systemctl", "systemd-analyze", "tar", "uvx", "echo", "install",
    "nginx", "caddy", "certbot", "useradd", "xdg-open", "open", "source", "test", "faketime",
}  # fmt: skip
PROJECT_PROGRAMS = {"consent", "publish", "pelican"}


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def shell_commands(path: Path) -> list[str]:
    """Command lines of the ```sh / ```bash / ```console blocks (comments and prompts off,
    continued lines joined)."""
    commands, block, pending = [], False, ""
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("```"):
            block = not block and line.strip().removeprefix("```") in ("sh", "bash", "console")
            continue
        if not block:
            continue
        text = re.sub(r"(^|\s)#.*$", "", line).strip().removeprefix("$ ").strip()
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        text, pending = (pending + text).strip(), ""
        if text:
            commands.append(text)
    return commands


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9_.-]+):", text, flags=re.MULTILINE))


@functools.cache
def help_text(*argv: str) -> str:
    proc = subprocess.run([*argv, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{' '.join(argv)} --help failed:\n{proc.stdout}{proc.stderr}"
    return proc.stdout


def unwrap(words: list[str]) -> list[str]:
    """The command itself: without VAR=value before it and `uv run [--frozen]`."""
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        words = words[1:]
    if words[:2] == ["uv", "run"]:
        words = [w for w in words[2:] if w != "--frozen"]
    return words


def program_argv(words: list[str]) -> tuple[list[str], list[str]] | None:
    """(the project program to run, its arguments), else None."""
    name = words[0].removeprefix(".venv/bin/")
    if name in PROJECT_PROGRAMS:
        return [str(Path(sys.executable).with_name(name))], words[1:]
    if name == "python" and words[1:2] == ["-m"]:
        return [sys.executable, "-m", words[2]], words[3:]
    return None


def subcommands(help_output: str) -> set[str]:
    """The subcommands a --help lists: argparse's (`publish`) {a,b,c} and the indented
    names under it, click's (`consent`) the names under "Commands:"."""
    names = set(re.findall(r"(?m)^ {4}([\w-]+)(?: {2,}|$)", help_output))
    for group in re.findall(r"\{([\w,-]+)\}", help_output):
        names |= set(group.split(","))
    commands = help_output.partition("\nCommands:\n")[2]
    names |= set(re.findall(r"(?m)^ {2}(\w[\w-]*)(?: {2,}|$)", commands))
    return names


def check(command: str) -> str | None:
    """A problem with one documented command, or None."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    cut = next((i for i, w in enumerate(words) if w in ("|", "&&", "||", ";")), len(words))
    words = unwrap(words[:cut])
    if not words:
        return None
    if words[0] == "make":
        targets = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        missing = [t for t in targets if t not in make_targets()]
        return f"no make target {missing}" if missing else None
    found = program_argv(words)
    if found is None:
        first = words[0]
        if first in OTHER_PROGRAMS or first.startswith(("./", "/")):
            return None
        return f"unknown program {first!r}: add it to OTHER_PROGRAMS or use a make target"
    argv, rest = found
    chain: list[str] = []
    text = help_text(*argv)
    while rest and not rest[0].startswith("-") and rest[0] in subcommands(text):
        chain.append(rest.pop(0))
        text = help_text(*argv, *chain)
    unknown = [
        option.split("=")[0]
        for option in rest
        if option.startswith("--") and option.split("=")[0] not in text
    ]
    if unknown:
        return f"{' '.join([Path(argv[-1]).name, *chain])}: options not in --help: {unknown}"
    return None


def test_readme_is_short_and_sends_every_reader_to_a_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 150
    assert "make demo" in readme and "make test" in readme
    linked = set(re.findall(r"\]\(docs/([\w-]+\.md)\)", readme))
    assert linked >= ROLE_PAGES, ROLE_PAGES - linked
    assert linked <= {p.name for p in DOCS.glob("*.md")}


def test_every_relative_link_resolves():
    broken = []
    for path in doc_files():
        for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
            if re.match(r"^(https?:|mailto:|#|\{|\.\.\.)", target):
                continue
            if not (path.parent / target.split("#")[0]).exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert not broken


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: p.name)
def test_shell_commands_exist_and_take_their_options(path):
    problems = [
        f"{command!r}: {problem}" for command in shell_commands(path) if (problem := check(command))
    ]
    assert not problems, "\n".join(problems)
