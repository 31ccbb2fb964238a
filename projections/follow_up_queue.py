"""The follow-up queue: one row per owed (or done) item, computed by the domain's rules.

Its tables:
- follow_up_candidacy_items: the thank_you, check_in and connect_linkedin items, with due_from,
  due_by and done_at; status is derived at query time, so nothing needs to run when a deadline passes;
- follow_up_stay_in_touch: each stay_in_touch item's candidacy, contact and time zone, and
  follow_up_stay_in_touch_schedules: each (contact, time zone)'s schedule, which those items share
  (a contact interviews for many candidacies, and each newer touch moves the item in all of them:
  one row a contact and zone moves, not one an item);
- the view follow_up_items: every item, the two joined back, as one row each;
- follow_up_candidacies: each candidacy's facts (JSON) and owner, what the rules read;
- follow_up_contacts: each employer contact's touches (all, and the latest), LinkedIn connection
  and erasure;
- follow_up_interviewers: which contacts interviewed for which candidacy.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Tracking
from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Identifier

from domain.candidacy import Candidacy
from domain.contact import Contact
from domain.rules import (
    StayInTouchSchedule,
    connect_linkedin_item,
    stay_in_touch_item,
    stay_in_touch_schedule,
)
from domain.values import (
    CandidacyFacts,
    ContactFacts,
    FollowUpItem,
    FollowUpKind,
)
from projections.candidacy_batches import (
    AFTER_EVERYTHING,
    CANDIDACY_FOLDS,
    CandidacyRowsView,
    FactsInProgress,
    opened_facts,
)
from projections.facts_codec import outcome_from_json
from projections.helper_processes import HelpedProjection
from projections.paging import PagedProjection
from projections.queue_items import (
    CANDIDACY_COLUMNS,
    ITEM_COLUMN_TYPES,
    ITEM_COLUMNS,
    STAY_IN_TOUCH_COLUMN_TYPES,
    STAY_IN_TOUCH_COLUMNS,
    CandidacyRow,
    EvaluatedChunk,
    copy_items,
    contacts_to_send,
    copy_stay_in_touch,
    evaluate_chunk,
    read_latest_touches,
    stay_in_touch_schedules,
)



# The view follow_up_items: every item, from two kinds of rows, each a relation with the view's columns.
ITEM_SOURCES = (
    "{schema}.follow_up_candidacy_items",
    "(SELECT s.candidacy_id, 'stay_in_touch'::text AS kind, s.contact_id, sc.opened_at, s.candidate_id, "
    "    s.owner_id, s.team, sc.due_from, sc.due_by, NULL::timestamptz AS done_at, '{{}}'::text[] AS flags, sc.reason "
    "FROM {schema}.follow_up_stay_in_touch AS s "
    "JOIN {schema}.follow_up_stay_in_touch_schedules AS sc USING (contact_id, timezone))",
)


class FollowUpQueueView(CandidacyRowsView):
    """The queue's tables, written with the tracking record in one transaction."""

    # A changed candidacy's rows, stored again whole (see insert_evaluated).
    candidacy_tables = ("follow_up_candidacies", "follow_up_candidacy_items", "follow_up_stay_in_touch")

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
                    linkedin_connected_at timestamptz,
                    erased_at timestamptz)""",
                """CREATE TABLE IF NOT EXISTS {schema}.follow_up_interviewers (
                    contact_id uuid NOT NULL,
                    candidacy_id uuid NOT NULL,
                    PRIMARY KEY (contact_id, candidacy_id))""",
                """CREATE TABLE IF NOT EXISTS {schema}.follow_up_candidacy_items (
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
                """CREATE INDEX IF NOT EXISTS follow_up_candidacy_items_open_by_team
                    ON {schema}.follow_up_candidacy_items (team, due_by) WHERE done_at IS NULL""",
                """CREATE INDEX IF NOT EXISTS follow_up_candidacy_items_open_by_owner
                    ON {schema}.follow_up_candidacy_items (owner_id, due_by) WHERE done_at IS NULL""",
                """CREATE INDEX IF NOT EXISTS follow_up_candidacy_items_by_candidacy
                    ON {schema}.follow_up_candidacy_items (candidacy_id, kind)""",
                """CREATE TABLE IF NOT EXISTS {schema}.follow_up_stay_in_touch (
                    candidacy_id uuid NOT NULL,
                    contact_id uuid NOT NULL,
                    timezone text NOT NULL,
                    candidate_id uuid NOT NULL,
                    owner_id uuid NOT NULL,
                    team text,
                    PRIMARY KEY (candidacy_id, contact_id))""",
                """CREATE INDEX IF NOT EXISTS follow_up_stay_in_touch_by_contact
                    ON {schema}.follow_up_stay_in_touch (contact_id, timezone)""",
                """CREATE INDEX IF NOT EXISTS follow_up_stay_in_touch_by_owner
                    ON {schema}.follow_up_stay_in_touch (owner_id)""",
                """CREATE TABLE IF NOT EXISTS {schema}.follow_up_stay_in_touch_schedules (
                    contact_id uuid NOT NULL,
                    timezone text NOT NULL,
                    opened_at timestamptz NOT NULL,
                    due_from timestamptz NOT NULL,
                    due_by timestamptz NOT NULL,
                    reason text NOT NULL,
                    PRIMARY KEY (contact_id, timezone))""",
                """CREATE INDEX IF NOT EXISTS follow_up_stay_in_touch_schedules_by_due
                    ON {schema}.follow_up_stay_in_touch_schedules (due_by)""",
                # Skipped over a follow_up_items table that an older version of the queue left: that
                # version's queries go on reading it until the rebuild switches this one in (see
                # projections.rebuild, which drops it then).
                """DO $$ BEGIN
                    IF to_regclass('{schema}.follow_up_items') IS NULL
                       OR (SELECT relkind FROM pg_class WHERE oid = to_regclass('{schema}.follow_up_items')) = 'v'
                    THEN
                        CREATE OR REPLACE VIEW {schema}.follow_up_items AS """
                + " UNION ALL ".join(f"SELECT {ITEM_COLUMNS} FROM {source} AS items" for source in ITEM_SOURCES)
                + """;
                    END IF;
                END $$""",
            )
        )

    def sql(self, statement: str) -> Any:
        return SQL(statement).format(schema=Identifier(self.datastore.schema))

    def skip_jit(self, curs: Cursor[DictRow]) -> None:
        """No JIT compiling in this transaction: the page's statements are short, but with the
        statistics of tables still growing the planner can think them costly enough for it."""
        curs.execute("SET LOCAL jit = off")

    def load_latest_touches(self, curs: Cursor[DictRow], ids: Collection[UUID]) -> dict[UUID, ContactFacts]:
        """Each contact's latest touch, LinkedIn connection and erasure: all the queue needs of it."""
        return read_latest_touches(curs.connection, self.datastore.schema, ids)

    def closed_candidacies_interviewed_by(
        self, curs: Cursor[DictRow], contact_ids: Collection[UUID], excluding: Collection[UUID]
    ) -> list[tuple[UUID, CandidacyRow]]:
        """(contact, candidacy) for each closed candidacy the contacts interviewed for, but those excluded.

        The candidacies' facts come without their interviews, notes and check-ins: enough for
        the relationship items of a contact whose latest touch is known (see stay_in_touch_item)."""
        if not contact_ids:
            return []
        # Written as lookups per contact, then per candidacy (LATERAL ... OFFSET 0 keeps each one an
        # index probe): during a rebuild the tables grow from empty faster than their statistics,
        # and a plan made from those would scan every candidacy in every page.
        with curs.connection.cursor(row_factory=tuple_row) as rows:  # hundreds a page: no dict per row
            rows.execute(
                self.sql(
                    "SELECT m.contact_id, c.* FROM unnest(%b::uuid[]) AS m(contact_id) "
                    "CROSS JOIN LATERAL (SELECT candidacy_id FROM {schema}.follow_up_interviewers "
                    "    WHERE contact_id = m.contact_id OFFSET 0) AS i "
                    "CROSS JOIN LATERAL (SELECT candidacy_id, candidate_id, owner_id, team, "
                    "    facts->>'timezone' AS timezone, facts->>'country' AS country, "
                    "    facts->>'subdivision' AS subdivision, (facts->'outcome')::text AS outcome "
                    "    FROM {schema}.follow_up_candidacies WHERE candidacy_id = i.candidacy_id AND closed OFFSET 0) AS c "
                    "WHERE NOT c.candidacy_id = ANY(%b) "
                    "ORDER BY c.candidacy_id, m.contact_id"
                ),
                (list(contact_ids), list(excluding)),
            )
            return [
                (
                    contact_id,
                    CandidacyRow(
                        CandidacyFacts(candidacy_id, candidate_id, timezone, country, subdivision,
                                       outcome=outcome_from_json(orjson.loads(outcome))),
                        owner_id, team,
                    ),
                )
                for (contact_id, candidacy_id, candidate_id, owner_id, team, timezone, country, subdivision,
                     outcome) in rows.fetchall()
            ]

    def stay_in_touch_time_zones(self, curs: Cursor[DictRow], contact_ids: Collection[UUID]) -> list[tuple[UUID, str]]:
        """(contact, time zone) of each stay-in-touch schedule the contacts have."""
        if not contact_ids:
            return []
        with curs.connection.cursor(row_factory=tuple_row) as rows:
            rows.execute(
                self.sql("SELECT contact_id, timezone FROM {schema}.follow_up_stay_in_touch_schedules "
                         "WHERE contact_id = ANY(%b) ORDER BY 1, 2"),
                (list(contact_ids),),
            )
            return rows.fetchall()

    def save_stay_in_touch_schedules(
        self, curs: Cursor[DictRow], schedules: Mapping[tuple[UUID, str], StayInTouchSchedule]
    ) -> None:
        """Store each (contact, time zone)'s schedule: every stay_in_touch item of the contact in a
        candidacy of that time zone shows it."""
        if not schedules:
            return
        keys = sorted(schedules)
        curs.execute(
            self.sql(
                "INSERT INTO {schema}.follow_up_stay_in_touch_schedules "
                "(contact_id, timezone, opened_at, due_from, due_by, reason) "
                "SELECT * FROM unnest(%b::uuid[], %b::text[], %b::timestamptz[], %b::timestamptz[], "
                "%b::timestamptz[], %b::text[]) "
                "ON CONFLICT (contact_id, timezone) DO UPDATE SET opened_at = EXCLUDED.opened_at, "
                "due_from = EXCLUDED.due_from, due_by = EXCLUDED.due_by, reason = EXCLUDED.reason"
            ),
            (
                [contact_id for contact_id, _ in keys], [zone for _, zone in keys],
                [schedules[key].last_touch for key in keys], [schedules[key].due_from for key in keys],
                [schedules[key].due_by for key in keys], [schedules[key].reason for key in keys],
            ),
        )

    def delete_stay_in_touch_schedules(self, curs: Cursor[DictRow], contact_ids: Collection[UUID]) -> None:
        if contact_ids:
            curs.execute(
                self.sql("DELETE FROM {schema}.follow_up_stay_in_touch_schedules WHERE contact_id = ANY(%b)"),
                (sorted(contact_ids),),
            )

    def add_touches(self, curs: Cursor[DictRow], changes: dict[UUID, ContactChange]) -> None:
        """Append the batch's touches (only the new ones travel) and keep the latest, the first connection
        and the first erasure."""
        if not changes:
            return
        # One row per touch, and one for a connection or an erasure, grouped back per contact by the statement.
        contact_ids: list[UUID] = []
        touches: list[datetime | None] = []
        connections: list[datetime | None] = []
        erasures: list[datetime | None] = []
        for contact_id, change in changes.items():
            for touch in change.touches:
                contact_ids.append(contact_id)
                touches.append(touch)
                connections.append(None)
                erasures.append(None)
            if change.linkedin_connected_at is not None or change.erased_at is not None or not change.touches:
                contact_ids.append(contact_id)
                touches.append(None)
                connections.append(change.linkedin_connected_at)
                erasures.append(change.erased_at)
        curs.execute(
            self.sql(
                "INSERT INTO {schema}.follow_up_contacts AS c (contact_id, touches, last_touch_at, "
                "linkedin_connected_at, erased_at) "
                "SELECT contact_id, coalesce(array_agg(touch ORDER BY n) FILTER (WHERE touch IS NOT NULL), '{{}}'), "
                "max(touch), min(connected_at), min(erased_at) "
                "FROM unnest(%b::uuid[], %b::timestamptz[], %b::timestamptz[], %b::timestamptz[]) WITH ORDINALITY "
                "AS t(contact_id, touch, connected_at, erased_at, n) "
                "GROUP BY contact_id ORDER BY contact_id "
                "ON CONFLICT (contact_id) DO UPDATE SET "
                "touches = c.touches || EXCLUDED.touches, "
                "last_touch_at = greatest(c.last_touch_at, EXCLUDED.last_touch_at), "
                "linkedin_connected_at = least(c.linkedin_connected_at, EXCLUDED.linkedin_connected_at), "
                "erased_at = least(c.erased_at, EXCLUDED.erased_at)"
            ),
            (contact_ids, touches, connections, erasures),
        )

    def save_interviewers(self, curs: Cursor[DictRow], pairs: Collection[tuple[UUID, UUID]]) -> None:
        if not pairs:
            return
        curs.execute(
            self.sql("INSERT INTO {schema}.follow_up_interviewers (contact_id, candidacy_id) "
                     "SELECT * FROM unnest(%b::uuid[], %b::uuid[]) ON CONFLICT DO NOTHING"),
            ([contact_id for contact_id, _ in pairs], [candidacy_id for _, candidacy_id in pairs]),
        )

    def delete_relationship_items(self, curs: Cursor[DictRow], keys: Sequence[tuple[UUID, UUID, str]]) -> None:
        """Delete the items of these (candidacy, contact, kind)."""
        stay_in_touch = [(candidacy_id, contact_id) for candidacy_id, contact_id, kind in keys if kind == STAY_IN_TOUCH]
        others = [key for key in keys if key[2] != STAY_IN_TOUCH]
        if others:
            curs.execute(
                self.sql(
                    "DELETE FROM {schema}.follow_up_candidacy_items i "
                    "USING unnest(%b::uuid[], %b::uuid[], %b::text[]) AS k(candidacy_id, contact_id, kind) "
                    "WHERE i.candidacy_id = k.candidacy_id AND i.kind = k.kind AND i.contact_id = k.contact_id"
                ),
                ([candidacy_id for candidacy_id, _, _ in others], [contact_id for _, contact_id, _ in others],
                 [kind for _, _, kind in others]),
            )
        if stay_in_touch:
            curs.execute(
                self.sql(
                    "DELETE FROM {schema}.follow_up_stay_in_touch i "
                    "USING unnest(%b::uuid[], %b::uuid[]) AS k(candidacy_id, contact_id) "
                    "WHERE i.candidacy_id = k.candidacy_id AND i.contact_id = k.contact_id"
                ),
                ([candidacy_id for candidacy_id, _ in stay_in_touch], [contact_id for _, contact_id in stay_in_touch]),
            )

    def copy_candidacy_items_sql(self) -> Any:
        return self.sql(f"COPY {{schema}}.follow_up_candidacy_items ({ITEM_COLUMNS}) FROM STDIN (FORMAT BINARY)")

    def copy_stay_in_touch_sql(self) -> Any:
        return self.sql(f"COPY {{schema}}.follow_up_stay_in_touch ({STAY_IN_TOUCH_COLUMNS}) FROM STDIN (FORMAT BINARY)")

    def insert_items(
        self, curs: Cursor[DictRow], items: Iterable[tuple[CandidacyRow, list[FollowUpItem]]],
    ) -> dict[tuple[UUID, str], StayInTouchSchedule]:
        """Insert each candidacy's items (all of the candidacy's, or some). They are computed as they are
        copied in, so the server stores one part of them while the next is computed. Returns the schedules
        their stay_in_touch items show, for the caller to save (see save_stay_in_touch_schedules)."""
        with curs.copy(self.copy_candidacy_items_sql()) as copy:
            copy.set_types(ITEM_COLUMN_TYPES)
            stay_in_touch = copy_items(copy, items)
        if stay_in_touch:
            with curs.copy(self.copy_stay_in_touch_sql()) as copy:
                copy.set_types(STAY_IN_TOUCH_COLUMN_TYPES)
                copy_stay_in_touch(copy, stay_in_touch)
        return stay_in_touch_schedules(stay_in_touch)

    def insert_evaluated(self, curs: Cursor[DictRow], evaluated: EvaluatedChunk) -> None:
        """Insert the candidacies and items of an evaluated chunk: its COPY data as it came (their
        stay-in-touch schedules are the caller's to save)."""
        with curs.copy(self.sql(f"COPY {{schema}}.follow_up_candidacies ({CANDIDACY_COLUMNS}) FROM STDIN (FORMAT BINARY)")) as copy:
            copy.write(evaluated.candidacies)
        with curs.copy(self.copy_candidacy_items_sql()) as copy:
            copy.write(evaluated.items)
        with curs.copy(self.copy_stay_in_touch_sql()) as copy:
            copy.write(evaluated.stay_in_touch)


