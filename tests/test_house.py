"""The package's shape, kept true (issue #21, docs/architecture.md): few modules at the top, every
wing saying what it owns and may import, no import circle, no class over 250 lines or function
over 80 (argument-parser tables aside), and the bridge's own topics spelled in one module.
The wings' layering itself is checked by `lint-imports` (pyproject.toml), in the test command."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cmc_mqtt"
MAX_TOP_MODULES = 15
MAX_CLASS_LINES = 250
MAX_FUNCTION_LINES = 80
#: Functions that are one table of options (argparse), each line a flag and its help.
ARGUMENT_TABLES = {("simulator/options.py", "add_simulator_arguments")}


def modules() -> Iterator[Path]:
    yield from sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_at_most_fifteen_modules_at_the_top() -> None:
    top = [p.name for p in PACKAGE.glob("*.py")]
    assert len(top) <= MAX_TOP_MODULES, sorted(top)


@pytest.mark.parametrize(
    "wing", sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py")), ids=str
)
def test_every_wing_says_what_it_owns_and_may_import(wing: str) -> None:
    docstring = ast.get_docstring(ast.parse((PACKAGE / wing / "__init__.py").read_text()))
    assert docstring, f"{wing}/__init__.py has no docstring"
    if wing != "simulator":  # a tool of its own, beside the bridge
        assert "May import" in docstring, f"{wing}/__init__.py does not say what it may import"


def test_no_class_or_function_is_too_long() -> None:
    long: list[str] = []
    for path in modules():
        where = path.relative_to(PACKAGE).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            assert not hasattr(node, "lineno") or node.end_lineno is not None
            if isinstance(node, ast.ClassDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_CLASS_LINES:
                    long.append(f"class {where}:{node.lineno} {node.name} ({lines} lines)")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES and (where, node.name) not in ARGUMENT_TABLES:
                    long.append(f"function {where}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, long


def imports_of(path: Path) -> set[str]:
    """The package's modules this one imports, at any place (inside functions and
    TYPE_CHECKING blocks too: a circle of types is a circle)."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("cmc_mqtt"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if is_module(sub) else target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("cmc_mqtt")}
    found.discard(name)
    return {m for m in found if is_module(m)}


def is_module(name: str) -> bool:
    base = PACKAGE.parent / Path(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def test_no_import_circle() -> None:
    graph = {module_name(p): imports_of(p) for p in modules()}
    # A package's __init__ is imported with each of its modules: no edge from it counts as a
    # circle of its children (they import it by being in it).
    circles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not circles, circles[:5]


#: A topic of the bridge's own, built anywhere but the book of topics: a placeholder (the
#: prefix, a coin id) followed by one of the bridge's own levels.
_OWN_TOPIC = re.compile(
    r"\}/(?:bridge|fx|portfolio)/"
    r"|\}/(?:status|json|text|alert|info|credits|names)\b"
    r"|\}/\{(?:cid|coin_id|coin\.id)\}/"
)


def test_the_bridges_own_topics_are_spelled_in_one_module() -> None:
    elsewhere = []
    for path in modules():
        where = path.relative_to(PACKAGE).as_posix()
        if where == "model/topics.py" or where.startswith("simulator/"):
            continue
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.JoinedStr):
                text = ast.get_source_segment(source, node) or ""
                if _OWN_TOPIC.search(text):
                    elsewhere.append(f"{where}:{node.lineno}: {text}")
    assert not elsewhere, elsewhere
