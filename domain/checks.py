"""What the records' commands check alike: texts that must be given, one 422 naming every
field refused, and the 409 of a command the record's status does not admit.

Pure: the standard library and ``domain.errors`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, NoReturn

from domain.errors import FieldError, InvalidCommand, TransitionNotAllowed


def stripped(value: Any) -> str:
    """``value`` without surrounding white space; anything but a string is empty."""
    return value.strip() if isinstance(value, str) else ""


def collapsed(value: Any) -> str:
    """``value`` with its white space runs made single spaces and none at the ends (names,
    ids); anything but a string is empty."""
    return " ".join(value.split()) if isinstance(value, str) else ""


def required(field: str, value: Any) -> list[FieldError]:
    """No error when ``value`` holds text; else ``field`` "must not be empty"."""
    return [] if stripped(value) else [FieldError(field, "must not be empty")]


def unique_texts(values: Any, normalise: Callable[[str], str] = stripped) -> tuple[str, ...]:
    """The non-empty texts of ``values`` (``None``: none), each ``normalise``-d and kept once,
    where it first stands; an item that is not a string counts as empty."""
    seen: dict[str, None] = {}
    for v in values or ():
        text = normalise(v) if isinstance(v, str) else ""
        if text:
            seen.setdefault(text, None)
    return tuple(seen)


def instant_errors(field: str, value: Any, empty: str = "must not be empty") -> list[FieldError]:
    """No error when ``value`` is a time with its UTC offset; else ``field`` refused: ``empty``
    when it is not a time at all, "needs a UTC offset" when it has none."""
    if not isinstance(value, datetime):
        return [FieldError(field, empty)]
    if value.tzinfo is None:
        return [FieldError(field, "needs a UTC offset")]
    return []


def present(errors: list[FieldError], field: str, value: Any,
            message: str = "must not be empty") -> Any:
    """``value`` (already cleaned: stripped, collapsed, normalised, a tuple of the items
    given …) as it is; when it is empty, ``field`` refused with ``message`` joins ``errors``."""
    if not value:
        errors.append(FieldError(field, message))
    return value


def refuse_fields(errors: list[FieldError]) -> None:
    """Raises one ``InvalidCommand`` naming every field in ``errors``; none: nothing."""
    if errors:
        raise InvalidCommand(errors)


def given(field: str, value: Any, message: str) -> str:
    """``value`` stripped, or ``InvalidCommand`` naming ``field`` with ``message`` (say what
    the text must tell) when there is none."""
    text = stripped(value)
    if not text:
        raise InvalidCommand.field(field, message)
    return text


class StatusRules:
    """The status machine of a record (a mixin of its aggregate): ``ALLOWED`` maps each status
    to the commands it admits, which the 409 names, and ``RECORD`` is what the 409 calls the
    record (``ticket``, ``problem`` …)."""

    ALLOWED: ClassVar[Mapping[Any, tuple[str, ...]]]
    RECORD: ClassVar[str]
    status: Any

    def allowed_commands(self) -> tuple[str, ...]:
        return self.ALLOWED[self.status]

    def refuse(self, command: str, reason: str = "", missing: tuple[str, ...] = ()) -> NoReturn:
        """The 409 (``TransitionNotAllowed``) of ``command``; ``missing`` names the gates not
        yet passed."""
        raise TransitionNotAllowed(self.status.value, command, self.allowed_commands(), reason,
                                   record=self.RECORD, missing=missing)

    def require(self, command: str, reason: str = "", missing: tuple[str, ...] = ()) -> None:
        """The 409 when ``command`` is not allowed now, or when ``missing`` names gates not yet
        passed; use cases call it before lookups."""
        if command not in self.allowed_commands() or missing:
            self.refuse(command, reason, missing)