@dataclass
class ContactChange:
    """What a batch adds to a contact: new touches, maybe a LinkedIn connection or its erasure."""

    touches: list[datetime]
    linkedin_connected_at: datetime | None = None
    erased_at: datetime | None = None



CONNECT_LINKEDIN = FollowUpKind.CONNECT_LINKEDIN.value
STAY_IN_TOUCH = FollowUpKind.STAY_IN_TOUCH.value
RELATIONSHIP_RULES = {STAY_IN_TOUCH: stay_in_touch_item, CONNECT_LINKEDIN: connect_linkedin_item}


# Catching up, the queue takes up to this many events in one transaction. Each candidacy is evaluated
# once a transaction, and in a log written as things happen its events are spread over weeks (20,000
# events are about two weeks of a 50-recruiter agency). What a batch holds is what its events add to
# each candidacy's facts, not the events. Bigger batches evaluate fewer candidacies twice, but hold
# more: `followup serve` catching its five read models up on a million events peaked at 373 MB with
# batches of 100,000, 424 MB with 150,000 and 503 MB with 200,000 (the queue alone: 14,806 and
# 16,321 events/s with 100,000 and 200,000).
BATCH_EVENTS = 150_000


class FollowUpQueueProjection(HelpedProjection, PagedProjection[FollowUpQueueView]):
    name = "follow_up_queue"
    # 2: follow_up_contacts.erased_at; 3: stay_in_touch items as (candidacy, contact) and a schedule
    # per (contact, time zone), follow_up_items a view
    version = 3
    topics = tuple(
        get_topic(event_class)
        for event_class in (
            Candidacy.Opened, Candidacy.Interview, Candidacy.DeadlineStated, Candidacy.NoteSent,
            Candidacy.CheckInSent, Candidacy.OutcomeRecorded, Contact.NoteSent, Contact.LinkedInConnected,
            Contact.Erased,
        )
    )

    batch_events = BATCH_EVENTS
    write_behind = True

    evaluate_in_helpers = staticmethod(evaluate_chunk)

    def start_batch(self) -> QueueBatch:
        return QueueBatch(self)

    def process_page(self, events: Sequence[DomainEventProtocol[UUID]], tracking: Tracking) -> None:
        batch = self.start_batch()
        batch.add(events)
        batch.write(tracking)



