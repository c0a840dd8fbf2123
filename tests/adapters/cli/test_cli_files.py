"""``opsledger audit verify --files`` (ADR 0056): every uploaded file's bytes are checked
against the SHA-256 its ``Uploaded`` event records (which the hash chain covers); an altered
or missing blob is named and the command exits 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.cli.main import main
from adapters.settings import Settings
from application.attachments import attachment_blob, upload
from tests.support.services import built


def test_verify_files_names_an_altered_and_a_missing_file(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]):
    url = f"sqlite:///{tmp_path}/x.sqlite3"
    with built(Settings(database_url=url, sla_watch_seconds=0)) as services:
        files = [upload(services.desk, services.blobs, data=f"巡检单 {i}".encode(),
                        filename=f"{i}.txt", content_type="text/plain", owner="客户A",
                        actor="eng") for i in range(3)]
    assert main(["audit", "verify", "--files", "--database", url]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True
    assert out["files"] == {"ok": True, "checked": 3, "intact": 3, "erased": 0, "altered": [],
                            "missing": []}

    altered, missing = (tmp_path / "x.sqlite3.blobs" / attachment_blob(f)[:2] / attachment_blob(f)
                        for f in files[:2])
    data = bytearray(altered.read_bytes())
    data[-1] ^= 1
    altered.write_bytes(bytes(data))
    missing.unlink()
    assert main(["audit", "verify", "--files", "--database", url]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True  # the events' chain itself is intact
    assert out["files"]["altered"] == [str(files[0].id)]
    assert out["files"]["missing"] == [str(files[1].id)]
    assert out["files"]["intact"] == 1 and out["files"]["ok"] is False
    # without --files the chain alone is checked, as before
    assert main(["audit", "verify", "--database", url]) == 0
    assert "files" not in json.loads(capsys.readouterr().out)
