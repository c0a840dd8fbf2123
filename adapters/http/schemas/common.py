"""Wire types shared by every record kind: the string and time rules, the strict ``Input``
base of request bodies, generic bodies (``Reason``, ``Empty``), history and log items,
``copied`` (a view of a record's same-named attributes) and the UTC helpers. Each record kind's bodies and views are in its own module beside this one.

Request structs forbid unknown fields and bound every string, so bad input is a 400 that
names the field before any use case runs. Times in responses are UTC (``Z``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import Meta, Struct


# Characters refused in strings (ADR 0037). Short fields (names, ids, titles, refs) take no
# control character at all: C0, DEL, C1, the Unicode line/paragraph separators. Free text
# (descriptions, resolutions, reasons) may also hold tab and newline. A lone surrogate (JSON
# can escape one, "\\ud800"; it is not text and PostgreSQL refuses it) never gets this far:
# msgspec's decoder refuses it (a 400 naming the body). The patterns leave it out (ADR 0044):
# they are also the OpenAPI document's, and a JSON Schema regular expression cannot hold a
# surrogate (validators refuse the whole pattern, and clients then check nothing).
LINE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
TEXT = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=LINE)]
Short = Annotated[str, Meta(max_length=200, pattern=LINE)]
Ref = Annotated[str, Meta(min_length=1, max_length=100, pattern=LINE)]  # an id or a number
Slug = Annotated[str, Meta(min_length=1, max_length=63, pattern=LINE)]  # calendar, policy ids
CustomerId = Name  # a customer organisation's id
PolicyId = Slug  # an SLA policy's id
Text = Annotated[str, Meta(max_length=20_000, pattern=TEXT)]
Line = Annotated[str, Meta(max_length=2_000, pattern=TEXT)]  # a reason, a note, an item
Phone = Annotated[str, Meta(max_length=40, pattern=r"^[0-9+()\- ]*$")]
# No space and no control character (spelled out: ``\s`` is not the same class in Python's
# and in JSON Schema's regular expressions, ADR 0044).
_MAILBOX = r"[^@\s\x00-\x1f\x7f-\x9f]+"
Email = Annotated[str, Meta(max_length=254, pattern=rf"^$|^{_MAILBOX}@{_MAILBOX}$")]
Items = Annotated[list[Line], Meta(max_length=100)]
Refs = Annotated[list[Ref], Meta(max_length=100)]
Hours = Annotated[float, Meta(gt=0, le=744)]
Score = Annotated[int, Meta(ge=1, le=5)]
# A budget given as a number: nothing negative or absurd (a whole number stays whole).
Amount = Annotated[int, Meta(ge=0, le=10**15)] | Annotated[float, Meta(ge=0, le=1e15)]
# The times the service holds, as the OpenAPI document states them (ADR 0044): an RFC 3339
# time with an offset (``date-time``) from 1971 to 2198 -- a little less than the 1970-2200
# that ``out_of_range`` takes, so an offset can never carry a documented time out of it -- and
# a day that every month has (no 29 February: a regular expression cannot count leap years).
_YEAR = r"(?:197[1-9]|19[89][0-9]|20[0-9]{2}|21[0-8][0-9]|219[0-8])"
_DAY = (r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
        r"|(?:0[13578]|1[02])-31)")
DATE_PATTERN = rf"^{_YEAR}-{_DAY}$"
TIME_PATTERN = (rf"^{_YEAR}-{_DAY}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{{1,6}})?"
                r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$")
# A time without an offset is ambiguous (API.md: times carry an offset): a 400 naming the field.
AwareTime = Annotated[datetime, Meta(tz=True, extra_json_schema={"pattern": TIME_PATTERN})]
# Times outside these bounds are refused (``Input.__post_init__``): an extreme year would
# overflow when moved to UTC or when deadlines are added to it.
T = TypeVar("T")
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def out_of_range(value: datetime) -> bool:
    """True for a time the service will not hold (see ``EARLIEST``/``LATEST``)."""
    try:
        return not EARLIEST <= value.astimezone(UTC) < LATEST
    except OverflowError:
        return True


_EXACT = 2**53  # beyond this a float no longer spells one integer


def decode_body(body_type: type[T], raw: bytes) -> T:
    """``raw`` decoded strictly into ``body_type`` (``msgspec.ValidationError`` if it does not
    fit). ``5.0`` is the integer 5 in JSON Schema, so the OpenAPI document allows it where it
    says ``integer`` (ADR 0044): a body that fails is read once more with its whole numbers
    written as integers (the common case, a body that fits, costs nothing more)."""
    try:
        return msgspec.json.decode(raw, type=body_type, strict=True)
    except msgspec.ValidationError:
        try:
            whole = _whole_numbers(msgspec.json.decode(raw))
        except (msgspec.DecodeError, RecursionError):  # not JSON, or nested too deep
            whole = None
        if whole is None:
            raise
        try:
            return msgspec.json.decode(msgspec.json.encode(whole), type=body_type, strict=True)
        except msgspec.ValidationError:
            pass
        raise


def _whole_numbers(value: Any) -> Any:
    """``value`` (decoded JSON) with every whole float (``5.0``) as an int; None when it
    holds none (then there is nothing to read again)."""
    found = False

    def walk(v: Any) -> Any:
        nonlocal found
        if isinstance(v, float) and v.is_integer() and -_EXACT <= v <= _EXACT:
            found = True
            return int(v)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    result = walk(value)
    return result if found else None


class Input(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A request body: strict, unknown fields refused, every string bounded."""

    def __post_init__(self) -> None:
        # msgspec turns a ValueError here into a 400 (``problems._validation`` names the field).
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, datetime) and out_of_range(value):
                raise ValueError(
                    f"Invalid field `{name}`: times must lie between "
                    f"{EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")


class Reason(Input):
    reason: Line


class Empty(Input):
    pass


class LinkedRecord(Struct):
    """Another record linked to this one (a ticket's problems, a problem's tickets)."""

    id: str
    number: str


class HistoryItem(Struct):
    version: int
    position: int | None
    type: str
    topic: str
    recorded_at: datetime
    actor: str | None
    data: dict[str, Any]


class LogItem(Struct):
    position: int
    originator_id: str
    version: int
    type: str
    topic: str
    recorded_at: datetime | None
    actor: str | None
    data: dict[str, Any]


class LogPage(Struct):
    items: list[LogItem]
    last_position: int | None
    head: int


S = TypeVar("S", bound=Struct)


def copied(view: type[S], source: Any, /, **given: Any) -> S:
    """``view`` of ``source``: the fields ``given``, and every other field of ``view`` as
    ``source``'s attribute of the same name, unchanged (a view states what it converts: a time
    in UTC, a tuple as a list, an enum's value). ``source`` must have every field not given."""
    return view(**{name: getattr(source, name)
                   for name in view.__struct_fields__ if name not in given}, **given)


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def utc_opt(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def plain(value: Any) -> Any:
    """Event data as JSON-ready builtins (dataclasses, enums, datetimes in UTC)."""
    return msgspec.to_builtins(_to_utc(value))


def _to_utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value
    if isinstance(value, dict):
        return {k: _to_utc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_utc(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _to_utc(getattr(value, k)) for k in value.__dataclass_fields__}
    return value
