"""The follow-up queue's two everyday queries, over HTTP and in SQL, on the loaded agency."""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import timedelta

import httpx
import psycopg
from psycopg import sql

from bench.figures import figure
from bench.generator import NOW
from bench.server import running_server
from domain.application import Actor, FollowupApplication
from domain.values import Role
from infra.settings import Settings

SAMPLES = 200


def _percentiles(name: str, timings: list[float]) -> None:
    timings.sort()
    figure(f"{name}_p50_ms", statistics.median(timings) * 1000, "ms")
    figure(f"{name}_p99_ms", timings[int(len(timings) * 0.99) - 1] * 1000, "ms")


def bench_queries(app: FollowupApplication, settings: Settings) -> None:
    schema = sql.Identifier(settings.schema_name)
    with psycopg.connect(settings.database_url) as conn:
        team, candidacies = conn.execute(
            sql.SQL("SELECT team, array_agg(DISTINCT candidacy_id) FROM {}.follow_up_items "
                    "GROUP BY team ORDER BY team LIMIT 1").format(schema)
        ).fetchone()
        week_start, week_end = NOW - timedelta(days=3), NOW + timedelta(days=4)
        team_week = sql.SQL(
            "SELECT * FROM {}.follow_up_items WHERE team = %s AND done_at IS NULL "
            "AND due_by >= %s AND due_by < %s ORDER BY due_by LIMIT 50").format(schema)
        one_candidacy = sql.SQL("SELECT * FROM {}.follow_up_items WHERE candidacy_id = %s").format(schema)
        for name, query, params in (
            ("queue_query_sql[team_week]", team_week, lambda i: (team, week_start, week_end)),
            ("queue_query_sql[candidacy]", one_candidacy, lambda i: (candidacies[i % len(candidacies)],)),
        ):
            timings = []
            for i in range(SAMPLES):
                started = time.perf_counter()
                conn.execute(query, params(i), prepare=True).fetchall()
                timings.append(time.perf_counter() - started)
            _percentiles(name, timings)

    key = app.add_recruiter("Bench Reader", Role.RECRUITER, team, by=Actor(uuid.UUID(int=97), "bench")).api_key
    with running_server(settings) as server, httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as client:
        client.get("/v1/follow-ups", params={"limit": 1})  # waits for the projections to catch up
        for name, params in (
            ("queue_query_http[team_open]", lambda i: {"limit": 50}),
            ("queue_query_http[candidacy]", lambda i: {"candidacy_id": str(candidacies[i % len(candidacies)])}),
        ):
            timings = []
            for i in range(SAMPLES):
                started = time.perf_counter()
                response = client.get("/v1/follow-ups", params=params(i))
                timings.append(time.perf_counter() - started)
                response.raise_for_status()
            _percentiles(name, timings)
