"""Properties of the follow-up rules that hold for any candidacy, checked with generated examples."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import calendar_for, local_date
from domain.rules import check_in_window, follow_up_items, interview_items, status_at
from domain.values import (
    CandidacyFacts,
    Channel,
    ContactFacts,
    FollowUpKind,
    FollowUpStatus,
    InterviewFormat,
    InterviewRound,
    NoteKind,
    Outcome,
    RecordedOutcome,
    SentCheckIn,
    SentNote,
    StatedDeadline,
)

EXAMPLES = settings(max_examples=150, deadline=None)
# Whole candidacies cost more to generate than to evaluate: fewer of them keep the suite quick.
CANDIDACY_EXAMPLES = settings(max_examples=100, deadline=None)

TIME_ZONES = ["America/New_York", "America/Los_Angeles", "Europe/London", "Asia/Tokyo", "Pacific/Auckland", "UTC"]
CALENDARS = [("US", None), ("US", "MA"), ("US", "CA"), ("GB", None), ("CA", None)]
CONTACTS = [UUID(int=n) for n in range(1, 5)]
START = datetime(2020, 1, 1, tzinfo=timezone.utc)
FOUR_MONTHS_IN_MINUTES = 120 * 24 * 60

time_zones = st.sampled_from(TIME_ZONES)
calendars = st.sampled_from(CALENDARS)
instants = st.integers(0, 12 * 365 * 24 * 60).map(lambda minutes: START + timedelta(minutes=minutes))


def later_than(moment: datetime, max_minutes: int = FOUR_MONTHS_IN_MINUTES) -> st.SearchStrategy[datetime]:
    return st.integers(0, max_minutes).map(lambda minutes: moment + timedelta(minutes=minutes))


@st.composite
def candidacies(draw) -> tuple[CandidacyFacts, datetime, dict[UUID, ContactFacts]]:
    """A candidacy whose facts fall in a few months, an as_of among them, and its contacts."""
    begins = draw(instants)
    moments = later_than(begins)
    country, subdivision = draw(calendars)
    rounds = draw(
        st.lists(
            st.builds(
                InterviewRound,
                held_at=moments,
                interviewer_ids=st.lists(st.sampled_from(CONTACTS), min_size=1, max_size=3).map(tuple),
                format=st.sampled_from(InterviewFormat),
            ),
            min_size=1,
            max_size=3,
        )
    )
    deadlines = draw(
        st.lists(
            st.builds(
                StatedDeadline,
                decide_by=st.integers(-10, 60).map(lambda days: begins.date() + timedelta(days=days)),
                stated_at=moments,
            ),
            max_size=3,
        )
    )
    notes = draw(
        st.lists(
            st.builds(
                SentNote,
                contact_id=st.sampled_from(CONTACTS),
                kind=st.sampled_from(NoteKind),
                channel=st.sampled_from(Channel),
                sent_at=moments,
            ),
            max_size=4,
        )
    )
    check_ins = draw(
        st.lists(
            st.builds(
                SentCheckIn,
                channel=st.sampled_from(Channel),
                sent_at=moments,
                contact_id=st.none() | st.sampled_from(CONTACTS),
            ),
            max_size=3,
        )
    )
    outcome = draw(st.none() | st.builds(RecordedOutcome, outcome=st.sampled_from(Outcome), occurred_at=moments))
    contacts = {
        contact_id: ContactFacts(
            contact_id=contact_id,
            touches=tuple(draw(st.lists(moments, max_size=2))),
            linkedin_connected_at=draw(st.none() | moments),
        )
        for contact_id in draw(st.sets(st.sampled_from(CONTACTS)))
    }
    facts = CandidacyFacts(
        candidacy_id=UUID(int=100),
        candidate_id=UUID(int=200),
        timezone=draw(time_zones),
        country=country,
        subdivision=subdivision,
        interviews=tuple(rounds),
        deadlines=tuple(deadlines),
        notes=tuple(notes),
        check_ins=tuple(check_ins),
        outcome=outcome,
    )
    as_of = draw(later_than(begins, 2 * FOUR_MONTHS_IN_MINUTES))
    return facts, as_of, contacts


@EXAMPLES
@given(
    held_at=instants,
    decide_in_days=st.none() | st.integers(-15, 90),
    tz=time_zones,
    calendar=calendars,
)
def test_a_check_in_window_never_starts_or_ends_on_a_weekend_or_holiday(held_at, decide_in_days, tz, calendar):
    country, subdivision = calendar
    decide_by = None if decide_in_days is None else held_at.date() + timedelta(days=decide_in_days)

    window = check_in_window(held_at, decide_by, timezone=tz, country=country, subdivision=subdivision)

    business = calendar_for(country, subdivision)
    assert business.is_business_day(window.first_day)
    assert business.is_business_day(window.last_day)
    assert window.first_day <= window.last_day
    assert window.due_from < window.due_by


@EXAMPLES
@given(
    held_at=instants,
    first_in_days=st.integers(0, 60),
    more_days=st.integers(0, 30),
    tz=time_zones,
    calendar=calendars,
)
def test_a_later_decision_date_never_gives_an_earlier_window(held_at, first_in_days, more_days, tz, calendar):
    # Only among dates on or after the interview day: a date before it is ignored, and
    # the 4-5 day fallback can be later than the 1-2 day buffer after an early date.
    country, subdivision = calendar
    interview_day = local_date(held_at, tz)
    sooner = interview_day + timedelta(days=first_in_days)
    later = sooner + timedelta(days=more_days)

    sooner_window = check_in_window(held_at, sooner, timezone=tz, country=country, subdivision=subdivision)
    later_window = check_in_window(held_at, later, timezone=tz, country=country, subdivision=subdivision)

    assert later_window.due_from >= sooner_window.due_from
    assert later_window.due_by >= sooner_window.due_by


@EXAMPLES
@given(
    held_at=instants,
    first_in_days=st.integers(0, 60),
    more_days=st.integers(0, 30),
    stated_after_minutes=st.integers(1, 60 * 24 * 30),
    tz=time_zones,
)
def test_adding_a_later_deadline_never_moves_the_check_in_earlier(
    held_at, first_in_days, more_days, stated_after_minutes, tz
):
    interview_day = local_date(held_at, tz)
    first = StatedDeadline(decide_by=interview_day + timedelta(days=first_in_days), stated_at=held_at)
    second = StatedDeadline(
        decide_by=first.decide_by + timedelta(days=more_days),
        stated_at=held_at + timedelta(minutes=stated_after_minutes),
    )
    facts = CandidacyFacts(
        candidacy_id=UUID(int=100),
        candidate_id=UUID(int=200),
        timezone=tz,
        interviews=(InterviewRound(held_at=held_at, interviewer_ids=(CONTACTS[0],)),),
        deadlines=(first,),
    )
    as_of = second.stated_at

    def check_in_of(candidacy: CandidacyFacts):
        (item,) = [i for i in follow_up_items(candidacy, as_of) if i.kind is FollowUpKind.CHECK_IN]
        return item

    before = check_in_of(facts)
    after = check_in_of(replace(facts, deadlines=(first, second)))

    assert after.due_from >= before.due_from
    assert after.due_by >= before.due_by


@CANDIDACY_EXAMPLES
@given(candidacies())
def test_every_item_is_due_from_before_it_is_due_by_and_its_status_agrees(example):
    facts, as_of, contacts = example

    for item in follow_up_items(facts, as_of, contacts=contacts):
        assert item.due_from <= item.due_by
        assert item.opened_at <= as_of
        assert item.status is status_at(item.due_from, item.due_by, item.done_at, as_of)
        if item.done_at is not None:
            assert item.done_at <= as_of
            assert item.status is FollowUpStatus.DONE
        if item.kind is FollowUpKind.STAY_IN_TOUCH:
            assert item.done_at is None


@CANDIDACY_EXAMPLES
@given(candidacies())
def test_items_are_deterministic(example):
    facts, as_of, contacts = example

    first = follow_up_items(facts, as_of, contacts=contacts)
    second = follow_up_items(facts, as_of, contacts=dict(reversed(list(contacts.items()))))

    assert first == second
    assert first == sorted(first, key=lambda item: (item.due_by, item.kind.value, str(item.contact_id or "")))


@CANDIDACY_EXAMPLES
@given(candidacies())
def test_at_most_one_check_in_is_open_and_none_after_an_outcome(example):
    facts, as_of, contacts = example

    items = follow_up_items(facts, as_of, contacts=contacts)

    open_check_ins = [i for i in items if i.kind is FollowUpKind.CHECK_IN and i.status is not FollowUpStatus.DONE]
    assert len(open_check_ins) <= 1
    if facts.outcome is not None and facts.outcome.occurred_at <= as_of:
        assert open_check_ins == []



@EXAMPLES
@given(candidacies())
def test_interview_items_are_the_follow_up_items_of_those_kinds(candidacy):
    facts, as_of, contacts = candidacy
    expected = [item for item in follow_up_items(facts, as_of, contacts=contacts)
                if item.kind in (FollowUpKind.THANK_YOU, FollowUpKind.CHECK_IN)]
    assert interview_items(facts, as_of) == expected
