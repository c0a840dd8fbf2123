"""Stored-event encoding benchmark (ADR 0003): library JSON mapper vs ``MsgspecMapper``.

    PYTHONPATH=. .venv/bin/python -m bench.encoding [--n 1000] [--repeats 5]

Builds ``n`` ticket lifecycles (register with Chinese text, classify, assign, start,
log_work x2, resolve, confirm: 8 events each) with fixed datetimes, then measures, for

* ``raw json``: ``json`` encode/decode of the plain dict state, nothing typed (the floor);
* ``library``: ``eventsourcing.persistence.Mapper`` + ``JSONTranscoder`` with the transcodings
  ``Application.register_transcodings`` adds (UUIDAsHex, DecimalAsStr, DatetimeAsISO) plus one
  generic transcoding per value-object dataclass of ours (and per StrEnum, see below), so the
  library can store our events at all;
* ``msgspec``: ``application.encoding.MsgspecMapper``;

encode (``to_stored_event``) and decode (``to_domain_event``) events per second, best of
``repeats`` runs timed with ``time.perf_counter`` (GC disabled while timing, as ``timeit``
does), and the mean stored bytes per event. Each mapper's round trip is checked against
the original events, by ``==`` and also type for type.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import gc
import json
import platform
import sys
import textwrap
import time
import types
import typing
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, timezone
from importlib.metadata import version
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    Transcoding,
    UUIDAsHex,
)

from application.encoding import MsgspecMapper
from domain.priority import DEFAULT_MATRIX, Impact, Importance, Priority, Urgency
from domain.ticket import (
    Acceptance,
    Channel,
    Classification,
    Contact,
    Feedback,
    Improvement,
    ProposedClassification,
    Resolution,
    Status,
    Ticket,
    TicketType,
    WorkEntry,
)

UTC = timezone.utc
CST = timezone(timedelta(hours=8))  # users claim times in local time; the server records UTC
BASE = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)

VALUE_CLASSES: tuple[type, ...] = (
    Contact,
    ProposedClassification,
    Classification,
    WorkEntry,
    Resolution,
    Acceptance,
    Improvement,
    Feedback,
)
ENUM_CLASSES: tuple[type[enum.Enum], ...] = (
    Status,
    Channel,
    TicketType,
    Urgency,
    Impact,
    Importance,
    Priority,
)

# ---------------------------------------------------------------------------- events

CUSTOMERS = ("华东电网调度中心", "上海市第六人民医院信息科", "浙江省农村信用社联合社", "苏州工业园区管委会")
SYSTEMS = ("调度数据网 / SCADA 前置机", "HIS 门诊收费系统", "核心账务系统 (AS/400)", "政务外网出口防火墙")
TITLES = (
    "核心交换机端口频繁闪断，影响调度数据网业务",
    "门诊收费窗口打印发票时系统卡顿超过 30 秒",
    "日终批处理作业失败，报错 CPF4131",
    "防火墙会话数达到上限，部分用户无法访问外网",
)
DESCRIPTIONS = (
    "今日 08:40 起，2 号机房核心交换机 Gi1/0/24 端口反复 up/down，约每 5 分钟一次；"
    "调度员反馈遥测数据刷新中断。已初步检查光模块告警，未见明显异常，请尽快派工程师现场处理。",
    "多个收费窗口反映打印发票时界面无响应，持续 30 秒以上，排队患者较多，影响门诊秩序。"
    "数据库服务器 CPU 使用率约 95%，怀疑与昨晚上线的报表任务有关。",
    "昨晚日终批处理在第 17 步失败，作业日志显示 CPF4131（文件级别检查失败），"
    "导致今日柜面系统无法正常开门，需在 09:00 前恢复。",
    "上午 10 点左右开始，防火墙并发会话数持续在 100% 附近，部分委办局用户无法访问互联网，"
    "内网业务暂未受影响。请协助排查是否存在异常流量。",
)
ENGINEERS = ("zhang.wei", "li.na", "wang.qiang", "chen.jing")
GROUPS = ("网络组", "系统组", "数据库组", "安全组")
URGENCIES = tuple(Urgency)
IMPACTS = tuple(Impact)
IMPORTANCES = tuple(Importance)
CHANNELS = tuple(Channel)
TYPES = (TicketType.FAULT, TicketType.FAULT, TicketType.CONSULTATION, TicketType.OPTIMIZATION)


def register_sample(i: int, number: str, at: datetime, **options: Any) -> Ticket:
    """Sample ticket ``i`` registered at ``at`` as ``number`` (its id derives from the number):
    customer, system, title and description of sample ``i % 4``, a contact, the channel by
    ``i``, reported 25 minutes before in local time; ``options``: register's optional fields."""
    k = i % 4
    return Ticket.register(
        id=uuid5(NAMESPACE_URL, f"opsledger:ticket:{number}"),
        number=number,
        customer=CUSTOMERS[k],
        contact=Contact(name="王建国", phone=f"1380013{i % 10000:04d}", email="wangjg@example.cn"),
        channel=CHANNELS[i % len(CHANNELS)],
        title=TITLES[k],
        description=DESCRIPTIONS[k],
        affected_system=SYSTEMS[k],
        reported_at=(at - timedelta(minutes=25)).astimezone(CST),
        actor="desk.liu",
        at=at,
        **options,
    )


