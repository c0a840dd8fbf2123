"""The service report as JSON, Markdown and printable HTML (ADR 0029).

JSON is the report's msgspec encoding (the documented, stable form). Markdown and HTML are
for people: the same figures, in Chinese-and-English headings. The HTML page stands alone:
inline CSS (with ``@media print``), SVG bar charts drawn here, no script, no CDN, every text
escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

import msgspec

from adapters.render.records import record_sections  # ADR 0067
from adapters.render.complaints import complaint_sections  # ADR 0066
from adapters.render.field_work import field_work_sections  # ADR 0064
from application.report_model import ServiceReport

Row = Sequence[Any]


def to_json(report: ServiceReport, *, pretty: bool = False) -> bytes:
    raw = msgspec.json.encode(report)
    return msgspec.json.format(raw, indent=2) if pretty else raw


def fmt(value: Any, suffix: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}{suffix}"
    return f"{value}{suffix}"


def _sections(r: ServiceReport) -> list[tuple[str, list[str], list[Row]]]:
    """Every table of the report: (title, header, rows); shared by Markdown and HTML."""
    t, sla, rt, sat, ch, ro = r.tickets, r.sla, r.resolution_time, r.satisfaction, r.changes, r.routines
    return [
        ("Summary 概览", ["figure", "value"], [
            ("tickets", t.total), ("valid", t.valid), ("invalid", t.invalid), ("open", t.open),
            ("resolved (awaiting acceptance)", t.resolved), ("closed", t.closed),
            ("response SLA met", fmt(sla.response_met_pct, " %")),
            ("resolution SLA met", fmt(sla.resolution_met_pct, " %")),
            ("mean resolution (working h)", fmt(rt.mean_working_hours)),
            ("p90 resolution (working h)", fmt(rt.p90_working_hours)),
            ("first-contact resolution", fmt(r.first_contact_resolution_pct, " %")),
            ("reopen rate", fmt(r.reopens.reopen_pct, " %")),
            ("satisfaction (1–5)", fmt(sat.mean)),
            ("major incidents", r.major_incidents.count),
            ("changes", ch.total), ("routine runs done", ro.done),
            ("routine runs abnormal", ro.abnormal), ("routine runs overdue", ro.overdue),
        ]),
        ("Volumes by priority 按优先级", ["priority", "tickets"], list(t.by_priority.items())),
        ("Volumes by type 按类型", ["type", "tickets"], list(t.by_type.items())),
        ("Volumes by category 按类别", ["category", "tickets"], list(t.by_category.items())),
        ("SLA compliance 时效达成", ["priority", "tickets", "response met", "missed", "pending",
                                    "met %", "resolution met", "missed", "pending", "met %"],
         [(k, c.tickets, c.response_met, c.response_missed, c.response_pending,
           fmt(c.response_met_pct), c.resolution_met, c.resolution_missed, c.resolution_pending,
           fmt(c.resolution_met_pct))
          for k, c in [*sla.by_priority.items(), ("all", sla)]]),
        ("Milestone clocks 内部时限 (ADR 0062)", ["milestone", "met", "missed", "pending", "met %"],
         [(m.milestone, m.met, m.missed, m.pending, fmt(m.met_pct)) for m in sla.milestones]),
        ("Satisfaction 满意度", ["source", "responses", "timeliness", "effectiveness",
                                "attitude", "mean"],
         [(name, s.responses, fmt(s.timeliness), fmt(s.effectiveness), fmt(s.attitude),
           fmt(s.mean))
          for name, s in (("ticket feedback", sat.ticket_feedback), ("surveys", sat.surveys),
                          ("all", sat))]),
        ("Major incidents 重大事件", ["number", "title", "priority", "status", "escalation",
                                     "resolution (working h)", "resolution SLA"],
         [(m.number, m.title, m.priority, m.status, m.escalation_level,
           fmt(m.resolution_working_hours), m.resolution_state)
          for m in r.major_incidents.items]),
        ("Problems and known errors 问题与已知错误", ["number", "title", "status", "known error",
                                                    "tickets"],
         [(p.number, p.title, p.status, "yes" if p.known_error else "no", ", ".join(p.tickets))
          for p in r.problems.items]),
        ("Changes 变更", ["number", "kind", "title", "status", "outcome"],
         [(c.number, c.kind, c.title, c.status, c.outcome) for c in ch.items]),
        ("Routine operations 例行操作", ["due", "done", "normal", "abnormal", "overdue"],
         [(ro.due, ro.done, ro.normal, ro.abnormal, ro.overdue)]),
        ("Engineer workload 工作量", ["person", "assigned", "resolved", "hours logged"],
         [(w.person, w.assigned, w.resolved, fmt(w.hours_logged)) for w in r.workload]),
        *record_sections(r),  # hidden risks, declared major incidents (ADR 0067)
        *complaint_sections(r),  # complaints (ADR 0066)
        *field_work_sections(r),  # visits' on-site time, parts' arrival (ADR 0064)
    ]


def _title(r: ServiceReport) -> str:
    return f"Service report 服务报告 {r.project.number} {r.project.name} — {r.period.label}"


def _meta(r: ServiceReport) -> list[tuple[str, str]]:
    return [
        ("customer", r.project.customer), ("contract", r.project.contract_number),
        ("period", f"{r.period.start.isoformat()} – {r.period.end.isoformat()}"),
        ("as of", r.as_of.isoformat()), ("summary due", r.period.summary_due.isoformat()),
    ]


def _md_cell(value: Any) -> str:
    return str(fmt(value)).replace("|", "\\|").replace("\n", " ")


def to_markdown(r: ServiceReport) -> str:
    out = [f"# {_title(r)}", ""]
    out += [f"- **{k}**: {_md_cell(v)}" for k, v in _meta(r)]
    for title, header, rows in _sections(r):
        out += ["", f"## {title}", ""]
        if not rows:
            out.append("_none_")
            continue
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        out += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ HTML


def bar_chart(title: str, bars: Iterable[tuple[str, float | None]], *, maximum: float | None = None,
              unit: str = "") -> str:
    """A horizontal SVG bar chart (one bar per label); ``None`` draws no bar, shows –."""
    items = list(bars)
    top = maximum or max([v or 0 for _, v in items] + [1])
    row, label_w, bar_w = 24, 150, 300
    height = row * len(items) + 30
    width = label_w + bar_w + 70
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(title)}">'
             f'<title>{escape(title)}</title>',
             f'<text x="0" y="14" class="ct">{escape(title)}</text>']
    for i, (label, value) in enumerate(items):
        y = 24 + i * row
        width = 0 if value is None else round(bar_w * value / top, 1)
        parts.append(f'<text x="0" y="{y + 14}">{escape(str(label))}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{width}" height="16" class="bar"/>')
        parts.append(f'<text x="{label_w + width + 6}" y="{y + 14}">{escape(fmt(value, unit))}</text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",Arial,sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:22px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:6px 0;font-size:13px}
th,td{border:1px solid #bbb;padding:3px 8px;text-align:left}th{background:#eee}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px;font-size:13px}
dt{font-weight:bold}.charts{display:flex;flex-wrap:wrap;gap:18px}
svg text{font-size:12px;fill:#222}svg .ct{font-weight:bold}svg .bar{fill:#3b6ea5}
@media print{@page{size:A4;margin:14mm 12mm}
body{margin:0;font-size:12px;-webkit-print-color-adjust:exact;print-color-adjust:exact}
h1{font-size:17px;margin-top:0}h2{font-size:14px;margin-top:14px;break-after:avoid}
thead{display:table-header-group}tr,svg,dl{break-inside:avoid}
.charts{gap:6px 2%}.charts svg{width:48%;height:auto}svg .bar{fill:#555}}
"""


