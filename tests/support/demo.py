"""Reading what a demo run left in the store: every ticket-list row, the views caught up."""

from __future__ import annotations

from typing import Any

from adapters.container import Services
from adapters.demo.run import all_rows


def caught_up_rows(services: Services) -> list[Any]:
    """Catch every projection view up, then every row of the ticket list."""
    for view in services.runner.views.values():
        services.runner.catch_up(view)
    return all_rows(services)
