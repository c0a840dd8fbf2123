"""Audit bundles (ADR 0031): export, verify alone, replay to the server's report byte for byte,
and the ``opsledger audit`` commands' exit codes."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import TestClient

from adapters.audit.chain import AuditError, raw_public, verify_store
from adapters.audit.bundle import export, verify_bundle
from adapters.cli.main import main
from adapters.container import Services, build
from adapters.http.app import create_app
from adapters.settings import Settings
from application.ports import FixedClock
from tests.adapters.audit.audit_support import fill, flip_byte
from tests.fixtures_stores import ON_DB_STORES
from tests.application.report_scenario import START, build_scenario, local

AS_OF = local(20, 18)


def bundle_of(services: Services, since: int = 0, key: Ed25519PrivateKey | None = None) -> str:
    out = io.StringIO()
    export(services.desk.recorder, out, since=since, key=key)
    return out.getvalue()


def check(text: str, key: Ed25519PrivateKey | None = None) -> tuple[bool, int | None, str]:
    verdict, note = verify_bundle(io.StringIO(text), key.public_key() if key else None)
    return verdict.ok, verdict.first_bad_position, note


def test_a_bundle_verifies_alone_and_names_a_changed_line(services: Services) -> None:
    head = fill(services)
    key = Ed25519PrivateKey.generate()
    text = bundle_of(services, key=key)
    lines = text.splitlines()
    header, trailer = json.loads(lines[0]), json.loads(lines[-1])
    assert (header["first_position"], header["last_position"], len(lines)) == (1, head, head + 2)
    assert trailer["head"] == verify_store(services.desk.recorder).head
    assert check(text, key) == (True, None, "signed by the given key")
    # One changed byte of a stored event in the bundle.
    line = json.loads(lines[4])
    state = bytearray(base64.b64decode(line["state"]))
    state[3] ^= 1
    line["state"] = base64.b64encode(bytes(state)).decode()
    changed = "\n".join([*lines[:4], json.dumps(line), *lines[5:]]) + "\n"
    assert check(changed)[:2] == (False, line["position"])
    dropped = "\n".join([*lines[:6], *lines[7:]]) + "\n"
    assert check(dropped)[:2] == (False, json.loads(lines[7])["position"])
    cut = "\n".join(lines[:-2] + lines[-1:]) + "\n"  # the last event removed
    assert not check(cut)[0]
    with pytest.raises(AuditError, match="no trailer"):
        check("\n".join(lines[:-1]) + "\n")
    with pytest.raises(AuditError, match="does not match"):
        check(text, Ed25519PrivateKey.generate())
    forged = json.loads(lines[-1]) | {"head": "ab" * 32}
    ok, _, note = check("\n".join([*lines[:-1], json.dumps(forged)]) + "\n", key)
    assert not ok and "trailer head" in note


def test_a_bundle_since_a_position_is_anchored_on_the_chain(services: Services) -> None:
    head = fill(services)
    text = bundle_of(services, since=10)
    header = json.loads(text.splitlines()[0])
    assert header["first_position"] == 10
    assert header["anchor"] == {"position": 9,
                                "hash": verify_store(services.desk.recorder, stop=9).head}
    assert check(text)[:2] == (True, None)
    assert len(text.splitlines()) == head - 9 + 2


@pytest.fixture
def scenario_store(request: pytest.FixtureRequest, store_url: str) -> tuple[Services, str]:
    if datetime.now(UTC) < AS_OF:
        pytest.skip("the machine's clock is before the data set")
    services = build(Settings(database_url=store_url, sla_watch_seconds=0), clock=FixedClock(START))
    request.addfinalizer(services.close)
    s = build_scenario(services.desk, services.desk.clock)  # type: ignore[arg-type]
    return services, str(s.project)


@ON_DB_STORES
def test_replayed_report_equals_the_servers_byte_for_byte(
        scenario_store: tuple[Services, str], store_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    services, project = scenario_store
    bundle = tmp_path / "bundle.jsonl"
    assert main(["audit", "export", "--database", store_url]) == 0
    bundle.write_text(capsys.readouterr().out, encoding="utf-8")
    replayed = {}
    for form in ("md", "json"):
        assert main(["report", project, "2026-11", "--as-of", AS_OF.isoformat(),
                     "--format", form, "--database", store_url]) == 0
        cli = capsys.readouterr().out
        assert main(["audit", "replay", "--bundle", str(bundle), "--report", project,
                     "2026-11", "--as-of", AS_OF.isoformat(), "--format", form]) == 0
        out = capsys.readouterr()
        assert out.out == cli
        assert "replayed" in out.err and "SLA compliance" in out.err
        replayed[form] = out.out
    with TestClient(create_app(services)) as client:  # started: its read models follow
        for form in ("md", "json"):
            server = client.get(f"/api/v1/projects/{project}/reports/2026-11",
                                params={"as_of": AS_OF.isoformat(), "format": form})
            assert server.status_code == 200
            if form == "md":
                assert replayed[form].encode() == server.content
            else:  # the CLI pretty-prints the same document
                assert json.loads(replayed[form]) == server.json()


@ON_DB_STORES
def test_cli_exit_codes(services: Services, store_url: str, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    fill(services)
    key = Ed25519PrivateKey.generate()
    pem = tmp_path / "key.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    monkeypatch.setenv("OPSLEDGER_AUDIT_SIGNING_KEY", str(pem))
    db = ["--database", store_url]
    assert main(["audit", "verify", *db]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert main(["audit", "head", *db]) == 0
    head = tmp_path / "head.json"
    head.write_text(capsys.readouterr().out)
    public = raw_public(key.public_key())
    assert main(["audit", "check-head", str(head), "--public-key", public, *db]) == 0
    assert capsys.readouterr().out.startswith("ok: signed by the given key")
    flip_byte(services, 4)
    assert main(["audit", "verify", *db]) == 1
    assert json.loads(capsys.readouterr().out)["first_bad_position"] == 4
    assert main(["audit", "check-head", str(head), "--public-key", public, *db]) == 1
    assert "chain is broken at position 4" in capsys.readouterr().out
    monkeypatch.setenv("OPSLEDGER_AUDIT_SIGNING_KEY", "not a key")
    assert main(["audit", "head", *db]) == 2
    assert main(["audit", "verify", "--bundle", str(tmp_path / "missing.jsonl")]) == 2
