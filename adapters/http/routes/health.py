"""Health (``/healthz``: up or down, details for staff, ADR 0045) and the offline API
reference page (``/docs``)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State

from adapters.container import Services
from adapters.http.openapi.contract import served_document
from adapters.http.openapi.docs_page import docs_page
from adapters.http.access import (
    ADMIN, STAFF_ROLES, authenticate_caller,
)
from adapters.http.problem_details import problem
from adapters.http import kit


@get("/healthz", summary="Liveness: up (200) or down (503); for staff also the store, "
     "projections, SLA watch and notifications", tags=["health"], exclude_from_auth=True,
     security=[])
async def healthz(request: Request[Any, Any, Any], state: State) -> Response[Any]:
    services = kit.services_of(state)
    staff = await _staff_asks(state, request)
    return await state.run_blocking(_health, services, staff)


async def _staff_asks(state: State, request: Request[Any, Any, Any]) -> bool:
    """Whether ``/healthz`` may say more than up or down (ADR 0045): to a caller the rest of
    the API knows as staff (any role but requester) -- a valid token, or anyone on an open
    development store, where every caller is the admin. No token, a requester's, a bad one:
    the short answer, never a 401 (the probe must always answer)."""
    try:
        principal, _ = await authenticate_caller(
            state, request.headers.get("authorization"),
            request.headers.get("x-opsledger-actor"))
    except Exception:  # noqa: BLE001 - not authenticated (or the store is down): short answer
        return False
    return bool(principal.roles & _HEALTH_ROLES)


_HEALTH_ROLES = frozenset({*STAFF_ROLES, ADMIN})


def _health(services: Services, staff: bool) -> Response[Any]:
    try:
        head = services.desk.max_position()
    except Exception as e:
        kit.log.warning("health.store_unavailable", error=f"{type(e).__name__}: {e}")
        return problem(503, "Store unavailable", "the event store does not answer", "store-unavailable",
                       status_text="unavailable")
    if not staff:
        return Response({"status": "ok"})
    return Response(
        {
            "status": "ok",
            "store": services.settings.database.kind,
            "head": head,
            "projections": services.runner.status(),
            "sla_watch": services.watch_thread.status(),
            "notifications": services.notifier.status(),
            # ADR 0070: the hot standby the lists are read from, and how far behind it is
            **({"read_replica": services.replica.status(head)} if services.replica else {}),
        }
    )


@get("/docs", sync_to_thread=False, summary="A browsable API reference (offline)", tags=["health"],
     exclude_from_auth=True, include_in_schema=False, media_type="text/html")
def docs(request: Request[Any, Any, Any]) -> str:
    return docs_page(served_document(request.app).to_schema())


HANDLERS = [healthz, docs]
