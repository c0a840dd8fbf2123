"""What every command is (ADR 0046).

A command is a frozen value naming what to do (``Assign(ref="SR-…", assignee="eng.li")``);
``ServiceDesk.handle`` runs it: it loads the record the command names (``target``), checks
``If-Match`` and ``Idempotency-Key``, calls ``decide(record, ctx)`` and saves the events in
one transaction, trying again from a fresh load when another writer saved first.

``decide(record, ctx)`` runs the domain method(s) on ``record`` (``None`` for a command that
creates its record, or for a record keyed by slug that does not exist yet) with
``ctx.at``, ``ctx.actor`` and ``ctx.issue(kind)`` (the next record number) and returns:

* ``None``: ``record`` changed, save it;
* an aggregate or a tuple of aggregates: saved with ``record`` in the same transaction
  (a problem and the ticket it links); when ``record`` was ``None`` the first one *is* the
  record (the one created);
* ``NOTHING``: there is nothing to record (a repeat of the same definition, no SLA mark due).

``decide`` runs once per attempt and must not have effects outside the aggregates (no I/O
besides reads through ``ctx.desk``). ``prepare(desk)`` runs once before the attempts (reads
or set-up in their own transactions, e.g. the SLA catalogue's defaults) and ``after(result,
desk)`` once after a save (notifications, process-local caches).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, dataclass_transform
from uuid import UUID

from application.errors import record_not_found
from domain.numbering import NUMBERED_RECORDS, record_id_for

if TYPE_CHECKING:
    from application.desk import CommandResult, Context, ServiceDesk

NUMBER_PREFIXES = tuple(f"{prefix}-" for prefix in NUMBERED_RECORDS)


class _Nothing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NOTHING"


NOTHING: Any = _Nothing()
"""What ``decide`` returns when the command records nothing (the record is answered as it is)."""


def resolve_ref(ref: str | UUID, label: str = "ticket") -> UUID:
    """An id, or a human number of any numbered record (``SR-…``, ``PRB-…``, ``CHG-…``);
    ``RecordNotFound`` naming ``label`` for anything else."""
    if isinstance(ref, UUID):
        return ref
    ref = ref.strip()
    if ref.upper().startswith(NUMBER_PREFIXES):
        return record_id_for(ref.upper())
    try:
        return UUID(ref)
    except ValueError:
        raise record_not_found(ref, label) from None


T = TypeVar("T")


@dataclass_transform(frozen_default=True, kw_only_default=True)
def command(cls: type[T]) -> type[T]:
    """Makes ``cls`` a command value: a frozen dataclass with slots whose fields are given by
    name (``Assign(ref=…, assignee=…)``). Every command class is declared with it."""
    return dataclass(frozen=True, slots=True, kw_only=True)(cls)


@command
class Command:
    """A command for one record. Subclasses set the class variables and ``decide``."""

    record_class: ClassVar[type]  # the class of the record the command is addressed to
    record_label: ClassVar[str]  # its name in errors and logs ("ticket", "problem", ...)
    verb: ClassVar[str]  # the command's name in routes, logs and state checks ("assign")
    # ``True``: the record is keyed by a slug or id of its own and may not exist yet; the
    # handler then decides on ``None`` (create) instead of answering "not found".
    missing_ok: ClassVar[bool] = False

    def target(self) -> UUID | None:
        """The id of the record addressed; ``None``: the command creates its record."""
        return None

    def missing(self, record_id: UUID) -> Exception:
        """What to raise when the record ``record_id`` does not exist (not ``missing_ok``)."""
        return record_not_found(str(record_id), self.record_label)

    def prepare(self, desk: ServiceDesk) -> None:
        """Runs once before the attempts (nothing by default)."""

    def decide(self, record: Any, ctx: Context) -> Any:
        raise NotImplementedError

    def after(self, result: CommandResult, desk: ServiceDesk) -> None:
        """Runs once after a save (not after an ``Idempotency-Key`` replay)."""


@command
class RecordCommand(Command):
    """A command on an existing numbered record, named by its id or number (``ref``).

    Its ``decide`` calls the record's method named ``verb`` with the command's fields (but
    ``ref``), ``actor`` and ``at``: ``RespondToComplaint(ref=…, message=…)`` runs
    ``complaint.respond(message=…, actor=…, at=…)``; a method answering ``False`` (nothing
    due, nothing differs) records ``NOTHING``. A command that does more writes its own."""

    ref: str | UUID

    def target(self) -> UUID | None:
        return resolve_ref(self.ref, self.record_label)

    def decide(self, record: Any, ctx: Context) -> Any:
        arguments = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "ref"}
        changed = getattr(record, self.verb)(**arguments, actor=ctx.actor, at=ctx.at)
        return NOTHING if changed is False else None


def listed(ctx: Context, directory_class: Any, record: Any) -> tuple[Any, Any]:
    """``record`` (just created) and the directory of its kind that lists it, to be saved
    together: the directory is opened with the first record."""
    directory = ctx.desk.load(directory_class.ID) or directory_class.open(ctx.at)
    directory.add(str(record.id), ctx.at)
    return record, directory
