"""docs/reports.md lists exactly the fields of the report's JSON (ADR 0029): the documented
contract and the msgspec shape cannot drift apart."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import msgspec

from application.report_model import ServiceReport

DOC = Path(__file__).resolve().parents[2] / "docs" / "reports.md"


def leaf_paths(cls: type, prefix: str = "") -> list[str]:
    """Every field path; a field holding a struct (or a list / dict of structs) gives its
    own fields with ``.``, ``[].`` or ``{}.`` instead of itself (unless it is a list)."""
    out: list[str] = []
    for f in msgspec.structs.fields(cls):
        name = prefix + f.name
        origin = typing.get_origin(f.type)
        inner = [a for a in (f.type, *typing.get_args(f.type))
                 if isinstance(a, type) and issubclass(a, msgspec.Struct)]
        if not inner:
            out.append(name)
            continue
        if origin is list:
            out.append(name)
        sep = "[]." if origin is list else "{}." if origin is dict else "."
        out += leaf_paths(inner[0], name + sep)
    return out


def test_the_doc_lists_every_field_and_no_other() -> None:
    documented = re.findall(r"^\| `([^`]+)` \|", DOC.read_text(encoding="utf-8"), re.M)
    assert len(documented) == len(set(documented))
    assert documented == leaf_paths(ServiceReport)
