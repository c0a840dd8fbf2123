"""SLA records (domain/sla.py): given events, when a (re)definition, then new events or a named
error — and nothing recorded on refusal or on an identical definition (ADR 0014)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from application.encoding import MsgspecMapper
from domain.errors import InvalidCommand
from domain.sla import (
    Catalog,
    CalendarDefinition,
    CalendarRecord,
    PolicyDefinition,
    SlaPolicy,
    WorkingDuration,
    calendar_id,
    parse_duration,
    policy_id,
    valid_slug,
)

CST = timezone(timedelta(hours=8), "CST")
T0 = datetime(2031, 3, 14, 9, 30, tzinfo=CST)
T1 = T0 + timedelta(hours=1)
NINE_SIX = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def cal(**overrides: Any) -> CalendarDefinition:
    fields: dict[str, Any] = dict(
        name="ACME 5x8", timezone="Asia/Shanghai", base="china",
        working_hours={**NINE_SIX, "sat": [], "sun": []},
        holidays=[date(2026, 12, 25)], workdays=[date(2026, 12, 26)],
    )
    fields.update(overrides)
    return CalendarDefinition.parse(**fields)


def pol(**overrides: Any) -> PolicyDefinition:
    fields: dict[str, Any] = dict(
        name="ACME", calendar="acme-5x8",
        targets={"P1": {"response": "PT2H", "resolution": "PT4H"},
                 "P2": {"response": "PT4H", "resolution": "PT24H"},
                 "P3": {"response": "PT8H", "resolution": "P3D"}},
        warning_thresholds=[0.75, 0.5],
        escalation={"manager": "mgr-wang", "expert": "exp-zhao"},
    )
    fields.update(overrides)
    return PolicyDefinition.parse(**fields)


def fields_of(exc: pytest.ExceptionInfo[InvalidCommand]) -> set[str]:
    return {e.field for e in exc.value.errors}


def roundtrip(events: list[Any]) -> Any:
    """Encode and decode through the store's mapper, then replay."""
    mapper = MsgspecMapper()
    agg = None
    for e in events:
        agg = mapper.to_domain_event(mapper.to_stored_event(e)).mutate(agg)
    return agg


# ------------------------------------------------------------------ durations


@pytest.mark.parametrize(
    ("text", "days", "seconds"),
    [
        ("PT2H", 0, 7200),
        ("PT4H", 0, 14400),
        ("PT24H", 0, 86400),
        ("P3D", 3, 0),
        ("PT30M", 0, 1800),
        ("PT45S", 0, 45),
        ("PT1H30M", 0, 5400),
        ("PT1H0M5S", 0, 3605),
        ("P1DT2H", 1, 7200),
        ("pt8h", 0, 28800),
        ("PT90M", 0, 5400),
    ],
)
def test_durations_parse_to_working_days_and_seconds(text: str, days: int, seconds: int):
    d = parse_duration(text)
    assert (d.days, d.seconds) == (days, seconds)
    assert d.text == text.upper()


@pytest.mark.parametrize(
    "text",
    ["", "P", "PT", "2H", "PT2", "P1W", "P1M", "P1Y", "PT1.5H", "-PT1H", "PT0S", "P0D",
     "P1DT", "PT1H2H", "PT2M1H", "P 1D", "PT1,5H", "PTH"],
)
def test_bad_durations_are_refused_naming_the_field(text: str):
    with pytest.raises(InvalidCommand) as exc:
        parse_duration(text, "targets.P1.response")
    assert fields_of(exc) == {"targets.P1.response"}


# ------------------------------------------------------------------ slugs


@pytest.mark.parametrize("slug", ["a", "china-5x8", "default", "x" * 63, "0-acme"])
def test_valid_slugs(slug: str):
    assert valid_slug(slug)


@pytest.mark.parametrize("slug", ["", "-a", "A", "acme_5x8", "x" * 64, "a b", "ä", "a/b"])
def test_invalid_slugs(slug: str):
    assert not valid_slug(slug)
    with pytest.raises(InvalidCommand) as exc:
        CalendarRecord.define(slug, cal(), actor="u", at=T0)
    assert fields_of(exc) == {"id"}


# ------------------------------------------------------------------ calendars


def test_defining_a_calendar_records_defined_with_the_whole_definition():
    record = CalendarRecord.define("acme-5x8", cal(), actor="admin", at=T0)
    [event] = record.collect_events()
    assert isinstance(event, CalendarRecord.Defined)
    assert event.timestamp == T0 and event.actor == "admin" and event.slug == "acme-5x8"
    assert event.name == "ACME 5x8" and event.base == "china"
    assert event.working_hours["mon"] == (("09:00", "18:00"),)
    assert event.working_hours["sat"] == ()
    assert event.holidays == (date(2026, 12, 25),) and event.workdays == (date(2026, 12, 26),)
    assert record.id == calendar_id("acme-5x8") and record.version == 1


