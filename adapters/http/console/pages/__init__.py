"""The console's pages, one module per area (each a ``HANDLERS`` list)."""

from __future__ import annotations

from adapters.http.console.pages import (changes, dashboard, desk, knowledge, portal, problems,
                                         projects, search, tickets)
from adapters.http.console.pages import announcements
from adapters.http.console.pages import attachments
from adapters.http.console.pages import mail

PAGES = [handler for module in (desk, tickets, search, problems, changes, knowledge, projects,
                                dashboard, portal, announcements, attachments, mail)
         for handler in module.HANDLERS]
