"""The composition root: settings in, a wired service desk and its read models out."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.holiday_data import ChinaHolidaySource
from adapters.persistence import RecorderPositions, eventsourcing_env, ticket_list_view
from adapters.projection_runner import ProjectionRunner
from adapters.settings import Settings
from application.desk import ServiceDesk
from application.ports import Clock
from application.sla_clocks import SlaClocks
from projections.ticket_list.view import TicketListView


@dataclass
class Services:
    settings: Settings
    desk: ServiceDesk
    tickets: TicketListView
    runner: ProjectionRunner

    def close(self) -> None:
        self.runner.stop()
        for view in self.runner.views.values():
            view.close()
        self.desk.close()


def build(settings: Settings, *, clock: Clock | None = None) -> Services:
    db = settings.database
    desk = ServiceDesk(
        eventsourcing_env(db, settings.sqlite_synchronous),
        clock=clock,
        timezone=settings.timezone,
        matrix=settings.priority_matrix,
    )
    desk.positions = RecorderPositions(desk.recorder)
    desk.sla = SlaClocks(desk, ChinaHolidaySource(), rule=settings.sla_recompute)
    if db.kind == "sqlite":
        desk.serialise_writes()
    tickets = ticket_list_view(db, desk.write_lock)
    runner = ProjectionRunner(
        desk,
        [tickets],
        batch_size=settings.projection_batch_size,
        poll_seconds=settings.projection_poll_seconds,
    )
    desk.after_save.append(lambda _position: runner.wake())
    return Services(settings=settings, desk=desk, tickets=tickets, runner=runner)
