"""benchkit's import graph from the AST, deferred imports included: the parts, their edges and every circle.

Usage: python scripts/import_graph.py [--level part|module] [--edges] [--package DIR]

Every ``import`` and ``from ... import`` anywhere in a module counts (inside functions, ``if TYPE_CHECKING:`` blocks,
``try:`` blocks): a function-level import runs as surely as a top-level one, only later. ``importlib.import_module``
with a literal name counts too. A *part* is a subpackage (``benchkit.train``) or a top-level module
(``benchkit.loading``). Exit status 1 when there is a circle, so CI can run it beside import-linter.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "benchkit"


def module_names(package: Path = PACKAGE) -> dict[str, Path]:
    names = {}
    for path in package.rglob("*.py"):
        rel = path.relative_to(package.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def imported(module: str, path: Path, known: set[str]) -> set[str]:
    roots = {name.split(".")[0] for name in known}
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets: set[str] = set()

    def add(name: str) -> None:
        # the longest known module that `name` names or lies inside
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            targets.add(name)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            if origin.split(".")[0] not in roots:
                continue
            for alias in node.names:
                full = f"{origin}.{alias.name}"
                add(full if full in known else origin)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            add(node.args[0].value)
    return targets


def part_of(module: str) -> str:
    pieces = module.split(".")
    return ".".join(pieces[:2]) if len(pieces) > 1 else module


def graph(level: str, package: Path = PACKAGE) -> dict[str, set[str]]:
    names = module_names(package)
    known = set(names)
    edges: dict[str, set[str]] = {}
    for module, path in sorted(names.items()):
        source = module if level == "module" else part_of(module)
        edges.setdefault(source, set())
        for target in imported(module, path, known):
            target = target if level == "module" else part_of(target)
            if target != source:
                edges[source].add(target)
    edges.pop(package.name, None)  # the root package's own __init__ is not a part
    for targets in edges.values():
        targets.discard(package.name)
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", choices=("part", "module"), default="part")
    parser.add_argument("--edges", action="store_true", help="print every edge inside a circle")
    parser.add_argument("--package", type=Path, default=PACKAGE, help="the package folder (default: benchkit/)")
    args = parser.parse_args()
    edges = graph(args.level, args.package.resolve())
    found = circles(edges)
    print(f"{len(edges)} {args.level}s; {sum(len(c) for c in found)} inside {len(found)} circle(s)")
    for component in found:
        print("circle: " + ", ".join(component))
        if args.edges:
            members = set(component)
            for source in component:
                for target in sorted(edges[source] & members):
                    print(f"  {source} -> {target}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