def _html_table(header: list[str], rows: list[Row]) -> str:
    if not rows:
        return "<p><em>none</em></p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(fmt(v)))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _charts(r: ServiceReport) -> str:
    sla = r.sla.by_priority
    charts = [
        bar_chart("Tickets by priority", r.tickets.by_priority.items()),
        bar_chart("Tickets by category", r.tickets.by_category.items()),
        bar_chart("Response SLA met %", [(k, c.response_met_pct) for k, c in sla.items()],
                  maximum=100, unit=" %"),
        bar_chart("Resolution SLA met %", [(k, c.resolution_met_pct) for k, c in sla.items()],
                  maximum=100, unit=" %"),
        bar_chart("Satisfaction by dimension", [
            ("timeliness", r.satisfaction.timeliness),
            ("effectiveness", r.satisfaction.effectiveness),
            ("attitude", r.satisfaction.attitude)], maximum=5),
    ]
    return '<div class="charts">' + "".join(charts) + "</div>"


def to_html(r: ServiceReport) -> str:
    meta = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in _meta(r))
    sections = "".join(f"<h2>{escape(title)}</h2>{_html_table(header, rows)}"
                       for title, header, rows in _sections(r))
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(_title(r))}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(_title(r))}</h1><dl>{meta}</dl>{_charts(r)}{sections}</body></html>\n"
    )


RENDERERS = {
    "json": lambda r: to_json(r, pretty=True).decode() + "\n",
    "md": to_markdown,
    "html": to_html,
}
