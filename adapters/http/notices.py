"""The delivery status of a ticket's notices (ADR 0059), for ``GET
/api/v1/tickets/{ref}/notices`` and the desk's ticket page: one row per notice, the recipient
as the outbox keeps it (a role: ``contact``, ``user:<id>``, ``group:<name>``, ``cab``,
``webhook``) and, for an address of the rules file, the address under ``email`` -- which the
edge masks for the roles that see contacts masked (``access.mask``), as it masks a contact's."""

from __future__ import annotations

from typing import Any

from adapters.channels.senders import message_id


def notice_items(services: Any, record_id: str, *, masked: bool = False) -> list[dict[str, Any]]:
    """The notices of the record ``record_id``, oldest event first."""
    from adapters.http.access import mask_email

    sender = services.notifier
    domain = sender.smtp.domain if sender.smtp is not None else "opsledger.localhost"
    out = []
    for row in sender.outbox.of_record(record_id):
        item = row.as_json()
        recipient = item["recipient"]
        email = None
        if recipient.startswith("address:"):
            email = recipient[len("address:"):]
            item["recipient"] = "address"
            if masked:
                email = mask_email(email)
        item["email"] = email
        item["message_id"] = (message_id(item["number"], item["id"], domain)
                              if item["channel"] == "email" else None)
        out.append(item)
    return out
