"""A realistic agency's history, written with batched saves (many aggregates a transaction)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from domain.application import Actor, FollowupApplication
from domain.candidacy import Candidacy
from domain.candidate import Candidate
from domain.contact import Contact
from domain.recruiter import Recruiter
from domain.values import Channel, InterviewFormat, NoteKind, Outcome, Role

ACTOR = Actor(uuid.UUID(int=99), "bench")
START = datetime(2024, 11, 1, 14, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 1, 14, 0, tzinfo=UTC)
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")


def agency_history(candidacies: int, seed: int = 7) -> Iterator[list]:
    """Batches of new aggregates whose pending events make up the history:
    50 recruiters in 5 teams, a candidate per 5 candidacies, a contact per 20 candidacies at a
    company per 250 (20,000 candidates, 5,000 contacts at 400 companies for 100,000 candidacies),
    then candidacies with 1-3 rounds, deadlines, thank-yous (some late, some handwritten),
    check-ins and outcomes."""
    rng = random.Random(seed)
    teams = [f"team-{i}" for i in range(5)]
    recruiters = [
        Recruiter(f"Recruiter {i}", Role.RECRUITER, teams[i % 5], uuid.uuid4().hex, ACTOR.actor_id, "bench", START)
        for i in range(50)
    ]
    yield recruiters
    companies = [f"Hospital {i}" for i in range(max(4, candidacies // 250))]
    contacts = [
        Contact(f"Contact {i}", companies[i % len(companies)], "Nurse Manager", None, None, ACTOR.actor_id,
                "bench", START)
        for i in range(max(10, candidacies // 20))
    ]
    yield contacts
    # Each candidate has several candidacies, all owned by the candidate's recruiter.
    candidate_count = max(10, candidacies // 5)
    candidates: list[Candidate] = []
    batch: list = []
    for n in range(candidacies):
        k = n % candidate_count
        owner = recruiters[k % len(recruiters)]
        if k == len(candidates):
            candidates.append(Candidate(f"Candidate {k}", None, None, "ICU RN", None, owner.id, owner.team,
                                        ACTOR.actor_id, "bench", START))
            batch.append(candidates[k])
        candidate = candidates[k]
        held_at = START + timedelta(days=rng.randrange(0, 700), hours=rng.randrange(0, 8))
        # Opened a few days to three weeks before the first round.
        opened_at = max(START, held_at - timedelta(days=rng.randint(3, 20)))
        candidacy = Candidacy(candidate.id, owner.id, owner.team, rng.choice(companies), "RN",
                              rng.choice(ZONES), "US", None, ACTOR.actor_id, "bench", opened_at)
        for _ in range(rng.randint(1, 3)):
            if held_at >= NOW:
                break
            interviewers = rng.sample(contacts, rng.randint(1, 3))
            candidacy.record_interview(held_at, [c.id for c in interviewers], InterviewFormat.VIDEO,
                                       now=NOW, actor_id=ACTOR.actor_id, correlation_id="bench")
            if rng.random() < 0.5:
                decide_by = (held_at + timedelta(days=rng.randint(2, 10))).date()
                candidacy.state_deadline(decide_by, held_at + timedelta(hours=1), now=NOW,
                                         actor_id=ACTOR.actor_id, correlation_id="bench")
            for contact in interviewers:
                if rng.random() < 0.85:
                    sent_at = held_at + timedelta(hours=rng.choice((2, 5, 20, 30, 50)))
                    channel = Channel.HANDWRITTEN if rng.random() < 0.1 else Channel.EMAIL
                    if sent_at < NOW:
                        candidacy.send_note(contact.id, NoteKind.THANK_YOU, channel, sent_at, now=NOW,
                                            actor_id=ACTOR.actor_id, correlation_id="bench")
            check_in_at = held_at + timedelta(days=rng.randint(2, 12))
            if rng.random() < 0.7 and check_in_at < NOW:
                candidacy.send_check_in(Channel.EMAIL, interviewers[0].id, check_in_at, now=NOW,
                                        actor_id=ACTOR.actor_id, correlation_id="bench")
            held_at += timedelta(days=rng.randint(7, 20))
        if rng.random() < 0.6 and held_at < NOW:
            candidacy.record_outcome(rng.choice(list(Outcome)), held_at, now=NOW, actor_id=ACTOR.actor_id,
                                     correlation_id="bench")
        batch.append(candidacy)
        if len(batch) >= 400:
            yield batch
            batch = []
    if batch:
        yield batch


# Events per save (one transaction). Thousands in one insert stall in psycopg's pipeline over a
# Unix socket (the embedded server's): the server waits for the client while the client waits for
# the server.
SAVE_CHUNK = 400


def history_in_time_order(candidacies: int) -> list:
    """Every event of the agency's history, in the order things happened, as a log written while they
    happen holds them: a candidacy's events are spread over its weeks, between those of the others.
    (Saved aggregate by aggregate, each candidacy's events would sit together in the log, and a
    projection would meet each candidacy once, where in a real log it meets it at every event.)"""
    timed: list[tuple[datetime, int, object]] = []
    for batch in agency_history(candidacies):
        for aggregate in batch:
            latest = START
            for event in aggregate.collect_events():
                # A stated decision date or a backdated note may be recorded before an earlier fact of
                # its stream: each event goes no earlier than the one before it in its stream.
                latest = max(latest, event.occurred_at)
                timed.append((latest, len(timed), event))
    timed.sort(key=lambda entry: (entry[0], entry[1]))
    return [event for _, _, event in timed]


def load_history(app: FollowupApplication, candidacies: int) -> int:
    """Save the generated history in the order it happened, a few hundred events a transaction;
    returns the events written."""
    events = history_in_time_order(candidacies)
    for start in range(0, len(events), SAVE_CHUNK):
        app.save(*events[start:start + SAVE_CHUNK])
    return len(events)
