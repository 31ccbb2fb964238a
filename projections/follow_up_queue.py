"""The follow-up queue: one row per owed (or done) item, computed by the domain's rules.

Its tables:
- follow_up_items: the items, with due_from, due_by and done_at; status is derived
  at query time, so nothing needs to run when a deadline passes;
- follow_up_candidacies: each candidacy's facts (JSON) and owner, what the rules read;
- follow_up_contacts: each employer contact's touches and LinkedIn connection;
- follow_up_interviewers: which contacts interviewed for which candidacy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Tracking
from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb

from domain.candidacy import Candidacy
from domain.contact import Contact
from domain.rules import follow_up_items
from domain.values import (
    CandidacyFacts,
    ContactFacts,
    FollowUpItem,
    InterviewRound,
    RecordedOutcome,
    SentCheckIn,
    SentNote,
    StatedDeadline,
)
from projections.facts_codec import facts_from_json, facts_to_json
from projections.paging import PagedProjection, PagedView

# The projection keeps every fact it knows of, so it evaluates the rules after all of them.
AFTER_EVERYTHING = datetime(2100, 1, 1, tzinfo=UTC)


@dataclass
class CandidacyRow:
    facts: CandidacyFacts
    owner_id: UUID
    team: str | None


class FollowUpQueueView(PagedView):
    """The queue's tables, written with the tracking record in one transaction."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schema = Identifier(self.datastore.schema)
        self.sql_create_statements.extend(
            SQL(statement).format(schema=schema)
            for statement in (
                """CREATE TABLE IF NOT EXISTS {schema}.follow_up_candidacies (
                    candidacy_id uuid PRIMARY KEY,
                    candidate_id uuid NOT NULL,
                    owner_id uuid NOT NULL,
                    team text,
                    closed boolean NOT NULL DEFAULT false,
                    facts jsonb NOT NULL)""",
                """CREATE TABLE IF NOT EXISTS {schema}.follow_up_contacts (
                    contact_id uuid PRIMARY KEY,
                    touches timestamptz[] NOT NULL DEFAULT '{{}}',
                    linkedin_connected_at timestamptz)""",
                """CREATE TABLE IF NOT EXISTS {schema}.follow_up_interviewers (
                    contact_id uuid NOT NULL,
                    candidacy_id uuid NOT NULL,
                    PRIMARY KEY (contact_id, candidacy_id))""",
                """CREATE TABLE IF NOT EXISTS {schema}.follow_up_items (
                    candidacy_id uuid NOT NULL,
                    kind text NOT NULL,
                    contact_id uuid,
                    opened_at timestamptz NOT NULL,
                    candidate_id uuid NOT NULL,
                    owner_id uuid NOT NULL,
                    team text,
                    due_from timestamptz NOT NULL,
                    due_by timestamptz NOT NULL,
                    done_at timestamptz,
                    flags text[] NOT NULL DEFAULT '{{}}',
                    reason text NOT NULL)""",
                # "This team's open items due before T", and one candidacy's items.
                """CREATE INDEX IF NOT EXISTS follow_up_items_open_by_team
                    ON {schema}.follow_up_items (team, due_by) WHERE done_at IS NULL""",
                """CREATE INDEX IF NOT EXISTS follow_up_items_open_by_owner
                    ON {schema}.follow_up_items (owner_id, due_by) WHERE done_at IS NULL""",
                """CREATE INDEX IF NOT EXISTS follow_up_items_by_candidacy
                    ON {schema}.follow_up_items (candidacy_id)""",
            )
        )

    def sql(self, statement: str) -> Any:
        return SQL(statement).format(schema=Identifier(self.datastore.schema))

    def load_candidacies(self, curs: Cursor[DictRow], ids: Iterable[UUID]) -> dict[UUID, CandidacyRow]:
        curs.execute(
            self.sql("SELECT candidacy_id, owner_id, team, facts FROM {schema}.follow_up_candidacies "
                     "WHERE candidacy_id = ANY(%s)"),
            (list(ids),),
        )
        return {
            row["candidacy_id"]: CandidacyRow(facts_from_json(row["facts"]), row["owner_id"], row["team"])
            for row in curs.fetchall()
        }

    def load_contacts(self, curs: Cursor[DictRow], ids: Iterable[UUID]) -> dict[UUID, ContactFacts]:
        curs.execute(
            self.sql("SELECT contact_id, touches, linkedin_connected_at FROM {schema}.follow_up_contacts "
                     "WHERE contact_id = ANY(%s)"),
            (list(ids),),
        )
        return {
            row["contact_id"]: ContactFacts(row["contact_id"], tuple(row["touches"]), row["linkedin_connected_at"])
            for row in curs.fetchall()
        }

    def closed_candidacies_interviewed_by(self, curs: Cursor[DictRow], contact_ids: Iterable[UUID]) -> set[UUID]:
        curs.execute(
            self.sql("SELECT i.candidacy_id FROM {schema}.follow_up_interviewers i "
                     "JOIN {schema}.follow_up_candidacies c USING (candidacy_id) "
                     "WHERE i.contact_id = ANY(%s) AND c.closed"),
            (list(contact_ids),),
        )
        return {row["candidacy_id"] for row in curs.fetchall()}

    def save_candidacies(self, curs: Cursor[DictRow], rows: Sequence[CandidacyRow]) -> None:
        curs.executemany(
            self.sql(
                "INSERT INTO {schema}.follow_up_candidacies "
                "(candidacy_id, candidate_id, owner_id, team, closed, facts) VALUES (%s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (candidacy_id) DO UPDATE SET closed = EXCLUDED.closed, facts = EXCLUDED.facts"
            ),
            [
                (row.facts.candidacy_id, row.facts.candidate_id, row.owner_id, row.team,
                 row.facts.outcome is not None, Jsonb(facts_to_json(row.facts)))
                for row in rows
            ],
        )

    def save_contacts(self, curs: Cursor[DictRow], contacts: Sequence[ContactFacts]) -> None:
        curs.executemany(
            self.sql(
                "INSERT INTO {schema}.follow_up_contacts (contact_id, touches, linkedin_connected_at) "
                "VALUES (%s, %s, %s) ON CONFLICT (contact_id) DO UPDATE "
                "SET touches = EXCLUDED.touches, linkedin_connected_at = EXCLUDED.linkedin_connected_at"
            ),
            [(c.contact_id, list(c.touches), c.linkedin_connected_at) for c in contacts],
        )

    def save_interviewers(self, curs: Cursor[DictRow], pairs: Iterable[tuple[UUID, UUID]]) -> None:
        curs.executemany(
            self.sql("INSERT INTO {schema}.follow_up_interviewers (contact_id, candidacy_id) VALUES (%s, %s) "
                     "ON CONFLICT DO NOTHING"),
            list(pairs),
        )

    def replace_items(
        self, curs: Cursor[DictRow], candidacy_ids: Sequence[UUID], items: Sequence[tuple[FollowUpItem, CandidacyRow]]
    ) -> None:
        curs.execute(self.sql("DELETE FROM {schema}.follow_up_items WHERE candidacy_id = ANY(%s)"),
                     (list(candidacy_ids),))
        with curs.copy(self.sql(
            "COPY {schema}.follow_up_items (candidacy_id, kind, contact_id, opened_at, candidate_id, owner_id, "
            "team, due_from, due_by, done_at, flags, reason) FROM STDIN"
        )) as copy:
            for item, row in items:
                copy.write_row((
                    item.candidacy_id, item.kind.value, item.contact_id, item.opened_at, item.candidate_id,
                    row.owner_id, row.team, item.due_from, item.due_by, item.done_at, list(item.flags), item.reason,
                ))

    def record_tracking(self, curs: Cursor[DictRow], tracking: Tracking) -> None:
        self._insert_tracking(curs, tracking)


