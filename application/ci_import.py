"""Importing an existing inventory into configuration items (ADR 0063): every row checked
first (the preview: per-row errors naming the column), then registered in batches of
``BATCH`` CIs per save (``ImportCis``), numbers issued as usual.

Columns (the header row; Chinese headers of the source documents' 资产清单 accepted too):
``class`` (类别), ``name`` (名称), ``customer`` (客户), ``location`` (位置), ``asset_tag``
(资产标签), ``serial`` (序列号), ``model`` (型号), ``vendor`` (厂商), ``warranty_end``
(保修截止, ``YYYY-MM-DD``), ``status`` (状态); any other column becomes a free attribute.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from application.commands.cis import CiFields, ImportCis
from application.desk import ServiceDesk
from domain.checks import collapsed
from domain.ci import ConfigurationItem, Status, ci_class_of
from domain.customer import normalise_customer_id
from domain.errors import InvalidCommand

BATCH = 500
COLUMNS: dict[str, str] = {
    "class": "class", "ci_class": "class", "类别": "class", "类型": "class",
    "name": "name", "名称": "name",
    "customer": "customer", "客户": "customer",
    "location": "location", "位置": "location",
    "asset_tag": "asset_tag", "资产标签": "asset_tag",
    "serial": "serial", "序列号": "serial",
    "model": "model", "型号": "model",
    "vendor": "vendor", "厂商": "vendor",
    "warranty_end": "warranty_end", "保修截止": "warranty_end",
    "status": "status", "状态": "status",
}


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str


@dataclass
class Preview:
    total: int = 0
    valid: list[tuple[int, CiFields]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _row(number: int, raw: Mapping[str, str], classes: Sequence[str],
         errors: list[RowError]) -> CiFields | None:
    known: dict[str, str] = {}
    attributes: dict[str, str] = {}
    for column, value in raw.items():
        key = COLUMNS.get(column.strip().lower()) or COLUMNS.get(column.strip())
        if key:
            known[key] = value
        elif value.strip():
            attributes[collapsed(column)] = value.strip()
    before = len(errors)
    name = collapsed(known.get("name"))
    if not name:
        errors.append(RowError(number, "name", "must not be empty"))
    customer = normalise_customer_id(known.get("customer", ""))
    if not customer:
        errors.append(RowError(number, "customer", "must not be empty"))
    ci_class = ""
    try:
        ci_class = ci_class_of(known.get("class"), classes)
    except InvalidCommand as e:
        errors.append(RowError(number, "class", e.errors[0].message))
    warranty: date | None = None
    if known.get("warranty_end", "").strip():
        try:
            warranty = date.fromisoformat(known["warranty_end"].strip()[:10])
        except ValueError:
            errors.append(RowError(number, "warranty_end", "a date (YYYY-MM-DD)"))
    status = known.get("status", "").strip().lower() or Status.IN_USE.value
    if status not in {s.value for s in Status}:
        errors.append(RowError(number, "status", "one of " + ", ".join(s.value
                                                                     for s in Status)))
    if len(errors) > before:
        return None
    return CiFields(name=name, ci_class=ci_class, customer=customer,
                    location=known.get("location", ""), asset_tag=known.get("asset_tag", ""),
                    serial=known.get("serial", ""), model=known.get("model", ""),
                    vendor=known.get("vendor", ""), warranty_end=warranty, status=status,
                    attributes=attributes)


def check(rows: Sequence[tuple[int, Mapping[str, str]]], classes: Sequence[str]) -> Preview:
    """Every row checked (nothing saved); an asset tag or serial repeated in the file is an
    error on its later rows."""
    preview = Preview(total=len(rows))
    seen: dict[tuple[str, str], int] = {}
    for number, raw in rows:
        item = _row(number, raw, classes, preview.errors)
        duplicate = False
        for column, value in raw.items():
            name = COLUMNS.get(column.strip().lower()) or COLUMNS.get(column.strip())
            value = collapsed(value)
            if name not in ("asset_tag", "serial") or not value:
                continue
            first = seen.setdefault((name, value), number)
            if first != number:
                preview.errors.append(RowError(number, name, f"{value!r} is also on row {first}"))
                duplicate = True
        if item is not None and not duplicate:
            preview.valid.append((number, item))
    preview.errors.sort(key=lambda e: e.row)
    return preview


def apply(desk: ServiceDesk, preview: Preview, actor: str, classes: Sequence[str],
          progress: Callable[[int], None] | None = None) -> list[str]:
    """Registers the preview's valid rows, ``BATCH`` per save; ``progress(n)`` after each
    batch. The CI numbers, in row order."""
    numbers: list[str] = []
    items = [f for _, f in preview.valid]
    for start in range(0, len(items), BATCH):
        batch = items[start:start + BATCH]
        result = desk.handle(ImportCis(items=tuple(batch), classes=tuple(classes)),
                             actor=actor)
        numbers += [e.number for e in result.events
                    if isinstance(e, ConfigurationItem.Registered)]
        if progress is not None:
            progress(len(batch))
    return numbers
