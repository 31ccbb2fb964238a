"""The follow-up queue, applied a page or a batch of pages at a time, holds what the rules compute
from each candidacy's whole history, whatever the page and batch sizes: a batch's events are gathered
per candidacy and per contact, and a contact's newer touch, connection or erasure moves only its own items."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from psycopg import sql

from domain.application import Actor, FollowupApplication
from domain.candidacy import Candidacy
from domain.contact import Contact
from domain.rules import follow_up_items
from domain.values import Channel, ContactFacts, NoteKind, Outcome, Role
from infra.eventstore import open_application
from infra.settings import Settings
from projections import candidacy_batches, helper_processes
from projections.candidacy_batches import AFTER_EVERYTHING
from projections.paging import ProjectionWorker
from projections.registry import open_projection
from tests.commands import commands, run_command

NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
ACTOR = Actor(uuid.UUID(int=8), "pages")
# (page size, events a transaction takes in, candidacies written at a time): a page each, or batches of
# several pages (the last one cut short by the head of the log), written in one go or a few candidacies at a time.
PAGE_SIZES = ((1, 1, None), (4, 4, 1), (3, 10, 2), (1000, None, None))

# Four candidacies, two interviewers a round, two months: each page size splits the history differently.
COMMANDS = commands(candidacies=4, days=60, min_size=5, max_size=40)


def _contacts_from_log(app: FollowupApplication) -> dict[uuid.UUID, ContactFacts]:
    """Every touch, the first LinkedIn connection and the erasure of each contact, read from the whole log."""
    touches: dict[uuid.UUID, list[datetime]] = {}
    connected: dict[uuid.UUID, datetime] = {}
    erased: dict[uuid.UUID, datetime] = {}
    for notification in app.recorder.select_notifications(start=1, limit=100_000):
        event = app.mapper.to_domain_event(notification)
        if isinstance(event, Candidacy.Interview):
            for contact_id in event.interviewer_ids:
                touches.setdefault(contact_id, []).append(event.held_at)
        elif isinstance(event, Candidacy.NoteSent):
            touches.setdefault(event.contact_id, []).append(event.sent_at)
        elif isinstance(event, Candidacy.CheckInSent) and event.contact_id is not None:
            touches.setdefault(event.contact_id, []).append(event.sent_at)
        elif isinstance(event, Contact.NoteSent):
            touches.setdefault(event.originator_id, []).append(event.occurred_at)
        elif isinstance(event, Contact.LinkedInConnected):
            connected[event.originator_id] = min(connected.get(event.originator_id, event.connected_at),
                                                 event.connected_at)
        elif isinstance(event, Contact.Erased):
            erased[event.originator_id] = event.occurred_at
    return {
        contact_id: ContactFacts(contact_id, tuple(touches.get(contact_id, ())), connected.get(contact_id),
                                 erased.get(contact_id))
        for contact_id in touches.keys() | connected.keys() | erased.keys()
    }


def _expected_rows(app: FollowupApplication, candidacies: list[uuid.UUID]) -> list[tuple]:
    contacts = _contacts_from_log(app)
    rows = []
    for candidacy_id in candidacies:
        for item in follow_up_items(app.get_candidacy(candidacy_id).facts(), AFTER_EVERYTHING, contacts=contacts):
            rows.append((item.candidacy_id, item.kind.value, item.contact_id, item.opened_at, item.due_from,
                         item.due_by, item.done_at, list(item.flags), item.reason))
    return sorted(rows, key=repr)


def _rows(database_url: str, schema: str) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT candidacy_id, kind, contact_id, opened_at, due_from, due_by, done_at, flags, reason "
                    "FROM {}.follow_up_items").format(sql.Identifier(schema))
        ).fetchall()
    return sorted(rows, key=repr)


def _project(
    app: FollowupApplication, database_url: str, page_size: tuple[int, int | None, int | None]
) -> list[tuple]:
    """Catch the queue up from zero in a schema of its own, pages, batches and chunks of `page_size`; its items."""
    schema = f"pages_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    page, batch, chunk = page_size
    worker = ProjectionWorker(app, open_projection("follow_up_queue", app, schema=schema), page_size=page,
                              batch_events=batch)
    try:
        # A batch of more than a chunk has its chunks evaluated in the helper processes, in chunks of the same size.
        with patch.object(candidacy_batches, "WRITE_CHUNK", chunk or candidacy_batches.WRITE_CHUNK), \
                patch.object(helper_processes, "HELPER_CHUNK", chunk or helper_processes.HELPER_CHUNK):
            worker.catch_up()
        return _rows(database_url, schema)
    finally:
        worker.close()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def history(settings: Settings):
    app = open_application(settings, clock=lambda: NOW)
    recruiter = app.add_recruiter("Dana", Role.RECRUITER, "ICU", by=ACTOR).result
    contacts = [app.add_contact(f"Contact {i}", "Mercy", by=ACTOR).id for i in range(3)]
    candidacies = []
    for i, zone in enumerate(["America/New_York", "Asia/Tokyo", "America/Los_Angeles", "UTC"]):
        candidate = app.register_candidate(f"Candidate {i}", owner_id=recruiter.id, by=ACTOR).id
        candidacies.append(app.open_candidacy(candidate, "Mercy", "RN", timezone=zone, by=ACTOR).id)
    yield app, candidacies, contacts
    app.close()


@hypothesis_settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commands=COMMANDS)
def test_any_page_size_gives_the_items_of_the_rules(commands, history, database_url):
    app, candidacies, contacts = history
    # The fixture's history is shared by the examples: each one adds to it.
    for command in commands:
        run_command(app, command, candidacies, contacts, now=NOW, by=ACTOR, interviewers=2)
    expected = _expected_rows(app, candidacies)
    for page_size in PAGE_SIZES:
        assert _project(app, database_url, page_size) == expected, f"pages and batches of {page_size}"


def test_a_contacts_newer_touch_and_connection_move_only_its_items_in_closed_candidacies(history, database_url):
    app, candidacies, (lee, kim, ash) = history
    first, second = candidacies[:2]
    app.record_interview(first, NOW - timedelta(days=30), [lee, kim], by=ACTOR)
    app.record_interview(second, NOW - timedelta(days=29), [kim, ash], by=ACTOR)
    app.record_outcome(first, Outcome.REJECTED, NOW - timedelta(days=20), by=ACTOR)
    app.record_outcome(second, Outcome.HIRED, NOW - timedelta(days=19), by=ACTOR)
    # After both closed: kim's latest touch moves (a congratulations note), lee connects on LinkedIn,
    # and an older touch of ash's moves nothing.
    app.send_contact_note(kim, NoteKind.CONGRATULATIONS, Channel.EMAIL, NOW - timedelta(days=2), by=ACTOR)
    app.connect_linkedin(lee, NOW - timedelta(days=1), by=ACTOR)
    app.send_contact_note(ash, NoteKind.HELPFUL_INFO, Channel.EMAIL, NOW - timedelta(days=40), by=ACTOR)
    expected = _expected_rows(app, candidacies)
    for page_size in PAGE_SIZES:
        assert _project(app, database_url, page_size) == expected, f"pages and batches of {page_size}"
    stay_with_kim = [row for row in expected if row[1] == "stay_in_touch" and row[2] == kim]
    assert {row[3] for row in stay_with_kim} == {NOW - timedelta(days=2)}
    assert [row[6] for row in expected if row[1] == "connect_linkedin" and row[2] == lee] == [NOW - timedelta(days=1)]


def test_an_erasure_ends_the_contacts_outreach_items_in_every_closed_candidacy(history, database_url):
    app, candidacies, (lee, kim, ash) = history
    first, second, third = candidacies[:3]
    app.record_interview(first, NOW - timedelta(days=30), [lee, kim], by=ACTOR)
    app.record_interview(second, NOW - timedelta(days=29), [kim, ash], by=ACTOR)
    app.record_interview(third, NOW - timedelta(days=28), [kim], by=ACTOR)
    app.record_outcome(first, Outcome.REJECTED, NOW - timedelta(days=20), by=ACTOR)
    app.record_outcome(second, Outcome.HIRED, NOW - timedelta(days=19), by=ACTOR)
    app.connect_linkedin(kim, NOW - timedelta(days=3), by=ACTOR)
    # Erased after both closed, while the third is still open (it closes after the erasure).
    app.erase_contact(kim, "GDPR request #7", by=ACTOR)
    app.record_outcome(third, Outcome.WITHDRAWN, NOW, by=ACTOR)
    expected = _expected_rows(app, candidacies)
    for page_size in PAGE_SIZES:
        assert _project(app, database_url, page_size) == expected, f"pages and batches of {page_size}"
    outreach = {(row[1], row[2]) for row in expected if row[1] in ("connect_linkedin", "stay_in_touch")}
    assert outreach == {(kind, contact) for kind in ("connect_linkedin", "stay_in_touch") for contact in (lee, ash)}
    # What the interviews owed is history: kim's thank-yous are still there.
    assert {row[0] for row in expected if row[1] == "thank_you" and row[2] == kim} == {first, second, third}
