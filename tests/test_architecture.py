"""The dependency rule (ADR 0001), checked two ways.

* import-linter runs the contracts of pyproject.toml ([tool.importlinter]) and all must be
  kept; a copy of the code with forbidden imports planted in it must break them (so the
  linter is really looking).
* A plain AST walk: modules under domain/ import only the standard library,
  ``eventsourcing.domain`` and ``domain.*``, and never read the clock or make random ids
  themselves (time and ids come in as arguments, so replays are deterministic).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support.source import parsed

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "application", "adapters", "projections")
LINT = (
    "import sys; from importlinter.cli import lint_imports_command; "
    "sys.exit(lint_imports_command())"
)


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(cwd), *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache", "--no-logo",
         "--config", str(cwd / "pyproject.toml")],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )


def contract_names(pyproject: Path) -> list[str]:
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return [c["name"] for c in config["tool"]["importlinter"]["contracts"]]


def verdicts(output: str) -> dict[str, str]:
    return dict(
        (m.group(1).strip(), m.group(2))
        for m in re.finditer(r"^(.+?) (KEPT|BROKEN)\s*$", output, re.MULTILINE)
    )


def test_import_linter_keeps_every_contract():
    result = lint_imports(ROOT)
    out = result.stdout + result.stderr
    names = contract_names(ROOT / "pyproject.toml")
    assert len(names) >= 3
    assert result.returncode == 0, out
    assert verdicts(out) == {name: "KEPT" for name in names}, out
    assert f"Contracts: {len(names)} kept, 0 broken." in out, out


def test_import_linter_catches_a_forbidden_import(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "domain" / "leak.py").write_text("import psycopg\n", encoding="utf-8")
    (tmp_path / "projections" / "leak.py").write_text(
        "from adapters.settings import Settings\n", encoding="utf-8"
    )
    (tmp_path / "application" / "leak.py").write_text(
        "from adapters import container\nfrom projections.ticket_list import projection\n",
        encoding="utf-8",
    )
    # the rooms of adapters/ (issue 17): a store that reaches up into the HTTP edge, a route
    # module that imports another and the app, an edge module that touches the speed machinery
    (tmp_path / "adapters" / "stores" / "leak.py").write_text(
        "from adapters.http import kit\n", encoding="utf-8")
    (tmp_path / "adapters" / "http" / "routes" / "leak.py").write_text(
        "from adapters.http.routes import tickets\nfrom adapters.http import app\n",
        encoding="utf-8")
    (tmp_path / "adapters" / "http" / "edge" / "leak.py").write_text(
        "from adapters.http.speed import threads\n", encoding="utf-8")
    # the console (issue 18): a page that imports a JSON route module and another page
    (tmp_path / "adapters" / "http" / "console" / "pages" / "leak.py").write_text(
        "from adapters.http.routes import tickets\nfrom adapters.http.console.pages import desk\n",
        encoding="utf-8")
    result = lint_imports(tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    got = verdicts(out)
    assert set(got) == set(contract_names(tmp_path / "pyproject.toml")), out
    assert set(got.values()) == {"BROKEN"}, out


# ------------------------------------------------------------------ the AST check

ALLOWED_LIBRARY = {"eventsourcing.domain"}
# Reading the clock or making random ids inside the domain makes replays differ.
FORBIDDEN = {
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "datetime.date.today",
    "time.time",
    "time.time_ns",
    "uuid.uuid1",
    "uuid.uuid4",
}


def is_stdlib(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names


def import_problems(tree: ast.Module, module: str) -> list[str]:
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside the domain package by construction
                continue
            assert node.module is not None
            if node.module == "eventsourcing":
                targets = [f"eventsourcing.{a.name}" for a in node.names]
            else:
                targets = [node.module]
        else:
            continue
        for target in targets:
            if not (
                is_stdlib(target)
                or target in ALLOWED_LIBRARY
                or target == "domain"
                or target.startswith("domain.")
            ):
                problems.append(f"{module}:{node.lineno} imports {target}")
    return problems


def clock_and_id_problems(tree: ast.Module, module: str) -> list[str]:
    """Uses of FORBIDDEN, however imported (``import time``, ``from uuid import uuid4 as u``)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    names[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"

    def qualified(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return names.get(node.id)
        if isinstance(node, ast.Attribute):
            base = qualified(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name | ast.Attribute) and isinstance(node.ctx, ast.Load):
            name = qualified(node)
            if name in FORBIDDEN:
                problems.append(f"{module}:{node.lineno} uses {name}")
    return sorted(set(problems))


def domain_modules() -> list[Path]:
    modules = sorted((ROOT / "domain").rglob("*.py"))
    assert any(p.name == "ticket.py" for p in modules)
    return modules


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: p.name)
def test_domain_imports_only_the_standard_library_eventsourcing_domain_and_itself(path):
    assert import_problems(*parsed(path)) == []


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: p.name)
def test_domain_never_reads_the_clock_or_makes_random_ids(path):
    assert clock_and_id_problems(*parsed(path)) == []


def test_the_ast_checks_catch_what_they_look_for():
    bad_imports = ast.parse(
        "import psycopg\nfrom eventsourcing.application import Application\n"
        "from eventsourcing import persistence\nimport msgspec.json\n"
        "from projections.base import View\n"
        "from eventsourcing.domain import Aggregate\nfrom datetime import UTC\n"
        "from domain.errors import DomainError\nfrom . import priority\nimport uuid, json\n"
    )
    assert [p.split(" imports ")[1] for p in import_problems(bad_imports, "x")] == [
        "psycopg", "eventsourcing.application", "eventsourcing.persistence", "msgspec.json",
        "projections.base",
    ]
    bad_calls = ast.parse(
        "import datetime as dt, time, uuid\n"
        "from datetime import datetime, date\nfrom uuid import uuid4 as new_id\n"
        "from time import time as now\n"
        "a = datetime.now(UTC)\nb = dt.datetime.utcnow()\nc = time.time()\n"
        "d = uuid.uuid4()\ne = new_id()\nf = now()\ng = date.today()\n"
        "h = field(default_factory=uuid.uuid4)\n"
        "ok = (datetime.fromisoformat('2026-01-01'), uuid.uuid5, time.sleep, dt.timedelta)\n"
    )
    found = sorted(
        (int(p.split(":")[1].split()[0]), p.split(" uses ")[1])
        for p in clock_and_id_problems(bad_calls, "x")
    )
    assert found == [
        (5, "datetime.datetime.now"), (6, "datetime.datetime.utcnow"), (7, "time.time"),
        (8, "uuid.uuid4"), (9, "uuid.uuid4"), (10, "time.time"), (11, "datetime.date.today"),
        (12, "uuid.uuid4"),
    ]
