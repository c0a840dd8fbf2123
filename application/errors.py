"""Errors of the use cases (the domain's own rules raise ``domain.errors``)."""

from __future__ import annotations


class ApplicationError(Exception):
    pass


class RecordNotFound(ApplicationError):
    """No record of this kind (ticket, problem, change, ...) has that id or number (a 404)."""

    kind = "record"

    def __init__(self, ref: str, kind: str | None = None):
        self.ref = ref
        if kind is not None:
            self.kind = kind
        super().__init__(f"no {self.kind} {ref!r}")


class TicketNotFound(RecordNotFound):
    kind = "ticket"


def record_not_found(ref: str, label: str) -> RecordNotFound:
    """The 404 for ``ref`` naming its kind ``label`` (a ``TicketNotFound`` for tickets)."""
    return TicketNotFound(ref) if label == "ticket" else RecordNotFound(ref, label)


class VersionMismatch(ApplicationError):
    """``If-Match`` named a version the aggregate has moved on from (a 412)."""

    def __init__(self, expected: int, actual: int, label: str = "record"):
        self.expected = expected
        self.actual = actual
        super().__init__(f"the {label} is at version {actual}, not {expected}; reload and retry")


class ConcurrencyConflict(ApplicationError):
    """Optimistic concurrency kept failing after the retries (a 409)."""

    def __init__(self, attempts: int):
        super().__init__(
            f"the record was changed by others {attempts} times while this command ran; retry"
        )


class IdempotencyKeyReused(ApplicationError):
    """The same ``Idempotency-Key`` came with a different request (a 422)."""

    def __init__(self, key: str):
        self.key = key
        super().__init__(
            f"Idempotency-Key {key!r} was already used for a different request; "
            "use a new key for a new request"
        )


class StoreUnavailable(ApplicationError):
    """The event store cannot be reached (a 503)."""
