"""MkDocs hooks (``mkdocs.yml``: ``hooks``): the API reference, one page per public module of
``ued``, ``envs`` and ``algorithms``, generated at build time from the package tree and added
to the nav, so a new module is documented without editing the site."""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ued", "envs", "algorithms")


def public_modules() -> list[str]:
    """Dotted names of every module and package under ``PACKAGES`` whose path has no part
    starting with an underscore (``__init__`` stands for its package), sorted."""
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if not any(part.startswith("_") for part in parts):
                names.append(".".join(parts))
    return sorted(names)


def page_of(module: str) -> str:
    """The API page of a module, relative to the docs folder."""
    return f"api/{module}.md"


def page_text(module: str) -> str:
    """A module's page: its docstring and public members (a package's page lists only its own
    docstring and members defined in its ``__init__``, not what it re-exports)."""
    return f"::: {module}\n    options:\n      show_root_heading: true\n      heading_level: 1\n"


def on_config(config):
    """Appends the API reference to the nav: the index, then a section per top-level package."""
    sections = [{"Overview": "api/index.md"}]
    for package in PACKAGES:
        modules = [m for m in public_modules() if m == package or m.startswith(package + ".")]
        sections.append({package: [{m: page_of(m)} for m in modules]})
    config["nav"].append({"API reference": sections})
    return config


def on_files(files, config):
    """Adds the generated module pages to the site's files."""
    for module in public_modules():
        files.append(File.generated(config, page_of(module), content=page_text(module)))
    return files
