"""``application.records.filter_id``: the record id a list's filter names (``?ticket=`` of
the complaints, ``?change=`` of the announcements)."""

from __future__ import annotations

from uuid import uuid4

from application.records import filter_id
from domain.numbering import RecordKind, record_id_for


def test_a_number_of_the_kind_an_id_or_nothing() -> None:
    assert filter_id("SR-20261121-001", RecordKind.SERVICE_REQUEST) == str(
        record_id_for("SR-20261121-001"))
    assert filter_id(" sr-20261121-001 ", RecordKind.SERVICE_REQUEST) == str(
        record_id_for("SR-20261121-001"))
    some = uuid4()
    assert filter_id(str(some).upper(), RecordKind.CHANGE) == str(some)
    assert filter_id(None, RecordKind.CHANGE) is None
    assert filter_id("  ", RecordKind.CHANGE) is None


def test_other_text_is_kept_and_names_no_record() -> None:
    assert filter_id("SR-20261121-001", RecordKind.CHANGE) == "SR-20261121-001"
    assert filter_id("not an id", RecordKind.CHANGE) == "not an id"
