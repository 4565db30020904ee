"""The jinja2 environments of the release templates (``templates/`` of the benchmark repository, of a checkout, or
inside the wheel).

Escaping follows the output format. HTML templates autoescape. Markdown templates are not HTML-escaped (an apostrophe
stays an apostrophe): every ``{{ }}`` output has ``<`` and ``>`` written as ``&lt;``/``&gt;``, so card and model texts
cannot inject HTML tags (Markdown renders both as the characters), and table cells additionally go through the
``md`` filter (pipes escaped, newlines folded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchkit.errors import BenchkitError, Problem

RELEASE_TEMPLATES = ("leaderboard.html.j2", "leaderboard.md.j2", "datasheet.md.j2")
MARKDOWN = (".md.j2", ".md")


def templates_dir(root: Path | None = None) -> Path:
    """``<root>/templates`` when it holds every release template (root: the current directory, where ``dvc repro``
    runs the release): a benchmark repository's own, found first like its ``tasks/``; else the built-in ones."""
    own = (root or Path.cwd()) / "templates"
    if all((own / name).is_file() for name in RELEASE_TEMPLATES):
        return own.resolve()
    from benchkit.files import builtin_root

    return builtin_root() / "templates"


def md_text(value: Any) -> str:
    """Every output of a Markdown template: no HTML tags (text already escaped, Markup, passes as is)."""
    from markupsafe import Markup

    if isinstance(value, Markup):
        return value
    return str(value).replace("<", "&lt;").replace(">", "&gt;")


def md_cell(value: Any) -> str:
    """A Markdown table cell: one line, pipes escaped, no HTML tags."""
    from markupsafe import Markup

    return Markup(md_text(" ".join(str(value).split())).replace("|", "\\|"))


def render(name: str, **context: Any) -> str:
    import jinja2

    from benchkit.files import builtin_root

    folder = templates_dir()
    # a benchmark's own templates first; what it lacks (pages added since it copied them, shared partials) comes
    # from benchkit's own
    search = list(dict.fromkeys([folder, (builtin_root() / "templates").resolve()]))
    if not any((where / name).is_file() for where in search):
        raise BenchkitError(Problem("release template not found", file=str(folder / name),
                                    hint="reinstall benchkit, or restore templates/ in the checkout"))
    markdown = name.endswith(MARKDOWN)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(f) for f in search]), autoescape=not markdown,
                             finalize=md_text if markdown else None, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    if markdown:  # md output is not HTML-safe: HTML templates have no md filter
        env.filters["md"] = md_cell
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as err:
        raise BenchkitError(Problem(f"template error: {err.message}", file=str(folder / name), line=err.lineno)) from None
