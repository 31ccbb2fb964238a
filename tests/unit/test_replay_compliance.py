"""The compliance report's evaluation of one replayed candidacy at as_of: the analytics read model's
rows (its row builders, on the rules' items) for the facts that had occurred by then."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from uuid import UUID

from domain.rules import check_in_window
from domain.values import Channel, InterviewFormat, NoteKind, Outcome
from projections.analytics import EARLY, LATE, MISSING, NOT_OWED, ON_TIME
from projections.replay import ReplayedCandidacy
from projections.reports import candidacy_compliance, check_in_timing

LEE, KIM = UUID(int=1), UUID(int=2)
OWNER = UUID(int=300)
# Wed 25 Nov 2026, 10:00 in New York: the day before Thanksgiving.
WEDNESDAY = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)
# No decision date: business days 4-5 after the interview, Thanksgiving skipped: Wed 2 to Thu 3 Dec.
WINDOW = check_in_window(WEDNESDAY, None, timezone="America/New_York")
VIDEO = InterviewFormat.VIDEO
THANK_YOU, EMAIL = NoteKind.THANK_YOU, Channel.EMAIL
ROUND = ((WEDNESDAY, (LEE, KIM), VIDEO),)
LATER = WEDNESDAY + timedelta(days=40)


def story(**facts) -> ReplayedCandidacy:
    candidacy = ReplayedCandidacy(UUID(int=100), UUID(int=200), OWNER, "ICU", "Mercy", "America/New_York", "US", None)
    for name, value in facts.items():
        setattr(candidacy, name, value)
    return candidacy


def test_the_window_is_the_one_the_rules_give() -> None:
    assert (WINDOW.first_day, WINDOW.last_day) == (date(2026, 12, 2), date(2026, 12, 3))


def test_a_candidacy_without_an_interview_owes_nothing() -> None:
    fact, interviews = candidacy_compliance(story(), LATER)
    assert interviews == []
    assert (fact.latest_round_held_at, fact.check_in_timing, fact.followed_up_within_14_days) == (None, None, None)
    assert check_in_timing(fact, LATER) is None


def test_nothing_sent_is_a_thank_you_per_interviewer_and_a_missing_check_in() -> None:
    fact, interviews = candidacy_compliance(story(rounds=ROUND), LATER)
    assert [(i.held_at, i.due_by, i.thank_you_sent_at, i.on_time) for i in interviews] == [
        (WEDNESDAY, WEDNESDAY + timedelta(hours=24), None, None),
    ] * 2
    assert (fact.check_in_due_from, fact.check_in_due_by) == (WINDOW.due_from, WINDOW.due_by)
    assert fact.check_in_timing is None and fact.followed_up_within_14_days is False
    assert check_in_timing(fact, LATER) == MISSING
    assert check_in_timing(fact, WINDOW.due_by) == "pending"
    assert fact.thank_you_within_24h is False


def test_a_thank_you_at_the_24th_hour_is_on_time_and_a_check_in_on_the_14th_day_counts() -> None:
    fact, interviews = candidacy_compliance(story(
        rounds=ROUND,
        notes=((WEDNESDAY + timedelta(hours=24), LEE, THANK_YOU, EMAIL),
               (WEDNESDAY + timedelta(hours=30), KIM, THANK_YOU, EMAIL)),
        check_ins=((WEDNESDAY + timedelta(days=14), None, EMAIL),),
    ), LATER)
    assert sorted((i.hours_to_thank_you, i.on_time) for i in interviews) == [(24.0, True), (30.0, False)]
    assert fact.thank_you_within_24h is True
    assert fact.check_in_timing == LATE and fact.followed_up_within_14_days is True


def test_a_check_in_on_either_edge_of_the_window_is_on_time() -> None:
    for sent_at in (WINDOW.due_from, WINDOW.due_by):
        fact, _ = candidacy_compliance(story(rounds=ROUND, check_ins=((sent_at, None, EMAIL),)), LATER)
        assert (fact.check_in_sent_at, fact.check_in_timing) == (sent_at, ON_TIME)


def test_a_deadline_stated_after_the_check_in_does_not_move_its_window() -> None:
    fact, _ = candidacy_compliance(story(
        rounds=ROUND,
        check_ins=((WEDNESDAY + timedelta(days=3), LEE, EMAIL),),
        deadlines=((WEDNESDAY + timedelta(days=4), date(2026, 12, 15)),),
    ), LATER)
    assert fact.check_in_timing == EARLY and fact.check_in_due_from == WINDOW.due_from


def test_an_outcome_before_any_check_in_ends_it_missing_once_the_window_closed_else_not_owed() -> None:
    for outcome_at, timing in ((WEDNESDAY + timedelta(days=20), MISSING), (WINDOW.due_by, NOT_OWED),
                               (WEDNESDAY + timedelta(days=1), NOT_OWED)):
        fact, _ = candidacy_compliance(story(rounds=ROUND, outcome=(outcome_at, Outcome.HIRED)), LATER)
        assert (fact.check_in_timing, fact.outcome) == (timing, "hired")


def test_what_happened_after_as_of_is_not_known_yet() -> None:
    candidacy = story(rounds=ROUND, notes=((WEDNESDAY + timedelta(hours=3), LEE, THANK_YOU, EMAIL),),
                      outcome=(WEDNESDAY + timedelta(days=2), Outcome.REJECTED))
    fact, interviews = candidacy_compliance(candidacy, WEDNESDAY + timedelta(hours=2))
    assert all(i.thank_you_sent_at is None for i in interviews)
    assert fact.outcome is None
    fact, interviews = candidacy_compliance(candidacy, LATER)
    assert sorted((i.thank_you_sent_at is not None) for i in interviews) == [False, True]
    assert fact.outcome == "rejected"
