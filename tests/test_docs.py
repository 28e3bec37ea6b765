"""The README's and the documentation site's code runs as pasted: each page's Python blocks
execute top to bottom in a fresh interpreter, every ``ued`` command line parses and validates
(without training for minutes), its ``make`` targets exist, and the corridor and dual-clip
examples are the ones the tests train. The site builds with ``mkdocs build --strict`` (a broken
link or anchor, a docstring reference that does not resolve, a page missing from the nav
fails it), its API reference lists every public module, class and function with its docstring,
and the README's links resolve."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import re
import shlex
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
# The README and every page of the site (the notebooks folder is a link to ../notebooks).
SITE_PAGES = sorted(p for p in DOCS.rglob("*.md") if p.relative_to(DOCS).parts[0] != "notebooks")
PAGES = [ROOT / "README.md", *SITE_PAGES]


def blocks(language: str, pages=PAGES) -> list[str]:
    """The fenced code blocks of ``language`` on ``pages``, in order."""
    return [
        block
        for page in pages
        for block in re.findall(rf"```{language}\n(.*?)```", page.read_text(), flags=re.S)
    ]


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


# What each page's code leaves behind: the examples a new user tries, and the runs they train.
EXPECTED = {
    "docs/guide/python-api.md": ["runs/report"],
    "docs/extending/environment.md": ["runs/corridor-eval.csv"],
    "docs/extending/curriculum.md": ["runs/fixed-set/metrics.csv"],
    "docs/extending/learner.md": ["runs/dual-clip/metrics.csv"],
}


@pytest.mark.parametrize("page", [p for p in PAGES if blocks("python", [p])], ids=_name)
def test_python_blocks_run_top_to_bottom(page, tmp_path):
    """Each page's Python blocks, joined, run in a fresh interpreter in an empty folder."""
    script = "\n\n".join(blocks("python", [page]))
    (tmp_path / "page.py").write_text(script)
    done = subprocess.run(
        [sys.executable, "page.py"], cwd=tmp_path, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-4000:]
    for path in EXPECTED.get(_name(page), []):
        assert (tmp_path / path).exists(), path


def test_every_page_with_code_is_expected_and_runs_what_a_new_user_tries():
    assert sorted(_name(p) for p in PAGES if blocks("python", [p])) == sorted(EXPECTED)
    assert "env.step(jax.random.key(2), state, 2)" in "".join(blocks("python"))


def test_the_corridor_and_dual_clip_examples_are_the_tested_ones():
    corridor = (ROOT / "tests" / "corridor_env.py").read_text()
    example = next(b for b in blocks("python") if "class Corridor(Environment)" in b)
    assert example in corridor
    learner = (ROOT / "tests" / "dualclip_learner.py").read_text()
    example = next(b for b in blocks("python") if "class DualClip(ClippedSurrogate)" in b)
    assert example in learner


def _commands() -> list[list[str]]:
    lines = []
    for block in blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():  # join continued lines
            line = line.split("  #")[0].strip()
            if line.startswith((".venv/bin/ued ", "make ")):
                lines.append(shlex.split(line))
    return lines


@pytest.mark.parametrize("argv", _commands(), ids=lambda argv: " ".join(argv)[:60])
def test_command_lines_parse_and_validate(argv, tmp_path, monkeypatch):
    """``make`` targets exist; ``ued train`` and ``ued meta-train`` lines build and validate
    their config strictly (an unknown option fails; a resume's options are checked against the
    preset's config; a ``--ppo.rule`` file, which meta-training writes, is made for the line
    in a scratch folder); the other commands' lines parse."""
    import tyro

    from ued.app import cli
    from ued.drift import LearnedDrift, save_rule

    if "--ppo.rule" in argv:
        monkeypatch.chdir(tmp_path)
        drift = LearnedDrift()
        save_rule(Path(argv[argv.index("--ppo.rule") + 1]), drift, drift.zero_rule())

    if argv[0] == "make":
        assert re.search(rf"^{argv[1]}:", (ROOT / "Makefile").read_text(), flags=re.M)
        return
    command, args = argv[1], argv[2:]
    if command == "train":
        parsed, overrides = tyro.cli(cli.TrainArgs, args=args, return_unknown_args=True)
        if parsed.help_config:  # prints every field with its preset value, then exits
            with pytest.raises(SystemExit) as exit_info:
                cli.run_config(parsed, overrides)
            assert exit_info.value.code == 0
        else:  # a resume's options must be config fields too (the run itself is not read)
            cli.run_config(dataclasses.replace(parsed, resume=None), overrides)
    elif command == "eval":
        tyro.cli(cli.EvalArgs, args=args)
    elif command == "meta-train":
        parsed, overrides = tyro.cli(cli.MetaTrainArgs, args=args, return_unknown_args=True)
        if parsed.help_config:
            with pytest.raises(SystemExit) as exit_info:
                cli.run_config(parsed, overrides)
            assert exit_info.value.code == 0
        else:
            cli.run_config(dataclasses.replace(parsed, resume=None), overrides)
    elif command == "meta-eval":
        tyro.cli(cli.MetaEvalArgs, args=args)
    elif command == "report":
        tyro.cli(cli.ReportArgs, args=args)
    elif command == "ship":
        tyro.cli(cli.ShipArgs, args=args)
    else:
        assert command == "bench"
        tyro.cli(cli.BenchArgs, args=args)


# ---- the site --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site built as ``make docs`` builds it (``--strict``: any warning fails)."""
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    return out


def inventory(site: Path) -> set[str]:
    """The names the API reference documents (mkdocstrings' Sphinx inventory)."""
    header, _, body = (site / "objects.inv").read_bytes().partition(b"compressed using zlib.\n")
    assert header.startswith(b"# Sphinx inventory version 2")
    return {line.split(" ", 1)[0] for line in zlib.decompress(body).decode().splitlines()}


def public_names() -> dict[str, object]:
    """``{dotted name: object}``: every public module of ``ued``, ``envs`` and ``algorithms``, and
    the public classes and functions each defines (its ``__all__`` where it has one)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from docs_hooks import public_modules
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    names = {}
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        names[module_name] = module
        exported = getattr(module, "__all__", None)
        for name, value in vars(module).items():
            if name.startswith("_") or (exported is not None and name not in exported):
                continue
            if (inspect.isclass(value) or inspect.isfunction(value)) and (
                value.__module__ == module_name
            ):
                names[f"{module_name}.{name}"] = value
    return names


def own_docstring(value) -> str | None:
    """The docstring written for ``value`` (not one a dataclass made up from its fields)."""
    doc = value.__dict__.get("__doc__") if inspect.isclass(value) else value.__doc__
    if inspect.isclass(value) and doc and doc.startswith(value.__name__ + "("):
        return None
    return doc


def test_site_builds_strictly_with_every_page_and_notebook(site):
    for page in ("index.html", "curricula/plr/index.html", "api/ued.buffer/index.html"):
        assert (site / page).is_file(), page
    for notebook in ("quickstart", "level_distributions", "zero_shot_transfer"):
        html = (site / "notebooks" / notebook / "index.html").read_text()
        assert "data:image/png;base64" in html, notebook  # rendered with its figures


def test_api_reference_lists_every_public_name_with_its_docstring(site):
    documented = inventory(site)
    names = public_names()
    assert len(names) > 300  # the packages were found
    assert sorted(set(names) - documented) == []
    assert sorted(n for n, v in names.items() if not own_docstring(v)) == []


def test_readme_links_resolve():
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if not re.match(r"[a-z]+://", t)]
    assert len(local) > 30
    assert [t for t in local if not (ROOT / t).exists()] == []
