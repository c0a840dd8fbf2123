"""Importing an inventory (ADR 0063): a CSV with broken rows previews per-row errors naming
the column and saves nothing; an XLSX (openpyxl) reads the same; ``opsledger cis import``
previews, then applies with a progress bar; the API's route does the same; thousands of rows are
checked and imported in seconds."""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from adapters.cli.main import main
from adapters.inputs.inventory import UnreadableFile, read_rows
from application import ci_import
from domain.ci import DEFAULT_CLASSES
from tests.fixtures_http import API, Api

CSV = ("名称,类别,客户,资产标签,serial,warranty_end,机柜\n"
       "db-01,server,客户A,ZC-1,S1,2027-01-31,A-01\n"
       ",server,客户A,ZC-2,S2,,\n"  # row 3: no name
       "sw-01,router?,客户A,ZC-3,S3,,\n"  # row 4: unknown class
       "pc-01,pc,客户A,ZC-1,S4,31/12/2027,\n"  # row 5: repeated tag, bad date
       "\n"
       "erp,application,客户B,,,,\n")


def test_csv_preview_names_rows_and_columns() -> None:
    rows = read_rows("inv.csv", CSV.encode("gb18030"))
    preview = ci_import.check(rows, DEFAULT_CLASSES)
    assert preview.total == 5 and [n for n, _ in preview.valid] == [2, 7]
    assert {(e.row, e.field) for e in preview.errors} == {
        (3, "name"), (4, "class"), (5, "asset_tag"), (5, "warranty_end")}
    first = preview.valid[0][1]
    assert first.attributes == {"机柜": "A-01"} and str(first.warranty_end) == "2027-01-31"


def test_xlsx_reads_like_csv_and_junk_is_refused() -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["name", "class", "customer", "warranty_end"])
    sheet.append(["db-01", "server", "客户A", "2027-01-31"])
    buf = io.BytesIO()
    book.save(buf)
    rows = read_rows("inv.xlsx", buf.getvalue())
    assert rows == [(2, {"name": "db-01", "class": "server", "customer": "客户A",
                         "warranty_end": "2027-01-31"})]
    for name, data in (("x.xlsx", b"not a zip"), ("x.pdf", b""), ("x.csv", b"")):
        try:
            read_rows(name, data)
        except UnreadableFile:
            continue
        raise AssertionError(name)


def test_cli_previews_then_applies_thousands_of_rows_in_seconds(tmp_path: Path,
                                                           capsys: Any) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(CSV, encoding="utf-8")
    db = f"sqlite:///{tmp_path}/o.sqlite3"
    assert main(["cis", "import", str(bad), "--apply", "--database", db]) == 1
    assert "row 4, class" in capsys.readouterr().out
    good = tmp_path / "good.csv"
    good.write_text("name,class,customer,asset_tag\n" + "".join(
        f"host-{i},server,客户{i % 7},ZC-{i:05d}\n" for i in range(3_000)), encoding="utf-8")
    assert main(["cis", "import", str(good), "--database", db]) == 0
    assert "preview only" in capsys.readouterr().err
    started = time.perf_counter()
    assert main(["cis", "import", str(good), "--apply", "--database", db]) == 0
    elapsed = time.perf_counter() - started
    assert "imported 3000 configuration items" in capsys.readouterr().out
    assert elapsed < 15, elapsed  # 10,000 rows: about 8 s on a loaded 2-core machine


@pytest.mark.parametrize("http_store", ["memory"])
def test_api_import_previews_and_applies(api: Api) -> None:
    body = {"filename": "inv.csv", "content_base64": base64.b64encode(CSV.encode()).decode()}
    r = api.client.post(f"{API}/cis/import", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["valid"] == 2 and len(r.json()["errors"]) == 4
    assert not r.json()["applied"]
    good = "name,class,customer\nweb-01,server,客户A\nweb-02,server,客户A\n"
    r = api.client.post(f"{API}/cis/import", json={
        "filename": "inv.csv", "content_base64": base64.b64encode(good.encode()).decode(),
        "apply": True})
    assert r.json()["created"] == 2, r.text
    listed = api.client.get(f"{API}/cis", params={"q": "web-"}).json()
    assert {x["name"] for x in listed["items"]} == {"web-01", "web-02"}
    r = api.client.post(f"{API}/cis/import", json={"filename": "x.xlsx",
                                                   "content_base64": "bm90IGEgemlw"})
    assert r.status_code in (400, 422), r.text
