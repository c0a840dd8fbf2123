"""The priority matrix (DOMAIN.md §1.3): urgency x impact x importance -> P1/P2/P3."""

from __future__ import annotations

import itertools

import pytest

from domain.priority import (
    DEFAULT_MATRIX,
    Impact,
    Importance,
    Priority,
    PriorityMatrix,
    Urgency,
)

U, M, I = Urgency, Impact, Importance
ALL_CELLS = list(itertools.product(Urgency, Impact, Importance))

# Lower rank = more urgent, so "raising a dimension never lowers the priority" means the
# rank never grows.
RANK = {Priority.P1: 1, Priority.P2: 2, Priority.P3: 3}


@pytest.mark.parametrize(
    ("urgency", "impact", "importance", "expected"),
    [
        # The three examples named in domain/priority.py's docstring.
        (U.VERY_URGENT, M.ALL, I.IMPORTANT, Priority.P1),  # score 5
        (U.URGENT, M.SOME, I.IMPORTANT, Priority.P2),  # score 3
        (U.NOT_URGENT, M.SINGLE, I.IMPORTANT, Priority.P3),  # score 1
        # The corners and the thresholds of the documented rule (>=5 P1, >=3 P2, else P3).
        (U.VERY_URGENT, M.ALL, I.VERY_IMPORTANT, Priority.P1),  # 6
        (U.NOT_URGENT, M.SINGLE, I.NOT_IMPORTANT, Priority.P3),  # 0
        (U.VERY_URGENT, M.SOME, I.VERY_IMPORTANT, Priority.P1),  # 5
        (U.URGENT, M.ALL, I.VERY_IMPORTANT, Priority.P1),  # 5
        (U.VERY_URGENT, M.SOME, I.IMPORTANT, Priority.P2),  # 4
        (U.URGENT, M.SOME, I.VERY_IMPORTANT, Priority.P2),  # 4
        (U.VERY_URGENT, M.SINGLE, I.IMPORTANT, Priority.P2),  # 3
        (U.NOT_URGENT, M.ALL, I.IMPORTANT, Priority.P2),  # 3
        (U.URGENT, M.SOME, I.NOT_IMPORTANT, Priority.P3),  # 2
        (U.NOT_URGENT, M.SINGLE, I.VERY_IMPORTANT, Priority.P3),  # 2
        (U.VERY_URGENT, M.SINGLE, I.NOT_IMPORTANT, Priority.P3),  # 2
    ],
)
def test_documented_cells_of_the_default_matrix(urgency, impact, importance, expected):
    assert DEFAULT_MATRIX.priority(urgency, impact, importance) is expected


def test_the_documented_rule_holds_for_every_cell():
    index = {member: n for enum in (Urgency, Impact, Importance) for n, member in enumerate(enum)}
    for u, m, p in ALL_CELLS:
        score = index[u] + index[m] + index[p]
        expected = Priority.P1 if score >= 5 else Priority.P2 if score >= 3 else Priority.P3
        assert DEFAULT_MATRIX.priority(u, m, p) is expected, (u, m, p)


def test_all_27_cells_give_a_priority():
    table = DEFAULT_MATRIX.table()
    assert len(table) == 27
    assert {(u, m, p) for u, m, p, _ in table} == set(ALL_CELLS)
    assert all(isinstance(priority, Priority) for *_, priority in table)
    # every priority is reachable with the default matrix
    assert {priority for *_, priority in table} == set(Priority)


def test_plain_strings_are_accepted_as_well_as_enum_members():
    assert DEFAULT_MATRIX.priority("very_urgent", "all", "important") is Priority.P1


def _raised(cell, dim):
    """The cell with dimension ``dim`` raised by one step, or None at the top."""
    enums = (Urgency, Impact, Importance)
    members = list(enums[dim])
    position = members.index(cell[dim])
    if position + 1 == len(members):
        return None
    bumped = list(cell)
    bumped[dim] = members[position + 1]
    return tuple(bumped)


@pytest.mark.parametrize(
    "matrix",
    [DEFAULT_MATRIX, PriorityMatrix(p1_from=6, p2_from=2), PriorityMatrix(p1_from=4, p2_from=1)],
    ids=["default", "strict", "lenient"],
)
def test_raising_any_dimension_never_lowers_the_priority(matrix):
    for cell in ALL_CELLS:
        for dim in range(3):
            higher = _raised(cell, dim)
            if higher is None:
                continue
            assert RANK[matrix.priority(*higher)] <= RANK[matrix.priority(*cell)], (cell, higher)


def test_explicit_cells_override_the_thresholds_for_the_cells_they_name():
    cells = {
        ("not_urgent", "single", "not_important"): Priority.P1,
        (U.VERY_URGENT.value, M.ALL.value, I.VERY_IMPORTANT.value): "P3",
    }
    matrix = PriorityMatrix(cells=cells)

    assert matrix.priority(U.NOT_URGENT, M.SINGLE, I.NOT_IMPORTANT) is Priority.P1
    # a plain string in the table comes back as a Priority
    assert matrix.priority(U.VERY_URGENT, M.ALL, I.VERY_IMPORTANT) is Priority.P3
    # cells not named fall back to the thresholds
    for cell in ALL_CELLS:
        key = tuple(str(v) for v in cell)
        if key not in cells:
            assert matrix.priority(*cell) is DEFAULT_MATRIX.priority(*cell)
    assert len(matrix.table()) == 27


def test_thresholds_are_configurable():
    strict = PriorityMatrix(p1_from=6, p2_from=4)
    assert strict.priority(U.VERY_URGENT, M.ALL, I.IMPORTANT) is Priority.P2  # 5
    assert strict.priority(U.VERY_URGENT, M.ALL, I.VERY_IMPORTANT) is Priority.P1  # 6
    assert strict.priority(U.URGENT, M.SOME, I.IMPORTANT) is Priority.P3  # 3
