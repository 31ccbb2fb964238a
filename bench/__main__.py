"""`python -m bench NAME [--quick]`: each figure as a JSON line, then a table."""

from __future__ import annotations

import argparse
import json
import time
import uuid

import psycopg
from psycopg import sql

from bench.generator import load_history
from infra.eventstore import database_url, open_application
from infra.settings import Settings
from projections.registry import PROJECTIONS, open_projection
from projections.paging import ProjectionWorker

FIGURES: list[dict] = []


def figure(name: str, value: float, unit: str) -> None:
    row = {"name": name, "value": round(value, 1), "unit": unit}
    FIGURES.append(row)
    print(json.dumps(row), flush=True)


def bench_projections(candidacies: int) -> None:
    """Catch-up from zero of every projection, beside the raw log read-and-decode rate."""
    url = database_url(Settings())
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    settings = Settings(DATABASE_URL=url, FOLLOWUP_SCHEMA=schema)
    app = open_application(settings)
    try:
        started = time.perf_counter()
        events = load_history(app, candidacies)
        figure("bulk_load_events_per_s", events / (time.perf_counter() - started), "events/s")
        figure("log_events", events, "events")

        started = time.perf_counter()
        decoded, position = 0, 0
        while notifications := app.recorder.select_notifications(start=position + 1, limit=1000):
            decoded += len([app.mapper.to_domain_event(n) for n in notifications])
            position = notifications[-1].id
        figure("log_read_events_per_s", decoded / (time.perf_counter() - started), "events/s")

        for name in PROJECTIONS:
            worker = ProjectionWorker(app, open_projection(name, app))
            started = time.perf_counter()
            applied = worker.catch_up()
            figure(f"projection_events_per_s[{name}]", applied / (time.perf_counter() - started), "events/s")
    finally:
        app.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


BENCHMARKS = {"projections": bench_projections}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("name", choices=[*BENCHMARKS, "all"])
    parser.add_argument("--quick", action="store_true", help="a small run, well under two minutes")
    parser.add_argument("--candidacies", type=int, default=None, help="size of the generated agency")
    args = parser.parse_args()
    candidacies = args.candidacies or (2_000 if args.quick else 50_000)
    for name in BENCHMARKS if args.name == "all" else [args.name]:
        BENCHMARKS[name](candidacies)
    print(f"\n{'figure':45} {'value':>12}  unit")
    for row in FIGURES:
        print(f"{row['name']:45} {row['value']:>12}  {row['unit']}")


if __name__ == "__main__":
    main()
