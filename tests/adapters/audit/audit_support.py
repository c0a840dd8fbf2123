"""Helpers for the audit tests: a store with events, and tampering with it directly in SQL
(the way an attacker with database access would, never through the application)."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
from psycopg import sql

from adapters.audit.store import CHAIN_TABLE
from adapters.container import Services
from adapters.stores.persistence import store_kind
from tests.projections.workload import Spec, ticket_in_state


def fill(services: Services, tickets: int = 6, first: int = 1) -> int:
    """Saves ``tickets`` tickets in various states; returns the log's head position."""
    states = ("registered", "assigned", "in_progress", "resolved", "closed")
    for n in range(first, first + tickets):
        services.desk.save(ticket_in_state(Spec(n, "客户A", states[n % len(states)], "P2",
                                                "zhang", "net")))
    return int(services.desk.max_position() or 0)


def tamper(services: Services, statement: str, params: tuple[Any, ...] = ()) -> None:
    """Runs ``statement`` on the store behind the application's back. ``{events}``/``{chain}``
    name the tables, ``{pos}`` the position column, ``%s`` marks parameters."""
    r: Any = services.desk.recorder
    kind = store_kind(r)
    db = services.settings.database
    if kind == "sqlite":
        text = statement.format(events=r.events_table_name, chain=CHAIN_TABLE, pos="rowid")
        with sqlite3.connect(db.path) as con:
            con.execute(text.replace("%s", "?"), params)
        return
    assert kind == "postgres", "tampering needs a database"
    schema = r.datastore.schema
    query = sql.SQL(statement).format(events=sql.Identifier(schema, r.events_table_name),
                                      chain=sql.Identifier(schema, CHAIN_TABLE),
                                      pos=sql.Identifier("notification_id"))
    with psycopg.connect(db.conninfo, autocommit=True) as con:
        con.execute(query, params)


def state_at(services: Services, position: int) -> bytes:
    from adapters.stores.persistence import LogReader

    row = LogReader(services.desk.recorder).read(position - 1, 1)[0]
    assert row[0] == position
    return bytes(row[4])


def flip_byte(services: Services, position: int, index: int = 5) -> None:
    state = bytearray(state_at(services, position))
    state[index] ^= 0x01
    tamper(services, "UPDATE {events} SET state = %s WHERE {pos} = %s", (bytes(state), position))