def test_definitions_are_normalised_so_equal_meaning_is_equal():
    a = cal(working_hours={"mon": [["9:00", "12:00"], ["13:30", "18:00"]]},
            holidays=[date(2026, 5, 1), date(2026, 1, 1), date(2026, 1, 1)])
    b = cal(working_hours={"mon": [["13:30", "18:00"], ["09:00", "12:00"]], "sun": []},
            holidays=[date(2026, 1, 1), date(2026, 5, 1)])
    assert a == b
    assert a.working_hours["tue"] == ()
    assert a.holidays == (date(2026, 1, 1), date(2026, 5, 1))


def test_redefining_records_redefined_and_a_new_version():
    record = CalendarRecord.define("acme-5x8", cal(), actor="admin", at=T0)
    created = record.collect_events()
    changed = cal(working_hours={**NINE_SIX, "sat": [["09:00", "12:00"]]})
    assert record.redefine(changed, actor="boss", at=T1) is True
    [event] = record.collect_events()
    assert isinstance(event, CalendarRecord.Redefined)
    assert event.timestamp == T1 and event.actor == "boss"
    assert record.version == 2 and record.definition == changed
    assert record.defined_by == "boss"
    # the stored history replays to the same record
    again = roundtrip([*created, event])
    assert again.definition == changed and again.version == 2 and again.slug == "acme-5x8"


def test_an_identical_definition_records_nothing():
    record = CalendarRecord.define("acme-5x8", cal(), actor="admin", at=T0)
    record.collect_events()
    assert record.redefine(cal(), actor="admin", at=T1) is False
    assert record.collect_events() == [] and record.version == 1


def test_a_decoded_record_compares_equal_to_the_same_definition():
    record = CalendarRecord.define("acme-5x8", cal(), actor="admin", at=T0)
    stored = roundtrip(record.collect_events())
    assert stored.definition == cal()
    assert stored.redefine(cal(), actor="x", at=T1) is False


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"working_hours": {"mon": [["25:00", "26:00"]]}}, "working_hours.mon[0]"),
        ({"working_hours": {"mon": [["09:60", "18:00"]]}}, "working_hours.mon[0]"),
        ({"working_hours": {"mon": [["18:00", "09:00"]]}}, "working_hours.mon[0]"),
        ({"working_hours": {"mon": [["09:00", "09:00"]]}}, "working_hours.mon[0]"),
        ({"working_hours": {"mon": [["24:00", "24:00"]]}}, "working_hours.mon[0]"),
        ({"working_hours": {"tue": [["09:00", "13:00"], ["12:00", "18:00"]]}}, "working_hours.tue"),
        ({"working_hours": {"monday": [["09:00", "18:00"]]}}, "working_hours.monday"),
        ({"working_hours": {"mon": [["09:00"]]}}, "working_hours.mon[0]"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"timezone": "../etc/passwd"}, "timezone"),
        ({"base": "usa"}, "base"),
        ({"name": "  "}, "name"),
        ({"holidays": [date(2026, 1, 1)], "workdays": [date(2026, 1, 1)]}, "workdays"),
        ({"holidays": ["2026-01-01"]}, "holidays[0]"),
    ],
)
def test_bad_calendars_are_refused_naming_the_field(overrides: dict[str, Any], field: str):
    with pytest.raises(InvalidCommand) as exc:
        cal(**overrides)
    assert field in fields_of(exc), exc.value.errors


def test_every_broken_rule_is_named_at_once():
    with pytest.raises(InvalidCommand) as exc:
        cal(name="", timezone="Nowhere/X", working_hours={"xyz": [], "mon": [["25:00", "26:00"]]})
    assert fields_of(exc) >= {"name", "timezone", "working_hours.xyz", "working_hours.mon[0]"}


def test_24_00_ends_a_day_and_breaks_are_gaps():
    d = cal(working_hours={"mon": [["00:00", "24:00"]], "tue": [["09:00", "12:00"], ["13:30", "18:00"]]})
    assert d.working_hours["mon"] == (("00:00", "24:00"),)
    c = d.calendar()
    assert c.day_intervals(date(2026, 11, 24)) == ((9 * 3600, 12 * 3600), (13 * 3600 + 1800, 18 * 3600))


