"""The Litestar application: its factory and its route table (docs/architecture.md).

Routes live in ``adapters/http/routes/`` (one module per record kind, each a ``HANDLERS``
list), what they share in ``kit.py``; the edge in front of every route (request id,
authentication, rate limit, masking) in ``edge/``; the speed machinery in ``speed/``.
"""

from __future__ import annotations

import sys

import msgspec
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from adapters.container import Services
from adapters.http import console, kit
from adapters.http.console.errors import for_browsers
from adapters.http.console.render import template_config
from adapters.http.edge.body_check import state_then_fields
from adapters.http.edge.limits import declare_queries
from adapters.http.edge.middleware import edge
from adapters.http.access import authorize
from adapters.http.openapi.contract import schema_router
from adapters.http.openapi.docs_page import DocsPagePlugin
from adapters.http.problem_details import exception_handlers
from adapters.http.routes import (
    audit, catalog, changes, customers, health, knowledge, privacy, problems, projects, reports,
    search, sla, tickets, users,
)
from adapters.http.routes import announcements
from adapters.http.routes import cis  # ADR 0063
from adapters.http.routes import attachments
from adapters.http.routes import notices
from adapters.http.routes import mail
from adapters.http.routes import major_incidents, risks  # ADR 0067
from adapters.http.routes import service_catalogue  # ADR 0061
from adapters.http.routes import repairs  # ADR 0065
from adapters.http.routes import agreements, complaints  # ADR 0066
from adapters.http.routes import spare_parts, visits  # ADR 0064
from adapters.http.speed.collector import collector_paused
from adapters.http.speed.fastlane import command_lane
from adapters.http.speed.route_map import RouteMapKeptLitestar
from adapters.http.speed.threads import run_sync
from application.encoding import prepare_types


#: Everything but the console's pages (``/``, ``/ui``, ``/portal``): CSRF concerns forms.
CSRF_EXEMPT = r"^/(?!$|ui(/|$)|portal(/|$))"

#: The route table: every module of ``routes/``, each with its ``HANDLERS``.
ROUTES = [tickets, sla, audit, health, catalog, customers, problems, changes, knowledge, projects,
          reports, privacy, users, search, announcements, attachments, mail, notices, risks,
          major_incidents]
ROUTES.append(service_catalogue)  # ADR 0061
ROUTES.append(repairs)  # ADR 0065
ROUTES.append(cis)  # ADR 0063
ROUTES += [agreements, complaints]  # ADR 0066
ROUTES += [spare_parts, visits]  # ADR 0064


def _prepare_structs() -> None:
    """Build msgspec's type info of every body and view type of the HTTP modules before
    serving: handlers convert in many threads at once, and msgspec must not build it
    concurrently (``application.encoding.TYPE_INFO_LOCK``)."""
    modules = [m for name, m in list(sys.modules.items()) if name.startswith("adapters.http.") and m]
    structs = {v for m in modules for v in vars(m).values()
               if isinstance(v, type) and issubclass(v, msgspec.Struct) and v is not msgspec.Struct}
    prepare_types(*sorted(structs, key=lambda t: t.__qualname__))


def create_app(services: Services, *, run_projections: bool = True) -> Litestar:
    with collector_paused():  # the build makes only objects the app keeps (ADR 0079)
        return _create_app(services, run_projections=run_projections)


def _create_app(services: Services, *, run_projections: bool) -> Litestar:
    def startup(app: Litestar) -> None:
        if run_projections:
            services.runner.start()
            # The outbox's sender runs where the projections run: one per deployment (ADR 0059).
            services.notifier.start()
            if services.settings.sla_watch_seconds > 0:
                services.watch_thread.start()

    def shutdown(app: Litestar) -> None:
        services.watch_thread.stop()
        services.notifier.stop()
        services.runner.stop()

    _prepare_structs()

    app = RouteMapKeptLitestar(
        route_handlers=[*(handler for module in ROUTES for handler in module.HANDLERS),
                        *console.HANDLERS],
        # ``run_blocking``: how the edge and the guards leave the event loop (ADR 0040)
        state=State({"services": services, "run_blocking": run_sync}),
        middleware=[edge(services.settings), command_lane, kit.read_positions],  # ADR 0070
        guards=[authorize, state_then_fields],  # who may, then state, then fields
        exception_handlers=for_browsers(exception_handlers()),  # pages for the console
        template_config=template_config(),
        # the console's forms carry a CSRF token; the JSON API needs none (ADR 0049)
        csrf_config=CSRFConfig(secret=services.console_secret(), cookie_httponly=True,
                               exclude=CSRF_EXEMPT),
        request_max_body_size=services.settings.max_body_bytes,
        on_startup=[startup],
        on_shutdown=[shutdown],
        openapi_config=OpenAPIConfig(
            title="opsledger",
            version="1.0.0",
            description="Event-sourced IT operations service delivery. See /docs for a browsable reference.",
            path="/schema",
            openapi_router=schema_router("/schema"),  # the document is made on first use
            render_plugins=[DocsPagePlugin()],  # no CDN scripts (ADR 0045)
            components=Components(security_schemes={"bearer": SecurityScheme(
                type="http", scheme="bearer",
                description="An API token (POST /api/v1/users/{user}/tokens) or OPSLEDGER_ADMIN_TOKEN",
            )}),
            security=[{"bearer": []}],
        ),
        debug=False,
    )
    declare_queries(app, kit.API)  # unknown query parameters: 400 (ADR 0045)
    return app
