"""Reading an inventory file (CSV or XLSX) into rows for the CI import (ADR 0063).

The first row names the columns; each later row becomes a ``dict`` of column name → text
(empty rows skipped), numbered as the spreadsheet numbers them (the header is row 1). CSV
may be UTF-8 (with or without a BOM) or GB18030 (what a Chinese Excel writes); XLSX is read
with openpyxl in read-only mode (streamed rows, values only), the first sheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime

MAX_ROWS = 200_000


class UnreadableFile(ValueError):
    """The file is not a CSV or XLSX inventory this reader understands."""


def read_rows(filename: str, content: bytes) -> list[tuple[int, dict[str, str]]]:
    """``(row number, {column: text})`` of every non-empty data row."""
    name = filename.strip().lower()
    if name.endswith((".xlsx", ".xlsm")):
        rows = _xlsx(content)
    elif name.endswith((".csv", ".txt")):
        rows = _csv(content)
    else:
        raise UnreadableFile("the file name must end in .csv or .xlsx")
    out: list[tuple[int, dict[str, str]]] = []
    header: list[str] | None = None
    for number, values in rows:
        cells = [_text(v) for v in values]
        if header is None:
            header = [c.strip() for c in cells]
            if not any(header):
                raise UnreadableFile("the first row must name the columns")
            continue
        if not any(c.strip() for c in cells):
            continue
        out.append((number, {h: (cells[i] if i < len(cells) else "").strip()
                             for i, h in enumerate(header) if h}))
        if len(out) > MAX_ROWS:
            raise UnreadableFile(f"at most {MAX_ROWS} rows")
    if header is None:
        raise UnreadableFile("the file is empty")
    return out


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else (
            value.isoformat())
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _csv(content: bytes) -> Iterator[tuple[int, list[str]]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise UnreadableFile("not UTF-8 or GB18030 text")
    for i, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        yield i, row


def _xlsx(content: bytes) -> Iterator[tuple[int, list[object]]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise UnreadableFile(f"not an XLSX workbook ({type(e).__name__})") from None
    try:
        sheet = book.worksheets[0]
        for i, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield i, list(row)
    finally:
        book.close()
