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


def printed_logins(out: str) -> dict[str, str]:
    """The demo summary's table of users: ``{user: password}`` (rows without a password,
    left alone, are left out)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("users (new passwords"))
    logins: dict[str, str] = {}
    for line in lines[start + 2:]:  # past the heading and the column names
        if not line.strip():
            return logins
        cells = line.split()
        if not line.rstrip().endswith(")"):
            logins[cells[0]] = cells[-1]
    return logins
