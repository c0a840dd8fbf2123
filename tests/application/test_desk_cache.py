"""Commands run on a shallow copy of the cached aggregate (``desk.load``); no event's ``apply``
may change state shared with the cache in place, or a refused or conflicting command would
corrupt what later commands see."""

import copy
from datetime import UTC, datetime, timedelta

from application.commands.tickets import RegisterTicket
from application.desk import ServiceDesk
from application.ports import FixedClock
from domain.ticket import Contact, Improvement

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def test_every_ticket_event_leaves_the_cached_aggregate_untouched() -> None:
    clock = FixedClock(T0)
    desk = ServiceDesk({"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    ticket_id = desk.handle(RegisterTicket(customer="客户A", contact=Contact("李四", "13800005678"),
                                           channel="phone", title="生产系统无法登录",
                                           reported_at=T0 - timedelta(minutes=5)), actor="desk").ticket.id
    at = T0 + timedelta(minutes=1)
    steps = [
        lambda t: t.classify(type="fault", category="software", urgency="urgent", impact="some",
                             importance="important", actor="d", at=at),
        lambda t: t.assign(assignee="eng-zhang", group="db", actor="d", at=at),
        lambda t: t.start(actor="e", at=at),
        lambda t: t.log_work(action="远程排查", hours=1.5, workaround="重启", actor="e", at=at),
        lambda t: t.await_customer(reason="等待客户提供账号", actor="e", at=at),
        lambda t: t.resume(actor="e", at=at),
        lambda t: t.resolve(resolution="重启数据库服务后登录恢复", root_cause="连接池耗尽", actor="e", at=at),
        lambda t: t.confirm(number="SD-1", signer="李四", items=("修复",), criteria=("可登录",),
                            passed=False, unmet_items=("报告缺失",), actor="c", at=at),
        lambda t: t.resolve(resolution="补充故障报告并复核登录", root_cause="连接池耗尽", actor="e", at=at),
        lambda t: t.confirm(number="SD-2", signer="李四", items=("修复",), criteria=("可登录",),
                            passed=True, actor="c", at=at),
        lambda t: t.give_feedback(number="FB-1", timeliness=5, effectiveness=4, attitude=5,
                                  comment="好", improvement=Improvement("培训", "mgr", at.date()),
                                  actor="c", at=at),
        lambda t: t.reopen(reason="问题复现", actor="c", at=at),
    ]
    for step in steps:
        cached = desk.repository.get(ticket_id)  # the cache's own object
        before = copy.deepcopy(cached.__dict__)
        mine = desk.load(ticket_id)
        assert mine is not cached
        step(mine)
        assert cached.__dict__ == before, "an event changed state shared with the cache"
        desk.save(mine)
    assert desk.get_ticket(ticket_id).reopen_count == 1
