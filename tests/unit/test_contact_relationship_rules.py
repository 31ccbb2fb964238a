"""One interviewer's relationship items, as the follow-up queue recomputes them when only that
contact moves, are the ones relationship_items gives for the whole candidacy."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.rules import connect_linkedin_item, relationship_items, stay_in_touch_item, stay_in_touch_schedule
from domain.values import (
    CandidacyFacts,
    Channel,
    ContactFacts,
    FollowUpKind,
    InterviewRound,
    NoteKind,
    Outcome,
    RecordedOutcome,
    SentCheckIn,
    SentNote,
)

CONTACTS = [UUID(int=n) for n in range(1, 4)]
START = datetime(2024, 1, 1, tzinfo=timezone.utc)
moments = st.integers(0, 200 * 24 * 60).map(lambda minutes: START + timedelta(minutes=minutes))
# The same instants read in other zones: the rules compare instants, whatever the zone.
zoned_moments = st.tuples(moments, st.sampled_from([timezone.utc, timezone(timedelta(hours=-5)),
                                                    timezone(timedelta(hours=9))])).map(lambda m: m[0].astimezone(m[1]))


@st.composite
def closed_candidacies(draw) -> tuple[CandidacyFacts, datetime, dict[UUID, ContactFacts]]:
    rounds = draw(st.lists(
        st.builds(InterviewRound, held_at=zoned_moments,
                  interviewer_ids=st.lists(st.sampled_from(CONTACTS), min_size=1, max_size=3).map(tuple)),
        min_size=1, max_size=3,
    ))
    notes = draw(st.lists(
        st.builds(SentNote, contact_id=st.sampled_from(CONTACTS), kind=st.sampled_from(NoteKind),
                  channel=st.sampled_from(Channel), sent_at=zoned_moments),
        max_size=4,
    ))
    check_ins = draw(st.lists(
        st.builds(SentCheckIn, channel=st.sampled_from(Channel), sent_at=zoned_moments,
                  contact_id=st.none() | st.sampled_from(CONTACTS)),
        max_size=3,
    ))
    facts = CandidacyFacts(
        candidacy_id=UUID(int=100),
        candidate_id=UUID(int=200),
        timezone=draw(st.sampled_from(["America/New_York", "Asia/Tokyo", "UTC"])),
        interviews=tuple(rounds),
        notes=tuple(notes),
        check_ins=tuple(check_ins),
        outcome=draw(st.none() | st.builds(RecordedOutcome, outcome=st.sampled_from(Outcome), occurred_at=moments)),
    )
    contacts = {
        contact_id: ContactFacts(contact_id, tuple(draw(st.lists(zoned_moments, max_size=2))),
                                 draw(st.none() | zoned_moments))
        for contact_id in draw(st.sets(st.sampled_from(CONTACTS)))
    }
    as_of = draw(st.sampled_from([datetime(2100, 1, 1, tzinfo=timezone.utc), START + timedelta(days=100)]))
    return facts, as_of, contacts


@settings(max_examples=200, deadline=None)
@given(example=closed_candidacies())
def test_one_interviewers_items_are_those_of_the_whole_candidacy(example):
    facts, as_of, contacts = example
    whole = relationship_items(facts, as_of, contacts=contacts)
    for contact_id in facts.interviewer_ids:
        if not any(contact_id in r.interviewer_ids and r.held_at <= as_of for r in facts.interviews):
            continue  # not an interviewer yet at as_of
        expected = {item.kind: item for item in whole if item.contact_id == contact_id}
        contact = contacts.get(contact_id)
        assert stay_in_touch_item(facts, contact_id, as_of, contact=contact) == expected.get(
            FollowUpKind.STAY_IN_TOUCH)
        assert connect_linkedin_item(facts, contact_id, as_of, contact=contact) == expected.get(
            FollowUpKind.CONNECT_LINKEDIN)


def _all_touches(facts: CandidacyFacts, contact_id: UUID, contact: ContactFacts | None) -> tuple[datetime, ...]:
    own = [r.held_at for r in facts.interviews if contact_id in r.interviewer_ids]
    own += [n.sent_at for n in facts.notes if n.contact_id == contact_id]
    own += [c.sent_at for c in facts.check_ins if c.contact_id == contact_id]
    return (*own, *(contact.touches if contact else ()))


@settings(max_examples=200, deadline=None)
@given(example=closed_candidacies())
def test_a_contact_holding_the_latest_touch_needs_only_the_candidacys_outcome_and_zone(example):
    # What the queue keeps: a contact's latest touch (every candidacy's touches included) and
    # connection; and, for a closed candidacy it interviewed for, the ids, zone and outcome.
    facts, _, contacts = example
    as_of = datetime(2100, 1, 1, tzinfo=timezone.utc)
    bare = CandidacyFacts(facts.candidacy_id, facts.candidate_id, facts.timezone, facts.country,
                          facts.subdivision, outcome=facts.outcome)
    for contact_id in facts.interviewer_ids:
        contact = contacts.get(contact_id)
        latest = ContactFacts(contact_id, (max(_all_touches(facts, contact_id, contact)),),
                              contact.linkedin_connected_at if contact else None)
        full = ContactFacts(contact_id, _all_touches(facts, contact_id, contact), latest.linkedin_connected_at)
        assert stay_in_touch_item(bare, contact_id, as_of, contact=latest) == stay_in_touch_item(
            facts, contact_id, as_of, contact=full)
        assert connect_linkedin_item(bare, contact_id, as_of, contact=latest) == connect_linkedin_item(
            facts, contact_id, as_of, contact=full)


@settings(max_examples=200, deadline=None)
@given(example=closed_candidacies())
def test_a_closed_candidacys_stay_in_touch_item_is_the_schedule_of_the_contacts_latest_touch_in_its_zone(example):
    # What the queue writes to every closed candidacy of one zone a contact interviewed for, when only
    # its latest touch moves: the schedule, computed once for them all.
    facts, _, contacts = example
    as_of = datetime(2100, 1, 1, tzinfo=timezone.utc)
    for contact_id in facts.interviewer_ids:
        contact = contacts.get(contact_id)
        full = ContactFacts(contact_id, _all_touches(facts, contact_id, contact),
                            contact.linkedin_connected_at if contact else None)
        item = stay_in_touch_item(facts, contact_id, as_of, contact=full)
        if facts.outcome is None:
            assert item is None
            continue
        schedule = stay_in_touch_schedule(max(full.touches), facts.timezone)
        assert (item.opened_at, item.due_from, item.due_by, item.reason) == tuple(schedule)
        assert (item.candidacy_id, item.candidate_id, item.contact_id) == (
            facts.candidacy_id, facts.candidate_id, contact_id)
        assert (item.done_at, item.flags) == (None, ())
