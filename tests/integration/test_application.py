"""The application on real PostgreSQL: aggregates saved and loaded, conflicts, streams in order."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from domain.application import Actor, FollowupApplication
from domain.candidacy import Candidacy
from domain.errors import CandidacyClosed, InvalidCommand, NotFound, VersionConflict
from domain.values import CareerStage, Channel, InterviewFormat, NoteKind, Outcome, Role
from infra.eventstore import open_application
from infra.settings import Settings

NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
ACTOR = Actor(uuid.UUID(int=1), "test-correlation")


@pytest.fixture
def app(settings: Settings):
    application = open_application(settings, clock=lambda: NOW)
    yield application
    application.close()


def _team(app: FollowupApplication):
    recruiter = app.add_recruiter("Dana Reyes", Role.RECRUITER, "ICU", by=ACTOR).result
    candidate = app.register_candidate(
        "Sam Patel", email="sam@example.org", specialty="ICU RN", career_stage=CareerStage.NEW_GRAD,
        owner_id=recruiter.id, by=ACTOR,
    )
    lee = app.add_contact("Jordan Lee", "Mercy Hospital", title="Nurse Manager", by=ACTOR)
    kim = app.add_contact("Alex Kim", "Mercy Hospital", title="Charge Nurse", by=ACTOR)
    candidacy = app.open_candidacy(
        candidate.id, "Mercy Hospital", "ICU RN", timezone="America/New_York", by=ACTOR
    )
    return recruiter, candidate, lee, kim, candidacy


def test_each_aggregate_is_saved_and_loaded_back(app: FollowupApplication):
    recruiter, candidate, lee, _, candidacy = _team(app)

    assert app.get_recruiter(recruiter.id).team == "ICU"
    loaded_candidate = app.get_candidate(candidate.id)
    assert (loaded_candidate.name, loaded_candidate.career_stage, loaded_candidate.owner_id) == (
        "Sam Patel", CareerStage.NEW_GRAD, recruiter.id,
    )
    assert app.get_contact(lee.id).company == "Mercy Hospital"
    loaded_candidacy = app.get_candidacy(candidacy.id)
    assert loaded_candidacy.owner_id == recruiter.id
    assert loaded_candidacy.team == "ICU"
    assert loaded_candidacy.timezone == "America/New_York"


def test_the_follow_up_facts_survive_the_round_trip_through_postgres(app: FollowupApplication):
    _, _, lee, kim, candidacy = _team(app)
    held_at = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    app.record_interview(candidacy.id, held_at, [lee.id, kim.id], InterviewFormat.VIDEO, by=ACTOR)
    app.state_deadline(candidacy.id, date(2026, 12, 4), held_at + timedelta(minutes=50), by=ACTOR)
    app.send_note(candidacy.id, lee.id, NoteKind.THANK_YOU, Channel.EMAIL, held_at + timedelta(hours=3), by=ACTOR)

    facts = app.get_candidacy(candidacy.id).facts()

    assert facts.interviews[0].held_at == held_at
    assert facts.interviews[0].interviewer_ids == (lee.id, kim.id)
    assert facts.interviews[0].format is InterviewFormat.VIDEO
    assert facts.deadlines[0].decide_by == date(2026, 12, 4)
    assert facts.notes[0].kind is NoteKind.THANK_YOU
    assert facts.notes[0].channel is Channel.EMAIL


def test_commands_answer_version_and_log_position(app: FollowupApplication):
    _, _, lee, _, candidacy = _team(app)
    first = app.record_interview(candidacy.id, NOW - timedelta(days=2), [lee.id], by=ACTOR)
    second = app.send_check_in(candidacy.id, Channel.EMAIL, by=ACTOR)

    assert (first.id, first.version) == (candidacy.id, 2)
    assert second.version == 3
    assert second.position > first.position > candidacy.position


def test_an_expected_version_that_does_not_match_is_a_conflict(app: FollowupApplication):
    _, _, lee, _, candidacy = _team(app)
    app.record_interview(candidacy.id, NOW - timedelta(days=1), [lee.id], by=ACTOR, expected_version=1)

    with pytest.raises(VersionConflict):
        app.state_deadline(candidacy.id, date(2026, 12, 10), by=ACTOR, expected_version=1)
    assert app.get_candidacy(candidacy.id).version == 2


def test_two_writers_racing_on_one_stream_give_one_conflict(settings: Settings):
    first_app = open_application(settings, clock=lambda: NOW)
    second_app = open_application(settings, clock=lambda: NOW)
    try:
        _, _, lee, _, candidacy = _team(first_app)
        stale = second_app.get_candidacy(candidacy.id)
        first_app.record_interview(candidacy.id, NOW - timedelta(days=1), [lee.id], by=ACTOR)
        stale.record_interview(NOW - timedelta(hours=1), [lee.id], InterviewFormat.PHONE, now=NOW,
                               actor_id=ACTOR.actor_id, correlation_id="racer")
        with pytest.raises(VersionConflict):
            second_app._save(stale)
        assert len(first_app.get_candidacy(candidacy.id).interviews) == 1
    finally:
        first_app.close()
        second_app.close()


def test_a_stream_keeps_its_events_in_order_with_both_time_axes(app: FollowupApplication):
    _, _, lee, _, candidacy = _team(app)
    held_at = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # recorded ten days later
    app.record_interview(candidacy.id, held_at, [lee.id], by=ACTOR)
    app.send_note(candidacy.id, lee.id, NoteKind.THANK_YOU, Channel.EMAIL, held_at + timedelta(hours=2), by=ACTOR)

    events = list(app.events.get(candidacy.id))

    assert [type(e).__name__ for e in events] == ["Opened", "Interview", "NoteSent"]
    assert [e.originator_version for e in events] == [1, 2, 3]
    interview = events[1]
    assert interview.occurred_at == held_at  # when it happened in the world
    assert interview.timestamp > held_at  # when the system learned of it
    assert interview.actor_id == ACTOR.actor_id
    assert interview.correlation_id == "test-correlation"


def test_event_type_names_are_the_products(app: FollowupApplication):
    _, _, lee, _, candidacy = _team(app)
    app.record_interview(candidacy.id, NOW - timedelta(days=3), [lee.id], by=ACTOR)
    app.state_deadline(candidacy.id, date(2026, 12, 3), by=ACTOR)
    app.send_note(candidacy.id, lee.id, NoteKind.THANK_YOU, Channel.EMAIL, NOW - timedelta(days=2), by=ACTOR)
    app.send_check_in(candidacy.id, Channel.PHONE, lee.id, by=ACTOR)
    app.record_outcome(candidacy.id, Outcome.HIRED, by=ACTOR)

    names = [type(e).__name__ for e in app.events.get(candidacy.id)]
    assert names == ["Opened", "Interview", "DeadlineStated", "NoteSent", "CheckInSent", "OutcomeRecorded"]
    assert isinstance(app.get_candidacy(candidacy.id), Candidacy)


def test_personal_data_is_stored_encrypted_and_the_rest_readable(app: FollowupApplication, settings: Settings):
    recruiter, candidate, *_ = _team(app)
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute(
            sql.SQL("SELECT state FROM {}.followup_events WHERE originator_id = %s").format(
                sql.Identifier(settings.schema_name)
            ),
            (candidate.id,),
        ).fetchone()
    assert row is not None
    state = bytes(row[0])
    assert b"Sam Patel" not in state and b"sam@example.org" not in state
    assert b'"personal_data":{"fields":["name","email","phone"]' in state
    assert recruiter.id.hex.encode() in state and b'"specialty":' in state  # the rest stays readable
    assert app.get_candidate(candidate.id).name == "Sam Patel"


def test_refused_commands_say_what_is_wrong_and_store_nothing(app: FollowupApplication):
    recruiter, candidate, lee, kim, candidacy = _team(app)
    held_at = NOW - timedelta(days=1)
    app.record_interview(candidacy.id, held_at, [lee.id], by=ACTOR)

    cases = [
        (lambda: app.record_interview(candidacy.id, NOW + timedelta(hours=1), [lee.id], by=ACTOR), "held_at"),
        (lambda: app.record_interview(candidacy.id, datetime(2026, 11, 1, 9, 0), [lee.id], by=ACTOR), "held_at"),
        (lambda: app.record_interview(candidacy.id, held_at, [], by=ACTOR), "interviewer_ids"),
        (lambda: app.record_interview(candidacy.id, held_at, [uuid.uuid4()], by=ACTOR), "interviewer_ids"),
        (lambda: app.send_note(candidacy.id, kim.id, NoteKind.THANK_YOU, Channel.EMAIL, by=ACTOR), "contact_id"),
        (lambda: app.send_note(candidacy.id, uuid.uuid4(), NoteKind.THANK_YOU, Channel.EMAIL, by=ACTOR), "contact_id"),
        (lambda: app.send_note(candidacy.id, lee.id, NoteKind.THANK_YOU, Channel.EMAIL,
                               held_at - timedelta(hours=1), by=ACTOR), "sent_at"),
        (lambda: app.state_deadline(candidacy.id, date(2026, 11, 20), by=ACTOR), "decide_by"),
        (lambda: app.open_candidacy(uuid.uuid4(), "Mercy", "RN", by=ACTOR), "candidate_id"),
        (lambda: app.open_candidacy(candidate.id, "Mercy", "RN", timezone="Mars/Olympus", by=ACTOR), "timezone"),
        (lambda: app.open_candidacy(candidate.id, "Mercy", "RN", country="XX", by=ACTOR), "country"),
        (lambda: app.register_candidate("Ann", owner_id=uuid.uuid4(), by=ACTOR), "owner_id"),
        (lambda: app.register_candidate("  ", owner_id=recruiter.id, by=ACTOR), "name"),
        (lambda: app.send_contact_note(lee.id, NoteKind.THANK_YOU, Channel.EMAIL, by=ACTOR), "kind"),
    ]
    for command, field in cases:
        with pytest.raises(InvalidCommand) as refused:
            command()
        assert refused.value.field == field, refused.value.message
        assert refused.value.message

    assert app.get_candidacy(candidacy.id).version == 2
    assert app.recorder.max_notification_id() == candidacy.position + 1


def test_unknown_or_wrong_kind_of_id_is_not_found(app: FollowupApplication):
    _, candidate, *_ = _team(app)
    with pytest.raises(NotFound):
        app.get_candidacy(uuid.uuid4())
    with pytest.raises(NotFound):
        app.get_candidacy(candidate.id)  # a candidate is not a candidacy


def test_a_closed_candidacy_takes_no_more_interviews_deadlines_or_check_ins(app: FollowupApplication):
    _, _, lee, _, candidacy = _team(app)
    app.record_interview(candidacy.id, NOW - timedelta(days=5), [lee.id], by=ACTOR)
    app.record_outcome(candidacy.id, Outcome.REJECTED, by=ACTOR)

    for command in (
        lambda: app.record_interview(candidacy.id, NOW - timedelta(days=1), [lee.id], by=ACTOR),
        lambda: app.state_deadline(candidacy.id, date(2026, 12, 10), by=ACTOR),
        lambda: app.send_check_in(candidacy.id, Channel.EMAIL, by=ACTOR),
        lambda: app.record_outcome(candidacy.id, Outcome.HIRED, by=ACTOR),
    ):
        with pytest.raises(CandidacyClosed):
            command()
    # A late thank-you is still worth recording.
    app.send_note(candidacy.id, lee.id, NoteKind.THANK_YOU, Channel.EMAIL, by=ACTOR)
    assert app.get_candidacy(candidacy.id).version == 4


def test_api_keys_are_stored_hashed_and_rotation_and_deactivation_take_effect(app: FollowupApplication):
    added = app.add_recruiter("Morgan Admin", Role.ADMIN, None, by=ACTOR)
    recruiter = app.recruiter_for_key(added.api_key)
    assert recruiter is not None and recruiter.id == added.result.id
    assert added.api_key not in repr(vars(recruiter))
    assert app.recruiter_for_key("fu_not-a-key") is None

    rotated = app.rotate_key(added.result.id, by=ACTOR)
    assert app.recruiter_for_key(added.api_key) is None
    assert app.recruiter_for_key(rotated.api_key).id == added.result.id

    app.deactivate_recruiter(added.result.id, by=ACTOR)
    assert app.recruiter_for_key(rotated.api_key) is None
