"""What the console's tests share to send a page's form as the browser does: the hidden
fields of the form (the CSRF token, the idempotency key, the record's version), read off the
page that draws it."""

from __future__ import annotations

import re
from typing import Any

from tests.fixtures_http import Api

_HIDDEN = re.compile(r'type="hidden" name="([^"]+)" value="([^"]*)"')


def hidden_fields(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the page's ``POST action`` form."""
    start = html.index(f'method="post" action="{action}"')
    return dict(_HIDDEN.findall(html[start:html.index("</form>", start)]))


def submit(api: Api, page: str, action: str, **fields: str) -> Any:
    """``POST action`` with ``fields`` and the hidden fields of its form on ``page``; the
    answer, its redirect not followed."""
    html = api.client.get(page).text
    return api.client.post(action, data={**hidden_fields(html, action), **fields},
                           follow_redirects=False)
