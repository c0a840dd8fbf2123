"""The DomainError tree: every broken business rule has a name.

Adapters map these to HTTP problems (see ``adapters/http/problem_details.py``); the domain
itself never knows about status codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    """Base class of every rule the domain refuses to break."""


class InvalidCommand(DomainError):
    """The command's input breaks a rule (a 422 at the edge); names the fields."""

    def __init__(self, errors: Iterable[FieldError] | FieldError, detail: str | None = None):
        self.errors: tuple[FieldError, ...] = (
            (errors,) if isinstance(errors, FieldError) else tuple(errors)
        )
        self.detail = detail or "; ".join(f"{e.field}: {e.message}" for e in self.errors)
        super().__init__(self.detail)

    @classmethod
    def field(cls, field: str, message: str) -> InvalidCommand:
        return cls(FieldError(field, message))


class ResolutionTooVague(InvalidCommand):
    def __init__(self, resolution: str):
        super().__init__(
            FieldError(
                "resolution",
                "too vague: describe the concrete steps taken and the result "
                f"({resolution.strip()!r} alone is not an acceptable record)",
            )
        )


class OverrideReasonRequired(InvalidCommand):
    def __init__(self) -> None:
        super().__init__(
            FieldError("override_reason", "a manual priority override needs a reason")
        )


class TransitionNotAllowed(DomainError):
    """The command is not allowed in the aggregate's current state (a 409)."""

    def __init__(
        self,
        state: str,
        command: str,
        allowed: Sequence[str],
        reason: str = "",
        record: str = "ticket",
        missing: Sequence[str] = (),
    ):
        self.state = state
        self.record = record
        self.missing = tuple(missing)  # gates not yet passed (e.g. a change's reviews)
        self.command = command
        self.allowed = tuple(allowed)
        self.reason = reason
        allowed_text = ", ".join(self.allowed) if self.allowed else "none (final state)"
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"'{command}' is not allowed while the {record} is '{state}'{why}; "
            f"allowed now: {allowed_text}"
        )
