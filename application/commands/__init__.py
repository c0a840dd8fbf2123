"""Commands as values (issue 17, ADR 0046): one frozen dataclass per command, one module per
record kind, all run by the one handler ``ServiceDesk.handle``.

=================  =====================================================================
``base``           ``Command`` (what every command is), ``NOTHING``, ``resolve_ref``
``tickets``        register, classify, assign, ... feedback, escalate, the SLA watcher's
``problems``       record a problem, link tickets, root cause, workaround, ...
``changes``        request a change, every gated step, follow-up improvements, models
``projects``       contract a project, plan, routines, surveys, checks, acceptance
``knowledge``      write, revise and retire articles
``catalog``        business calendars and SLA policies (keyed by slug)
``customers``      register a customer, assign its SLA policy (keyed by customer id)
``users``          users and API tokens (keyed by user id)
``privacy``        the erasure record of a customer's personal data
``attachments``    an uploaded file's record (ADR 0056)
=================  =====================================================================

A command's docstring names the domain method it calls and the event that method records;
its fields are named as the HTTP body's fields (``adapters/http/*schemas*``), so the edge
builds it from the body without a table of its own. This package imports no submodule:
import the kind you need (``from application.commands.tickets import Assign``).
"""
