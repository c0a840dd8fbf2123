"""The rooms of the code (issue 17, docs/architecture.md, ADR 0001), beyond import-linter's
contracts (tests/test_architecture.py runs those):

* no import cycle anywhere, function-local imports included (grimp sees them all; imports
  under ``if TYPE_CHECKING:`` are annotations, not imports at run time);
* no module of ours imports a library's private names (``litestar._internal``, ``_x``);
* only ``adapters/settings.py`` reads the environment;
* every module of ``adapters/`` lives in a room, but the composition root and the settings.

Each check is also shown catching what it looks for, on planted code.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import grimp
import pytest

from tests.support.source import parsed, where

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "application", "adapters", "projections")
#: The only modules allowed directly in ``adapters/``.
ADAPTERS_TOP = {"__init__.py", "container.py", "settings.py"}
#: The only module that reads environment variables (STYLE.md, "Layout and the one rule").
SETTINGS = "adapters/settings.py"


# ------------------------------------------------------------------ cycles


def cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in edges:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
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
    return sorted(found)


def import_graph() -> dict[str, set[str]]:
    # Imports under ``if TYPE_CHECKING:`` (annotations only) are not imports at run time.
    graph = grimp.build_graph(*PACKAGES, cache_dir=None, exclude_type_checking_imports=True)
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def test_no_import_cycle_anywhere():
    assert cycles(import_graph()) == []


def test_the_cycle_check_finds_planted_cycles():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": set(),
             "g": {"g2"}, "g2": set()}
    assert cycles(edges) == [["a", "b", "c"], ["d", "e"]]


# ------------------------------------------------------------------ private names


def python_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _ours(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def private_imports(tree: ast.Module, where: str) -> list[str]:
    """Imports of another library's private modules or names (a part starting with ``_``,
    dunders such as ``__future__`` aside)."""
    problems = []

    def private(dotted: str) -> bool:
        return any(part.startswith("_") and not part.endswith("__") for part in dotted.split("."))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        else:
            continue
        for name in names:
            if not _ours(name) and private(name):
                problems.append(f"{where}:{node.lineno} imports {name}")
    return sorted(set(problems))


@pytest.mark.parametrize("path", python_files(), ids=where)
def test_no_private_name_of_a_library_is_imported(path):
    assert private_imports(*parsed(path)) == []


def test_the_private_import_check_catches_what_it_looks_for():
    tree = ast.parse(
        "from litestar.middleware._internal.exceptions.middleware import X\n"
        "from litestar.utils import _private\nimport msgspec._core\n"
        "from __future__ import annotations\nfrom litestar import Litestar\n"
        "from adapters.http import _mine\nimport sys\n")
    assert [p.split(" imports ")[1] for p in private_imports(tree, "x")] == [
        "litestar.middleware._internal.exceptions.middleware",
        "litestar.middleware._internal.exceptions.middleware.X",
        "litestar.utils._private",
        "msgspec._core",
    ]


# ------------------------------------------------------------------ the environment


def environment_reads(tree: ast.Module, where: str) -> list[str]:
    """``os.environ``, ``os.getenv``, ``os.environb`` however imported."""
    aliases = {"os"}
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname for a in node.names if a.name == "os" and a.asname}
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            names |= {a.asname or a.name for a in node.names
                      if a.name in ("environ", "getenv", "environb")}
    problems = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb")
                and isinstance(node.value, ast.Name) and node.value.id in aliases):
            problems.append(f"{where}:{node.lineno} reads os.{node.attr}")
        elif isinstance(node, ast.Name) and node.id in names:
            problems.append(f"{where}:{node.lineno} reads {node.id}")
    return sorted(set(problems))


@pytest.mark.parametrize("path", [p for p in python_files() if where(p) != SETTINGS], ids=where)
def test_only_the_settings_module_reads_the_environment(path):
    assert environment_reads(*parsed(path)) == []


def test_the_environment_check_catches_what_it_looks_for():
    tree = ast.parse("import os\nimport os as o\nfrom os import getenv as g, path\n"
                     "a = os.environ.get('X')\nb = o.getenv('Y')\nc = g('Z')\nd = path.join('a')\n")
    assert [p.split(":")[1] for p in environment_reads(tree, "x")] == [
        "4 reads os.environ", "5 reads os.getenv", "6 reads g"]


# ------------------------------------------------------------------ rooms


def test_every_adapter_module_lives_in_a_room():
    loose = sorted(p.name for p in (ROOT / "adapters").glob("*.py") if p.name not in ADAPTERS_TOP)
    assert loose == [], f"put these in a room (docs/architecture.md): {loose}"


def test_every_room_is_a_package():
    rooms = [p for p in (ROOT / "adapters").rglob("*") if p.is_dir() and p.name != "__pycache__"
             and any(p.glob("*.py"))]
    assert rooms
    missing = sorted(str(p.relative_to(ROOT)) for p in rooms if not (p / "__init__.py").exists())
    assert missing == []


if __name__ == "__main__":  # pragma: no cover - print the cycles while untangling them
    for component in cycles(import_graph()):
        print(len(component), component, file=sys.stdout)
