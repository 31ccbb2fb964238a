"""The log follower at the head of the log: prompt when the log is quiet, pages gathered under load."""

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

ACTOR = Actor(uuid.UUID(int=11), "follower")
WAIT = 0.5


def test_a_follower_applies_a_lone_command_at_once_and_what_comes_while_it_waits_in_one_page(
    workers, settings: Settings
):
    app = open_application(settings)
    try:
        candidacies, contacts = seed(app, candidacies=3)
        (worker,) = workers(app, names=["audit"])
        pages: list[int] = []
        apply = worker.apply

        def counted(notifications, *args, **kwargs):
            pages.append(len(notifications))
            return apply(notifications, *args, **kwargs)

        worker.apply = counted  # type: ignore[method-assign]
        follower = LogFollower(app, [worker], head_batch_wait=WAIT)
        follower.start()
        try:
            assert worker.wait_for(app.recorder.max_notification_id(), timeout=30)
            time.sleep(WAIT + 0.5)  # past the wait after the seed's page: the follower listens
            pages.clear()

            # A lone command on a quiet log is applied as soon as it is written.
            held_at = datetime.now(UTC) - timedelta(days=1)
            started = time.monotonic()
            app.record_interview(candidacies[0], held_at, contacts, by=ACTOR)
            assert worker.wait_for(app.recorder.max_notification_id(), timeout=30)
            assert time.monotonic() - started < WAIT
            assert pages == [1]

            # What is written while the follower waits after that page is applied in one page.
            for candidacy in candidacies[1:]:
                app.record_interview(candidacy, held_at, contacts, by=ACTOR)
            for candidacy in candidacies:
                app.send_check_in(candidacy, Channel.PHONE, by=ACTOR)
            head = app.recorder.max_notification_id()
            assert worker.wait_for(head, timeout=30)
            assert pages == [1, 5]
        finally:
            follower.stop()
    finally:
        app.close()