def test_the_record_days_win_over_the_base_days():
    d = cal(holidays=[date(2026, 12, 25)], workdays=[date(2026, 10, 1)])
    c = d.calendar(base_holidays=[date(2026, 10, 1)], base_workdays=[date(2026, 12, 25)])
    assert c.is_working_day(date(2026, 10, 1)) and not c.is_working_day(date(2026, 12, 25))


# ------------------------------------------------------------------ policies


def test_defining_a_policy_stores_text_and_parsed_targets():
    record = SlaPolicy.define("acme", pol(), actor="admin", at=T0)
    [event] = record.collect_events()
    assert isinstance(event, SlaPolicy.Defined)
    assert event.timestamp == T0 and event.actor == "admin" and event.calendar == "acme-5x8"
    assert event.targets["P3"].resolution == WorkingDuration("P3D", 3, 0)
    assert event.targets["P1"].response == WorkingDuration("PT2H", 0, 7200)
    assert event.warning_thresholds == (0.5, 0.75)  # sorted
    assert event.escalation.manager == "mgr-wang" and event.escalation.expert == "exp-zhao"
    assert record.id == policy_id("acme") and record.id != calendar_id("acme")
    again = roundtrip([event])
    assert again.definition == pol() and again.version == 1


def test_redefining_a_policy_and_an_identical_one():
    record = SlaPolicy.define("acme", pol(), actor="admin", at=T0)
    first = record.collect_events()
    assert record.redefine(pol(warning_thresholds=[0.5, 0.75]), actor="a", at=T1) is False
    assert record.collect_events() == []
    assert record.redefine(pol(warning_thresholds=[0.9]), actor="a", at=T1) is True
    [event] = record.collect_events()
    assert isinstance(event, SlaPolicy.Redefined) and record.version == 2
    assert roundtrip([*first, event]).definition.warning_thresholds == (0.9,)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"warning_thresholds": [0]}, "warning_thresholds[0]"),
        ({"warning_thresholds": [0.5, 1]}, "warning_thresholds[1]"),
        ({"warning_thresholds": [1.5]}, "warning_thresholds[0]"),
        ({"warning_thresholds": [-0.1]}, "warning_thresholds[0]"),
        ({"warning_thresholds": [True]}, "warning_thresholds[0]"),
        ({"targets": {"P1": {"response": "PT2H", "resolution": "PT4H"},
                      "P2": {"response": "PT4H", "resolution": "PT24H"},
                      "P3": {"response": "PT8H", "resolution": "P3D"},
                      "P4": {"response": "PT8H", "resolution": "P3D"}}}, "targets.P4"),
        ({"targets": {"P1": {"response": "PT2H", "resolution": "PT4H"},
                      "P2": {"response": "PT4H", "resolution": "PT24H"}}}, "targets.P3"),
        ({"targets": {"P1": {"response": "2 hours", "resolution": "PT4H"},
                      "P2": {"response": "PT4H", "resolution": "PT24H"},
                      "P3": {"response": "PT8H", "resolution": "P3D"}}}, "targets.P1.response"),
        ({"targets": {"P1": {"response": "PT2H"},
                      "P2": {"response": "PT4H", "resolution": "PT24H"},
                      "P3": {"response": "PT8H", "resolution": "P1M"}}}, "targets.P3.resolution"),
        ({"targets": {"P1": {"response": "PT2H"},
                      "P2": {"response": "PT4H", "resolution": "PT24H"},
                      "P3": {"response": "PT8H", "resolution": "P3D"}}}, "targets.P1.resolution"),
        ({"escalation": {"manager": "", "expert": "x"}}, "escalation.manager"),
        ({"escalation": {"manager": "m"}}, "escalation.expert"),
        ({"calendar": "Not A Slug"}, "calendar"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_policies_are_refused_naming_the_field(overrides: dict[str, Any], field: str):
    with pytest.raises(InvalidCommand) as exc:
        pol(**overrides)
    assert field in fields_of(exc), exc.value.errors


# ------------------------------------------------------------------ catalog


def test_the_catalog_lists_each_slug_once():
    catalog = Catalog.open(T0)
    catalog.add("calendar", "acme-5x8", T0)
    catalog.add("calendar", "acme-5x8", T1)
    catalog.add("policy", "acme", T1)
    events = catalog.collect_events()
    assert [type(e).__name__ for e in events] == ["Opened", "Listed", "Listed"]
    again = roundtrip(events)
    assert again.calendars == ("acme-5x8",) and again.policies == ("acme",)
    assert again.id == Catalog.ID
