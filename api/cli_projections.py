"""`followup projections ...`: run the read models as their own processes, watch their lag, rebuild them."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from infra.eventstore import one_process_at_a_time, open_application
from infra.runtime import collect_garbage_less_often
from infra.settings import get_settings
from projections.paging import LogFollower
from projections.registry import PROJECTIONS, open_workers
from projections.rebuild import RebuildRunning, rebuild_projection
from projections.versions import bring_up_to_date
from projections.status import log_head, projection_lag

projections = typer.Typer(help="Run, inspect and rebuild the read models.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


def _names(name: str | None) -> list[str]:
    if name is None:
        return list(PROJECTIONS)
    if name not in PROJECTIONS:
        raise typer.BadParameter(f"unknown projection {name!r}; one of: {', '.join(PROJECTIONS)}")
    return [name]


@projections.command("run")
def run(name: Annotated[str | None, typer.Argument(help="One projection; all when omitted.")] = None) -> None:
    """Follow the log and keep the read models up to date, until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    collect_garbage_less_often()
    settings = get_settings()
    with one_process_at_a_time(settings):  # beside API processes opening the same tables
        app = open_application(settings)
        bring_up_to_date(app, _names(name), policy=settings.policy())
        workers = open_workers(app, policy=settings.policy(), names=_names(name))
    stopping = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stopping.set())
    follower = LogFollower(app, workers)
    follower.start()
    console.print(f"following the log: {', '.join(w.name for w in workers)}")
    stopping.wait()
    follower.stop()
    for worker in workers:
        worker.close()
    app.close()


@projections.command("status")
def status() -> None:
    """Each projection's position, and how far behind the log head it is."""
    settings = get_settings()
    app = open_application(settings)
    try:
        head = log_head(app)
        table = Table("projection", "position", "log head", "events behind", "seconds behind")
        for worker in open_workers(app, policy=settings.policy()):
            lag = projection_lag(worker, head)
            table.add_row(lag.name, str(lag.position), str(lag.head), str(lag.events_behind),
                          f"{lag.seconds_behind:.1f}")
        console.print(table)
    finally:
        app.close()


@projections.command("rebuild")
def rebuild(name: Annotated[str, typer.Argument(help="The projection to rebuild.")]) -> None:
    """Rebuild a projection from the whole log beside its live tables, then switch to it."""
    _names(name)
    collect_garbage_less_often()
    settings = get_settings()
    app = open_application(settings)
    try:
        with Progress(
            TextColumn(f"rebuilding {name}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=console, transient=True, disable=not console.is_terminal,
        ) as progress:
            task = progress.add_task("events", total=None)
            position = rebuild_projection(
                name, app, policy=settings.policy(),
                progress=lambda done, head: progress.update(task, completed=done, total=head),
                wait=False,
            )
        console.print(f"{name} rebuilt up to position {position} and switched in")
    except RebuildRunning as running:
        errors.print(f"[red]error:[/red] {running}; this one is not started")
        raise typer.Exit(code=1) from None
    finally:
        app.close()
