"""Query and path parameters as the OpenAPI document declares them (issue 16 item 5, ADR 0044).

Each type is used on the handler's parameter, beside the parser that checks the value (the
parsers keep their own messages: ``kit.parse_as_of``, ``kit.parse_limit``, ``kit.parse_cursor``,
``kit.split_values``, ...). The declaration is for the document only (Litestar's ``schema_extra``):
what it states is what the parser accepts, or a little less where a regular expression
cannot say it exactly (a time on 29 February, the first and last hours of the range of
times), so a request that follows the document is never refused as malformed -- the fuzz
test (``tests/adapters/http/test_schemathesis.py``, ``positive_data_acceptance``) holds the two to
each other. Rules across parameters (``from`` before ``to``) are in the description.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from litestar.params import PathParameter, QueryParameter

from adapters.http.schemas.common import DATE_PATTERN, TIME_PATTERN
from adapters.inputs.numbers import MAX_WHOLE
from domain.sla import SLUG_RE, SLUG_RULE

#: The largest page a list gives (``kit.parse_limit``).
MAX_LIMIT = 500


def one_of(values: Iterable[str]) -> str:
    """A pattern of one or more of ``values``, comma-separated (``kit.split_values``: the parser
    also takes spaces around them and empty items)."""
    choice = "(?:" + "|".join(sorted(values)) + ")"
    return f"^{choice}(?:,{choice})*$"


def _query(description: str, name: str | None = None, **schema: Any) -> Any:
    return QueryParameter(name=name, description=description, schema_extra=schema)


def limit(default: int, *, clamped: bool = False) -> Any:
    """``?limit=``: 1 to ``MAX_LIMIT`` (``clamped``: more is read as ``MAX_LIMIT``)."""
    if clamped:
        return Annotated[int, _query(f"Items per page, 1 or more (over {MAX_LIMIT}: "
                                     f"{MAX_LIMIT}); default {default}",
                                     minimum=1, maximum=MAX_WHOLE)]
    return Annotated[int, _query(f"Items per page, 1 to {MAX_LIMIT}; default {default}",
                                 minimum=1, maximum=MAX_LIMIT)]


#: ``?cursor=``: the ``next_cursor`` of the previous page (a position).
Cursor = Annotated[str | None, _query(
    "The next_cursor of the previous page", pattern=r"^[0-9]{1,18}$")]
#: ``?after=``: a position in the event log.
After = Annotated[int, _query("Positions after this one (0: from the first)",
                              minimum=0, maximum=MAX_WHOLE)]
#: ``?as_of=``: an ISO 8601 time with an offset (``kit.parse_as_of``).
AS_OF_TEXT = ("An ISO 8601 time with a UTC offset, between 1970 and 2200 "
              "(e.g. 2026-11-20T17:30:00+08:00)")
AsOf = Annotated[str | None, _query(AS_OF_TEXT, pattern=TIME_PATTERN, format="date-time")]


def time(description: str) -> Any:
    """A query time by ``as_of``'s rules (``records.query_time``)."""
    return Annotated[str | None, _query(f"{description}: {AS_OF_TEXT}", pattern=TIME_PATTERN)]


def period_bound(name: str, description: str, *, required: bool = False) -> Any:
    """``?from=``/``?to=`` of a period (``kit.period_bound``): an ISO date (the day in the
    service's zone) or an ISO time with an offset. ``required``: the handler refuses the
    request without it (the document says so; the handler's parser answers)."""
    return Annotated[str | None, QueryParameter(
        name=name, required=True if required else None,
        description=f"{description}: an ISO date (a day in Asia/Shanghai) or an ISO 8601 time "
        "with a UTC offset; from and to are given together, and to is later than from",
        schema_extra={"pattern": f"^(?:{DATE_PATTERN[1:-1]}|{TIME_PATTERN[1:-1]})$"})]


def listed(values: Iterable[str], what: str) -> Any:
    """A filter of one or more known values, comma-separated (``kit.split_values``)."""
    values = sorted(values)
    return Annotated[str | None, _query(f"{what}: one or more of {', '.join(values)}, "
                                        "comma-separated", pattern=one_of(values))]


def choice(values: Iterable[str], what: str) -> Any:
    """One of ``values``."""
    values = sorted(values)
    return Annotated[str | None, _query(f"{what}: one of {', '.join(values)}", enum=values)]


def new_slug(pattern: str, rule: str) -> Any:
    """A path id that a ``PUT`` creates: the rule its record checks it by."""
    return Annotated[str, PathParameter(description=rule, schema_extra={"pattern": pattern})]


#: The id of a calendar or SLA policy that a ``PUT`` defines (``domain.sla.valid_slug``).
NewSlug = new_slug(SLUG_RE.pattern, SLUG_RULE)


#: ``?from=``/``?to=`` of a period: optional (``/sla/compliance``: both left out, the current
#: month) or required (``/changes/calendar``).
PeriodFrom = period_bound("from", "The period's first day or time")
PeriodTo = period_bound("to", "The period's last day, or the time it ends")
RequiredFrom = period_bound("from", "The period's first day or time", required=True)
RequiredTo = period_bound("to", "The period's last day, or the time it ends", required=True)


def text(description: str, max_length: int) -> Any:
    """Free text of at most ``max_length`` characters (and the edge's rule for every value)."""
    return Annotated[str, _query(description, max_length=max_length)]
