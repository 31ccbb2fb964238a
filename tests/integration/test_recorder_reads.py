"""The recorder's own page and stream queries answer as the library's do, for every combination of their arguments."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import get_topic

from domain.application import Actor
from domain.candidacy import Candidacy
from domain.values import Role
from infra.eventstore import open_application
from infra.settings import Settings

ADMIN = Actor(uuid.UUID(int=1), "setup")


@pytest.fixture
def app(settings: Settings):
    application = open_application(settings)
    yield application
    application.close()


def test_pages_of_the_log_are_the_librarys(app):
    recruiter = app.add_recruiter("Dana", Role.RECRUITER, "ICU", by=ADMIN).result.id
    for n in range(4):
        candidate = app.register_candidate(f"Candidate {n}", owner_id=recruiter, by=ADMIN).id
        app.open_candidacy(candidate, "Mercy", "RN", by=ADMIN)
    head = app.recorder.max_notification_id()
    library = PostgresApplicationRecorder.select_notifications.__wrapped__
    opened = get_topic(Candidacy.Opened)
    for start in (None, 1, 3):
        for stop in (None, head - 2):
            for topics in ((), (opened,)):
                for inclusive in (True, False):
                    for limit in (2, 100):
                        arguments = dict(start=start, limit=limit, stop=stop, topics=topics,
                                         inclusive_of_start=inclusive)
                        ours = app.recorder.select_notifications(**arguments)
                        assert ours == library(app.recorder, **arguments), arguments
    assert len(app.recorder.select_notifications(start=1, limit=100)) == head


def test_a_streams_events_are_the_librarys(app):
    recruiter = app.add_recruiter("Dana", Role.RECRUITER, "ICU", by=ADMIN).result.id
    candidate = app.register_candidate("Candidate", owner_id=recruiter, by=ADMIN).id
    candidacy = app.open_candidacy(candidate, "Mercy", "RN", by=ADMIN).id
    for deadline in range(3):
        app.state_deadline(candidacy, date(2026, 12, 1 + deadline), by=ADMIN)
    library = PostgresApplicationRecorder.select_events.__wrapped__
    for originator_id in (candidacy, recruiter, uuid.uuid4()):
        for gt in (None, 1, 3):
            for lte in (None, 2, 4):
                for desc in (False, True):
                    for limit in (None, 1, 10):
                        arguments = dict(gt=gt, lte=lte, desc=desc, limit=limit)
                        ours = app.recorder.select_events(originator_id, **arguments)
                        assert ours == library(app.recorder, originator_id, **arguments), arguments
    assert [event.originator_version for event in app.recorder.select_events(candidacy)] == [1, 2, 3, 4]
