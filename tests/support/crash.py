"""A crash injected into the ticket list's ``projection.apply`` (a runner or view dying in the
middle of a batch)."""

from __future__ import annotations

from typing import Any

import pytest

from projections.ticket_list import projection


class ApplyCrash:
    """Stands in for ``projection.apply`` (through ``monkeypatch``) and raises ``error`` at its
    ``at``-th call; ``calls`` counts the calls, ``restore`` puts the real ``apply`` back."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, at: int, error: Exception) -> None:
        self.real = projection.apply
        self.at = at
        self.error = error
        self.calls = 0
        self._monkeypatch = monkeypatch
        monkeypatch.setattr(projection, "apply", self)

    def __call__(self, row: Any, event: Any, position: int) -> Any:
        self.calls += 1
        if self.calls == self.at:
            raise self.error
        return self.real(row, event, position)

    def restore(self) -> None:
        self._monkeypatch.setattr(projection, "apply", self.real)
