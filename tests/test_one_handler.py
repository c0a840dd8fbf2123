"""One way to run a command (issue 17, ADR 0046), kept so by an AST walk of the code:

* no module of ``application/`` or ``adapters/`` but ``application/desk.py`` reaches into the
  desk's private members (``desk._get``, ``self.desk._save``, ``x._run(...)``, ...): what
  they need has a public name (``handle``, ``load``, ``load_current``, ``number_lock``);
* the optimistic retry loop is in ``application/desk.py`` only (no other module catches
  ``IntegrityError`` or counts ``MAX_ATTEMPTS``);
* every command names, in its docstring, the domain method it calls and the event that
  method records (``Ticket.assign`` → ``Ticket.Assigned``), and both exist.

Each check is also shown catching what it looks for, on planted code.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import application.commands
import domain
from application.commands.base import Command

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("application", "adapters")
DESK_MODULE = Path("application/desk.py")
#: The desk's private helpers: a call of one of these on anything is a reach into the desk.
PRIVATE_CALLS = {"_run", "_run_attempts", "_attempts", "_change", "_get", "_get_current",
                 "_save", "_find_idempotent", "_replay", "_load_sequence", "_relay"}
RETRY_NAMES = {"IntegrityError", "MAX_ATTEMPTS", "RETRY_DELAY", "RETRY_MAX_DELAY"}


def modules() -> Iterator[tuple[Path, ast.Module]]:
    for package in SCANNED:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if rel != DESK_MODULE:
                yield rel, ast.parse(path.read_text(encoding="utf-8"), str(rel))


def private_reaches(tree: ast.Module) -> list[str]:
    """``<...desk>._name`` anywhere, and ``<anything>._helper(...)`` of the desk's helpers."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                and not node.attr.startswith("__"):
            owner = ast.unparse(node.value)
            if owner == "desk" or owner.endswith(".desk") or owner.endswith("_desk"):
                found.append(f"{owner}.{node.attr} (line {node.lineno})")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in PRIVATE_CALLS and ast.unparse(node.func.value) != "self":
            found.append(f"{ast.unparse(node.func)}(...) (line {node.lineno})")
    return found


def retry_loops(tree: ast.Module) -> list[str]:
    return [f"{node.id} (line {node.lineno})" for node in ast.walk(tree)
            if isinstance(node, ast.Name) and node.id in RETRY_NAMES] + [
        f"import of {a.name} (line {node.lineno})" for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) for a in node.names if a.name in RETRY_NAMES]


def test_no_module_reaches_into_the_desk():
    reaches = {str(path): found for path, tree in modules() if (found := private_reaches(tree))}
    assert reaches == {}


def test_the_retry_loop_is_the_desks_alone():
    loops = {str(path): found for path, tree in modules() if (found := retry_loops(tree))}
    assert loops == {}


def test_the_checks_catch_what_they_look_for():
    planted = ast.parse(
        "def f(desk, services):\n"
        "    desk._get(1)\n"
        "    services.desk._issuing.acquire()\n"
        "    x = other._change(1, None)\n"
        "    self._save()\n"  # a class's own helper is its business
        "    try:\n"
        "        pass\n"
        "    except IntegrityError:\n"
        "        pass\n"
        "from application.desk import MAX_ATTEMPTS\n")
    assert sorted(r.split(" (line")[0] for r in private_reaches(planted)) == [
        "desk._get", "desk._get(...)", "other._change(...)", "services.desk._issuing"]
    assert sorted(r.split(" (line")[0] for r in retry_loops(planted)) == [
        "IntegrityError", "import of MAX_ATTEMPTS"]


# ------------------------------------------------------------- command docstrings


def command_classes() -> list[type[Command]]:
    found: dict[str, type[Command]] = {}
    for info in pkgutil.iter_modules(application.commands.__path__):
        module = importlib.import_module(f"application.commands.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Command) and getattr(cls, "verb", None) is not None and \
                    cls.__module__ == module.__name__ and not cls.__name__.startswith("_"):
                found[f"{cls.__module__}.{cls.__name__}"] = cls
    return [found[k] for k in sorted(found)]


def domain_classes() -> dict[str, type]:
    out: dict[str, type] = {}
    for info in pkgutil.iter_modules(domain.__path__):
        module = importlib.import_module(f"domain.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__:
                out[name] = cls
    return out


METHOD_EVENT = re.compile(r"``(\w+)\.(\w+)`` → ``(?:(\w+)\.)?(\w+)``")


def method_event_pairs(doc: str, classes: dict[str, type]) -> list[tuple[str, str]]:
    """Every "``Aggregate.method`` → ``Aggregate.Event``" of ``doc`` whose method and event
    class exist (the event's aggregate defaults to the method's)."""
    pairs = []
    for m in METHOD_EVENT.finditer(" ".join(doc.split())):
        owner, method, event_owner, event = m.groups()
        cls, event_cls = classes.get(owner), classes.get(event_owner or owner)
        if cls is None or event_cls is None:
            continue
        if callable(getattr(cls, method, None)) and isinstance(getattr(event_cls, event, None),
                                                               type):
            pairs.append((f"{owner}.{method}", f"{event_owner or owner}.{event}"))
    return pairs


def test_the_command_classes_are_found():
    names = {c.__name__ for c in command_classes()}
    assert {"RegisterTicket", "Assign", "RecordProblem", "RequestChange", "ContractProject",
            "WriteArticle", "PutCalendar", "RegisterCustomer", "RegisterUser",
            "RecordErasure"} <= names
    assert len(names) >= 60


@pytest.mark.parametrize("command", command_classes(), ids=lambda c: c.__name__)
def test_every_command_names_its_domain_method_and_event(command: type[Command]):
    pairs = method_event_pairs(command.__doc__ or "", domain_classes())
    assert pairs, f"{command.__name__}: no ``Aggregate.method`` → ``Aggregate.Event`` in its doc"


def test_a_docstring_naming_no_real_method_or_event_is_caught():
    classes = domain_classes()
    assert method_event_pairs("``Ticket.assign`` → ``Ticket.Assigned``", classes) == [
        ("Ticket.assign", "Ticket.Assigned")]
    assert method_event_pairs("``Ticket.assign`` → ``Ticket.Nothing``", classes) == []
    assert method_event_pairs("``Ticket.nothing`` → ``Ticket.Assigned``", classes) == []
