"""The log follower under a stream of commands: it gathers them into few pages, and a read that
waits on the projections does not wait out the gathering."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from domain.application import Actor
from domain.values import Channel
from infra.eventstore import open_application
from infra.settings import Settings
from projections.paging import LogFollower
from tests.integration.test_projection_guarantees import seed

NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
ACTOR = Actor(uuid.UUID(int=8), "live-following")


def interviewed(app):
    candidacies, contacts = seed(app)
    for candidacy in candidacies:
        app.record_interview(candidacy, NOW - timedelta(days=2), contacts[:1], by=ACTOR)
    return candidacies


def reached(worker, position: int, timeout: float) -> bool:
    """Whether the worker's tracking row reached `position` (asked without hurrying the follower)."""
    deadline = time.monotonic() + timeout
    while worker.position() < position:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_stream_of_commands_is_applied_in_a_few_pages_not_one_per_command(workers, settings: Settings):
    app = open_application(settings, clock=lambda: NOW)
    try:
        candidacies = interviewed(app)
        (worker,) = workers(app, ["follow_up_queue"])
        follower = LogFollower(app, [worker], live_page_interval=1.0)
        follower.start()
        try:
            assert reached(worker, app.recorder.max_notification_id(), timeout=30)
            pages_before = follower.pages_applied
            for n in range(10):
                app.send_check_in(candidacies[n % len(candidacies)], Channel.EMAIL,
                                  sent_at=NOW - timedelta(minutes=n), by=ACTOR)
            assert reached(worker, app.recorder.max_notification_id(), timeout=30)
            # The first command after a quiet spell is applied at once; the rest gathered.
            assert follower.pages_applied - pages_before <= 3
        finally:
            follower.stop()
    finally:
        app.close()


def test_a_read_waiting_on_the_projections_cuts_the_gathering_short(workers, settings: Settings):
    app = open_application(settings, clock=lambda: NOW)
    try:
        candidacies = interviewed(app)
        (worker,) = workers(app, ["follow_up_queue"])
        follower = LogFollower(app, [worker], live_page_interval=60.0)
        follower.start()
        try:
            assert reached(worker, app.recorder.max_notification_id(), timeout=30)
            # A page (the catch-up) was just applied, so a command is held for the minute-long interval...
            app.send_check_in(candidacies[1], Channel.EMAIL, sent_at=NOW - timedelta(hours=1), by=ACTOR)
            head = app.recorder.max_notification_id()
            assert not reached(worker, head, timeout=1.0)
            # ...unless a read waits for it.
            started = time.monotonic()
            assert worker.wait_for(head, timeout=10)
            assert time.monotonic() - started < 10
        finally:
            follower.stop()
    finally:
        app.close()
