"""The bulk folds' shortcuts (ADR 0082) give what the incremental path stores.

* the ticket search folded with its times kept as ``datetime`` and stamped once a row
  (``projection.keep``/``stamped``) equals the rows ``apply`` makes event by event;
* the SLA due index's ``stamp`` (``isoformat``) writes what ``strftime`` wrote, and its
  ``finish`` computes ``next_check_at`` from the decoded columns as from their text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.sla_due import projection as sla
from projections.ticket_search import projection as search
from tests.projections.workload import view_dataset


def test_ticket_search_rows_folded_with_times_kept_equal_the_stamped_ones() -> None:
    events = view_dataset().events
    stamped: dict[str, dict] = {}
    kept: dict[str, dict] = {}
    for pe in events:
        key = search.row_key(pe.event.originator_id)
        for rows, when in ((stamped, search.stamp), (kept, search.keep)):
            row = search.apply(rows.get(key), pe.event, pe.position, when)  # type: ignore[arg-type]
            if row is not None:
                rows[key] = row  # type: ignore[assignment]
    assert stamped
    assert any(not isinstance(r["updated_at"], str) for r in kept.values())
    assert {k: search.stamped(dict(r)) for k, r in kept.items()} == stamped


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)),
                                               timezone(timedelta(hours=-5, minutes=-30))])))
@settings(max_examples=500)
def test_sla_stamp_writes_what_strftime_wrote(value: datetime) -> None:
    assert sla.stamp(value) == value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _clock_row(**values: object) -> dict:
    row = dict(id="t:response", ticket_id="t", clock="response", due="2026-03-02T05:00:00.000000Z",
               thresholds=[0.5, 0.8], instants=["2026-03-02T03:00:00.000000Z",
                                                 "2026-03-02T04:12:00.000000Z"],
               done=[[0.5, "2026-03-02T03:00:00.000000Z"]], running=1, paused=0,
               next_check_at=None, version=3)
    row.update(values)
    return row


def _milestones_row(**values: object) -> dict:
    row = dict(id="t:milestones", ticket_id="t", clock="milestones", due="",
               thresholds={"specs": [["diagnosis", "Started", ["Resolved"], 3600]],
                           "ths": [0.75], "start": "2026-03-02T01:00:00.000000Z"},
               instants=[["Registered", "2026-03-02T01:00:00.000000Z"],
                         ["Started", "2026-03-02T01:30:00.000000Z"]],
               done=[["warning", "diagnosis", "2026-03-02T01:30:00.000000Z", 0.75]],
               running=0, paused=0, next_check_at=None, version=4)
    row.update(values)
    return row


ROWS = [
    _clock_row(), _clock_row(done=[]), _clock_row(paused=1), _clock_row(running=0),
    _clock_row(done=[[0.5, "2026-03-02T03:00:00.000000Z"], [0.8, "2026-03-02T04:12:00.000000Z"],
                     [1.0, "2026-03-02T05:00:00.000000Z"]]),
    _milestones_row(), _milestones_row(done=[]), _milestones_row(thresholds={}),
    _milestones_row(thresholds={"specs": [["diagnosis", "Started", ["Resolved"], 3600]],
                                "ths": [0.75], "start": "2026-03-02T01:00:00.000000Z",
                                "closed": True}),
]


def test_sla_finish_from_decoded_columns_equals_from_their_text() -> None:
    found = set()
    for row in ROWS:
        as_text = {k: json.dumps(v) if k in ("thresholds", "instants", "done") else v
                   for k, v in row.items()}
        decoded = sla.finish(dict(row))  # type: ignore[arg-type]
        assert decoded == sla.finish(as_text)  # type: ignore[arg-type]
        found.add(decoded["next_check_at"])
    assert len(found) > 2  # the cases reach different answers (None among them)


def test_sla_rows_folded_from_the_dataset_finish_alike() -> None:
    rows: dict[str, dict] = {}
    for pe in view_dataset().events:
        tid = str(pe.event.originator_id)
        sla.apply(rows.setdefault(tid, {}), tid, pe.event)
    assert rows
    for mine in rows.values():
        for row in mine.values():
            as_text = {k: v if isinstance(v, str) or k not in ("thresholds", "instants", "done")
                       else json.dumps(v) for k, v in row.items()}
            assert sla.finish(dict(row)) == sla.finish(as_text)  # type: ignore[arg-type]


def test_search_status_follows_the_list_rows_status() -> None:
    """``status_after`` (the list's handlers on a scratch row whose response is recorded
    already) gives the status the list's own rows reach, event by event."""
    from projections.ticket_list import projection as listing

    lists: dict[str, dict] = {}
    searches: dict[str, dict] = {}
    for pe in view_dataset().events:
        key = search.row_key(pe.event.originator_id)
        row = listing.apply(lists.get(key), pe.event, pe.position)  # type: ignore[arg-type]
        if row is not None:
            lists[key] = row  # type: ignore[assignment]
        found = search.apply(searches.get(key), pe.event, pe.position)  # type: ignore[arg-type]
        if found is not None:
            searches[key] = found  # type: ignore[assignment]
        if key in searches:
            assert searches[key]["status"] == lists[key]["status"]
    assert len({r["status"] for r in lists.values()}) > 4
