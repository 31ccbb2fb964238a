"""HTTP commands per second and latency at 1, 8 and 32 clients, beside the application's bare saves."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from bench.figures import figure
from bench.server import process_tree_peak_rss_mb, running_server
from domain.application import Actor, FollowupApplication
from domain.values import Channel, Role
from infra.eventstore import open_application
from infra.settings import Settings

ACTOR = Actor(uuid.UUID(int=98), "bench-commands")
CONCURRENCY = (1, 8, 32)
# The check-ins are spread over this many candidacies, so that after every run each holds about
# ten, as a real one might. Over 200, each ended a full run with over a hundred events: loading a
# candidacy reads its whole stream, so the later figures measured ever longer streams, and the
# HTTP runs longer ones than the bare saves before them.
CANDIDACIES = 2_000


def prepare_team(app: FollowupApplication, candidacies: int) -> tuple[str, list[str]]:
    """A recruiter's key and candidacies, each with an interview, ready for check-ins."""
    added = app.add_recruiter("Bench Recruiter", Role.RECRUITER, "bench-team", by=ACTOR)
    contact = app.add_contact("Bench Contact", "Bench Hospital", by=ACTOR).id
    held_at = datetime.now(UTC) - timedelta(days=3)
    ids = []
    for n in range(candidacies):
        candidate = app.register_candidate(f"Candidate {n}", owner_id=added.result.id, by=ACTOR).id
        candidacy = app.open_candidacy(candidate, "Bench Hospital", "RN", by=ACTOR).id
        app.record_interview(candidacy, held_at, [contact], by=ACTOR)
        ids.append(str(candidacy))
    return added.api_key, ids


def bare_saves_per_s(app: FollowupApplication, candidacy_ids: list[str], seconds: float) -> float:
    """The same command, called on the application directly: the ceiling for the HTTP figure."""
    ids = [uuid.UUID(c) for c in candidacy_ids]
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        app.send_check_in(ids[done % len(ids)], Channel.EMAIL, by=ACTOR)
        done += 1
    return done / (time.perf_counter() - started)


def load(base_url: str, key: str, concurrency: int, seconds: float, candidacy_ids: list[str]) -> dict:
    finished = subprocess.run(
        [sys.executable, "-m", "bench.loadgen", base_url, key, str(concurrency), str(seconds), *candidacy_ids],
        capture_output=True, text=True,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{finished.stderr[-3000:]}")
    return json.loads(finished.stdout)


def bench_commands(settings: Settings, *, seconds: float, api_workers: int = 1) -> None:
    app = open_application(settings)
    suffix = "" if api_workers == 1 else f"[api_workers={api_workers}]"
    try:
        key, candidacy_ids = prepare_team(app, CANDIDACIES)
        bare = bare_saves_per_s(app, candidacy_ids, seconds)
        figure(f"bare_saves_per_s{suffix}", bare, "commands/s")
        with running_server(settings, workers=api_workers) as server:
            for concurrency in CONCURRENCY:
                result = load(server.base_url, key, concurrency, seconds, candidacy_ids)
                label = f"[clients={concurrency}]{suffix}"
                figure(f"http_commands_per_s{label}", result["per_s"], "commands/s", beside="bare_saves_per_s")
                figure(f"http_p50_ms{label}", result["p50_ms"], "ms")
                figure(f"http_p99_ms{label}", result["p99_ms"], "ms")
                if result["failures"]:
                    figure(f"http_failures{label}", result["failures"], f"statuses {result['failure_statuses']}")
            figure(f"server_peak_rss_mb{suffix}", process_tree_peak_rss_mb(server.process.pid), "MB")
    finally:
        app.close()
