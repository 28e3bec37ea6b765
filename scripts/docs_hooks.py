"""MkDocs hooks (``mkdocs.yml``: ``hooks``): the API reference, one page per public module of
``ued``, ``envs`` and ``algorithms``, generated at build time from the package tree and added
to the nav, so a new module is documented without editing the site; and the settings tables of
the curriculum pages, read from the config classes and presets."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import textwrap
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


# ---- settings tables -------------------------------------------------------------------------
# A page line ``{{ settings train robust-plr maze }}`` (``meta groove gridworld``; ``env maze``)
# becomes a table of that curriculum's (or env family's) settings: each field's default, its
# value at the presets and its docstring, read from the config classes, so the pages cannot
# drift from the code.
SETTINGS = re.compile(r"^\{\{ settings (train|meta|env) ([\w-]+)(?: ([\w-]+))? \}\}$", re.M)
PRESETS = {"train": ("paper", "cpu"), "meta": ("reference", "cpu"), "env": ("paper", "cpu")}


def attribute_docs(cls) -> dict[str, str]:
    """``{field: docstring}`` of a dataclass's attribute docstrings (the string after each
    annotated field), its bases' included."""
    docs = {}
    for klass in reversed(cls.__mro__[:-1]):
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body
        for field, after in zip(body, [*body[1:], None], strict=True):
            if (
                isinstance(field, ast.AnnAssign)
                and isinstance(field.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[field.target.id] = " ".join(inspect.cleandoc(after.value.value).split())
    return docs


def _flat(value) -> bool:
    """A nested config shown field by field: a dataclass of at most 16 plain fields."""
    fields = dataclasses.fields(value)
    return len(fields) <= 16 and not any(
        dataclasses.is_dataclass(getattr(value, f.name)) for f in fields
    )


def _rows(default, presets: dict, prefix: str = ""):
    """``(option, default, {preset: value}, doc)`` for every field, nested configs flattened."""
    docs = attribute_docs(type(default))
    for field in dataclasses.fields(default):
        if field.name.isupper():
            continue
        value = getattr(default, field.name)
        name = prefix + field.name
        at = {p: getattr(c, field.name) for p, c in presets.items()}
        if dataclasses.is_dataclass(value) and _flat(value):
            yield from _rows(value, at, name + ".")
        elif dataclasses.is_dataclass(value):
            kind = type(value)
            yield (
                name,
                "",
                {},
                (
                    f"{docs.get(field.name, '')} Its fields: `{kind.__module__}.{kind.__name__}`"
                    " in the API reference; `--help-config` prints their values."
                ),
            )
        else:
            yield name, value, at, docs.get(field.name, "")


def _cell(value) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return f"`{text}`".replace("|", "\\|")


def settings_table(kind: str, name: str, env: str | None = None) -> str:
    """The Markdown table of a (meta-)curriculum's settings (``kind`` train or meta: algorithm
    ``name`` on ``env``) or of an env family's (``env``: ``name``) at its defaults and presets."""
    from ued.errors import ConfigError

    if kind == "meta":
        from ued.meta.config import preset
    else:
        from ued.app.build import preset
    configs = {}
    for preset_name in PRESETS[kind]:
        try:
            if kind == "env":
                configs[preset_name] = preset("dr", name, preset_name).env_config
            else:
                configs[preset_name] = preset(name, env, preset_name).curriculum
        except ConfigError:  # a preset this algorithm does not have
            continue
    default = type(next(iter(configs.values())))()
    header = ["setting", "default", *configs, "meaning"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, value, at, doc in _rows(default, configs):
        cells = [f"`{name.replace('_', '-')}`", _cell(value) if at else ""]
        cells += [_cell(at[p]) if at else "" for p in configs]
        lines.append("| " + " | ".join([*cells, doc.replace("|", "\\|")]) + " |")
    return "\n".join(lines) + "\n"


def on_page_markdown(markdown, page, config, files):
    """Expands the settings tables."""
    return SETTINGS.sub(lambda m: settings_table(*m.groups()), markdown)
