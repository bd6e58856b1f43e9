"""Sizes a newcomer meets: the largest modules, functions and classes of a checkout.

    python scripts/structure_report.py [ROOT] [--top N]

Issue 13's closing note compares two checkouts with it (before and after the restructure). It reads
the Python packages' source with :mod:`ast` (tests and benchmarks included) and counts what ruff's size
rules count: a function's statements, branches and arguments, a class's methods and lines.
"""

from __future__ import annotations

import argparse
import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("sage_source", "sage_sandbox", "pipelines", "tests", "testkit", "benchmarks", "scripts")


@dataclass(frozen=True)
class Size:
    where: str
    lines: int
    statements: int = 0
    arguments: int = 0
    methods: int = 0


def _statements(node: ast.AST) -> int:
    """Statements below ``node``, nested ones included, its own body's definitions not descended."""
    count = 0
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.stmt):
            count += 1
        if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            count += _statements(child)
    return count


def _arguments(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    args = node.args
    names = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    return len([a for a in names if a.arg not in ("self", "cls")])


def measure(root: Path) -> tuple[list[Size], list[Size], list[Size]]:
    modules: list[Size] = []
    functions: list[Size] = []
    classes: list[Size] = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            text = path.read_text(encoding="utf-8")
            modules.append(Size(relative, len(text.splitlines())))
            for node in ast.walk(ast.parse(text)):
                lines = (getattr(node, "end_lineno", 0) or 0) - getattr(node, "lineno", 0) + 1
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    name = f"{relative}:{node.lineno} {node.name}()"
                    functions.append(Size(name, lines, _statements(node), _arguments(node)))
                elif isinstance(node, ast.ClassDef):
                    methods = sum(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) for n in node.body)
                    classes.append(Size(f"{relative}:{node.lineno} {node.name}", lines, methods=methods))
    return modules, functions, classes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=Path())
    parser.add_argument("--top", type=int, default=5)
    options = parser.parse_args()
    modules, functions, classes = measure(options.root)
    top = options.top
    print(f"{len(modules)} modules, {sum(m.lines for m in modules)} lines, {len(functions)} functions")
    print("largest modules (lines):")
    for m in sorted(modules, key=lambda s: -s.lines)[:top]:
        print(f"  {m.lines:5d}  {m.where}")
    print("largest functions (statements, lines):")
    for f in sorted(functions, key=lambda s: -s.statements)[:top]:
        print(f"  {f.statements:5d} {f.lines:5d}  {f.where}")
    print("most arguments:")
    for f in sorted(functions, key=lambda s: -s.arguments)[:top]:
        print(f"  {f.arguments:5d}  {f.where}")
    print("largest classes (lines, methods):")
    for c in sorted(classes, key=lambda s: -s.lines)[:top]:
        print(f"  {c.lines:5d} {c.methods:5d}  {c.where}")
    over = [f for f in functions if f.arguments > 8 or f.statements > 50]
    print(f"functions over 8 arguments or 50 statements: {len(over)}")


if __name__ == "__main__":
    main()
