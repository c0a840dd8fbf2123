"""An announcement of planned maintenance (维护通知, issue 19 item 5, ADR 0060).

The source documents' rule ([001] 2.3): "我们将提前至少48小时通过系统公告、电子邮件等方式通知
用户" -- a planned maintenance window is announced at least 48 hours before it starts, in the
portal and by e-mail to the customers it concerns. So:

- ``publish`` records ``Announcement.Published`` (``ANN-YYYYMMDD-NNN``) with its scope (the
  customers whose contacts are told and who see it in the portal, the systems concerned), the
  window ``[starts, ends)`` and the text. ``starts`` must lie at least ``lead`` (48 hours by
  default, ``OPSLEDGER_ANNOUNCEMENT_LEAD_HOURS``) after the time of publishing, else a 422
  naming ``starts``. "在紧急情况下,我们可能无法提前通知用户": the window of an *emergency*
  change (``short_notice``) may start sooner; it is announced all the same.
- An announcement about a change (``change_id``) covers the change's planned window: it starts
  no later and ends no earlier (a 422 naming ``starts`` / ``ends`` otherwise).
- ``withdraw`` (the maintenance is called off) records ``Announcement.Withdrawn`` with the
  reason; refused (409) once withdrawn or once the window is over.

Whether an announcement is upcoming, current or past is a matter of the reader's clock
(``phase``); only ``published`` and ``withdrawn`` are recorded.

Pure: standard library and ``eventsourcing.domain``; time, actor and ids come in as arguments.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.checks import (
    StatusRules,
    given,
    instant_errors,
    present,
    refuse_fields,
    stripped,
    unique_texts,
)
from domain.customer import normalise_customer_id
from domain.errors import FieldError
from domain.records import RecordEvent, directory

#: The source's rule: at least 48 hours' notice of planned maintenance ([001] 2.3).
DEFAULT_LEAD = timedelta(hours=48)
TITLE_FROM_BODY = 60  # a title left out: the body's first line, at most this many characters


class Status(StrEnum):
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class Phase(StrEnum):
    """Where a published announcement's window stands at a given time."""

    UPCOMING = "upcoming"
    CURRENT = "current"
    PAST = "past"
    WITHDRAWN = "withdrawn"


ALLOWED: dict[Status, tuple[str, ...]] = {
    Status.PUBLISHED: ("withdraw",),
    Status.WITHDRAWN: (),
}


