"""An idempotent command's answer is stored in the transaction of its events: a death in between cannot double it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from api.deps import Command
from api.idempotency import Answer, IdempotencyStore, created_body
from domain.application import Actor
from domain.values import Channel, NoteKind
from infra.eventstore import database_url, open_application

ACTOR = Actor(uuid.UUID(int=9), "window")


class ProcessDied(BaseException):
    """Stands for a SIGKILL right after the events were committed, before any answer was sent."""


def test_a_death_after_the_append_leaves_the_answer_so_a_retry_appends_nothing(settings):
    app = open_application(settings)
    pool = ConnectionPool(database_url(settings), min_size=1, max_size=2, open=True,
                          kwargs={"autocommit": True, "row_factory": dict_row})
    store = IdempotencyStore(pool, settings.schema_name)
    store.create_table()
    try:
        contact = app.add_contact("Morgan", "Mercy", by=ACTOR).id
        sent_at = datetime.now(UTC) - timedelta(hours=1)

        def note() -> Answer:
            result = app.send_contact_note(contact, NoteKind.HELPFUL_INFO, Channel.EMAIL, sent_at, by=ACTOR)
            return Answer(201, created_body(result.id, result.version, result.position))

        def note_then_die() -> Answer:
            note()
            raise ProcessDied  # the idempotency store's own transaction is rolled back, as on a real death

        with pytest.raises(ProcessDied):
            store.answer_once(ACTOR.actor_id, "key-1", "fingerprint", note_then_die)
        assert app.get_contact(contact).version == 2

        retry = store.answer_once(ACTOR.actor_id, "key-1", "fingerprint", note)
        assert retry.replayed and retry.status == 201
        assert retry.body["version"] == 2
        assert app.get_contact(contact).version == 2  # appended once
    finally:
        pool.close()
        app.close()


def test_a_refusal_is_stored_and_replayed_too(settings):
    app = open_application(settings)
    pool = ConnectionPool(database_url(settings), min_size=1, max_size=2, open=True,
                          kwargs={"autocommit": True, "row_factory": dict_row})
    store = IdempotencyStore(pool, settings.schema_name)
    store.create_table()
    try:
        missing = uuid.uuid4()

        def execute():
            return app.send_contact_note(missing, NoteKind.HELPFUL_INFO, Channel.EMAIL, None, by=ACTOR)

        command = Command(recruiter=None, by=ACTOR, expected_version=None, idempotency=store,  # type: ignore[arg-type]
                          idempotency_key=None, fingerprint="f")
        first = store.answer_once(ACTOR.actor_id, "key-2", "f", lambda: command._answer(execute))
        again = store.answer_once(ACTOR.actor_id, "key-2", "f", lambda: command._answer(execute))
        assert first.status == again.status == 404 and again.replayed
    finally:
        pool.close()
        app.close()
