"""The package's layers (docs/ARCHITECTURE.md): every import points down, and no cycles.

Reads every module's imports with :mod:`ast` (module level, inside functions and under
``TYPE_CHECKING`` alike), so a lazy import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "monoscan"

#: Subpackage (or top-level module) -> layer rank; an import may only go to an equal or lower
#: rank, and imports between subpackages of equal rank must not form a cycle.
LAYERS = {
    "core": 0,
    "io": 1,
    "metrics": 2,
    "render": 2,
    "datasets": 2,
    # The stages, in the order the photo flows through them.
    "perception": 3,
    "face": 4,
    "body": 4,
    "head": 5,
    "hair": 6,
    "synth": 7,
    "viewer": 7,
    "evaluation": 8,
    "pipeline": 9,
    "commands": 10,
    "cli": 10,
    "__init__": 11,  # the lazy top-level API
    "__main__": 11,  # python -m monoscan
}


def _module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _subpackage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path, root: Path = PACKAGE) -> set[str]:
    """Every ``monoscan...`` module or name imported anywhere in the file."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "monoscan")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "monoscan":
                continue
            if node.module is None or target == "monoscan":
                # ``from monoscan import x`` / ``from . import x``: x is a module or a name
                found.update(f"{target}.{a.name}" for a in node.names)
            else:
                found.add(target)
    return found


def _edges() -> dict[tuple[str, str], list[str]]:
    """(importing subpackage, imported subpackage) -> the module pairs behind it."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        for target in _imports(path):
            a, b = _subpackage(module), _subpackage(target)
            if a != b:
                edges.setdefault((a, b), []).append(f"{module} -> {target}")
    return edges


def test_every_subpackage_has_a_layer():
    names = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.is_dir() and (p / "__init__.py").is_file()) or p.suffix == ".py"
    }
    assert names == set(LAYERS)


def test_imports_point_down():
    upward = [
        f"{pair}  ({LAYERS[a]} -> {LAYERS[b]})"
        for (a, b), pairs in _edges().items()
        if LAYERS[a] < LAYERS[b]
        for pair in pairs
    ]
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)


#: The foundation's stricter rule: what these may import besides themselves.
ONLY = {
    "core": set(),
    "io": {"core"},
    "metrics": {"core"},
    "render": {"core", "io"},
    "datasets": {"core", "io"},
}


def test_foundation_imports_only_its_base():
    wrong = [
        pair
        for (a, b), pairs in _edges().items()
        if a in ONLY and b not in ONLY[a]
        for pair in pairs
    ]
    assert not wrong, "\n".join(wrong)


def test_no_cycles_between_subpackages():
    graph: dict[str, set[str]] = {}
    for a, b in _edges():
        graph.setdefault(a, set()).add(b)
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == path[0]:
                cycles.append(" -> ".join([*path, nxt]))
            elif nxt not in path and nxt > path[0]:  # each cycle once, from its smallest name
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    assert not cycles, "import cycles between subpackages:\n" + "\n".join(cycles)


def test_no_private_names_across_modules():
    """A module imports another module's public names only (tests may reach further)."""
    crossing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("monoscan"):
                crossing += [
                    f"{_module_name(path)}: from {node.module} import {a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.endswith("__")
                ]
    assert not crossing, "\n".join(crossing)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from monoscan.hair.strand_map import x", {"monoscan.hair.strand_map"}),
        ("def f():\n    import monoscan.pipeline.photo as p", {"monoscan.pipeline.photo"}),
        ("from . import errors", {"monoscan.core.errors"}),
        ("from ..io import results", {"monoscan.io"}),
        ("import numpy", set()),
    ],
)
def test_the_import_reader_sees_every_form(tmp_path, source, expected):
    """The checks above are only as good as this reader: lazy, relative and plain imports."""
    fake = tmp_path / "monoscan" / "core" / "fake.py"
    fake.parent.mkdir(parents=True)
    fake.write_text(source)
    assert _imports(fake, tmp_path / "monoscan") == expected