class Announcement(StatusRules, Aggregate):
    TOPIC = "opsledger.announcement:Announcement"
    ALLOWED = ALLOWED
    RECORD = "announcement"

    class Event(RecordEvent):
        TOPIC = "opsledger.announcement:Announcement.Event"

    class Published(Aggregate.Created):
        """The announcement (contract 4 of issue 19: the notice outbox mails it to the
        contacts of ``customers``). ``change_id`` / ``change_number``: the change whose
        window it announces ("" when none)."""

        TOPIC = "opsledger.announcement:Announcement.Published"
        number: str
        title: str
        body: str
        customers: tuple[str, ...]
        systems: tuple[str, ...]
        starts: datetime
        ends: datetime
        change_id: str
        change_number: str
        actor: str

    class Withdrawn(Event):
        """The maintenance is called off (the outbox tells the same contacts)."""

        TOPIC = "opsledger.announcement:Announcement.Withdrawn"
        reason: str

        def apply(self, a: Announcement) -> None:
            a.status = Status.WITHDRAWN
            a.withdrawn_at = self.timestamp
            a.withdrawn_by = self.actor
            a.withdraw_reason = self.reason

    def __init__(self, number: str, title: str, body: str, customers: tuple[str, ...],
                 systems: tuple[str, ...], starts: datetime, ends: datetime, change_id: str,
                 change_number: str, actor: str) -> None:
        self.number = number
        self.title = title
        self.body = body
        self.customers = tuple(customers)
        self.systems = tuple(systems)
        self.starts = starts
        self.ends = ends
        self.change_id = change_id
        self.change_number = change_number
        self.published_by = actor
        self.status = Status.PUBLISHED
        self.withdrawn_at: datetime | None = None
        self.withdrawn_by: str | None = None
        self.withdraw_reason: str | None = None

    # ----------------------------------------------------------------- queries

    @property
    def published_at(self) -> datetime:
        return self.created_on

    @property
    def notice(self) -> timedelta:
        """How long before its window the announcement was published."""
        return self.starts - self.published_at

    def phase(self, now: datetime) -> Phase:
        if self.status is Status.WITHDRAWN:
            return Phase.WITHDRAWN
        if now < self.starts:
            return Phase.UPCOMING
        return Phase.CURRENT if now < self.ends else Phase.PAST

    def concerns(self, customer: str | None) -> bool:
        """Whether ``customer`` is in the announcement's scope (what its requesters may read)."""
        wanted = normalise_customer_id(customer or "")
        return bool(wanted) and wanted in self.customers

    # ---------------------------------------------------------------- commands

    @classmethod
    def publish(
        cls,
        *,
        id: UUID,
        number: str,
        body: str,
        customers: tuple[str, ...] | list[str],
        starts: datetime | None,
        ends: datetime | None,
        actor: str,
        at: datetime,
        title: str = "",
        systems: tuple[str, ...] | list[str] = (),
        lead: timedelta = DEFAULT_LEAD,
        short_notice: bool = False,
        change_id: str = "",
        change_number: str = "",
        change_window: tuple[datetime, datetime] | None = None,
    ) -> Announcement:
        """Publishes the announcement; one 422 names every field refused. ``lead``: the least
        notice (``starts`` at least this long after ``at``) unless ``short_notice`` (an
        emergency change's window, which must merely not be over). ``change_window``: the
        planned window of the change ``change_id`` that the announcement must cover."""
        errors: list[FieldError] = []
        text = present(errors, "body", stripped(body))
        scope = present(errors, "scope.customers", unique_texts(customers, normalise_customer_id),
                        "name at least one customer")
        errors += instant_errors("starts", starts) + instant_errors("ends", ends)
        if not errors or not any(e.field in ("starts", "ends") for e in errors):
            assert starts is not None and ends is not None
            errors += _window_errors(starts, ends, at, lead, short_notice, change_number,
                                     change_window)
        refuse_fields(errors)
        assert starts is not None and ends is not None
        heading = stripped(title) or text.splitlines()[0].strip()[:TITLE_FROM_BODY]
        return cls._create(
            cls.Published, id=id, timestamp=at, number=number, title=heading, body=text,
            customers=scope, systems=unique_texts(systems), starts=starts, ends=ends,
            change_id=stripped(change_id), change_number=stripped(change_number), actor=actor)

    def withdraw(self, *, reason: str, actor: str, at: datetime) -> None:
        """Calls the maintenance off: 409 once withdrawn or once the window is over."""
        self.require("withdraw")
        if at >= self.ends:
            self.refuse("withdraw", f"the window ended at {self.ends.isoformat()}")
        self.trigger_event(self.Withdrawn, timestamp=at, actor=actor, reason=given(
            "reason", reason, "say why the maintenance is called off"))


def _window_errors(starts: datetime, ends: datetime, at: datetime, lead: timedelta,
                   short_notice: bool, change_number: str,
                   change_window: tuple[datetime, datetime] | None) -> list[FieldError]:
    errors: list[FieldError] = []
    if ends <= starts:
        errors.append(FieldError("ends", "must be after starts"))
    if short_notice:
        if ends <= at:
            errors.append(FieldError("ends", "the window is already over"))
    elif starts < at + lead:
        hours = lead.total_seconds() / 3600
        errors.append(FieldError("starts", (
            f"planned maintenance is announced at least {hours:g} hours ahead: starts must be "
            f"{(at + lead).astimezone(starts.tzinfo).isoformat(timespec='minutes')} or later")))
    if change_window is not None:
        first, last = change_window
        label = f"change {change_number}" if change_number else "the change"
        if starts > first:
            errors.append(FieldError("starts", (
                f"must cover the planned window of {label}: no later than "
                f"{first.astimezone(starts.tzinfo).isoformat(timespec='minutes')}")))
        if ends < last:
            errors.append(FieldError("ends", (
                f"must cover the planned window of {label}: no earlier than "
                f"{last.astimezone(ends.tzinfo).isoformat(timespec='minutes')}")))
    return errors


AnnouncementDirectory = directory(
    "opsledger.announcement:AnnouncementDirectory", "opsledger:announcement-directory",
    key="announcement_id", items="announcements", module=__name__,
    doc="""The ids of every announcement in order of publishing (for the lists), changed in the same
    transaction as each announcement, like ``ProjectDirectory``.""")
