"""The CI index (ADR 0063) against a hand-built graph: the impact walk lists every CI that
depends on the start transitively, nearest first, each once through a cycle, within the depth
and the limit, a requester's customer only; an unrelated relation leaves the walk; a batch
delivered twice is refused (compare-and-set), and a reset empties the index."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain.ci import ConfigurationItem
from domain.numbering import record_id_for
from projections.base import Positioned, TrackingConflict
from projections.ci_index.view import CiIndex

AT = datetime(2031, 3, 14, tzinfo=UTC)


class Graph:
    def __init__(self) -> None:
        self.cis: dict[str, ConfigurationItem] = {}
        self.index = CiIndex()
        self.position = 0

    def ci(self, name: str, customer: str = "A") -> ConfigurationItem:
        number = f"CI-20310314-{len(self.cis) + 1:03d}"
        self.cis[name] = ConfigurationItem.register(
            id=record_id_for(number), number=number, name=name, ci_class="server",
            customer=customer, actor="t", at=AT)
        return self.cis[name]

    def relate(self, source: str, target: str, kind: str = "runs_on") -> str:
        s, t = self.cis[source], self.cis[target]
        rid = f"{source}->{target}:{kind}"
        s.relate(relation_id=rid, type=kind, target=str(t.id), target_number=t.number,
                 actor="t", at=AT)
        return rid

    def flush(self) -> None:
        events = [e for ci in self.cis.values() for e in ci.collect_events()]
        batch = [Positioned(self.position + i + 1, e) for i, e in enumerate(events)]
        self.index.apply(batch, start=self.position, end=self.position + len(batch))
        self.position += len(batch)

    def impact(self, name: str, **kw: Any) -> list[tuple[str, int]]:
        found = self.index.impact(str(self.cis[name].id), **kw)
        names = {str(c.id): n for n, c in self.cis.items()}
        return [(names[a.id], a.depth) for a in found.affected]


@pytest.fixture
def g() -> Graph:
    g = Graph()
    for name, customer in (("san", "A"), ("host", "A"), ("vm", "A"), ("erp", "A"),
                           ("crm", "B"), ("pc", "A")):
        g.ci(name, customer)
    g.relate("host", "san", "depends_on")
    g.relate("vm", "host")
    g.relate("erp", "vm")
    g.relate("crm", "erp", "depends_on")
    g.relate("host", "crm", "connected_to")  # a cycle back to host
    g.flush()
    return g


def test_walks_transitively_nearest_first_each_once(g: Graph) -> None:
    assert g.impact("san") == [("host", 1), ("vm", 2), ("erp", 3), ("crm", 4)]
    assert g.impact("erp") == [("crm", 1), ("host", 2), ("vm", 3)]  # round the cycle, once
    assert g.impact("pc") == []


def test_bounds_and_a_requesters_customer(g: Graph) -> None:
    found = g.index.impact(str(g.cis["san"].id), depth=2)
    assert [a.depth for a in found.affected] == [1, 2] and found.truncated
    found = g.index.impact(str(g.cis["san"].id), limit=3)
    assert len(found.affected) == 3 and found.truncated
    assert not g.index.impact(str(g.cis["san"].id)).truncated
    assert g.impact("san", customer="B") == [("crm", 4)]  # walked through A's CIs


def test_unrelate_and_tracking(g: Graph) -> None:
    g.cis["vm"].unrelate(relation_id="vm->host:runs_on", reason="moved", actor="t", at=AT)
    g.flush()
    assert g.impact("san") == [("host", 1)]
    out, incoming = g.index.relations_of(str(g.cis["host"].id))
    assert [t for _, t, _ in out] == ["depends_on", "connected_to"] and incoming == []
    assert g.index.relations_of(str(g.cis["crm"].id))[1] == [
        ("host->crm:connected_to", "connected_to", str(g.cis["host"].id))]
    with pytest.raises(TrackingConflict):
        g.index.apply([], start=0, end=1)
    g.index.reset()
    assert g.index.count() == 0 and g.index.position() == 0
