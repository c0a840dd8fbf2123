"""``application.records.as_they_stood``: the records a report reads as they stood at its
``as_of`` (the risk and major-incident figures), over the store ``opsledger demo`` fills."""

from __future__ import annotations

from datetime import timedelta

from application import major_incidents, risks
from application.desk import ServiceDesk
from application.records import as_they_stood
from domain.major_incident import MajorIncident
from domain.risk import Risk


def test_each_record_as_it_stood_and_none_recorded_later(demo_desk: ServiceDesk) -> None:
    now = sorted(risks.all_risks(demo_desk), key=lambda r: r.recorded_at)
    assert len(now) == 4 and now[0].recorded_at < now[-1].recorded_at
    before_all = now[0].recorded_at - timedelta(microseconds=1)
    assert as_they_stood(demo_desk, now, Risk, risks.LABEL, before_all) == []

    at = now[-1].recorded_at - timedelta(microseconds=1)  # the last one not recorded yet
    then = as_they_stood(demo_desk, now, Risk, risks.LABEL, at)
    assert then and len(then) < len(now)
    assert [r.number for r in then] == [r.number for r in now if r.recorded_at <= at]
    for past in then:
        assert past.version <= next(r for r in now if r.id == past.id).version
        assert past.version == risks.get_risk(demo_desk, past.id, at).version


def test_a_record_changed_later_is_read_as_it_was(demo_desk: ServiceDesk) -> None:
    closed = next(m for m in major_incidents.all_incidents(demo_desk)
                  if m.status.value == "closed")
    assert closed.closed_at is not None
    [then] = as_they_stood(demo_desk, [closed], MajorIncident, major_incidents.LABEL,
                           closed.closed_at - timedelta(microseconds=1))
    assert then.status.value != "closed" and then.version < closed.version
