"""The fast chain check (ADR 0069, adapters/audit/scan.py) gives the reference verdict
(``application.audit.verify`` over the merged streams) on every kind of tampering, in one
process and split into segments checked by several processes: a change in either half is
found at its position, with the same count and head before it."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.audit.chain import AuditError, verify_store
from adapters.audit.scan import segments
from adapters.audit.store import ChainStore
from adapters.container import Services
from application.audit import merge, verify
from tests.adapters.audit.audit_support import fill, flip_byte, tamper
from tests.fixtures_stores import DB_STORES, ON_DB_STORES

TICKETS = 12  # ~60 events: two halves of ~30


def reference(services: Services, start: int = 0) -> dict[str, Any]:
    """The verdict of the reference check (the one every store had before ADR 0069)."""
    store = ChainStore(services.desk.recorder)
    stop = max(store.bounds())
    before, anchor = store.hash_before(start) if start > 1 else (0, "00" * 32)
    pairs = merge(store.events(before, stop), store.chain(before, stop))
    return verify(pairs, anchor=bytes.fromhex(anchor), anchor_position=before).as_dict()


def fast(services: Services, processes: int, start: int = 0) -> dict[str, Any]:
    return verify_store(services.desk.recorder, start=start, processes=processes).as_dict()


# (what is done behind the application's back, as a function of the head position)
CASES: dict[str, Any] = {
    "intact": lambda s, h: None,
    "byte, first half": lambda s, h: flip_byte(s, 3),
    "byte, second half": lambda s, h: flip_byte(s, h - 4),
    "last event's byte": lambda s, h: flip_byte(s, h),
    "event deleted, first half": lambda s, h: tamper(s, "DELETE FROM {events} WHERE {pos} = %s",
                                                     (5,)),
    "event deleted, second half": lambda s, h: tamper(s, "DELETE FROM {events} WHERE {pos} = %s",
                                                      (h - 6,)),
    "last event deleted": lambda s, h: tamper(s, "DELETE FROM {events} WHERE {pos} = %s", (h,)),
    "first event deleted": lambda s, h: tamper(s, "DELETE FROM {events} WHERE {pos} = %s", (1,)),
    "chain row deleted, second half": lambda s, h: tamper(
        s, "DELETE FROM {chain} WHERE position = %s", (h - 2,)),
    "chain row changed at the split": lambda s, h: tamper(
        s, "UPDATE {chain} SET hash = %s WHERE position = %s", ("ab" * 32, h // 2)),
    "event moved": lambda s, h: tamper(s, "UPDATE {events} SET {pos} = {pos} + 1000 "
                                          "WHERE {pos} = %s", (h // 2 + 3,)),
    "row appended": lambda s, h: tamper(
        s, "INSERT INTO {events} (originator_id, originator_version, topic, state) "
           "SELECT originator_id, originator_version + 1000, topic, state FROM {events} "
           "WHERE {pos} = %s", (2,)),
    "id lengthened (33 characters, SQLite)": lambda s, h: tamper(
        s, "UPDATE {events} SET originator_id = originator_id || 'x' WHERE {pos} = %s", (h - 1,)),
}


@ON_DB_STORES
@pytest.mark.parametrize("case", list(CASES))
def test_the_fast_check_gives_the_reference_verdict(services: Services, store_kind: str,
                                                     case: str) -> None:
    if "SQLite" in case and store_kind != "sqlite":
        pytest.skip("PostgreSQL's originator_id is a uuid")
    head = fill(services, TICKETS)
    CASES[case](services, head)
    expected = reference(services)
    assert (expected["ok"], case) == (case == "intact", case)
    for processes in (1, 2, 3):
        assert fast(services, processes) == expected, (case, processes)


@ON_DB_STORES
def test_segments_from_a_position_and_a_head_check(services: Services) -> None:
    head = fill(services, TICKETS)
    for start in (2, head // 2, head - 1):
        assert fast(services, 2, start) == reference(services, start)
    flip_byte(services, head - 3)
    assert fast(services, 2, head // 2) == reference(services, head // 2)
    verdict = verify_store(services.desk.recorder, stop=head - 4, processes=2)
    assert verdict.ok and verdict.position == head - 4


def test_segments_cover_the_range_once() -> None:
    assert segments(0, 10, 2) == [(0, 5), (5, 10)]
    assert segments(7, 10, 3) == [(7, 8), (8, 9), (9, 10)]
    assert segments(0, 2, 3) == [(0, 1), (1, 2)]
    for before, stop, n in ((0, 1_000_001, 2), (5, 99, 7), (0, 1, 2)):
        parts = segments(before, stop, n)
        assert parts[0][0] == before and parts[-1][1] == stop
        assert all(a[1] == b[0] for a, b in zip(parts, parts[1:], strict=False))


# ------------------------------------------------------------------ bundles


def reference_bundle(text: str) -> dict[str, Any]:
    """The chain verdict of a bundle read line by line with the standard library."""
    import base64
    import json

    lines = text.splitlines()
    header = json.loads(lines[0])

    def rows() -> Any:
        for line in lines[1:]:
            obj = json.loads(line)
            if obj.get("trailer"):
                return
            position = int(obj["position"])
            yield position, (position, str(obj["originator_id"]), int(obj["originator_version"]),
                             str(obj["topic"]), base64.b64decode(obj["state"])), obj.get("hash")

    return verify(rows(), anchor=bytes.fromhex(header["anchor"]["hash"]),
                  anchor_position=header["anchor"]["position"]).as_dict()


def test_a_bundle_check_gives_the_reference_verdict(services: Services, tmp_path: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import base64
    import io
    import json

    from adapters.audit import bundle as bundles
    from adapters.audit.bundle import export, verify_bundle, verify_bundle_file

    monkeypatch.setattr(bundles, "PARALLEL_BYTES", 0)  # cut even a small file into parts

    head = fill(services, TICKETS)
    out = io.StringIO()
    export(services.desk.recorder, out)
    lines = out.getvalue().splitlines()

    def edited(index: int, **changes: Any) -> list[str]:
        line = json.loads(lines[index]) | changes
        return [*lines[:index], json.dumps(line), *lines[index + 1:]]

    state = json.loads(lines[head - 3])["state"]
    flipped = base64.b64encode(bytes([base64.b64decode(state)[0] ^ 1])
                               + base64.b64decode(state)[1:]).decode()
    cases = {
        "intact": lines,
        "a byte late": edited(head - 3, state=flipped),
        "lines swapped": [*lines[:5], lines[6], lines[5], *lines[7:]],
        "position as text (the plain reader)": edited(4, position=str(4)),
        "a hash missing": edited(9, hash=None),
        "a trailer in the middle": [*lines[:8], lines[-1], *lines[8:]],
    }
    for name, case in cases.items():
        text = "\n".join(case) + "\n"
        for mode in ("text", "bytes"):
            stream: Any = io.StringIO(text) if mode == "text" else io.BytesIO(text.encode())
            verdict, _ = verify_bundle(stream)
            expected = reference_bundle(text)
            if expected["ok"] and not verdict.ok:  # the trailer's checks, beyond the chain
                assert name == "a trailer in the middle", name
                assert "trailer" in str(verdict.reason)
                continue
            assert verdict.as_dict() == expected, (name, mode)
        path = tmp_path / "case.jsonl"
        path.write_text(text, encoding="utf-8")
        single = verify_bundle(io.StringIO(text))
        for processes in (2, 3, 5):  # in parts: the one pass's verdict and note
            assert verify_bundle_file(path, processes=processes) == single, (name, processes)
    # A line that is not JSON after a broken chain: the break is reported, as line by line.
    broken = [*edited(4, state=flipped)[:head - 2], "not json", *lines[head - 1:]]
    verdict, _ = verify_bundle(io.StringIO("\n".join(broken) + "\n"))
    assert (verdict.ok, verdict.first_bad_position) == (False, 4)
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(broken) + "\n", encoding="utf-8")
    for processes in (1, 2, 3):
        verdict, _ = verify_bundle_file(path, processes=processes)
        assert (verdict.ok, verdict.first_bad_position) == (False, 4)
    # ...and with the chain whole, the bad line is named by its number in the file, whichever
    # part it falls in; a bundle cut short has no trailer.
    for processes in (1, 2, 3):
        path.write_text("\n".join([*lines[:head - 2], "not json", *lines[head - 1:]]) + "\n",
                        encoding="utf-8")
        with pytest.raises(AuditError, match=f"line {head - 1}: not JSON"):
            verify_bundle_file(path, processes=processes)
        path.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
        with pytest.raises(AuditError, match="no trailer"):
            verify_bundle_file(path, processes=processes)


# ------------------------------------------------------------------ replay's bulk load


@ON_DB_STORES
def test_a_bulk_loaded_bundle_equals_the_store_row_for_row(services: Services,
                                                          tmp_path: Any) -> None:
    import io
    import sqlite3

    from adapters.audit.bundle import export
    from adapters.audit.replay import load_verified
    from adapters.stores.persistence import LogReader
    from application.audit import originator_text

    head = fill(services, TICKETS)
    out = io.StringIO()
    export(services.desk.recorder, out)
    bundle = tmp_path / "bundle.jsonl"
    bundle.write_text(out.getvalue(), encoding="utf-8")
    events = [(p, originator_text(o), v, t, bytes(s))
              for p, o, v, t, s in LogReader(services.desk.recorder).read(0, 10_000)]
    chain = ChainStore(services.desk.recorder).chain_page(0, head, 10_000)
    assert len(events) == len(chain) == head
    for processes in (1, 2):
        database = tmp_path / f"loaded-{processes}.sqlite3"
        verdict, loaded = load_verified(bundle, database, processes=processes)
        assert verdict.ok and loaded == head
        with sqlite3.connect(database) as con:
            assert con.execute("SELECT rowid, originator_id, originator_version, topic, state "
                               "FROM stored_events ORDER BY rowid").fetchall() == events
            assert con.execute("SELECT position, hash FROM event_chain "
                               "ORDER BY position").fetchall() == chain
            # The library's key, built after the rows: a duplicate is refused.
            with pytest.raises(sqlite3.IntegrityError):
                con.execute("INSERT INTO stored_events (originator_id, originator_version, "
                            "topic, state) VALUES (?, ?, 'x', x'00')", events[3][1:3])
    # A bundle that does not verify: the load beside the check is thrown away.
    lines = out.getvalue().splitlines()
    lines[7] = lines[7].replace('"hash":"', '"hash":"0')[:-2] + '"}'
    bundle.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for processes in (1, 2):
        with pytest.raises(AuditError, match="does not verify: position 7"):
            load_verified(bundle, tmp_path / f"bad-{processes}.sqlite3", processes=processes)


@pytest.mark.parametrize("store_kind", [DB_STORES[0]], indirect=True)
def test_the_cli_in_one_process_and_in_two(services: Services, store_url: str, tmp_path: Any,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from adapters.cli.main import main

    head = fill(services, TICKETS)
    assert main(["audit", "export", "--database", store_url]) == 0
    bundle = tmp_path / "bundle.jsonl"
    bundle.write_text(capsys.readouterr().out, encoding="utf-8")
    replayed = set()
    for processes in ("1", "2"):
        assert main(["audit", "replay", "--bundle", str(bundle), "--processes", processes]) == 0
        err = capsys.readouterr().err
        replayed.add(next(line for line in err.splitlines() if line.startswith("replayed")))
        assert "seconds: verify and load" in err
    assert replayed == {f"replayed {head} events, head {head}:{fast(services, 1)['head']}"}
    flip_byte(services, head - 5)
    answers = []
    for processes in ("1", "2"):
        assert main(["audit", "verify", "--database", store_url, "--processes", processes]) == 1
        answers.append(json.loads(capsys.readouterr().out))
        assert main(["audit", "verify", "--bundle", str(bundle), "--processes", processes]) == 0
        capsys.readouterr()
    assert answers[0] == answers[1] and answers[0]["first_bad_position"] == head - 5
