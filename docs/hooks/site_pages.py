"""mkdocs hook: the site's pages come from the repository, never from copies of it.

At build time, in memory (nothing is written into the checkout):

- the README becomes the home page ``index.md`` (its ``docs/...`` links pointed
  at the site's pages, mentions of ``notebooks/*.ipynb`` linked to the rendered
  notebook); the guide (``docs/guide/``) and ``docs/benchmarks.md`` are pages of
  their own, written for the site;
- ``api/index.md`` documents the facade ``attn_widget`` (its ``__all__``) and
  the top-level modules, and ``api/<layer>.md`` every public module of each
  layer subpackage, found on disk, so a new module is documented at once;
- the notebooks under ``notebooks/`` become pages for mkdocs-jupyter, which
  renders them without running them.

A guide page or a layer added or renamed gives a page missing from (or stale
in) ``nav`` in ``mkdocs.yml``, and a README link to a page that is not there a
link not found; its ``validation`` settings make both warnings, so
``mkdocs build --strict`` fails until they are mended.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "attn_widget"
NOTEBOOK_MENTION = re.compile(r"(?<!\[)`(notebooks/[\w.-]+\.ipynb)`")
FACADE_SOURCE = "api"
"""The module the facade takes its functions from; only those the facade cannot show are shown there."""


# ------------------------------------------------------------------- README -> home
def relink(markdown: str, depth: int) -> str:
    """README links made the site's: ``docs/x`` -> ``x`` from the page's folder; notebooks -> their pages."""
    up = "../" * depth
    markdown = markdown.replace("](docs/", f"]({up}")

    def link(match: re.Match[str]) -> str:
        path = match.group(1)
        return f"[`{path}`]({up}{path})" if (ROOT / path).is_file() else match.group(0)

    return NOTEBOOK_MENTION.sub(link, markdown)


def home_page(readme: str) -> dict[str, str]:
    """``{"index.md": markdown}``: the README as the site's home page, its links made the site's."""
    return {"index.md": relink(readme, depth=0)}


# ------------------------------------------------------------------- the API pages
def public_modules(folder: Path) -> list[str]:
    """Dotted names of the public modules below ``folder`` (none of whose parts start with ``_``)."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if not any(part.startswith("_") for part in parts):
            found.append(".".join(parts))
    return found


def facade_names() -> list[str]:
    """``attn_widget.__all__`` (read from the source, without importing the package)."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
            return [n for n in ast.literal_eval(node.value) if not n.startswith("__")]
    raise ValueError("attn_widget/__init__.py has no __all__ list")


def directive(name: str, **options: Any) -> str:
    lines = [f"::: {name}"]
    if options:
        lines.append("    options:")
        lines += [f"      {key}: {json.dumps(value)}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


def api_pages() -> dict[str, str]:
    """``api/index.md`` (the facade and the top-level modules) and ``api/<layer>.md`` per subpackage."""
    names = facade_names()
    # `attn_widget.explain` is a facade function and a layer subpackage: griffe sees the subpackage,
    # so such a function is shown under attn_widget.api, where the facade takes it from.
    shadowed = [n for n in names if (PACKAGE / n).is_dir() or (PACKAGE / f"{n}.py").is_file()]
    body = [directive("attn_widget", members=[n for n in names if n not in shadowed], show_submodules=False)]
    for path in sorted(PACKAGE.glob("[!_]*.py")):
        name = f"attn_widget.{path.stem}"
        body.append(directive(name, members=shadowed) if path.stem == FACADE_SOURCE else directive(name))
    pages = {"api/index.md": "# attn_widget\n\n" + "\n".join(body)}
    for init in sorted(PACKAGE.glob("[!_]*/__init__.py")):
        layer = init.parent.name
        modules = [m for m in public_modules(init.parent) if m != f"attn_widget.{layer}"]
        body = [directive(f"attn_widget.{layer}", members=False, show_root_heading=False)]
        body += [directive(module, show_submodules=False) for module in modules]
        pages[f"api/{layer}.md"] = f"# attn_widget.{layer}\n\n" + "\n".join(body)
    return pages


# ----------------------------------------------------------------------- the hook
@event_priority(100)  # before mkdocs-jupyter wraps the notebooks it finds among the files
def on_files(files: Files, config: Any) -> Files:
    pages = {**home_page((ROOT / "README.md").read_text(encoding="utf-8")), **api_pages()}
    for path, content in pages.items():
        files.append(File.generated(config, path, content=content))
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        src = notebook.relative_to(ROOT).as_posix()
        files.append(File(src, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files
