"""The fast chain check (ADR 0069, adapters/audit/scan.py) gives the reference verdict
(``application.audit.verify`` over the merged streams) on every kind of tampering, in one
process and split into segments checked by several processes: a change in either half is
found at its position, with the same count and head before it."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.audit.chain import verify_store
from adapters.audit.scan import segments
from adapters.audit.store import ChainStore
from adapters.container import Services
from application.audit import merge, verify
from tests.adapters.audit.audit_support import fill, flip_byte, tamper

DB_STORES = [pytest.param("sqlite", id="sqlite"),
             pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]
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
    "event deleted, first half": lambda s, h: tamper(s, "DELETE FROM {events} WHERE {pos} = %s", (5,)),
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


@pytest.mark.parametrize("store_kind", DB_STORES, indirect=True)
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


@pytest.mark.parametrize("store_kind", DB_STORES, indirect=True)
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


def test_a_bundle_check_gives_the_reference_verdict(services: Services) -> None:
    import base64
    import io
    import json

    from adapters.audit.bundle import export, verify_bundle

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
    # A line that is not JSON after a broken chain: the break is reported, as line by line.
    broken = [*edited(4, state=flipped)[:head - 2], "not json", *lines[head - 1:]]
    verdict, _ = verify_bundle(io.StringIO("\n".join(broken) + "\n"))
    assert (verdict.ok, verdict.first_bad_position) == (False, 4)
