"""The console's pages, one module per area (each a ``HANDLERS`` list)."""

from __future__ import annotations

from adapters.http.console.pages import (changes, dashboard, desk, knowledge, portal, problems,
                                         projects, search, tickets)
from adapters.http.console.pages import announcements
from adapters.http.console.pages import attachments
from adapters.http.console.pages import mail
from adapters.http.console.pages import cis  # configuration items (ADR 0063)
from adapters.http.console.pages import catalogue  # ADR 0061
from adapters.http.console.pages import repairs  # ADR 0065
from adapters.http.console.pages import major_incidents, risks  # ADR 0067
from adapters.http.console.pages import agreements  # agreements, complaints (ADR 0066)
from adapters.http.console.pages import field_work  # spare parts, field visits (ADR 0064)

PAGES = [handler for module in (desk, tickets, search, problems, changes, knowledge, projects,
                                dashboard, portal, announcements, attachments, mail)
         for handler in module.HANDLERS]
PAGES += cis.HANDLERS  # configuration items (ADR 0063)
PAGES += catalogue.HANDLERS  # the service catalogue (ADR 0061)
PAGES += repairs.HANDLERS  # repair orders (ADR 0065)
PAGES += risks.HANDLERS + major_incidents.HANDLERS  # risks, major incidents (ADR 0067)
PAGES += agreements.HANDLERS  # agreements and complaints (ADR 0066)
PAGES += field_work.HANDLERS  # spare parts and field visits (ADR 0064)
