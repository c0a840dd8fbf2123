"""Priority from urgency x impact x importance (DOMAIN.md §1.3, GB/T 28827.2 §3.2.1 b).

The seeds name the three dimensions and the three priorities but no matrix, so the matrix
is configuration. The default scores each dimension 0/1/2 and sums them (0..6):

    score >= 5  -> P1  (紧急: affects core business)
    score >= 3  -> P2  (重要: affects part of the business)
    otherwise   -> P3  (一般: does not affect business)

so very_urgent + all + important (5) is P1, urgent + some + important (3) is P2 and
not_urgent + single + important (1) is P3. Every cell is listed in docs/priority-matrix.md.
A deployment can replace the thresholds or give an explicit table of the 27 cells.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Urgency(StrEnum):
    NOT_URGENT = "not_urgent"
    URGENT = "urgent"
    VERY_URGENT = "very_urgent"


class Impact(StrEnum):
    SINGLE = "single"
    SOME = "some"
    ALL = "all"


class Importance(StrEnum):
    NOT_IMPORTANT = "not_important"
    IMPORTANT = "important"
    VERY_IMPORTANT = "very_important"


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


_SCORES: dict[str, int] = {
    **{u.value: i for i, u in enumerate(Urgency)},
    **{m.value: i for i, m in enumerate(Impact)},
    **{p.value: i for i, p in enumerate(Importance)},
}


@dataclass(frozen=True)
class PriorityMatrix:
    """Maps (urgency, impact, importance) to a priority.

    ``cells`` (when given) wins over the score thresholds for the cells it names.
    """

    p1_from: int = 5
    p2_from: int = 3
    cells: Mapping[tuple[str, str, str], Priority] = field(default_factory=dict)

    def priority(self, urgency: Urgency, impact: Impact, importance: Importance) -> Priority:
        key = (str(urgency), str(impact), str(importance))
        if key in self.cells:
            return Priority(self.cells[key])
        score = _SCORES[key[0]] + _SCORES[key[1]] + _SCORES[key[2]]
        if score >= self.p1_from:
            return Priority.P1
        if score >= self.p2_from:
            return Priority.P2
        return Priority.P3

    def table(self) -> list[tuple[Urgency, Impact, Importance, Priority]]:
        return [
            (u, m, p, self.priority(u, m, p))
            for u in Urgency
            for m in Impact
            for p in Importance
        ]


DEFAULT_MATRIX = PriorityMatrix()


def markdown_table(matrix: PriorityMatrix = DEFAULT_MATRIX) -> str:
    """The matrix as the Markdown table in docs/priority-matrix.md (a test keeps them equal)."""
    lines = [
        "| urgency | impact | importance | priority |",
        "|---|---|---|---|",
    ]
    lines += [f"| {u} | {m} | {i} | {p} |" for u, m, i, p in matrix.table()]
    return "\n".join(lines) + "\n"
