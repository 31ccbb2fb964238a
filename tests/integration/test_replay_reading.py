"""How a replay reads the log: every event once, in order, in windows of positions; the fields it decodes
itself are the mapper's; and the reports it builds are the same either way."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bench.generator import load_history
from domain.application import Actor
from domain.values import Channel, NoteKind, Outcome, Role
from infra.eventstore import open_application
from infra.settings import Settings
from projections import replay as replay_module
from projections.replay import FOLDED_FIELDS, FOLLOW_UPS_READS, FieldDecoder, read_fields, read_log
from projections.reports import build_report

ADMIN = Actor(uuid.UUID(int=1), "setup")
NOW = datetime.now(UTC)


@pytest.fixture
def app(settings: Settings):
    """A generated agency, and a story with every kind of event a report folds, erasures included."""
    application = open_application(settings)
    load_history(application, 40)
    dana = application.add_recruiter("Dana", Role.RECRUITER, "ICU", by=ADMIN).result.id
    by = Actor(dana, "req")
    quinn = application.register_candidate("Quinn", email="quinn@example.org", owner_id=dana, by=by).id
    vera = application.add_contact("Vera", "Mercy", title="Ward sister", by=by).id
    candidacy = application.open_candidacy(quinn, "Mercy", "ICU RN", by=by).id
    held_at = NOW - timedelta(days=10)
    application.record_interview(candidacy, held_at, [vera], by=by)
    application.state_deadline(candidacy, (held_at + timedelta(days=3)).date(), held_at + timedelta(hours=2), by=by)
    application.send_note(candidacy, vera, NoteKind.THANK_YOU, Channel.HANDWRITTEN, held_at + timedelta(hours=3),
                          by=by)
    application.send_check_in(candidacy, Channel.PHONE, None, held_at + timedelta(days=5), by=by)
    application.record_outcome(candidacy, Outcome.WITHDRAWN, by=by)
    application.send_contact_note(vera, NoteKind.HELPFUL_INFO, Channel.EMAIL, NOW - timedelta(days=1), by=by)
    application.connect_linkedin(vera, NOW - timedelta(hours=5), by=by)
    application.erase_candidate(quinn, "request #1", by=ADMIN)
    application.erase_contact(vera, "request #2", by=ADMIN)
    yield application
    application.close()


def test_the_fields_decoded_from_the_stored_json_are_the_mappers(app):
    decoder = FieldDecoder.for_mapper(app.mapper)
    assert decoder is not None
    seen = set()
    for notification in app.recorder.select_notifications(start=1, limit=1_000_000):
        if not replay_module._decoded_by_fields(notification.topic):
            continue
        event = app.mapper.to_domain_event(notification)
        expected = {name: getattr(event, name) for name in FOLDED_FIELDS[notification.topic]}
        assert decoder.decode(notification.topic, notification.state) == {**expected, "timestamp": event.timestamp}
        seen.add(type(event).__qualname__)
    assert seen == {"Recruiter.Added", "Candidacy.Opened", "Candidacy.Interview", "Candidacy.DeadlineStated",
                    "Candidacy.NoteSent", "Candidacy.CheckInSent", "Candidacy.OutcomeRecorded"}


def test_every_event_of_the_topics_is_read_once_in_order_whatever_the_window(app):
    every = app.recorder.select_notifications(start=1, limit=1_000_000)
    topics = FOLLOW_UPS_READS.topics
    wanted = [n.id for n in every if n.topic in topics]
    for page_size in (7, 1000):
        assert [position for position, _ in read_log(app, known_at=NOW + timedelta(days=1), topics=topics,
                                                     page_size=page_size)] == wanted
        assert [position for position, _, _ in read_fields(app, known_at=NOW + timedelta(days=1), topics=topics,
                                                           page_size=page_size)] == wanted
    assert [position for position, _ in read_log(app, known_at=NOW + timedelta(days=1), page_size=7)] == [
        n.id for n in every
    ]


def test_the_reports_are_the_same_when_the_mapper_decodes_everything(app, monkeypatch):
    as_of = datetime.now(UTC)
    reports = {name: build_report(app, name, as_of=as_of, include_done=True).to_json()
               for name in ("compliance", "follow-ups", "network")}
    monkeypatch.setattr(FieldDecoder, "for_mapper", classmethod(lambda cls, mapper: None))
    for name, report in reports.items():
        again = build_report(app, name, as_of=as_of, include_done=True).to_json()
        assert {**again, "known_at": None} == {**report, "known_at": None}, name
    assert reports["compliance"]["figures"]["candidacies"] == 41


def test_the_compliance_report_decrypts_no_ones_personal_data(app, monkeypatch):
    """It names no candidate or contact, so their events are not read (a replay of the whole log would
    otherwise read and unwrap every person's key)."""
    people: list[uuid.UUID] = []
    prefetch, key_for_reading = app.person_keys.prefetch, app.person_keys.key_for_reading

    def prefetching(person_ids):
        person_ids = list(person_ids)
        people.extend(person_ids)
        prefetch(person_ids)

    def reading(person_id):
        people.append(person_id)
        return key_for_reading(person_id)

    monkeypatch.setattr(app.person_keys, "prefetch", prefetching)
    monkeypatch.setattr(app.person_keys, "key_for_reading", reading)
    app.person_keys.clear_cache()
    assert build_report(app, "compliance").figures["candidacies"] == 41
    assert people == []
    build_report(app, "follow-ups")
    assert people
