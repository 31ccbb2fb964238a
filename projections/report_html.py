"""A report as one self-contained HTML page, its charts drawn by matplotlib and inlined as SVG."""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: charts are drawn to files only
from matplotlib.figure import Figure  # noqa: E402

from projections.reports import Report, csv_cell  # noqa: E402

ACCENT = "#1f5f8b"
WARN = "#c0392b"
MUTED = "#9aa5b1"
GOOD = "#2e8b57"
# Long tables stay readable: the page shows this many rows; the CSV and JSON forms carry them all.
MAX_TABLE_ROWS = 500

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1c2833; margin: 2rem auto;
       max-width: 1100px; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 2px solid #1f5f8b; padding-bottom: .2rem; }
.moment { color: #566573; margin-top: 0; }
.figures { display: flex; flex-wrap: wrap; gap: .8rem; margin: 1rem 0; }
.figure { background: #f4f6f8; border-radius: 6px; padding: .6rem .9rem; min-width: 9rem; }
.figure .value { font-size: 1.4rem; font-weight: 600; color: #1f5f8b; }
.figure .label { font-size: .8rem; color: #566573; }
figure.chart { margin: 1.2rem 0; }
figure.chart figcaption { font-weight: 600; margin-bottom: .3rem; }
figure.chart svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: .82rem; width: 100%; }
th { background: #1f5f8b; color: white; text-align: left; padding: .35rem .5rem; }
td { border-bottom: 1px solid #e5e8eb; padding: .3rem .5rem; vertical-align: top; }
tr:nth-child(even) td { background: #fafbfc; }
.note { color: #566573; font-size: .8rem; }
"""

TITLES = {
    "follow-ups": "Follow-up queue",
    "compliance": "Follow-up compliance",
    "network": "Contact network",
    "audit": "Audit trail",
}


def render_html(report: Report) -> str:
    """The whole page: title, the two moments, headline figures, charts, then the tables."""
    title = TITLES.get(report.name, report.name)
    scope = "all teams" if report.scope.all_teams else f"team {report.scope.team or '(none)'}"
    if report.scope.recruiter_id is not None:
        scope += f", recruiter {report.scope.recruiter_id}"
    moment = (
        f"As of {_when(report.as_of)}, as known at {_when(report.known_at)}" if report.as_of is not None
        else f"Recorded up to {_when(report.known_at)}"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="moment">{_e(moment)} &middot; {_e(scope)} &middot; log position {report.position}</p>',
        _figures(report.figures),
    ]
    for chart_title, draw in CHARTS.get(report.name, []):
        svg = _chart_svg(draw, report)
        if svg is not None:
            parts.append(f'<figure class="chart"><figcaption>{_e(chart_title)}</figcaption>{svg}</figure>')
    parts.append(f"<h2>{_e(title)}: details</h2>")
    parts.append(_table(report.columns, report.rows))
    if report.name == "compliance":
        parts.append("<h2>Outcomes by whether a thank-you went out within 24 hours</h2>")
        rates = report.sections["outcome_rates"]
        parts.append(_table(list(rates[0]) if rates else [], rates))
    if report.name == "network":
        parts.append("<h2>Contacts</h2>")
        parts.append(_table(["company", "name", "title", "touches", "last_touch_at", "next_touch_due", "warm",
                             "strength"], report.sections["contacts"]))
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts.append(f'<p class="note">Rebuilt from the event log on {generated}.</p></body></html>')
    return "\n".join(parts)


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%a %d %b %Y %H:%M UTC") if moment is not None else "now"


def _e(text: Any) -> str:
    return html.escape(str(text))


def _figures(figures: dict[str, Any]) -> str:
    cells = []
    for name, value in figures.items():
        cells.append(
            f'<div class="figure"><div class="value">{_e(_format(name, value))}</div>'
            f'<div class="label">{_e(name.replace("_", " "))}</div></div>'
        )
    return f'<div class="figures">{"".join(cells)}</div>'


def _format(name: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if name.endswith(("_rate", "_share")):
            return f"{value:.0%}"
        return f"{value:.2f}"
    return str(value)


def _table(columns: list[str], rows: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{_e(c.replace('_', ' '))}</th>" for c in columns)
    body = []
    for row in rows[:MAX_TABLE_ROWS]:
        cells = "".join(f"<td>{_e(_format(c, row.get(c)) if isinstance(row.get(c), float) else csv_cell(row.get(c)))}</td>"
                        for c in columns)
        body.append(f"<tr>{cells}</tr>")
    more = (f'<p class="note">{len(rows) - MAX_TABLE_ROWS} more rows in the CSV or JSON form.</p>'
            if len(rows) > MAX_TABLE_ROWS else "")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def _chart_svg(draw: Callable[[Figure, Report], None], report: Report) -> str | None:
    figure = Figure(figsize=(9, 3.4), dpi=100, layout="constrained")
    draw(figure, report)
    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "followup"}):
        figure.savefig(out, format="svg", metadata={"Date": None})
    svg = out.getvalue()
    # Inline: drop the XML prologue and doctype, keep the <svg> element.
    return svg[svg.index("<svg"):] if "<svg" in svg else None


def _style(axes: Any) -> None:
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", color="#e5e8eb")
    axes.set_axisbelow(True)


def _no_data(axes: Any) -> None:
    axes.text(0.5, 0.5, "no data yet", ha="center", va="center", color=MUTED, transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])


def _weekly_on_time(figure: Figure, report: Report) -> None:
    axes = figure.add_subplot()
    weeks = report.sections["weekly_thank_you_on_time"]
    if not weeks:
        _no_data(axes)
        return
    axes.plot([w["week"] for w in weeks], [w["rate"] * 100 for w in weeks], color=ACCENT, marker="o", markersize=3)
    axes.set_ylim(0, 100)
    axes.set_ylabel("on time (%)")
    axes.set_xlabel("week of the interview")
    _style(axes)


def _check_in_histogram(figure: Figure, report: Report) -> None:
    axes = figure.add_subplot()
    buckets = report.sections["check_in_histogram"]
    if not buckets:
        _no_data(axes)
        return
    offsets = [b["days_from_window"] for b in buckets]
    colors = [GOOD if o == 0 else (MUTED if o < 0 else WARN) for o in offsets]
    axes.bar(offsets, [b["check_ins"] for b in buckets], color=colors, width=0.8)
    axes.axvspan(-0.5, 0.5, color=GOOD, alpha=0.12, label="inside the window")
    axes.set_xlabel("days before the window opened (-) / after it closed (+)")
    axes.set_ylabel("check-ins")
    axes.legend(frameon=False, loc="upper right")
    _style(axes)


def _overdue_by_recruiter(figure: Figure, report: Report) -> None:
    axes = figure.add_subplot()
    rows = report.sections["overdue_by_recruiter"][:25]
    if not rows:
        _no_data(axes)
        return
    labels = [r["owner"] or str(r["owner_id"])[:8] for r in rows]
    axes.barh(labels[::-1], [r["overdue"] for r in rows][::-1], color=WARN)
    axes.set_xlabel("overdue items")
    _style(axes)
    axes.grid(axis="x", color="#e5e8eb")


def _warmth_by_company(figure: Figure, report: Report) -> None:
    axes = figure.add_subplot()
    rows = report.rows[:25]
    if not rows:
        _no_data(axes)
        return
    names = [r["company"] for r in rows]
    axes.bar(names, [r["warm"] for r in rows], color=ACCENT, label="warm")
    axes.bar(names, [r["cold"] for r in rows], bottom=[r["warm"] for r in rows], color=MUTED, label="cold")
    axes.set_ylabel("contacts")
    axes.tick_params(axis="x", labelrotation=45, labelsize=7)
    axes.legend(frameon=False)
    _style(axes)


CHARTS: dict[str, list[tuple[str, Callable[[Figure, Report], None]]]] = {
    "compliance": [
        ("Thank-you notes sent within 24 hours, per week", _weekly_on_time),
        ("Check-in timing against the window", _check_in_histogram),
    ],
    "follow-ups": [("Overdue items per recruiter", _overdue_by_recruiter)],
    "network": [("Network warmth per company", _warmth_by_company)],
}


def chart_titles(report_name: str) -> list[str]:
    return [title for title, _ in CHARTS.get(report_name, [])]

