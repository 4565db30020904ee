"""The jinja2 environment of the release templates (``templates/`` of a checkout, or inside the wheel).

Autoescaping is on for every template, Markdown included: card and model texts cannot inject markup. Markdown
table cells additionally go through the ``md`` filter (pipes escaped, newlines folded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchkit.errors import BenchkitError, Problem


def templates_dir() -> Path:
    from benchkit.cards.catalog import builtin_root

    return builtin_root() / "templates"


def md_cell(value: Any) -> str:
    from markupsafe import Markup, escape

    text = " ".join(str(value).split())
    return Markup(str(escape(text)).replace("|", "\\|"))


def render(name: str, **context: Any) -> str:
    import jinja2

    folder = templates_dir()
    if not (folder / name).is_file():
        raise BenchkitError(Problem("release template not found", file=str(folder / name),
                                    hint="reinstall benchkit, or restore templates/ in the checkout"))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["md"] = md_cell
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as err:
        raise BenchkitError(Problem(f"template error: {err.message}", file=str(folder / name), line=err.lineno)) from None
