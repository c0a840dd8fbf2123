"""How a console page is answered (ADR 0048): the Jinja environment, and ``page``, which
every page handler ends with.

``page(request, "desk/queue.html", tickets=...)`` turns the context into plain values
(msgspec structs and dataclasses become dicts; times stay times), masks contacts for the
callers who must not see them (``access.needs_masking``: auditors, requesters) by the same
``access.mask`` that masks every JSON answer, and adds what every page needs: ``t`` and the
time formats of the request's language (``i18n.Words``), ``me`` (the caller), ``forms`` (which
API operations the caller may call, so a page shows only the commands the matrix allows),
the CSRF token. A page cannot forget the masking: it is not the page's to do.
"""

from __future__ import annotations

from dataclasses import is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from adapters.http.access import (ADMIN, REQUESTER, mask, may_call, needs_masking,
                                  principal_of)
from adapters.http.console import i18n
from adapters.http.console.forms import new_key
from adapters.http.edge.browser import open_store_caller

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
STATIC_PATH = "/ui/static"

ENVIRONMENT = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,  # a misspelt name fails the page's test, not silently
    trim_blocks=True,
    lstrip_blocks=True,
)


def file_size(n: int) -> str:
    """A file's size as people read it: ``512 B``, ``3.4 KiB``, ``12.0 MiB``."""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


ENVIRONMENT.filters["file_size"] = file_size


#: The header's links: (path, message key, the API operation its page names). A link shows
#: only to callers the matrix lets through (``tests/adapters/console/test_console_nav.py``
#: keeps each operation equal to its page's ``OPERATION_OPT``).
DESK_NAV = (
    ("/ui/", "nav.desk", "GET /api/v1/tickets"),
    ("/ui/tickets/new", "nav.new_ticket", "POST /api/v1/tickets"),
    ("/ui/search", "nav.search", "GET /api/v1/search"),
    ("/ui/problems", "nav.problems", "GET /api/v1/problems"),
    ("/ui/changes", "nav.changes", "GET /api/v1/changes"),
    ("/ui/knowledge", "nav.knowledge", "GET /api/v1/knowledge"),
    ("/ui/projects", "nav.projects", "GET /api/v1/projects"),
    ("/ui/announcements", "nav.announcements", "GET /api/v1/announcements"),
    ("/ui/cis", "nav.cis", "GET /api/v1/cis"),  # ADR 0063
    ("/ui/risks", "nav.risks", "GET /api/v1/risks"),  # ADR 0067
    ("/ui/major-incidents", "nav.major_incidents", "GET /api/v1/major-incidents"),  # ADR 0067
    ("/ui/repairs", "nav.repairs", "GET /api/v1/repairs"),  # ADR 0065
    ("/ui/agreements", "nav.agreements", "GET /api/v1/agreements"),  # ADR 0066
    ("/ui/complaints", "nav.complaints", "GET /api/v1/complaints"),  # ADR 0066
    ("/ui/catalogue", "nav.catalogue", "GET /api/v1/catalogue"),  # ADR 0061
    ("/ui/spare-parts", "nav.spare_parts", "GET /api/v1/warehouses"),  # ADR 0064
    ("/ui/visits", "nav.visits", "GET /api/v1/visits"),  # ADR 0064
    ("/ui/dashboard", "nav.dashboard", "GET /api/v1/sla/compliance"),
    ("/ui/sla", "nav.sla", "GET /api/v1/sla/compliance"),
    ("/ui/mail/quarantine", "nav.mail", "GET /api/v1/mail/quarantine"),
)
PORTAL_NAV = (
    ("/portal/", "nav.portal_home", "GET /api/v1/tickets"),
    ("/portal/tickets/new", "nav.portal_new", "POST /api/v1/tickets"),
    ("/portal/knowledge", "nav.portal_kb", "GET /api/v1/knowledge"),
    ("/portal/announcements", "nav.portal_announcements", "GET /api/v1/announcements"),
    ("/portal/catalogue", "nav.portal_catalogue", "GET /api/v1/catalogue"),  # ADR 0061
    ("/portal/repairs", "nav.portal_repairs", "GET /api/v1/repairs"),  # ADR 0065
    ("/portal/risks", "nav.portal_risks", "GET /api/v1/risks"),  # ADR 0067
    ("/portal/complaints", "nav.portal_complaints", "GET /api/v1/complaints"),  # 0066
)


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(ENVIRONMENT))


def words(request: Request[Any, Any, Any]) -> i18n.Words:
    language = i18n.choose(request.cookies.get(i18n.LANG_COOKIE),
                           request.headers.get("accept-language"))
    zone = ZoneInfo(request.app.state.services.settings.timezone)
    return i18n.Words(language, zone)


def plain(value: Any) -> Any:
    """``value`` as dicts, lists and scalars (times kept), for masking and templates."""
    if isinstance(value, msgspec.Struct) or is_dataclass(value) or isinstance(
            value, (list, tuple, dict)):
        return msgspec.to_builtins(value, builtin_types=(datetime, date), str_keys=True)
    return value


def page(request: Request[Any, Any, Any], template: str, *, status_code: int = 200,
         headers: dict[str, str] | None = None, **context: Any) -> Template:
    """The answer of a console page: ``template`` with ``context`` (see the module's
    docstring)."""
    principal = principal_of(request)
    values = {k: plain(v) for k, v in context.items()}
    if needs_masking(principal):
        values = {k: mask(v) for k, v in values.items()}
    w = words(request)
    staff = not (REQUESTER in principal.roles and ADMIN not in principal.roles)
    nav = [(href, key) for href, key, operation in (DESK_NAV if staff else PORTAL_NAV)
           if may_call(principal, operation)] if principal.roles else []
    values.update(
        w=w, t=w.t, lang=w.language,
        me=principal,
        staff=staff,
        nav=nav,
        open_store=open_store_caller(request.scope),
        may=lambda operation: may_call(principal, operation),
        static=STATIC_PATH,
        form_key=new_key,
        path=request.url.path,
        htmx=request.headers.get("hx-request") == "true",
    )
    return Template(template_name=template, context=values, status_code=status_code,
                    headers=headers or {})