class QueueBatch:
    """Events taken in for one transaction: each changed candidacy's facts, moved on by its events as
    they come (read from the tables the first time the batch meets the candidacy), each contact's
    change and the new interviewer pairs. The rules run when it is written, once per changed candidacy."""

    def __init__(self, projection: FollowUpQueueProjection) -> None:
        self.projection = projection
        self.opened: dict[UUID, CandidacyRow] = {}  # opened in the batch: no items stored for them yet
        self.moved: dict[UUID, FactsInProgress] = {}  # what the batch adds to each candidacy's facts
        self.contacts: dict[UUID, ContactChange] = {}
        self.interviewers: set[tuple[UUID, UUID]] = set()

    def add(self, events: Sequence[DomainEventProtocol[UUID]]) -> None:
        for event in events:
            kind = type(event)
            if (fold := CANDIDACY_FOLDS.get(kind)) is not None:
                if (moved := self.moved.get(event.originator_id)) is None:
                    moved = self.moved[event.originator_id] = FactsInProgress()
                fold(moved, event)
            if kind is Candidacy.Opened:
                self.opened[event.originator_id] = CandidacyRow(opened_facts(event), event.owner_id, event.team)
            elif kind is Candidacy.Interview:
                for contact_id in event.interviewer_ids:
                    self.interviewers.add((contact_id, event.originator_id))
                    self._contact(contact_id).touches.append(event.occurred_at)
            elif kind is Candidacy.NoteSent:
                self._contact(event.contact_id).touches.append(event.occurred_at)
            elif kind is Candidacy.CheckInSent:
                if event.contact_id is not None:
                    self._contact(event.contact_id).touches.append(event.occurred_at)
            elif kind is Contact.NoteSent:
                self._contact(event.originator_id).touches.append(event.occurred_at)
            elif kind is Contact.LinkedInConnected:
                change = self._contact(event.originator_id)
                change.linkedin_connected_at = _earliest(change.linkedin_connected_at, event.connected_at)
            elif kind is Contact.Erased:
                change = self._contact(event.originator_id)
                change.erased_at = _earliest(change.erased_at, event.occurred_at)

    def _contact(self, contact_id: UUID) -> ContactChange:
        change = self.contacts.get(contact_id)
        if change is None:
            change = self.contacts[contact_id] = ContactChange([])
        return change

    def write(self, tracking: Tracking) -> None:
        view, policy, contact_changes = self.projection.view, self.projection.policy, self.contacts
        changed = sorted(self.moved.keys() | self.opened.keys())
        with view.datastore.transaction(commit=True) as curs:
            view.start_page(curs, tracking.application_name)
            view.skip_jit(curs)

            # The contacts as of the end of the batch: what was stored, plus the batch's changes. The
            # batch's touches are stored last (add_touches, below), so what is read until then is
            # what was stored before the batch.
            before = view.load_latest_touches(curs, contact_changes.keys())
            contacts = dict(before)
            for contact_id, change in contact_changes.items():
                contacts[contact_id] = _with_change(contact_id, before.get(contact_id), change)

            # The changed candidacies, a chunk at a time (what a chunk's writes hold is freed before the
            # next): each one's stored facts are read once and moved on by all its events of the batch, so
            # the rules run once per candidacy per batch. Catching up, that runs in the helper processes,
            # from here on: while they evaluate, this one computes the relationship items, then stores
            # each chunk as it comes back.
            opened = {cid: (row.owner_id, row.team, row.facts) for cid, row in self.opened.items()}
            evaluated_chunks = self.projection.evaluate_batch(curs.connection, changed, opened, self.moved,
                                                              contacts_to_send(contacts.values()))
            # A contact's newer latest touch moves its stay_in_touch item in every closed candidacy
            # it interviewed for, a first connection its connect_linkedin item, and an erasure both
            # (it ends them); nothing else of those candidacies changes, so only those items are
            # computed again.
            moved = {
                contact_id: kinds for contact_id, change in contact_changes.items()
                if (kinds := _moved_kinds(before.get(contact_id), change))
            }
            # A newer touch alone moves the contact's stay-in-touch schedules (one a time zone), which
            # all its stay_in_touch items show: a contact interviews for many candidacies, and a log
            # written as things happen touches it often. The other moves are computed again
            # candidacy by candidacy.
            touched_only = {contact_id for contact_id, kinds in moved.items()
                            if kinds == (STAY_IN_TOUCH,) and contacts[contact_id].erased_at is None}
            # The batch's stay-in-touch schedules are saved once, at its end: these, the touched contacts', with
            # those of the relationship items and of the chunks' items (below). The chunks share contacts, and most
            # of a batch's contacts are both touched and in its chunks; each schedule is the contact's as of
            # the end of the batch, the same wherever it was computed (on a million-event log, 40% fewer
            # schedule rows written).
            schedules = {
                (contact_id, zone): stay_in_touch_schedule(max(contacts[contact_id].touches), zone, policy=policy)
                for contact_id, zone in view.stay_in_touch_time_zones(curs, touched_only)
            }
            moved = {contact_id: kinds for contact_id, kinds in moved.items() if contact_id not in touched_only}
            # An erased contact is owed no stay-in-touch message anywhere: its schedules go with its items.
            erased = {contact_id for contact_id, kinds in moved.items()
                      if STAY_IN_TOUCH in kinds and contacts[contact_id].erased_at is not None}
            related = view.closed_candidacies_interviewed_by(curs, moved.keys(), excluding=changed)

            # The writes that return nothing go in a pipeline: the server applies them while the
            # relationship items are computed here (leaving the block waits for all of them).
            with curs.connection.pipeline():
                view.save_interviewers(curs, self.interviewers)
                view.delete_stay_in_touch_schedules(curs, erased)
                view.delete_relationship_items(curs, [
                    (row.facts.candidacy_id, contact_id, kind)
                    for contact_id, row in related for kind in moved[contact_id]
                ])
                relationship_items = [
                    (row, [
                        item for kind in moved[contact_id]
                        if (item := RELATIONSHIP_RULES[kind](row.facts, contact_id, AFTER_EVERYTHING,
                                                             contact=contacts[contact_id], policy=policy))
                    ])
                    for contact_id, row in related
                ]
            if relationship_items:
                schedules.update(view.insert_items(curs, relationship_items))

            for chunk, evaluated in evaluated_chunks:
                # A candidacy opened in this batch has nothing stored yet; the others' rows are stored again.
                with curs.connection.pipeline():
                    view.delete_candidacies(curs, [cid for cid in chunk if cid not in self.opened])
                view.insert_evaluated(curs, evaluated)
                schedules.update(evaluated.schedules)
            view.save_stay_in_touch_schedules(curs, schedules)
            view.add_touches(curs, contact_changes)
            view.record_tracking(curs, tracking)


