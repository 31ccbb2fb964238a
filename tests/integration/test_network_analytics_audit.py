"""The contact network, analytics and audit projections on real PostgreSQL: one story, its rows, exactly once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql

from domain.application import Actor, FollowupApplication
from domain.values import Channel, InterviewFormat, NoteKind, Outcome, Role
from infra.eventstore import open_application
from infra.settings import Settings
from projections.paging import ProjectionWorker
from projections.registry import open_projection

# The story happens in the autumn of 2026, before the clock below and before the
# run, so that the views' now() sees every window closed.
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ADMIN = Actor(uuid.UUID(int=1), "setup")
MODELS = ["contact_network", "analytics", "audit"]


@pytest.fixture
def app(settings: Settings):
    application = open_application(settings, clock=lambda: NOW)
    yield application
    application.close()


@dataclass
class Story:
    dana: uuid.UUID  # ICU team
    eli: uuid.UUID  # ER team
    sam: uuid.UUID  # Dana's candidate
    pat: uuid.UUID  # Eli's candidate
    lee: uuid.UUID  # Mercy
    kim: uuid.UUID  # Mercy
    ng: uuid.UUID  # Mercy
    ortiz: uuid.UUID  # General
    old: uuid.UUID  # St Luke, touched once in March
    early: uuid.UUID  # candidacy A: checked in before the window
    missing: uuid.UUID  # candidacy B: no thank-you, no check-in
    on_time: uuid.UUID  # candidacy C: deadline stated, checked in on time, hired
    late: uuid.UUID  # candidacy D: checked in after the window, rejected
    not_owed: uuid.UUID  # candidacy E: offer before the window opened


def at(day: str, hour: int = 15) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def tell_story(app: FollowupApplication) -> Story:
    dana = app.add_recruiter("Dana", Role.RECRUITER, "ICU", by=ADMIN).result.id
    eli = app.add_recruiter("Eli", Role.RECRUITER, "ER", by=ADMIN).result.id
    as_dana, as_eli = Actor(dana, "req-dana"), Actor(eli, "req-eli")
    sam = app.register_candidate("Sam", owner_id=dana, by=as_dana).id
    pat = app.register_candidate("Pat", owner_id=eli, by=as_eli).id
    lee = app.add_contact("Jordan Lee", "Mercy", title="Nurse manager", by=as_dana).id
    kim = app.add_contact("Alex Kim", "Mercy", by=as_dana).id
    ng = app.add_contact("Chris Ng", "Mercy", by=as_eli).id
    ortiz = app.add_contact("Rae Ortiz", "General", by=as_eli).id
    old = app.add_contact("Max Old", "St Luke", by=as_dana).id
    app.send_contact_note(old, NoteKind.HELPFUL_INFO, Channel.EMAIL, at("2026-03-02"), by=as_dana)

    def candidacy(candidate: uuid.UUID, company: str, by: Actor) -> uuid.UUID:
        return app.open_candidacy(candidate, company, "ICU RN", timezone="America/New_York", by=by).id

    # A: Mon 5 Oct; window Fri 9 - Tue 13 Oct (Columbus Day skipped); checked in Wed 7 Oct: early.
    early = candidacy(sam, "Mercy", as_dana)
    app.record_interview(early, at("2026-10-05"), [lee, kim], InterviewFormat.VIDEO, by=as_dana)
    app.send_note(early, lee, NoteKind.THANK_YOU, Channel.EMAIL, at("2026-10-05", 17), by=as_dana)
    app.send_note(early, kim, NoteKind.THANK_YOU, Channel.HANDWRITTEN, at("2026-10-06", 21), by=as_dana)
    app.send_check_in(early, Channel.EMAIL, sent_at=at("2026-10-07"), by=as_dana)
    app.connect_linkedin(lee, at("2026-10-10"), by=as_dana)

    # B: Mon 14 Sep, and then nothing.
    missing = candidacy(pat, "General", as_eli)
    app.record_interview(missing, at("2026-09-14"), [ortiz], by=as_eli)

    # C: Mon 21 Sep; decision by Fri 25 Sep, so the window is Mon 28 - Tue 29 Sep.
    on_time = candidacy(sam, "General", as_dana)
    app.record_interview(on_time, at("2026-09-21"), [ortiz], by=as_dana)
    app.send_note(on_time, ortiz, NoteKind.THANK_YOU, Channel.EMAIL, at("2026-09-22", 11), by=as_dana)
    app.state_deadline(on_time, date(2026, 9, 25), at("2026-09-22", 12), by=as_dana)
    app.send_check_in(on_time, Channel.PHONE, sent_at=at("2026-09-28"), by=as_dana)
    app.record_outcome(on_time, Outcome.HIRED, at("2026-10-02"), by=as_dana)

    # D: Thu 3 Sep; window Thu 10 - Fri 11 Sep (Labor Day skipped); checked in with Ng on Fri 25 Sep: late.
    late = candidacy(pat, "Mercy", as_eli)
    app.record_interview(late, at("2026-09-03"), [ng], by=as_eli)
    app.send_check_in(late, Channel.EMAIL, ng, at("2026-09-25"), by=as_eli)
    app.record_outcome(late, Outcome.REJECTED, at("2026-09-30"), by=as_eli)

    # E: Mon 19 Oct, an offer the next day, before the check-in window opened.
    not_owed = candidacy(sam, "Mercy", as_dana)
    app.record_interview(not_owed, at("2026-10-19"), [kim], by=as_dana)
    app.record_outcome(not_owed, Outcome.OFFER, at("2026-10-20"), by=as_dana)

    return Story(dana, eli, sam, pat, lee, kim, ng, ortiz, old, early, missing, on_time, late, not_owed)


def workers(app: FollowupApplication, page_size: int = 1000) -> list[ProjectionWorker]:
    return [ProjectionWorker(app, open_projection(name, app), page_size=page_size) for name in MODELS]


def catch_up(app: FollowupApplication, page_size: int = 1000) -> list[int]:
    return [worker.catch_up() for worker in workers(app, page_size)]


def query(settings: Settings, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(settings.database_url) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(settings.schema_name)))
        return conn.execute(statement, params).fetchall()


def snapshot(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    tables = [
        "contact_network_contacts", "contact_network_companies", "contact_network_candidacies",
        "contact_network_recruiter_edges", "contact_network_candidate_edges",
        "analytics_candidacies", "analytics_interviews", "audit_events",
    ]
    return {table: sorted(map(repr, query(settings, f"SELECT * FROM {table}"))) for table in tables}


@pytest.fixture(params=[1000, 2], ids=["one-page", "pages-of-2"])
def story(request: pytest.FixtureRequest, app: FollowupApplication) -> Story:
    """The story, projected in one page, or in pages of two events (facts split across transactions)."""
    told = tell_story(app)
    catch_up(app, request.param)
    return told


# The contact network.


def test_contacts_count_touches_and_schedule_the_next_one(story: Story, settings: Settings):
    rows = {
        row[0]: row[1:]
        for row in query(settings, "SELECT contact_id, name, company, touches, first_touch_at, last_touch_at, "
                                   "next_touch_due, linkedin_connected_at FROM contact_network_contacts")
    }
    assert rows[story.lee] == ("Jordan Lee", "Mercy", 2, at("2026-10-05"), at("2026-10-05", 17),
                               at("2026-10-05", 17) + timedelta(days=90), at("2026-10-10"))
    assert rows[story.kim][2:5] == (3, at("2026-10-05"), at("2026-10-19"))  # two interviews and a note
    assert rows[story.ortiz][2:5] == (3, at("2026-09-14"), at("2026-09-22", 11))
    assert rows[story.ng][2:5] == (2, at("2026-09-03"), at("2026-09-25"))  # the interview and the check-in
    assert rows[story.old][2:6] == (1, at("2026-03-02"), at("2026-03-02"), at("2026-03-02") + timedelta(days=90))


def test_strength_grows_with_touches_and_fades_with_time(story: Story, settings: Settings):
    as_of_now = dict(query(
        settings, "SELECT contact_id, network_strength(touches, last_touch_at, %s) FROM contact_network_contacts",
        NOW,
    ))
    # Lee and Ng have two touches each; Lee's are more recent.
    assert 1 > as_of_now[story.kim] > as_of_now[story.lee] > as_of_now[story.ng] > as_of_now[story.old] > 0
    assert query(settings, "SELECT network_strength(3, %s, %s)", NOW, NOW)[0][0] == pytest.approx(1 - 2.718281828 ** -1)
    assert query(settings, "SELECT network_strength(3, %s, %s)", NOW - timedelta(days=90), NOW)[0][0] == (
        pytest.approx((1 - 2.718281828 ** -1) / 2)
    )
    listed = query(settings, "SELECT id, name, company, touches, strength FROM network_contacts ORDER BY strength DESC")
    assert [row[0] for row in listed] == [story.kim, story.ortiz, story.lee, story.ng, story.old]
    assert all(0 <= row[4] <= 1 for row in listed)


def test_companies_and_edges(story: Story, settings: Settings):
    assert query(settings, "SELECT company, contacts, touches, last_touch_at FROM contact_network_companies "
                           "ORDER BY company") == [
        ("General", 1, 3, at("2026-09-22", 11)),
        ("Mercy", 3, 7, at("2026-10-19")),
        ("St Luke", 1, 1, at("2026-03-02")),
    ]
    recruiter_edges = {
        (row[0], row[1]): row[2]
        for row in query(settings, "SELECT recruiter_id, contact_id, touches FROM contact_network_recruiter_edges")
    }
    assert recruiter_edges == {
        (story.dana, story.lee): 2, (story.dana, story.kim): 3, (story.dana, story.ortiz): 2,
        (story.eli, story.ortiz): 1, (story.eli, story.ng): 2,
        (story.dana, story.old): 1,  # a note on the contact's own stream is its sender's
    }
    candidate_edges = {
        (row[0], row[1]): row[2:]
        for row in query(settings, "SELECT candidate_id, contact_id, interviews, touches, first_touch_at, "
                                   "last_touch_at FROM contact_network_candidate_edges")
    }
    assert candidate_edges == {
        (story.sam, story.lee): (1, 2, at("2026-10-05"), at("2026-10-05", 17)),
        (story.sam, story.kim): (2, 3, at("2026-10-05"), at("2026-10-19")),
        (story.sam, story.ortiz): (1, 2, at("2026-09-21"), at("2026-09-22", 11)),
        (story.pat, story.ortiz): (1, 1, at("2026-09-14"), at("2026-09-14")),
        (story.pat, story.ng): (1, 2, at("2026-09-03"), at("2026-09-25")),
    }
    # Names live in the contacts table only.
    assert query(settings, "SELECT count(*) FROM information_schema.columns "
                           "WHERE table_schema = current_schema() AND column_name = 'name' "
                           "AND table_name LIKE 'contact_network%%'") == [(1,)]


# Analytics.


def test_thank_yous_on_time_and_late(story: Story, settings: Settings):
    rows = query(settings, "SELECT candidacy_id, contact_id, held_at, thank_you_sent_at, hours_to_thank_you, "
                           "on_time, channel, format, due_by FROM analytics_interviews")
    by_key = {(row[0], row[1]): row[2:] for row in rows}
    assert len(rows) == 6
    assert by_key[(story.early, story.lee)] == (
        at("2026-10-05"), at("2026-10-05", 17), 2.0, True, "email", "video", at("2026-10-06"))
    assert by_key[(story.early, story.kim)][1:5] == (at("2026-10-06", 21), 30.0, False, "handwritten")
    assert by_key[(story.on_time, story.ortiz)][2:5] == (20.0, True, "email")
    assert by_key[(story.missing, story.ortiz)][1:5] == (None, None, None, None)


def test_check_in_timing_and_the_two_week_guideline(story: Story, settings: Settings):
    rows = {
        row[0]: row[1:]
        for row in query(settings, "SELECT candidacy_id, timing, followed_up_within_14_days, check_in_sent_at, "
                                   "check_in_due_from, check_in_due_by FROM analytics_check_ins")
    }
    assert rows[story.early][:3] == ("early", True, at("2026-10-07"))
    # Fri 9 Oct to Tue 13 Oct in New York (Columbus Day skipped), 4 hours behind UTC.
    assert rows[story.early][3] == datetime(2026, 10, 9, 4, 0, tzinfo=UTC)
    assert rows[story.early][4].astimezone(UTC).date() == date(2026, 10, 14)
    assert rows[story.missing][:3] == ("missing", False, None)
    assert rows[story.on_time][:3] == ("on_time", True, at("2026-09-28"))
    assert rows[story.late][:3] == ("late", False, at("2026-09-25"))
    assert rows[story.not_owed][:3] == ("not_owed", False, None)
    facts = {
        row[0]: row[1:]
        for row in query(settings, "SELECT candidacy_id, outcome, outcome_at, thank_you_within_24h, interviews, "
                                   "latest_round_held_at, owner_id, team FROM analytics_candidacies")
    }
    assert facts[story.on_time] == ("hired", at("2026-10-02"), True, 1, at("2026-09-21"), story.dana, "ICU")
    assert facts[story.late][:3] == ("rejected", at("2026-09-30"), False)
    assert facts[story.early][:3] == (None, None, True)


def test_roll_ups_per_team_and_recruiter(story: Story, settings: Settings):
    columns = ("thank_yous_owed, thank_yous_on_time, thank_you_on_time_rate, median_hours_to_thank_you, "
               "check_ins_early, check_ins_on_time, check_ins_late, check_ins_missing, check_ins_not_owed, "
               "follow_ups_measured, followed_up_within_14_days, followed_up_within_14_days_share")
    teams = {row[0]: row[1:] for row in query(settings, f"SELECT team, {columns} FROM analytics_team_summary")}
    assert teams["ICU"] == (4, 2, 0.5, 20.0, 1, 1, 0, 0, 1, 3, 2, pytest.approx(2 / 3))
    assert teams["ER"] == (2, 0, 0.0, None, 0, 0, 1, 1, 0, 2, 0, 0.0)
    recruiters = {row[0]: row[1:] for row in query(
        settings, f"SELECT owner_id, {columns} FROM analytics_recruiter_summary")}
    assert recruiters[story.dana] == teams["ICU"]
    assert query(settings, "SELECT team, outcome, thank_you_within_24h, candidacies FROM analytics_team_outcomes "
                           "ORDER BY team, outcome") == [
        ("ER", "rejected", False, 1), ("ICU", "hired", True, 1), ("ICU", "offer", False, 1),
    ]
    assert query(settings, "SELECT owner_id, outcome, candidacies FROM analytics_recruiter_outcomes "
                           "WHERE owner_id = %s ORDER BY outcome", story.eli) == [(story.eli, "rejected", 1)]


# Audit.


def test_every_event_is_indexed_with_both_time_axes_and_its_actor(
    story: Story, app: FollowupApplication, settings: Settings
):
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    rows = query(settings, "SELECT position, event_type, aggregate_type, stream, version, actor_id, "
                           "correlation_id, occurred_at, recorded_at FROM audit_events ORDER BY position")
    assert [(r[0], r[3], r[4]) for r in rows] == [(n.id, n.originator_id, n.originator_version) for n in notifications]
    issued = [r for r in rows if r[1] == "Issued"]
    assert [(r[2], r[5], r[7]) for r in issued] == [("ApiKeyIndex", None, None)] * 2
    others = [r for r in rows if r[1] != "Issued"]
    assert all(r[5] is not None and r[6] and r[7] is not None and r[8] is not None for r in others)
    note = next(r for r in rows if r[1] == "NoteSent" and r[3] == story.old)
    assert (note[2], note[5], note[6], note[7]) == ("Contact", story.dana, "req-dana", at("2026-03-02"))
    assert note[8] > note[7]  # recorded long after it happened
    interview = next(r for r in rows if r[1] == "Interview" and r[3] == story.late)
    assert (interview[2], interview[4], interview[5], interview[7]) == ("Candidacy", 2, story.eli, at("2026-09-03"))
    by_dana = query(settings, "SELECT count(*) FROM audit_events WHERE actor_id = %s AND recorded_at <= now()",
                    story.dana)
    assert by_dana == [(sum(1 for r in rows if r[5] == story.dana),)]


# Exactly once.


def test_catching_up_again_applies_nothing_twice(story: Story, app: FollowupApplication, settings: Settings):
    before = snapshot(settings)
    assert catch_up(app) == [0, 0, 0]
    assert snapshot(settings) == before


def test_a_fresh_worker_resumes_from_its_tracking_record(story: Story, app: FollowupApplication, settings: Settings):
    count_before = query(settings, "SELECT count(*) FROM audit_events")[0][0]
    app.send_contact_note(story.lee, NoteKind.CONGRATULATIONS, Channel.LINKEDIN, at("2026-11-02"),
                          by=Actor(story.dana, "req-again"))
    assert catch_up(app) == [1, 1, 1]
    assert query(settings, "SELECT touches, last_touch_at FROM contact_network_contacts WHERE contact_id = %s",
                 story.lee) == [(3, at("2026-11-02"))]
    assert query(settings, "SELECT touches FROM contact_network_recruiter_edges "
                           "WHERE recruiter_id = %s AND contact_id = %s", story.dana, story.lee) == [(3,)]
    assert query(settings, "SELECT count(*) FROM audit_events")[0][0] == count_before + 1
    assert query(settings, "SELECT count(*) FROM analytics_interviews") == [(6,)]
