"""The candidacy facts' JSON: the text the read models store is the document spelled out below,
and it reads back as the same facts."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any
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
from projections.facts_codec import facts_from_json, facts_to_json_text, outcome_from_json

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


def facts_to_json(facts: CandidacyFacts) -> dict[str, Any]:
    """The facts' JSON document, written out by hand."""
    return {
        "candidacy_id": str(facts.candidacy_id),
        "candidate_id": str(facts.candidate_id),
        "timezone": facts.timezone,
        "country": facts.country,
        "subdivision": facts.subdivision,
        "interviews": [
            {"held_at": r.held_at.isoformat(), "interviewer_ids": [str(c) for c in r.interviewer_ids],
             "format": r.format.value}
            for r in facts.interviews
        ],
        "deadlines": [
            {"decide_by": d.decide_by.isoformat(), "stated_at": d.stated_at.isoformat()} for d in facts.deadlines
        ],
        "notes": [
            {"contact_id": str(n.contact_id), "kind": n.kind.value, "channel": n.channel.value,
             "sent_at": n.sent_at.isoformat()}
            for n in facts.notes
        ],
        "check_ins": [
            {"channel": c.channel.value, "sent_at": c.sent_at.isoformat(),
             "contact_id": str(c.contact_id) if c.contact_id else None}
            for c in facts.check_ins
        ],
        "outcome": (
            {"outcome": facts.outcome.outcome.value, "occurred_at": facts.outcome.occurred_at.isoformat()}
            if facts.outcome else None
        ),
    }


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
