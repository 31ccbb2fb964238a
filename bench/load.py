"""Bulk load of a generated agency, beside plain single-row INSERTs on the same connection count."""

from __future__ import annotations

import time

import psycopg
from psycopg import sql

from bench.figures import figure
from bench.generator import load_history
from domain.application import FollowupApplication
from infra.settings import Settings


def bench_load(app: FollowupApplication, settings: Settings, candidacies: int) -> int:
    started = time.perf_counter()
    events = load_history(app, candidacies)
    elapsed = time.perf_counter() - started
    figure("log_events", events, "events")
    figure("bulk_load_events_per_s", events / elapsed, "events/s", beside="raw_insert_rows_per_s")

    # The ceiling: single-row INSERTs, each its own transaction, from one connection.
    rows = min(events, 20_000)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        table = sql.Identifier(settings.schema_name, "bench_raw_rows")
        conn.execute(sql.SQL("CREATE TABLE {} (id bigserial PRIMARY KEY, data bytea NOT NULL)").format(table))
        payload = b"x" * 300  # about one stored event's size
        insert = sql.SQL("INSERT INTO {} (data) VALUES (%s)").format(table)
        started = time.perf_counter()
        for _ in range(rows):
            conn.execute(insert, (payload,), prepare=True)
        figure("raw_insert_rows_per_s", rows / (time.perf_counter() - started), "rows/s")
        conn.execute(sql.SQL("DROP TABLE {}").format(table))

        # What a log that has been running a while looks like: vacuumed (the rows' hint bits set,
        # the visibility map written) and checkpointed. Measured on the freshly loaded log, every read
        # after this paid for that work itself, or raced autovacuum doing it.
        started = time.perf_counter()
        events_table = sql.Identifier(settings.schema_name, app.recorder.events_table_name)  # type: ignore[attr-defined]
        conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(events_table))
        conn.execute("CHECKPOINT")
        figure("log_settle_s", time.perf_counter() - started, "s")
    return events