class FollowUpQueueProjection(PagedProjection[FollowUpQueueView]):
    name = "follow_up_queue"
    topics = tuple(
        get_topic(event_class)
        for event_class in (
            Candidacy.Opened, Candidacy.Interview, Candidacy.DeadlineStated, Candidacy.NoteSent,
            Candidacy.CheckInSent, Candidacy.OutcomeRecorded, Contact.NoteSent, Contact.LinkedInConnected,
        )
    )

    def process_page(self, events: Sequence[DomainEventProtocol[UUID]], tracking: Tracking) -> None:
        view = self.view
        with view.datastore.transaction(commit=True) as curs:
            view.start_page(curs, tracking.application_name)
            candidacies = view.load_candidacies(
                curs, {e.originator_id for e in events if not isinstance(e, Candidacy.Opened)
                       and isinstance(e, Candidacy.Event)}
            )
            touched_contacts = {contact_id for e in events for contact_id in _contacts_touched(e)}
            contacts = view.load_contacts(curs, touched_contacts)
            dirty_candidacies: set[UUID] = set()
            new_interviewers: set[tuple[UUID, UUID]] = set()

            # Only a contact's newer last touch or a LinkedIn connection moves other candidacies' items.
            previous_contacts = dict(contacts)
            for event in events:
                if isinstance(event, Candidacy.Event):
                    if isinstance(event, Candidacy.Opened):
                        candidacies[event.originator_id] = CandidacyRow(
                            CandidacyFacts(event.originator_id, event.candidate_id, event.timezone,
                                           event.country, event.subdivision),
                            event.owner_id, event.team,
                        )
                    else:
                        row = candidacies[event.originator_id]
                        row.facts = _apply(row.facts, event)
                        if isinstance(event, Candidacy.Interview):
                            new_interviewers.update((c, event.originator_id) for c in event.interviewer_ids)
                    dirty_candidacies.add(event.originator_id)
                for contact_id in _contacts_touched(event):
                    contact = contacts.get(contact_id) or ContactFacts(contact_id)
                    contacts[contact_id] = _touch(contact, event)

            # A touch moves the stay-in-touch item of every closed candidacy the contact interviewed for.
            view.save_interviewers(curs, new_interviewers)
            moved_contacts = {
                contact_id for contact_id in touched_contacts
                if _moves_stay_in_touch(previous_contacts.get(contact_id), contacts[contact_id])
            }
            dirty_candidacies |= view.closed_candidacies_interviewed_by(curs, moved_contacts)
            missing = dirty_candidacies - candidacies.keys()
            candidacies.update(view.load_candidacies(curs, missing))
            interviewers = {c for cid in dirty_candidacies for c in candidacies[cid].facts.interviewer_ids}
            contacts.update(view.load_contacts(curs, interviewers - contacts.keys()))

            rows = [candidacies[cid] for cid in sorted(dirty_candidacies)]
            # Evaluated after every fact, only each contact's latest touch matters.
            latest_touches = {contact_id: _latest_touch_only(contact) for contact_id, contact in contacts.items()}
            items = [
                (item, row)
                for row in rows
                for item in follow_up_items(row.facts, AFTER_EVERYTHING, contacts=latest_touches, policy=self.policy)
            ]
            view.save_candidacies(curs, [candidacies[cid] for cid in sorted(dirty_candidacies)])
            view.save_contacts(curs, [contacts[cid] for cid in sorted(touched_contacts)])
            view.replace_items(curs, sorted(dirty_candidacies), items)
            view.record_tracking(curs, tracking)


