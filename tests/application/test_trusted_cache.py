"""Commands run first on the cached record, without reading the store (ADR 0074): two desks on
one SQLite file stand for two server processes, each with its own cache, so each one's cache is
behind whenever the other saved. Whatever the cache says, a command's answer is the one the
store's record gives."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.container import Services
from application.commands.complaints import FileComplaint
from application.commands.customers import RegisterCustomer
from application.commands.tickets import Assign, RegisterTicket, Start
from application.errors import VersionMismatch
from application.privacy import erase_personal_data
from domain.complaint import Complaint
from domain.errors import DomainError
from domain.ticket import Contact, Status
from tests.application.test_handler import CLASSIFIED
from tests.support.services import two_processes


@pytest.fixture
def desks(tmp_path: Path) -> Iterator[tuple[Services, Services]]:
    with two_processes(f"sqlite:///{tmp_path}/two.sqlite3", sla_watch_seconds=0) as both:
        yield both


def register(s: Services) -> Any:
    return s.desk.handle(RegisterTicket(
        customer="客户A", contact=Contact("李四", "13800000000", "li@example.com"), channel="phone",
        title="打印机故障", description="d", affected_system="ERP",
        reported_at=datetime(2026, 11, 20, 9, tzinfo=UTC), **CLASSIFIED), actor="agent").aggregate


def assign(s: Services, ref: Any, who: str, **kw: Any) -> Any:
    return s.desk.handle(Assign(ref=ref, assignee=who, known_assignee=False), actor="disp", **kw)


class Reads:
    """Counts the reads of one record's events through the desk's event store (the store is
    real; only the calls are counted)."""

    def __init__(self, s: Services, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        store = s.desk.repository.event_store
        get = store.get

        def counted(originator_id: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return get(originator_id, *args, **kwargs)

        monkeypatch.setattr(store, "get", counted)


def test_a_command_on_a_record_this_process_saved_reads_nothing(desks, monkeypatch):
    a, _ = desks
    t = register(a)
    assign(a, t.id, "eng-1")  # now cached as saved
    reads = Reads(a, monkeypatch)
    result = a.desk.handle(Start(ref=t.id), actor="eng-1")
    assert result.aggregate.status is Status.IN_PROGRESS and result.aggregate.version == t.version + 2
    assert reads.count == 0


def test_the_first_command_on_a_record_this_process_created_reads_nothing(desks, monkeypatch):
    a, _ = desks
    t = register(a)  # cached as created (ADR 0075, amending ADR 0074)
    reads = Reads(a, monkeypatch)
    assert assign(a, t.id, "eng-1").aggregate.version == t.version + 1
    assert reads.count == 0


def test_a_cache_behind_another_writer_still_saves_on_the_current_record(desks):
    a, b = desks
    t = register(a)
    assign(a, t.id, "eng-1")
    assign(b, t.id, "eng-2")  # a's cache is now one version behind
    result = assign(a, t.id, "eng-3")
    stored = b.desk.get_ticket(t.id)
    assert stored.assignee == "eng-3" and stored.version == result.aggregate.version == t.version + 3


def test_an_error_from_a_cache_behind_is_checked_against_the_store(desks):
    a, b = desks
    t = register(a)
    assign(a, t.id, "eng-1")
    # a caches the ticket as assigned; b starts it, so starting again is now refused...
    b.desk.handle(Start(ref=t.id), actor="eng-1")
    with pytest.raises(DomainError):
        a.desk.handle(Start(ref=t.id), actor="eng-1")
    # ...and a refusal that only a stale cache would give is not given: a new ticket, cached by
    # a as registered (start refused there), assigned by b, is started through a
    u = register(a)
    assign(b, u.id, "eng-1")
    started = a.desk.handle(Start(ref=u.id), actor="eng-1")
    assert started.aggregate.status is Status.IN_PROGRESS


def test_if_match_is_checked_against_the_store_not_the_cache(desks):
    a, b = desks
    t = register(a)
    assign(a, t.id, "eng-1")
    current = assign(b, t.id, "eng-2").aggregate.version  # a's cache says one less
    result = assign(a, t.id, "eng-3", expected_version=current)
    assert result.aggregate.version == current + 1
    with pytest.raises(VersionMismatch):
        assign(a, t.id, "eng-4", expected_version=current)


def test_a_record_cached_before_its_customers_erasure_in_another_process_opens_as_erased(desks):
    a, b = desks
    a.desk.handle(RegisterCustomer(id="客户A", name="客户A"), actor="admin")
    filed = a.desk.handle(FileComplaint(about="service", service="桌面运维", customer="客户A",
                                        description="投诉",
                                        contact=Contact("王五", "13900000000", "wang@example.com")),
                          actor="agent").aggregate
    # a reads the complaint: cached with its contact opened
    assert a.desk.get_record(filed.id, Complaint, "complaint").contact.name == "王五"
    # b, another process, erases the customer's personal data
    erase_personal_data(b.desk, "客户A", reason="客户依据个人信息保护法要求删除个人信息",
                        requested_by="客户A 法务部", actor="admin")
    # once a's sealer's cached answers are older than its ``ttl`` (ADR 0034: another process
    # stops opening the keys within it; here at once), a answers from the store, not from
    # what it had cached
    a.desk.mapper.sealer.ttl = 0  # type: ignore[attr-defined]
    again = a.desk.get_record(filed.id, Complaint, "complaint")
    assert again.contact.name != "王五" and again.contact.phone != "13900000000"
