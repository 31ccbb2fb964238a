"""The candidacy facts' JSON: the text the follow-up queue stores is facts_to_json's document,
and it reads back as the same facts."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from uuid import UUID
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.values import (
    CandidacyFacts,
    Channel,
    InterviewFormat,
    InterviewRound,
    NoteKind,
    Outcome,
    RecordedOutcome,
    SentCheckIn,
    SentNote,
    StatedDeadline,
)
from projections.facts_codec import facts_from_json, facts_to_json, facts_to_json_text, outcome_from_json

ids = st.integers(1, 2**128 - 1).map(lambda n: UUID(int=n))
zones = st.sampled_from([timezone.utc, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30)),
                         ZoneInfo("America/New_York"), ZoneInfo("Europe/London")])
# Whole seconds and microseconds both: the two ways a time is written out.
moments = st.tuples(
    st.integers(0, 10 * 365 * 24 * 3600), st.sampled_from([0, 1, 500_000, 999_999]), zones
).map(lambda t: (datetime(2020, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=t[0], microseconds=t[1]))
      .astimezone(t[2]))

facts = st.builds(
    CandidacyFacts,
    candidacy_id=ids,
    candidate_id=ids,
    timezone=st.sampled_from(["UTC", "America/Chicago", "Asia/Kolkata"]),
    country=st.sampled_from(["US", "GB"]),
    subdivision=st.none() | st.sampled_from(["CA", "MA"]),
    interviews=st.lists(st.builds(InterviewRound, held_at=moments, interviewer_ids=st.lists(ids, max_size=3).map(tuple),
                                  format=st.sampled_from(InterviewFormat)), max_size=3).map(tuple),
    deadlines=st.lists(st.builds(StatedDeadline, decide_by=st.dates(date(2020, 1, 1), date(2035, 1, 1)),
                                 stated_at=moments), max_size=2).map(tuple),
    notes=st.lists(st.builds(SentNote, contact_id=ids, kind=st.sampled_from(NoteKind),
                             channel=st.sampled_from(Channel), sent_at=moments), max_size=3).map(tuple),
    check_ins=st.lists(st.builds(SentCheckIn, channel=st.sampled_from(Channel), sent_at=moments,
                                 contact_id=st.none() | ids), max_size=2).map(tuple),
    outcome=st.none() | st.builds(RecordedOutcome, outcome=st.sampled_from(Outcome), occurred_at=moments),
)


@settings(max_examples=300, deadline=None)
@given(candidacy=facts)
def test_the_stored_text_is_the_document_of_facts_to_json(candidacy):
    assert json.loads(facts_to_json_text(candidacy)) == facts_to_json(candidacy)


@settings(max_examples=300, deadline=None)
@given(candidacy=facts)
def test_the_stored_text_reads_back_as_the_same_facts(candidacy):
    assert facts_from_json(json.loads(facts_to_json_text(candidacy))) == candidacy


def test_no_outcome_reads_back_as_none():
    assert outcome_from_json(None) is None
