"""Replay benchmark: a compliance report rebuilt from a generated history, its time and its peak memory."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import psycopg
from psycopg import sql

from bench.environment import peak_rss_mb
from bench.generator import load_history
from infra.eventstore import database_url, open_application
from infra.settings import Settings
from projections.reports import build_report

Figure = Callable[[str, float, str], None]


def print_figure(name: str, value: float, unit: str) -> None:
    print(json.dumps({"name": name, "value": round(value, 1), "unit": unit}), flush=True)


def _replay_compliance(url: str, schema: str) -> tuple[float, float, int, float]:
    """In a fresh process, so that its peak RSS is the replay's own: seconds, CPU seconds, events, peak MB."""
    app = open_application(Settings(DATABASE_URL=url, FOLLOWUP_SCHEMA=schema))
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        report = build_report(app, "compliance")
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        app.close()
    # VmHWM, this process image's own peak: ru_maxrss would also count the parent's memory this
    # process was forked with before it ran the interpreter afresh (spawn is fork then exec).
    peak_mb = peak_rss_mb(os.getpid())
    return seconds, cpu_seconds, report.position, peak_mb


def replay_figures(url: str, schema: str, figure: Figure = print_figure) -> None:
    """Time the compliance report's replay of the schema's log, in a process of its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        seconds, cpu_seconds, position, peak_mb = pool.submit(_replay_compliance, url, schema).result()
    figure("report_replay_s", seconds, "s")
    # The replay's own CPU time: on a shared machine, what is left of report_replay_s is waiting
    # (for PostgreSQL, which runs on the same cores, and for a core).
    figure("report_replay_cpu_s", cpu_seconds, "s")
    figure("report_replay_events_per_s", position / seconds, "events/s")
    figure("report_peak_rss_mb", peak_mb, "MB")


def bench_replay(candidacies: int, figure: Figure = print_figure) -> None:
    url = database_url(Settings())
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    app = open_application(Settings(DATABASE_URL=url, FOLLOWUP_SCHEMA=schema))
    try:
        load_history(app, candidacies)
        replay_figures(url, schema, figure)
    finally:
        app.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


if __name__ == "__main__":
    import sys

    bench_replay(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000)
