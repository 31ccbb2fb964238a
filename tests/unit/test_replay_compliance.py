"""The compliance report's per-candidacy evaluation gives what the live analytics read model's row
builders make of the rules' items, for any candidacy and any as_of."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.policy import DEFAULT_POLICY, FollowUpPolicy
from domain.rules import check_in_window, facts_occurred_by, follow_up_items
from domain.values import Channel, InterviewFormat, NoteKind, Outcome
from projections.analytics import AnalyticsProjection, CandidacyRow
from projections.replay import ReplayedCandidacy
from projections.reports import candidacy_compliance

TIME_ZONES = ["America/New_York", "America/Los_Angeles", "Europe/London", "Asia/Tokyo", "UTC"]
CALENDARS = [("US", None), ("US", "MA"), ("GB", None)]
# Timestamps as events carry them: UTC, a fixed offset, or a zone with daylight saving time.
OFFSETS = [timezone.utc, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9)), ZoneInfo("America/Chicago")]
CONTACTS = [UUID(int=n) for n in range(1, 5)]
START = datetime(2024, 1, 1, tzinfo=timezone.utc)
OWNER = UUID(int=300)
POLICIES = [DEFAULT_POLICY, FollowUpPolicy(thank_you_hours=48, no_deadline_first_business_day=2,
                                           no_deadline_last_business_day=3, follow_up_within_days=7)]


@st.composite
def moments(draw, begins: datetime) -> datetime:
    # Six-hour steps over a few weeks, so that facts often share an instant or fall exactly on a
    # due time (ties and edges are where orders and comparisons matter).
    instant = begins + timedelta(hours=6 * draw(st.integers(0, 4 * 30)))
    return instant.astimezone(draw(st.sampled_from(OFFSETS)))


@st.composite
def replayed_candidacies(draw) -> tuple[ReplayedCandidacy, datetime, FollowUpPolicy]:
    begins = START + timedelta(days=draw(st.integers(0, 900)))
    country, subdivision = draw(st.sampled_from(CALENDARS))
    candidacy = ReplayedCandidacy(UUID(int=100), UUID(int=200), OWNER, "ICU", "Mercy",
                                  draw(st.sampled_from(TIME_ZONES)), country, subdivision)
    at = moments(begins)
    candidacy.rounds = tuple(draw(st.lists(
        st.tuples(at, st.lists(st.sampled_from(CONTACTS), min_size=1, max_size=3, unique=True).map(tuple),
                  st.sampled_from(InterviewFormat)),
        max_size=3,
    )))
    candidacy.deadlines = tuple(draw(st.lists(
        st.tuples(at, st.integers(-10, 60).map(lambda days: begins.date() + timedelta(days=days))), max_size=3,
    )))
    candidacy.notes = tuple(draw(st.lists(
        st.tuples(at, st.sampled_from(CONTACTS), st.sampled_from(NoteKind), st.sampled_from(Channel)), max_size=5,
    )))
    candidacy.check_ins = tuple(draw(st.lists(
        st.tuples(at, st.none() | st.sampled_from(CONTACTS), st.sampled_from(Channel)), max_size=3,
    )))
    candidacy.outcome = draw(st.none() | st.tuples(at, st.sampled_from(Outcome)))
    as_of = draw(at)
    return candidacy, as_of, draw(st.sampled_from(POLICIES))


def rules_and_row_builders(candidacy: ReplayedCandidacy, as_of: datetime, policy: FollowUpPolicy):
    """As the analytics projection builds its rows, on the facts that had occurred by as_of."""
    builder = AnalyticsProjection(None, policy)  # type: ignore[arg-type]
    facts = facts_occurred_by(candidacy.facts(), as_of)
    row = CandidacyRow(facts, candidacy.owner_id, candidacy.team, candidacy.company)
    items = follow_up_items(facts, as_of, policy=policy)
    return builder.candidacy_fact(row, items), builder.interview_facts(row, items)


def assert_same(candidacy: ReplayedCandidacy, as_of: datetime, policy: FollowUpPolicy) -> None:
    expected, expected_interviews = rules_and_row_builders(candidacy, as_of, policy)
    fact, interviews = candidacy_compliance(candidacy, as_of, policy)
    for name in fact._fields:
        assert getattr(fact, name) == getattr(expected, name), name
    # In any order: the figures count them.
    assert Counter(map(tuple, interviews)) == Counter(
        (e.held_at, e.due_by, e.thank_you_sent_at, e.hours_to_thank_you, e.on_time) for e in expected_interviews
    )


@settings(max_examples=400, deadline=None)
@given(replayed_candidacies())
def test_the_replayed_figures_are_the_rules_and_row_builders(example_: tuple) -> None:
    assert_same(*example_)


def _story(**facts) -> ReplayedCandidacy:
    candidacy = ReplayedCandidacy(UUID(int=100), UUID(int=200), OWNER, None, "Mercy", "America/New_York", "US", None)
    for name, value in facts.items():
        setattr(candidacy, name, value)
    return candidacy


WEDNESDAY = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)  # the day before Thanksgiving
LEE, KIM = CONTACTS[:2]
VIDEO, PHONE = InterviewFormat.VIDEO, InterviewFormat.PHONE
THANK_YOU, EMAIL, HANDWRITTEN = NoteKind.THANK_YOU, Channel.EMAIL, Channel.HANDWRITTEN
REJECTED, OFFER, HIRED = Outcome.REJECTED, Outcome.OFFER, Outcome.HIRED
WINDOW = check_in_window(WEDNESDAY, None, timezone="America/New_York")


STORIES = [
    (_story(), WEDNESDAY),
    (_story(rounds=((WEDNESDAY, (LEE, KIM), VIDEO),)), WEDNESDAY + timedelta(days=30)),
    (
        _story(
            rounds=((WEDNESDAY, (LEE,), VIDEO), (WEDNESDAY, (KIM,), PHONE)),
            notes=((WEDNESDAY + timedelta(hours=30), LEE, THANK_YOU, HANDWRITTEN),
                   (WEDNESDAY + timedelta(hours=2), KIM, THANK_YOU, EMAIL)),
            deadlines=((WEDNESDAY + timedelta(hours=1), date(2026, 12, 4)),),
            check_ins=((WEDNESDAY + timedelta(days=2), None, EMAIL),),
        ),
        WEDNESDAY + timedelta(days=20),
    ),
    # The outcome before any check-in: missing if the window had closed by then, else not owed.
    (_story(rounds=((WEDNESDAY, (LEE,), VIDEO),),
            outcome=(WEDNESDAY + timedelta(days=20), REJECTED)), WEDNESDAY + timedelta(days=40)),
    (_story(rounds=((WEDNESDAY, (LEE,), VIDEO),),
            outcome=(WEDNESDAY + timedelta(days=1), OFFER)), WEDNESDAY + timedelta(days=40)),
    # A deadline stated after the check-in does not move the first check-in's window.
    (_story(rounds=((WEDNESDAY, (LEE,), VIDEO),),
            check_ins=((WEDNESDAY + timedelta(days=3), LEE, EMAIL),),
            deadlines=((WEDNESDAY + timedelta(days=4), date(2026, 12, 15)),)), WEDNESDAY + timedelta(days=40)),
    # On the edges: a thank-you at the 24th hour, a check-in as the window opens, as it closes, on
    # the 14th day; an outcome as the window closes.
    (_story(rounds=((WEDNESDAY, (LEE,), VIDEO),),
            notes=((WEDNESDAY + timedelta(hours=24), LEE, THANK_YOU, EMAIL),),
            check_ins=((WEDNESDAY + timedelta(days=14), None, EMAIL),)), WEDNESDAY + timedelta(days=40)),
    (_story(rounds=((WEDNESDAY, (LEE,), VIDEO),),
            check_ins=((WINDOW.due_from, None, EMAIL),)), WEDNESDAY + timedelta(days=40)),
    (_story(rounds=((WEDNESDAY, (LEE,), VIDEO),),
            check_ins=((WINDOW.due_by, None, EMAIL),)), WEDNESDAY + timedelta(days=40)),
    (_story(rounds=((WEDNESDAY, (LEE,), VIDEO),),
            outcome=(WINDOW.due_by, HIRED)), WEDNESDAY + timedelta(days=40)),
    # Facts after as_of had not happened yet.
    (_story(rounds=((WEDNESDAY, (LEE,), VIDEO),),
            notes=((WEDNESDAY + timedelta(hours=3), LEE, THANK_YOU, EMAIL),)),
     WEDNESDAY + timedelta(hours=2)),
]


@pytest.mark.parametrize(("candidacy", "as_of"), STORIES)
def test_stories(candidacy: ReplayedCandidacy, as_of: datetime) -> None:
    assert_same(candidacy, as_of, DEFAULT_POLICY)
