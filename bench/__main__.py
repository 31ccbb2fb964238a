"""`python -m bench NAME [--quick]`: NAME is load, commands, projections, queries, replay or all.

Each figure prints as one JSON line as it is measured, then all of them as a table."""

from __future__ import annotations

import argparse
import time

from psycopg.sql import SQL, Identifier

from bench.commands import bench_commands
from bench.environment import bench_settings
from bench.figures import figure, print_table
from bench.load import bench_load
from bench.queries import bench_queries
from bench.replay import replay_figures
from domain.application import FollowupApplication
from infra.eventstore import open_application
from infra.personal_data import decode_page
from infra.runtime import collect_garbage_less_often
from projections.paging import ProjectionWorker, catch_up_together
from projections.registry import PROJECTIONS, open_projection

NAMES = ("load", "commands", "projections", "queries", "replay", "all")


def log_read_events_per_s(app: FollowupApplication) -> None:
    """The library's select_notifications plus decode (a page's person keys read in one query, as the
    projections do): the ceiling of any projection's catch-up."""
    started = time.perf_counter()
    decoded, position = 0, 0
    while notifications := app.recorder.select_notifications(start=position + 1, limit=1000):
        decoded += len(decode_page(app.mapper, notifications))
        position = notifications[-1].id
    figure("log_read_events_per_s", decoded / (time.perf_counter() - started), "events/s")


def catch_up_projections(app: FollowupApplication) -> None:
    for name in PROJECTIONS:
        worker = ProjectionWorker(app, open_projection(name, app))
        started = time.perf_counter()
        applied = worker.catch_up()
        figure(f"projection_events_per_s[{name}]", applied / (time.perf_counter() - started), "events/s",
               beside="log_read_events_per_s")
        worker.close()


def catch_up_all_together(app: FollowupApplication) -> None:
    """All read models from zero at once, each page read once for all of them: how `followup serve`
    and `followup projections run` catch up. Built in a schema of its own, dropped afterwards."""
    schema = f"{app.env['POSTGRES_SCHEMA']}_together"
    datastore = app.recorder.datastore  # type: ignore[attr-defined]
    with datastore.transaction(commit=True) as curs:
        curs.execute(SQL("CREATE SCHEMA {}").format(Identifier(schema)))
    workers = [ProjectionWorker(app, open_projection(name, app, schema=schema)) for name in PROJECTIONS]
    try:
        started = time.perf_counter()
        applied = catch_up_together(app, workers)
        figure("projection_events_per_s[all, one reader]", applied / (time.perf_counter() - started), "events/s",
               beside="log_read_events_per_s")
    finally:
        for worker in workers:
            worker.close()
        with datastore.transaction(commit=True) as curs:
            curs.execute(SQL("DROP SCHEMA {} CASCADE").format(Identifier(schema)))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("name", choices=NAMES)
    parser.add_argument("--quick", action="store_true", help="a small run, under two minutes")
    parser.add_argument("--candidacies", type=int, help="size of the generated agency (default 100,000: ~1M events)")
    args = parser.parse_args()
    collect_garbage_less_often()  # as in the server and `followup projections run`
    candidacies = args.candidacies or (2_000 if args.quick else 100_000)
    seconds = 3.0 if args.quick else 15.0
    names = set(NAMES[:-1]) if args.name == "all" else {args.name}

    if "commands" in names:
        with bench_settings() as settings:
            bench_commands(settings, seconds=seconds)
        with bench_settings() as settings:
            bench_commands(settings, seconds=seconds, api_workers=2)
    if names & {"load", "projections", "queries", "replay"}:
        with bench_settings() as settings:
            app = open_application(settings)
            try:
                bench_load(app, settings, candidacies)
                if names & {"projections", "queries"}:
                    log_read_events_per_s(app)
                    catch_up_projections(app)
                    catch_up_all_together(app)
                if "queries" in names:
                    bench_queries(app, settings)
                if "replay" in names:
                    replay_figures(settings.database_url, settings.schema_name, figure)
            finally:
                app.close()
    print_table()


if __name__ == "__main__":
    main()
