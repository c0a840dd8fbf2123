"""The console's pages, one module per area (each a ``HANDLERS`` list)."""

from __future__ import annotations

from adapters.http.console.pages import desk, portal

PAGES = [*desk.HANDLERS, *portal.HANDLERS]
