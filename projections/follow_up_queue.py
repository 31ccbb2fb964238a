"""The follow-up queue: one row per owed (or done) item, computed by the domain's rules.

Its tables:
- follow_up_items: the items, with due_from, due_by and done_at; status is derived
  at query time, so nothing needs to run when a deadline passes;
- follow_up_candidacies: each candidacy's facts (JSON) and owner, what the rules read;
- follow_up_contacts: each employer contact's touches (all, and the latest) and LinkedIn connection;
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
from domain.rules import follow_up_items, relationship_items
from domain.values import (
    CandidacyFacts,
    ContactFacts,
    FollowUpItem,
    FollowUpKind,
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
        self.sql_create_statements.extend(
            self.sql(statement)
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
                    last_touch_at timestamptz,
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
                    ON {schema}.follow_up_items (candidacy_id, kind)""",
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

    def load_latest_touches(self, curs: Cursor[DictRow], ids: Iterable[UUID]) -> dict[UUID, ContactFacts]:
        """Each contact's latest touch and LinkedIn connection: all the queue needs of it."""
        curs.execute(
            self.sql("SELECT contact_id, last_touch_at, linkedin_connected_at FROM {schema}.follow_up_contacts "
                     "WHERE contact_id = ANY(%s)"),
            (list(ids),),
        )
        return {
            row["contact_id"]: ContactFacts(
                row["contact_id"], (row["last_touch_at"],) if row["last_touch_at"] else (),
                row["linkedin_connected_at"],
            )
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

    def add_touches(self, curs: Cursor[DictRow], changes: dict[UUID, ContactChange]) -> None:
        """Append the page's touches (only the new ones travel) and keep the latest and the first connection."""
        curs.executemany(
            self.sql(
                "INSERT INTO {schema}.follow_up_contacts AS c (contact_id, touches, last_touch_at, "
                "linkedin_connected_at) VALUES (%s, %s, %s, %s) ON CONFLICT (contact_id) DO UPDATE SET "
                "touches = c.touches || EXCLUDED.touches, "
                "last_touch_at = greatest(c.last_touch_at, EXCLUDED.last_touch_at), "
                "linkedin_connected_at = least(c.linkedin_connected_at, EXCLUDED.linkedin_connected_at)"
            ),
            [
                (contact_id, change.touches, max(change.touches, default=None), change.linkedin_connected_at)
                for contact_id, change in sorted(changes.items())
            ],
        )

    def save_interviewers(self, curs: Cursor[DictRow], pairs: Iterable[tuple[UUID, UUID]]) -> None:
        curs.executemany(
            self.sql("INSERT INTO {schema}.follow_up_interviewers (contact_id, candidacy_id) VALUES (%s, %s) "
                     "ON CONFLICT DO NOTHING"),
            sorted(pairs),
        )

    def replace_items(
        self,
        curs: Cursor[DictRow],
        candidacy_ids: Sequence[UUID],
        items: Sequence[tuple[FollowUpItem, CandidacyRow]],
        kinds: Sequence[str] | None = None,
    ) -> None:
        """Replace the candidacies' items (only those of `kinds`, when given)."""
        if kinds is None:
            curs.execute(self.sql("DELETE FROM {schema}.follow_up_items WHERE candidacy_id = ANY(%s)"),
                         (list(candidacy_ids),))
        else:
            curs.execute(
                self.sql("DELETE FROM {schema}.follow_up_items WHERE candidacy_id = ANY(%s) AND kind = ANY(%s)"),
                (list(candidacy_ids), list(kinds)),
            )
        with curs.copy(self.sql(
            "COPY {schema}.follow_up_items (candidacy_id, kind, contact_id, opened_at, candidate_id, owner_id, "
            "team, due_from, due_by, done_at, flags, reason) FROM STDIN"
        )) as copy:
            for item, row in items:
                copy.write_row((
                    item.candidacy_id, item.kind.value, item.contact_id, item.opened_at, item.candidate_id,
                    row.owner_id, row.team, item.due_from, item.due_by, item.done_at, list(item.flags), item.reason,
                ))


@dataclass
class ContactChange:
    """What one page adds to a contact: new touches, maybe a LinkedIn connection."""

    touches: list[datetime]
    linkedin_connected_at: datetime | None = None


RELATIONSHIP_KINDS = (FollowUpKind.CONNECT_LINKEDIN.value, FollowUpKind.STAY_IN_TOUCH.value)


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
            candidacy_events = [e for e in events if isinstance(e, Candidacy.Event)]
            changed = {e.originator_id for e in candidacy_events}
            candidacies = view.load_candidacies(
                curs, {e.originator_id for e in candidacy_events if not isinstance(e, Candidacy.Opened)}
            )
            contact_changes: dict[UUID, ContactChange] = {}
            new_interviewers: set[tuple[UUID, UUID]] = set()
            for event in events:
                if isinstance(event, Candidacy.Opened):
                    candidacies[event.originator_id] = CandidacyRow(
                        CandidacyFacts(event.originator_id, event.candidate_id, event.timezone,
                                       event.country, event.subdivision),
                        event.owner_id, event.team,
                    )
                elif isinstance(event, Candidacy.Event):
                    row = candidacies[event.originator_id]
                    row.facts = apply_candidacy_event(row.facts, event)
                    if isinstance(event, Candidacy.Interview):
                        new_interviewers.update((c, event.originator_id) for c in event.interviewer_ids)
                for contact_id in _contacts_touched(event):
                    change = contact_changes.setdefault(contact_id, ContactChange([]))
                    if isinstance(event, Contact.LinkedInConnected):
                        change.linkedin_connected_at = min(
                            filter(None, (change.linkedin_connected_at, event.connected_at))
                        )
                    else:
                        change.touches.append(event.occurred_at)

            before = view.load_latest_touches(curs, contact_changes)
            view.add_touches(curs, contact_changes)
            view.save_interviewers(curs, new_interviewers)
            # A contact's newer latest touch (or connection) moves the relationship items of
            # every closed candidacy that contact interviewed for; nothing else of theirs changes.
            moved = {
                contact_id for contact_id, change in contact_changes.items()
                if _moves_relationship(before.get(contact_id), change)
            }
            relationship_only = view.closed_candidacies_interviewed_by(curs, moved) - changed
            candidacies.update(view.load_candidacies(curs, relationship_only))
            interviewers = {
                contact_id for cid in changed | relationship_only
                for contact_id in candidacies[cid].facts.interviewer_ids
            }
            contacts = view.load_latest_touches(curs, interviewers)

            changed_rows = [candidacies[cid] for cid in sorted(changed)]
            view.save_candidacies(curs, changed_rows)
            view.replace_items(curs, sorted(changed), [
                (item, row) for row in changed_rows
                for item in follow_up_items(row.facts, AFTER_EVERYTHING, contacts=contacts, policy=self.policy)
            ])
            view.replace_items(curs, sorted(relationship_only), [
                (item, candidacies[cid]) for cid in sorted(relationship_only)
                for item in relationship_items(candidacies[cid].facts, AFTER_EVERYTHING, contacts=contacts,
                                               policy=self.policy)
            ], kinds=RELATIONSHIP_KINDS)
            view._insert_tracking(curs, tracking)


def apply_candidacy_event(facts: CandidacyFacts, event: DomainEventProtocol[UUID]) -> CandidacyFacts:
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


def _moves_relationship(before: ContactFacts | None, change: ContactChange) -> bool:
    if change.linkedin_connected_at is not None and (
        before is None or before.linkedin_connected_at is None
        or change.linkedin_connected_at < before.linkedin_connected_at
    ):
        return True
    latest_before = max(before.touches, default=None) if before is not None else None
    return bool(change.touches) and (latest_before is None or max(change.touches) > latest_before)
