"""The web console (issue 18, ADR 0048): the service desk's screens (``/ui/``) and the
customers' portal (``/portal/``), served by the same Litestar app as the JSON API.

Rooms:

- ``session.py``: login, logout, ``/`` (ADR 0049); the session cookie itself is read by the
  edge (``adapters/http/edge/browser.py``).
- ``pages/``: one module per area, each a ``HANDLERS`` list. A page names the API operation
  whose rule governs it (``access.OPERATION_OPT``) and its audience (``access.AUDIENCE_OPT``),
  so the role × route matrix of ``access.py`` decides every page and form as it decides the
  API; pages call the application's use cases and commands, as the routes do.
- ``forms.py``: a form's fields → the API's body type → the command (one set of rules).
- ``render.py``: ``page(...)`` renders a template with masking, words and the CSRF token;
  ``i18n.py`` and ``messages/`` the words; ``errors.py`` errors as pages.
- ``templates/`` (Jinja2), ``static/`` (our CSS, htmx vendored from npm ``htmx.org``).
"""

from __future__ import annotations

from litestar.static_files import create_static_files_router

from adapters.http.console import session
from adapters.http.console.pages import PAGES
from adapters.http.console.render import STATIC, STATIC_PATH

static_files = create_static_files_router(
    path=STATIC_PATH, directories=[STATIC], name="console-static", include_in_schema=False,
    opt={"exclude_from_auth": True},
    cache_control=None,
)

HANDLERS = [*session.HANDLERS, *PAGES, static_files]
