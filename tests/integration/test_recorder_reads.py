"""The recorder's own page query answers as the library's does, for every combination of its arguments."""

from __future__ import annotations

import uuid

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