def build_events(n: int) -> list[Any]:
    """``n`` full ticket lifecycles, 8 events each, deterministic (fixed ids and times)."""
    events: list[Any] = []
    for i in range(n):
        k = i % 4
        t0 = BASE + timedelta(minutes=7 * i)
        number = f"SR-{t0:%Y%m%d}-{i + 1:05d}"
        ticket = register_sample(
            i,
            number,
            t0,
            attachments=("现场照片-1.jpg", "告警日志-0303.txt") if i % 2 else (),
            proposed=ProposedClassification(type=TYPES[k], urgency=Urgency.URGENT)
            if i % 3 == 0
            else None,
            sla_policy="金牌 7x24" if i % 4 == 0 else None,
        )
        urgency, impact, importance = URGENCIES[i % 3], IMPACTS[(i // 3) % 3], IMPORTANCES[k % 3]
        computed = DEFAULT_MATRIX.priority(urgency, impact, importance)
        override = i % 5 == 0 and computed is not Priority.P1
        ticket.classify(
            type=TYPES[k],
            category="网络/交换机" if k == 0 else "应用/性能",
            urgency=urgency,
            impact=impact,
            importance=importance,
            priority=Priority.P1 if override else None,
            override_reason="客户为重点保障单位，按 P1 处理" if override else "",
            actor="desk.liu",
            at=t0 + timedelta(minutes=3),
        )
        ticket.assign(
            assignee=ENGINEERS[k],
            group=GROUPS[k],
            interface_person="客户接口人 赵敏" if i % 2 else None,
            actor="desk.liu",
            at=t0 + timedelta(minutes=5),
        )
        ticket.start(actor=ENGINEERS[k], at=t0 + timedelta(minutes=12))
        ticket.log_work(
            action="远程登录设备，收集日志并定位故障点；确认与光模块收光功率偏低有关。",
            hours=0.75,
            performed_at=(t0 + timedelta(minutes=15)).astimezone(CST),
            workaround="临时将业务切换至备用链路 Gi1/0/23",
            actor=ENGINEERS[k],
            at=t0 + timedelta(minutes=60),
        )
        ticket.log_work(
            action="现场更换光模块并清洁光纤跳线，观察 30 分钟无闪断。",
            hours=1.5,
            actor=ENGINEERS[k],
            at=t0 + timedelta(minutes=150),
        )
        ticket.resolve(
            resolution="更换 Gi1/0/24 光模块（SFP-10G-LR）并清洁跳线，端口恢复稳定，业务已切回主链路。",
            root_cause="光模块老化导致收光功率低于阈值",
            first_contact=i % 7 == 0,
            actor=ENGINEERS[k],
            at=t0 + timedelta(minutes=160),
        )
        ticket.confirm(
            number=f"SD-{t0:%Y%m%d}-{i + 1:05d}",
            signer="王建国",
            items=("更换光模块 1 个", "清洁光纤跳线 2 根", "恢复主链路"),
            criteria=("端口 24 小时无闪断", "遥测数据刷新正常"),
            passed=True,
            note="客户确认业务恢复正常" if i % 2 else "",
            actor="desk.liu",
            at=t0 + timedelta(days=1),
        )
        events.extend(ticket.collect_events())
    return events


# -------------------------------------------------------- library mapper transcodings


def _converter(hint: Any) -> Callable[[Any], Any] | None:
    """How to restore a JSON value to the annotated type (None: JSON already gives it)."""
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if typing.get_origin(hint) is tuple:
        return tuple
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return _converter(args[0])
    return None


class DataclassAsDict(Transcoding):
    """Generic transcoding for one frozen dataclass: its fields as a JSON object.

    Fields are passed through unchanged on encode (nested datetimes and dataclasses go back
    through the transcoder's ``default``); on decode, enum and tuple fields are restored from
    the dataclass's annotations (nested ``_type_`` objects are already decoded, bottom up).
    """

    def __init__(self, cls: type) -> None:
        self.type = cls
        self.name = cls.__name__  # short names: fewer stored bytes, in the library's favour
        self._names = tuple(f.name for f in dataclasses.fields(cls))
        hints = typing.get_type_hints(cls)
        self._convert = tuple(
            (name, conv) for name in self._names if (conv := _converter(hints[name])) is not None
        )

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self._names}

    def decode(self, data: dict[str, Any]) -> Any:
        for name, conv in self._convert:
            value = data.get(name)
            if value is not None:
                data[name] = conv(value)
        return self.type(**data)


class StrEnumAsValue(Transcoding):
    """Transcoding for a StrEnum. Registered for completeness, but never called: a StrEnum
    is a ``str``, which ``json`` encodes natively without consulting ``default``."""

    calls = 0

    def __init__(self, cls: type[enum.Enum]) -> None:
        self.type = cls
        self.name = cls.__name__

    def encode(self, obj: Any) -> str:
        StrEnumAsValue.calls += 1
        return str(obj.value)

    def decode(self, data: str) -> Any:
        StrEnumAsValue.calls += 1
        return self.type(data)


class DateAsISO(Transcoding):
    """``date`` (Improvement.due); the library registers only datetime."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def library_mapper() -> Mapper[Any]:
    transcoder = JSONTranscoder()
    # Application.register_transcodings (eventsourcing 9.5.6):
    transcoder.register(UUIDAsHex())
    transcoder.register(DecimalAsStr())
    transcoder.register(DatetimeAsISO())
    # ours, so that the library can store our events at all:
    transcoder.register(DateAsISO())
    for cls in VALUE_CLASSES:
        transcoder.register(DataclassAsDict(cls))
    for enum_cls in ENUM_CLASSES:
        transcoder.register(StrEnumAsValue(enum_cls))
    return Mapper(transcoder=transcoder)


# ---------------------------------------------------------------------- round trips


def differences(a: Any, b: Any, path: str) -> list[str]:
    """Where ``b`` (decoded) is not ``a`` (original): unequal values, or equal but other type."""
    if type(a) is not type(b):
        kind = "equal, but" if a == b else "UNEQUAL:"
        return [f"{path}: {kind} {type(a).__name__} -> {type(b).__name__}"]
    if dataclasses.is_dataclass(a):
        return [
            d
            for f in dataclasses.fields(a)
            for d in differences(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
        ]
    if isinstance(a, tuple | list):
        if len(a) != len(b):
            return [f"{path}: UNEQUAL: length {len(a)} -> {len(b)}"]
        return [d for x, y in zip(a, b, strict=True) for d in differences(x, y, f"{path}[]")]
    if isinstance(a, datetime) and a.utcoffset() != b.utcoffset():
        return [f"{path}: equal instant, but UTC offset {a.utcoffset()} -> {b.utcoffset()}"]
    return [] if a == b else [f"{path}: UNEQUAL: {a!r} -> {b!r}"]


def check_round_trip(mapper: Mapper[Any], events: Sequence[Any]) -> tuple[int, Counter[str]]:
    """(how many decoded events are ``==`` the originals, counted differences by field)."""
    equal = 0
    found: Counter[str] = Counter()
    for event in events:
        decoded = mapper.to_domain_event(mapper.to_stored_event(event))
        equal += type(decoded) is type(event) and decoded == event
        original, restored = vars(event), vars(decoded)
        for name in original.keys() | restored.keys():
            if name not in original or name not in restored:
                found[f"{type(event).__name__}.{name}: field missing or extra"] += 1
                continue
            for d in differences(original[name], restored[name], f"{type(event).__name__}.{name}"):
                found[d] += 1
    return equal, found


# --------------------------------------------------------------------------- timing


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return min(times)


@dataclasses.dataclass
class Result:
    name: str
    encode_per_s: float
    decode_per_s: float
    bytes_per_event: float


def measure_mapper(name: str, mapper: Mapper[Any], events: list[Any], repeats: int) -> Result:
    encode, decode = mapper.to_stored_event, mapper.to_domain_event
    stored: list[StoredEvent] = [encode(e) for e in events]
    [decode(s) for s in stored]  # warm caches (topics, decoders) before timing
    t_enc = best_of(repeats, lambda: [encode(e) for e in events])
    t_dec = best_of(repeats, lambda: [decode(s) for s in stored])
    size = sum(len(s.state) for s in stored) / len(stored)
    return Result(name, len(events) / t_enc, len(events) / t_dec, size)


def measure_raw_json(states: list[dict[str, Any]], repeats: int) -> Result:
    # Same json settings as the library's JSONTranscoder, without its hooks and without a Mapper.
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    loads = json.JSONDecoder().decode
    blobs = [dumps(s).encode("utf8") for s in states]
    t_enc = best_of(repeats, lambda: [dumps(s).encode("utf8") for s in states])
    t_dec = best_of(repeats, lambda: [loads(b.decode("utf8")) for b in blobs])
    size = sum(len(b) for b in blobs) / len(blobs)
    return Result("raw json (plain dicts, untyped)", len(states) / t_enc, len(states) / t_dec, size)


# ---------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.encoding", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--n", type=int, default=1000, help="ticket lifecycles (8 events each)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs; the best is kept")
    args = parser.parse_args(argv)

    events = build_events(args.n)
    library, msgspec_mapper = library_mapper(), MsgspecMapper()

    # Round trips first (also proves the library can store every event with our transcodings).
    lib_equal, lib_diffs = check_round_trip(library, events)
    ms_equal, ms_diffs = check_round_trip(msgspec_mapper, events)

    # The raw baseline's input: the plain JSON-native dict state (as msgspec stores it).
    states = [json.loads(msgspec_mapper.to_stored_event(e).state) for e in events]

    StrEnumAsValue.calls = 0
    raw = measure_raw_json(states, args.repeats)
    lib = measure_mapper("library Mapper + JSONTranscoder", library, events, args.repeats)
    ms = measure_mapper("msgspec MsgspecMapper", msgspec_mapper, events, args.repeats)
    enum_calls = StrEnumAsValue.calls

    kinds = Counter(type(e).__name__ for e in events)
    print(
        f"Stored-event encoding: {len(events):,} Ticket events ({args.n:,} lifecycles x 8: "
        + ", ".join(f"{k} {v:,}" for k, v in kinds.items())
        + ")"
    )
    print(
        f"best of {args.repeats}, time.perf_counter, GC off while timing; "
        f"Python {platform.python_version()} ({platform.machine()}), "
        f"eventsourcing {version('eventsourcing')}, msgspec {version('msgspec')}"
    )
    print()
    header = f"{'':34} {'encode ev/s':>12} {'decode ev/s':>12} {'bytes/ev':>9}"
    print(header)
    print("-" * len(header))
    for r in (raw, lib, ms):
        print(
            f"{r.name:34} {r.encode_per_s:12,.0f} {r.decode_per_s:12,.0f}"
            f" {r.bytes_per_event:9.1f}"
        )
    print()
    print(f"{'ratios':34} {'encode':>12} {'decode':>12} {'bytes':>9}")
    print("-" * len(header))
    for label, a, b in (
        ("msgspec / library", ms, lib),
        ("library / raw json", lib, raw),
        ("msgspec / raw json", ms, raw),
    ):
        print(
            f"{label:34} {a.encode_per_s / b.encode_per_s:11.2f}x"
            f" {a.decode_per_s / b.decode_per_s:11.2f}x"
            f" {a.bytes_per_event / b.bytes_per_event:8.2f}x"
        )
    print("(speed ratios > 1: the first is faster; bytes ratio < 1: the first stores less)")

    print()
    print(f"{'bytes per event by type':34} {'library':>12} {'msgspec':>12} {'ratio':>9}")
    print("-" * len(header))
    by_type: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for e in events:
        by_type[type(e).__name__].append(
            (len(library.to_stored_event(e).state), len(msgspec_mapper.to_stored_event(e).state))
        )
    for name, sizes in by_type.items():
        lb = sum(s[0] for s in sizes) / len(sizes)
        mb = sum(s[1] for s in sizes) / len(sizes)
        print(f"{name:34} {lb:12.1f} {mb:12.1f} {mb / lb:8.2f}x")

    print()
    print("Round trips (to_stored_event then to_domain_event, compared with the original):")
    for name, equal, diffs in (("library", lib_equal, lib_diffs), ("msgspec", ms_equal, ms_diffs)):
        print(f"  {name}: {equal:,}/{len(events):,} events == original;", end=" ")
        if not diffs:
            print("every field has its original type and value")
        else:
            print("differences (occurrences):")
            for d, count in sorted(diffs.items()):
                print(f"    {d}  ({count:,})")

    print()
    print("Fairness notes:")
    print(
        "  * library mapper = Mapper(JSONTranscoder) with UUIDAsHex, DecimalAsStr, DatetimeAsISO\n"
        "    (as Application.register_transcodings) PLUS, added by this benchmark because the\n"
        "    library cannot encode them: a generic DataclassAsDict transcoding per value object\n"
        "    (it restores enum and tuple fields from annotations on decode), DateAsISO, and a\n"
        "    StrEnumAsValue transcoding per StrEnum:\n"
        + textwrap.fill(
            ", ".join(c.__name__ for c in (*VALUE_CLASSES, *ENUM_CLASSES)),
            width=92,
            initial_indent="      ",
            subsequent_indent="      ",
        )
    )
    print(
        f"  * StrEnum transcodings were called {enum_calls} times: a StrEnum is a str, so json\n"
        "    writes its value without consulting the transcoder, and top-level enum fields come\n"
        "    back as plain str; likewise top-level tuples come back as lists. The library's\n"
        "    Mapper has no per-field types to restore them (see the round-trip differences)."
    )
    print(
        "  * mapper timings include building StoredEvent / the event object and resolving the\n"
        "    topic; the raw json row is json encode + utf8 / utf8 + json decode of the plain\n"
        "    dicts only (the same JSONEncoder settings as the library's JSONTranscoder)."
    )

    sample = next(e for e in events if isinstance(e, Ticket.WorkLogged))
    print()
    print("Stored state of one WorkLogged event:")
    print("  library:", library.to_stored_event(sample).state.decode())
    print("  msgspec:", msgspec_mapper.to_stored_event(sample).state.decode())

    if ms_diffs or ms_equal != len(events):
        print("\nFAIL: the msgspec mapper did not round-trip every event exactly", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