def _apply(facts: CandidacyFacts, event: DomainEventProtocol[UUID]) -> CandidacyFacts:
    """The read side's copy of a candidacy's facts, moved on by one event."""
    if isinstance(event, Candidacy.Interview):
        round_ = InterviewRound(event.held_at, tuple(event.interviewer_ids), event.format)
        return replace(facts, interviews=(*facts.interviews, round_))
    if isinstance(event, Candidacy.DeadlineStated):
        return replace(facts, deadlines=(*facts.deadlines, StatedDeadline(event.decide_by, event.stated_at)))
    if isinstance(event, Candidacy.NoteSent):
        note = SentNote(event.contact_id, event.kind, event.channel, event.sent_at)
        return replace(facts, notes=(*facts.notes, note))
    if isinstance(event, Candidacy.CheckInSent):
        return replace(facts, check_ins=(*facts.check_ins, SentCheckIn(event.channel, event.sent_at, event.contact_id)))
    if isinstance(event, Candidacy.OutcomeRecorded):
        return replace(facts, outcome=RecordedOutcome(event.outcome, event.occurred_at))
    return facts


def _contacts_touched(event: DomainEventProtocol[UUID]) -> tuple[UUID, ...]:
    """The employer contacts an event is a touch with (or, for LinkedIn, a connection to)."""
    if isinstance(event, Candidacy.Interview):
        return tuple(event.interviewer_ids)
    if isinstance(event, Candidacy.NoteSent):
        return (event.contact_id,)
    if isinstance(event, Candidacy.CheckInSent) and event.contact_id is not None:
        return (event.contact_id,)
    if isinstance(event, (Contact.NoteSent, Contact.LinkedInConnected)):
        return (event.originator_id,)
    return ()


def _latest_touch_only(contact: ContactFacts) -> ContactFacts:
    return replace(contact, touches=(max(contact.touches),) if contact.touches else ())


def _moves_stay_in_touch(before: ContactFacts | None, after: ContactFacts) -> bool:
    if before is None:
        return True
    if before.linkedin_connected_at != after.linkedin_connected_at:
        return True
    return max(after.touches, default=None) != max(before.touches, default=None)


def _touch(contact: ContactFacts, event: DomainEventProtocol[UUID]) -> ContactFacts:
    if isinstance(event, Contact.LinkedInConnected):
        earliest = min(filter(None, (contact.linkedin_connected_at, event.connected_at)))
        return replace(contact, linkedin_connected_at=earliest)
    return replace(contact, touches=(*contact.touches, event.occurred_at))
