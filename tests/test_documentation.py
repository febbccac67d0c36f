"""The documentation is short where it should be, its links lead somewhere, and every command it shows runs
(issue 27): a recipe run is validated, other ``python -m core`` commands and benchmark scripts answer
``--help``. The two set-up commands themselves are what CI runs."""

from __future__ import annotations

import importlib.util
import re
import runpy
import shlex
import sys
from pathlib import Path

import pytest

from core.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "ARCHITECTURE.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
#: A command shown in the docs: in a code span or a line of a fenced block.
COMMAND = re.compile(r"python (?:-m (core(?:\.[\w.]+)?)|(benchmarks/\w+\.py))((?: [^`\n&|;]*)?)")


def test_the_readme_is_short() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 220


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", lambda m: "_" if m.group(0) == "_" else "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def links() -> list[tuple[Path, str]]:
    """(page, target) of every relative link of the pages."""
    found = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if not re.match(r"[a-z]+:", target):
                found.append((page, target))
    return found


@pytest.mark.parametrize(("page", "target"), links(), ids=lambda value: getattr(value, "name", value))
def test_every_relative_link_resolves(page: Path, target: str) -> None:
    path, _, anchor = target.partition("#")
    destination = (page.parent / path).resolve() if path else page
    assert destination.exists(), f"{page.name}: link to {target}: no such file"
    if anchor and destination.suffix == ".md":
        anchors = {slug(line.lstrip("#")) for line in destination.read_text().splitlines() if line.startswith("#")}
        assert anchor in anchors, f"{page.name}: link to {target}: no such heading"


def documented_commands() -> list[tuple[str, str, tuple[str, ...]]]:
    """Distinct (module or script, subcommand, arguments) of every command the pages show."""
    seen: dict[tuple[str, str], tuple[str, ...]] = {}
    for page in PAGES:
        for module, script, rest in COMMAND.findall(page.read_text()):
            try:
                arguments = tuple(shlex.split(rest))
            except ValueError:                    # a span cut mid-quote: the command's name is enough
                arguments = tuple(rest.split())
            target = module or script
            subcommand = arguments[0] if module == "core" and arguments and not arguments[0].startswith("-") else ""
            if target == "core" and subcommand in ("run", "validate"):
                recipe = next((a for a in arguments[1:] if a.endswith(".yaml")), None)
                if recipe is None or not (ROOT / recipe).is_file():
                    continue                     # a placeholder (RECIPE) or a recipe of the user's
                seen.setdefault((target, f"validate {recipe}"), arguments)
            else:
                seen.setdefault((target, subcommand), arguments)
    return [(target, subcommand, arguments) for (target, subcommand), arguments in sorted(seen.items())]


def test_the_pages_show_commands() -> None:
    names = {target for target, _, _ in documented_commands()}
    assert "core" in names and sum(name.startswith("benchmarks/") for name in names) >= 10


@pytest.mark.parametrize(("target", "subcommand", "arguments"), documented_commands(),
                         ids=lambda value: value if isinstance(value, str) else None)
def test_every_documented_command_runs(target: str, subcommand: str, arguments: tuple[str, ...],
                                       monkeypatch) -> None:
    """Recipes validate (``--anywhere``: engines this machine lacks are listed, options still checked);
    everything else answers ``--help`` with exit 0."""
    if subcommand.startswith("validate "):
        assert main(["validate", str(ROOT / subcommand.split(" ", 1)[1]), "--anywhere"]) == 0
        return
    if target == "core":
        command = [subcommand, "--help"] if subcommand else ["--help"]
        with pytest.raises(SystemExit) as exited:
            main(command)
        assert exited.value.code == 0
        return
    monkeypatch.chdir(ROOT)
    if target.startswith("benchmarks/"):
        monkeypatch.setattr(sys, "argv", [target, "--help"])
        with pytest.raises(SystemExit) as exited:
            runpy.run_path(str(ROOT / target), run_name="__main__")
    else:                                        # python -m core.something: its file, as __main__
        origin = importlib.util.find_spec(target).origin
        monkeypatch.setattr(sys, "argv", [origin, "--help"])
        with pytest.raises(SystemExit) as exited:
            runpy.run_path(origin, run_name="__main__")
    assert exited.value.code in (0, None)
