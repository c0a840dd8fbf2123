"""The HTTP plumbing that the routes of every record kind share (problems, changes, knowledge
articles; the ticket routes in ``app.py`` are the model they follow).

A ``Records`` names a kind's collection (``/api/v1/<collection>``), its log label and view,
and how a command's result is shown; from that it answers commands (``ETag``, ``201`` +
``Location`` on create, ``Idempotent-Replayed``) and builds the create and
``POST /<collection>/{ref}/<command>`` handlers, which all go through ``app._command``
(``Idempotency-Key``, ``If-Match``, logging). ``read_your_writes`` and ``versioned`` serve
the reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.datastructures import State

from adapters.container import Services
from adapters.http.app import _command, command_route, record_response
from application.desk import CommandResult, ServiceDesk


@dataclass(frozen=True)
class Records:
    collection: str  # the path segment: "problems", "changes", "knowledge"
    label: str  # the record in logs and errors: "problem", "change", "article"
    view: type  # the struct a command answers (for the OpenAPI schema)
    present: Callable[[CommandResult, ServiceDesk], Any]  # a command's result as ``view``

    def respond(self, result: CommandResult, desk: ServiceDesk) -> Response[Any]:
        return record_response(result, self.present(result, desk), self.collection)

    def create(self, request: Request[Any, Any, Any], state: State, name: str, data: Any,
               call: Callable[..., CommandResult]) -> Response[Any]:
        """Runs the creating command ``call(desk, **opts)`` (``201`` + ``Location``)."""
        return _command(request, state, name, data, call, label=self.label,
                        respond=self.respond)

    def command(self, name: str, body: type, summary: str,
                invoke: Callable[..., CommandResult]) -> Any:
        """The ``POST /<collection>/{ref}/<name>`` handler: ``invoke(desk, ref, body, **opts)``."""
        return command_route(self.collection, self.label, name, body, summary, invoke,
                             respond=self.respond, view=self.view)


def read_your_writes(services: Services) -> None:
    """Wait (briefly) until the read models have what this process saved, so a list shows
    the writes its caller just made."""
    services.runner.wait_for(services.desk.saved_position,
                             services.settings.read_your_writes_seconds)


def versioned(body: Any, version: int) -> Response[Any]:
    """A record's view with its version as ``ETag`` (for ``If-Match`` on the next command)."""
    return Response(body, headers={"ETag": f'"{version}"'})
