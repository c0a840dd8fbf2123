"""HTTP for service reports: ``GET /api/v1/projects/{id}/reports/{period}`` (API.md
"projects", ADR 0029).

``period`` is ``2026-11``, ``2026-Q4`` or ``2026``; ``?as_of=`` gives the report as it would
have been produced at that recorded time. The form follows ``Accept`` (``text/html`` → the
printable page with SVG charts, ``text/markdown`` → Markdown, anything else → JSON), and
``?format=json|md|html`` overrides it. A malformed period or ``as_of`` is a 422 naming it, an
unknown project (or one not yet contracted at ``as_of``) a 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.exceptions import ValidationException
from litestar.params import PathParameter

from adapters.http.access import may_call, principal_of
from adapters.http import kit
from adapters.http.openapi.contract import also_answers
from adapters.http.params import AsOf, choice
from adapters.render.report import to_html, to_json, to_markdown
from application.report_model import ServiceReport
from application.reports import ReportBuilder, without_titles
from domain.errors import InvalidCommand

# Litestar adds ``; charset=utf-8`` to ``text/*`` itself (naming it here doubled it).
FORMATS = {"json": "application/json", "md": "text/markdown", "html": "text/html"}
# The parameters as the OpenAPI document states them (ADR 0044); ``parse_period`` checks.
Period = Annotated[str, PathParameter(
    description="A month (2026-11), a quarter (2026-Q4) or a year (2026), from 1970 to 9998",
    schema_extra={"pattern": r"^(?:19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]"
                             r"|999[0-8])(?:-(?:0[1-9]|1[0-2])|-Q[1-4])?$"})]
Format = choice(FORMATS, "The form of the report (instead of Accept)")


def negotiate(accept: str, given: str | None) -> str:
    """The format: ``?format=`` when given (a 422 naming ``format`` when unknown), else the
    first of HTML / Markdown / JSON that ``Accept`` names, else JSON."""
    if given is not None:
        key = given.strip().lower()
        if key not in FORMATS:
            raise InvalidCommand.field("format", "one of " + ", ".join(FORMATS))
        return key
    for part in accept.lower().split(","):
        media = part.split(";")[0].strip()
        if media in ("text/html", "application/xhtml+xml"):
            return "html"
        if media == "text/markdown":
            return "md"
        if media in ("application/json", "*/*", "application/*"):
            return "json"
    return "json"


def report_as_of(value: str | None) -> Any:
    """``?as_of=``: an ISO 8601 time with an offset, else a 422 naming ``as_of``."""
    try:
        return kit.parse_as_of(value)
    except ValidationException as e:
        raise InvalidCommand.field("as_of", str(e.extra[0]["message"])) from None  # type: ignore[index]


def render(report: ServiceReport, form: str) -> Response[Any]:
    if form == "json":
        return Response(to_json(report), media_type=FORMATS["json"])
    text = to_html(report) if form == "html" else to_markdown(report)
    return Response(text, media_type=FORMATS[form])


@get(f"{kit.API}/projects/{{ref:str}}/reports/{{period:str}}",
     summary="A project's service report for a month, quarter or year (JSON, Markdown, HTML)",
     tags=["projects"],
     responses=also_answers(422, "A malformed period, as_of or format: errors[] names it"))
@kit.threaded
def project_report(request: Request[Any, Any, Any], state: State, ref: str, period: Period,
                   as_of: AsOf = None, format: Format = None) -> Response[Any]:
    services = kit.services_of(state)
    form = negotiate(request.headers.get("accept", ""), format)
    when = report_as_of(as_of)
    # The candidates come from the read models: they must hold every event recorded so far
    # (not only this process's writes), or a ticket recorded before ``as_of`` could be missed.
    kit.read_your_writes(services, services.desk.max_position())  # the replica's too (ADR 0070)
    builder = ReportBuilder(services.desk, services.tickets, services.changes)
    return render(for_caller(request, builder.build(ref, period, when)), form)


def for_caller(request: Request[Any, Any, Any], report: ServiceReport) -> ServiceReport:
    """The report as the caller may read it: no title of a problem or change to a role that
    may not open it through its own route (requesters; docs/authorization.md, issue 16)."""
    principal = principal_of(request)
    return without_titles(
        report, problems=not may_call(principal, f"GET {kit.API}/problems/{{ref}}"),
        changes=not may_call(principal, f"GET {kit.API}/changes/{{ref}}"))


HANDLERS = [project_report]
