"""`followup report NAME`: a report rebuilt from the event log, as known at one moment and evaluated at another."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from datetime import UTC, date, datetime, time as day_time
from enum import Enum
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from infra.eventstore import open_application
from infra.settings import get_settings
from projections.replay import ReportScope
from projections.reports import REPORT_NAMES, AuditFilters, Report, build_report, csv_cell

errors = Console(stderr=True)


class ReportFormat(str, Enum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    HTML = "html"


def parse_moment(text: str | None, *, end_of_day: bool = True) -> datetime | None:
    """An RFC 3339 timestamp, or a date (its end, or its start for --from); without an offset, local time."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, day_time.max if end_of_day else day_time.min)
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD) or a timestamp (RFC 3339)") from None
    return moment if moment.tzinfo is not None else moment.astimezone()


def report(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(REPORT_NAMES)}.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Evaluate at this moment (default now).")] = None,
    known_at: Annotated[str | None, typer.Option(
        "--known-at", help="Use only what had been recorded by then (default now).")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team's candidacies.")] = None,
    recruiter: Annotated[UUID | None, typer.Option(help="Only this recruiter's candidacies.")] = None,
    output_format: Annotated[ReportFormat, typer.Option("--format", case_sensitive=False)] = ReportFormat.TABLE,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")] = None,
    include_done: Annotated[bool, typer.Option(help="follow-ups: list the done items too.")] = False,
    recorded_from: Annotated[str | None, typer.Option("--from", help="audit: recorded at or after.")] = None,
    recorded_to: Annotated[str | None, typer.Option("--to", help="audit: recorded at or before.")] = None,
    actor: Annotated[UUID | None, typer.Option(help="audit: only this actor's events.")] = None,
    event_type: Annotated[str | None, typer.Option("--type", help="audit: only this event type.")] = None,
    candidacy: Annotated[UUID | None, typer.Option(help="audit: only this candidacy's (or any stream's) events.")] = None,
) -> None:
    """Rebuild a report from the event log: "what was overdue on Monday, as we knew it on Monday".

    Dates mean the end of that day (the start, for --from); timestamps without an offset are local time."""
    if name not in REPORT_NAMES:
        raise typer.BadParameter(f"one of {', '.join(REPORT_NAMES)}", param_hint="NAME")
    logging.basicConfig(level=logging.WARNING)
    settings = get_settings()
    application = open_application(settings)
    scope = ReportScope(all_teams=team is None, team=team, recruiter_id=recruiter)
    audit = AuditFilters(parse_moment(recorded_from, end_of_day=False), parse_moment(recorded_to), actor,
                         event_type, candidacy)
    try:
        with _progress_bar() as progress:
            built = build_report(
                application, name, as_of=parse_moment(as_of), known_at=parse_moment(known_at), scope=scope,
                policy=settings.policy(), include_done=include_done, audit=audit, progress=progress,
            )
    finally:
        application.close()
    _write(built, output_format, output)


class _progress_bar:
    """A rich progress bar with events/s on a terminal; nothing in CI or when stderr is piped."""

    def __init__(self) -> None:
        self.enabled = errors.is_terminal and not os.environ.get("CI")
        self.bar: Progress | None = None
        self.started = time.perf_counter()

    def __enter__(self) -> _progress_bar | None:
        if not self.enabled:
            return None
        self.bar = Progress(
            TextColumn("replaying the log"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>10,.0f} events/s"), TimeElapsedColumn(),
            console=errors, transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("replay", total=None, rate=0.0)
        return self

    def __call__(self, position: int, head: int, decoded: int) -> None:
        assert self.bar is not None
        rate = decoded / max(time.perf_counter() - self.started, 1e-6)
        self.bar.update(self.task, completed=position, total=head, rate=rate)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _write(built: Report, output_format: ReportFormat, output: Path | None) -> None:
    if output_format is ReportFormat.TABLE:
        console = Console(file=output.open("w") if output else sys.stdout,
                          width=None if output is None and sys.stdout.isatty() else 200)
        _print_table(console, built)
        return
    if output_format is ReportFormat.CSV:
        text = built.to_csv()
    elif output_format is ReportFormat.JSON:
        text = json.dumps(built.to_json(), indent=2) + "\n"
    else:
        from projections.report_html import render_html

        text = render_html(built)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        errors.print(f"wrote {built.name} report ({len(built.rows)} rows) to {output}")


def _print_table(console: Console, built: Report) -> None:
    moment = (f"as of {_utc(built.as_of)}, " if built.as_of is not None else "") + f"as known at {_utc(built.known_at)}"
    console.print(f"[bold]{built.name}[/bold] report, {moment} (log position {built.position})")
    for name, value in built.figures.items():
        console.print(f"  {name.replace('_', ' ')}: [bold]{_cell(value)}[/bold]")
    table = Table(show_lines=False, header_style="bold")
    for column in built.columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in built.rows:
        table.add_row(*(_cell(row.get(column)) for column in built.columns))
    console.print(table)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(csv_cell(value))


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
