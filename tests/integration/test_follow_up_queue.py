"""The follow-up queue projection on real PostgreSQL: rows match the rules, exactly once."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from domain.application import Actor, FollowupApplication
from domain.rules import follow_up_items, status_at
from domain.values import Channel, FollowUpStatus, InterviewFormat, NoteKind, Outcome, Role
from infra.eventstore import open_application
from infra.settings import Settings
from projections.candidacy_batches import AFTER_EVERYTHING
from projections.queries import ItemFilters, TeamScope, follow_up_items_page, item_key

NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
ACTOR = Actor(uuid.UUID(int=1), "test")


@pytest.fixture
def app(settings: Settings):
    application = open_application(settings, clock=lambda: NOW)
    yield application
    application.close()


def _rows(settings: Settings, candidacy_id: uuid.UUID) -> list[tuple]:
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute(
            sql.SQL(
                "SELECT kind, contact_id, due_from, due_by, done_at, flags, reason "
                "FROM {}.follow_up_items WHERE candidacy_id = %s ORDER BY due_by, kind, contact_id::text"
            ).format(sql.Identifier(settings.schema_name)),
            (candidacy_id,),
        ).fetchall()


def _story(app: FollowupApplication):
    recruiter = app.add_recruiter("Dana", Role.RECRUITER, "ICU", by=ACTOR).result
    candidate = app.register_candidate("Sam", owner_id=recruiter.id, by=ACTOR)
    lee = app.add_contact("Jordan Lee", "Mercy", by=ACTOR).id
    kim = app.add_contact("Alex Kim", "Mercy", by=ACTOR).id
    candidacy = app.open_candidacy(candidate.id, "Mercy", "ICU RN", timezone="America/New_York", by=ACTOR).id
    held_at = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    app.record_interview(candidacy, held_at, [lee, kim], InterviewFormat.VIDEO, by=ACTOR)
    app.send_note(candidacy, lee, NoteKind.THANK_YOU, Channel.EMAIL, held_at + timedelta(hours=2), by=ACTOR)
    return recruiter, candidacy, lee, kim, held_at


def test_the_queue_holds_what_the_rules_compute(workers, app: FollowupApplication, settings: Settings):
    _, candidacy, lee, kim, held_at = _story(app)
    (worker,) = workers(app, names=["follow_up_queue"])
    worker.catch_up()

    expected = follow_up_items(app.get_candidacy(candidacy).facts(), AFTER_EVERYTHING)
    rows = _rows(settings, candidacy)
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        (i.kind.value, i.contact_id, i.due_from, i.due_by, i.done_at) for i in expected
    ]
    assert {(r[0], r[1], r[4] is not None) for r in rows} == {
        ("thank_you", lee, True), ("thank_you", kim, False), ("check_in", None, False),
    }


def test_an_outcome_replaces_the_check_in_with_staying_in_touch(workers, app: FollowupApplication, settings: Settings):
    _, candidacy, lee, kim, held_at = _story(app)
    (worker,) = workers(app, names=["follow_up_queue"])
    worker.catch_up()
    app.record_outcome(candidacy, Outcome.REJECTED, held_at + timedelta(days=3), by=ACTOR)
    app.send_contact_note(kim, NoteKind.HELPFUL_INFO, Channel.EMAIL, held_at + timedelta(days=4), by=ACTOR)
    app.connect_linkedin(lee, held_at + timedelta(days=4), by=ACTOR)
    worker.catch_up()

    rows = _rows(settings, candidacy)
    kinds = sorted((r[0], r[1]) for r in rows if r[0] in ("stay_in_touch", "connect_linkedin"))
    assert kinds == sorted([("stay_in_touch", lee), ("stay_in_touch", kim),
                            ("connect_linkedin", lee), ("connect_linkedin", kim)])
    assert not [r for r in rows if r[0] == "check_in"]
    stay_with_kim = next(r for r in rows if r[0] == "stay_in_touch" and r[1] == kim)
    assert stay_with_kim[2] == held_at + timedelta(days=4 + 90)  # the helpful note moved it
    linkedin_lee = next(r for r in rows if r[0] == "connect_linkedin" and r[1] == lee)
    assert linkedin_lee[4] == held_at + timedelta(days=4)


def test_each_event_is_applied_once_and_the_position_is_tracked(workers, app: FollowupApplication, settings: Settings):
    _, candidacy, *_ = _story(app)
    (worker,) = workers(app, names=["follow_up_queue"])
    head = app.recorder.max_notification_id()
    assert worker.catch_up() == head
    assert worker.position() == head
    before = _rows(settings, candidacy)
    assert worker.catch_up() == 0  # nothing new: nothing applied again
    assert _rows(settings, candidacy) == before


def test_a_fresh_worker_resumes_from_its_tracking_record(workers, app: FollowupApplication, settings: Settings):
    _, candidacy, lee, _, held_at = _story(app)
    (first,) = workers(app, names=["follow_up_queue"])
    first.catch_up()
    app.state_deadline(candidacy, date(2026, 12, 4), held_at + timedelta(hours=1), by=ACTOR)
    (second,) = workers(app, names=["follow_up_queue"])
    assert second.catch_up() == 1
    check_in = next(r for r in _rows(settings, candidacy) if r[0] == "check_in")
    assert check_in[2].date() == date(2026, 12, 7)  # Mon after Fri 4 Dec


def test_the_background_worker_follows_new_events(workers, app: FollowupApplication, settings: Settings):
    _, candidacy, *_ = _story(app)
    (worker,) = workers(app, names=["follow_up_queue"])
    worker.start()
    try:
        result = app.send_check_in(candidacy, Channel.PHONE, by=ACTOR)
        assert worker.wait_for(result.position, timeout=10)
        check_in = next(r for r in _rows(settings, candidacy) if r[0] == "check_in")
        assert check_in[4] == NOW
    finally:
        worker.stop()


def test_a_page_of_the_queue_holds_the_items_of_the_statuses_asked_at_any_moment(
    workers, app: FollowupApplication, settings: Settings
):
    """Thank-you, check-in, LinkedIn and stay-in-touch items of several candidacies, paged through two
    at a time for every set of statuses at moments among and after their windows: each page
    run holds exactly the items whose status (as the rules derive it) was asked, in the queue's order."""
    recruiter, candidacy, lee, kim, held_at = _story(app)
    other = app.open_candidacy(app.register_candidate("Ari", owner_id=recruiter.id, by=ACTOR).id, "Mercy", "ER RN",
                               timezone="America/Chicago", by=ACTOR).id
    app.record_interview(other, held_at - timedelta(days=20), [kim], InterviewFormat.VIDEO, by=ACTOR)
    app.record_outcome(other, Outcome.HIRED, held_at - timedelta(days=10), by=ACTOR)
    (worker,) = workers(app, names=["follow_up_queue"])
    worker.catch_up()

    with psycopg.connect(settings.database_url, row_factory=dict_row) as conn:
        everything = conn.execute(
            sql.SQL("SELECT candidacy_id, kind, contact_id, due_from, due_by, done_at FROM {}.follow_up_items").format(
                sql.Identifier(settings.schema_name))).fetchall()
        assert {row["kind"] for row in everything} == {"thank_you", "check_in", "connect_linkedin", "stay_in_touch"}
        statuses = [status.value for status in FollowUpStatus]
        # The queue is read now: after every fact recorded (as_of reads take another path).
        for now in (held_at + timedelta(hours=3), held_at + timedelta(days=6), held_at + timedelta(days=100),
                    held_at + timedelta(days=400)):
            for size in range(1, len(statuses) + 1):
                for asked in itertools.combinations(statuses, size):
                    expected = sorted(
                        (row["candidacy_id"], row["kind"], row["contact_id"]) for row in everything
                        if status_at(row["due_from"], row["due_by"], row["done_at"], now).value in asked
                    )
                    seen, after = [], None
                    while page := follow_up_items_page(
                        conn, settings.schema_name, now=now, scope=TeamScope(False, "ICU"), filters=ItemFilters(),
                        statuses=asked, after=after, limit=2,
                    ):
                        assert all(item["status"] in asked for item in page)
                        seen.extend(page)
                        after = item_key(page[-1])
                    assert [item_key(item) for item in seen] == sorted(item_key(item) for item in seen)
                    assert sorted((i["candidacy_id"], i["kind"], i["contact_id"]) for i in seen) == expected, (
                        now, asked)