def _earliest(first: datetime | None, second: datetime | None) -> datetime | None:
    return min(filter(None, (first, second)), default=None)


def _with_change(contact_id: UUID, before: ContactFacts | None, change: ContactChange) -> ContactFacts:
    """The contact's latest touch, first connection and erasure once the batch's change is stored (see add_touches)."""
    latest = max((*(before.touches if before else ()), *change.touches), default=None)
    connected = min(
        filter(None, (before.linkedin_connected_at if before else None, change.linkedin_connected_at)),
        default=None,
    )
    erased = min(filter(None, (before.erased_at if before else None, change.erased_at)), default=None)
    return ContactFacts(contact_id, (latest,) if latest is not None else (), connected, erased)


def _moved_kinds(before: ContactFacts | None, change: ContactChange) -> tuple[str, ...]:
    """The kinds of relationship items the batch's change to a contact moves."""
    if change.erased_at is not None and (before is None or before.erased_at is None
                                         or change.erased_at < before.erased_at):
        return (CONNECT_LINKEDIN, STAY_IN_TOUCH)
    kinds = []
    if change.linkedin_connected_at is not None and (
        before is None or before.linkedin_connected_at is None
        or change.linkedin_connected_at < before.linkedin_connected_at
    ):
        kinds.append(CONNECT_LINKEDIN)
    latest_before = max(before.touches, default=None) if before is not None else None
    if change.touches and (latest_before is None or max(change.touches) > latest_before):
        kinds.append(STAY_IN_TOUCH)
    return tuple(kinds)
