"""The ConfigurationItem aggregate (issue 20 item 1, ADR 0063): registration's 422s, updates
recording only what changed, the status machine, relations (no self-relation, no duplicate),
verification verdicts and the monthly-update flag of a configuration library."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from domain.ci import ConfigurationItem, RelationType, Status, Verdict, library_stale
from domain.errors import InvalidCommand, TransitionNotAllowed

CST = timezone(timedelta(hours=8), "CST")
T0 = datetime(2031, 3, 14, 9, 30, tzinfo=CST)
CI_ID = UUID("00000000-0000-4000-8000-0000000000c1")


def register(**overrides: Any) -> ConfigurationItem:
    kwargs: dict[str, Any] = dict(id=CI_ID, number="CI-20310314-001", name=" db-01 ",
                                  ci_class="Server", customer=" acme ", actor="mgr", at=T0,
                                  asset_tag="AT-1", warranty_end=date(2032, 1, 1),
                                  attributes={"cpu": "16", "empty": " "})
    kwargs.update(overrides)
    return ConfigurationItem.register(**kwargs)


def test_register_normalises_and_keeps_the_fields() -> None:
    ci = register()
    assert (ci.name, ci.ci_class, ci.customer, ci.status) == ("db-01", "server", "acme",
                                                              Status.IN_USE)
    assert ci.attributes == {"cpu": "16"}
    assert ci.in_warranty(date(2031, 12, 31)) and not ci.in_warranty(date(2032, 1, 2))


def test_register_names_every_refused_field() -> None:
    with pytest.raises(InvalidCommand) as e:
        register(name="", ci_class="spaceship", customer=" ", status="lost")
    assert {x.field for x in e.value.errors} == {"name", "class", "customer", "status"}


def test_update_records_only_changes() -> None:
    ci = register()
    assert not ci.update(fields={"name": "db-01", "asset_tag": None}, actor="a", at=T0)
    assert ci.update(fields={"location": "机房 A", "warranty_end": ""}, actor="a", at=T0)
    events = ci.collect_events()
    assert events[-1].changes == {"location": "机房 A", "warranty_end": ""}
    assert ci.warranty_end is None


def test_status_machine_and_retired_is_final() -> None:
    ci = register()
    assert not ci.change_status(status="in_use", reason="", actor="a", at=T0)
    with pytest.raises(InvalidCommand):
        ci.change_status(status="in_repair", reason=" ", actor="a", at=T0)
    assert ci.change_status(status="retired", reason="scrapped", actor="a", at=T0)
    with pytest.raises(TransitionNotAllowed):
        ci.change_status(status="in_use", reason="back", actor="a", at=T0)


def test_relations_refuse_self_and_ignore_repeats() -> None:
    ci = register()
    with pytest.raises(InvalidCommand) as e:
        ci.relate(relation_id="r0", type="runs_on", target=str(CI_ID), target_number="x",
                  actor="a", at=T0)
    assert e.value.errors[0].field == "target"
    ci.relate(relation_id="r1", type="runs_on", target="t", target_number="CI-2", actor="a",
              at=T0)
    ci.relate(relation_id="r2", type="runs_on", target="t", target_number="CI-2", actor="a",
              at=T0)
    assert [r.id for r in ci.relations] == ["r1"] and ci.relations[0].type is RelationType.RUNS_ON
    ci.unrelate(relation_id="r1", reason="moved", actor="a", at=T0)
    assert ci.relations == ()


def test_verify_needs_a_note_for_findings() -> None:
    ci = register()
    with pytest.raises(InvalidCommand) as e:
        ci.verify(round="2031-H1", verdict="missing", note="", actor="a", at=T0)
    assert e.value.errors[0].field == "note"
    ci.verify(round="2031-H1", verdict="confirmed", note="", actor="a", at=T0)
    assert ci.verifications[0][:2] == ("2031-H1", Verdict.CONFIRMED)


@pytest.mark.parametrize(("last", "today", "stale"), [
    (date(2031, 2, 28), date(2031, 3, 14), False),  # February had a change
    (date(2031, 1, 31), date(2031, 3, 1), True),  # February had none
    (date(2030, 11, 30), date(2031, 1, 10), True),  # across the year
    (date(2030, 12, 1), date(2031, 1, 10), False),
    (None, date(2031, 3, 14), False),
])
def test_library_stale_after_a_calendar_month_without_change(last: date | None, today: date,
                                                               stale: bool) -> None:
    assert library_stale(last, today) is stale
