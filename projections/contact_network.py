"""The contact network: employer contacts, their companies, and who has been in touch with whom.

Its tables:
- contact_network_contacts: one row per contact, with touch counts, first and last
  touch, when the next stay-in-touch message is due, and the LinkedIn connection;
  the only place names are kept, so erasing a person scrubs one table: on Contact.Erased
  the name becomes "erased person" and the title is cleared, the touches stay, and
  no stay-in-touch message is due any more (erased_at set, next_touch_due NULL);
- contact_network_companies: one row per company, with its contacts and touches;
- contact_network_recruiter_edges: recruiter-contact pairs (the candidacy's owner,
  or the recruiter who sent a note on the contact's own stream);
- contact_network_candidate_edges: candidate-contact pairs (who interviewed whom);
- contact_network_candidacies: each candidacy's candidate, owner and team, which the
  edges need.

A touch is an interview (one per interviewer), a note (on a candidacy or on the
contact's own stream) or a check-in addressed to a contact.

Strength is computed at query time, so it decays without anything running:
    strength = (1 - exp(-touches / 3)) * 0.5 ^ (days since the last touch / 90)
in [0, 1]: about 0.28 after one touch, 0.63 after three, 0.95 after nine, halved by
every 90 days of silence. The SQL function network_strength(touches, last_touch_at,
as_of) computes it, and the views network_contacts, network_companies,
network_recruiter_contacts and network_candidate_contacts apply it at now().
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Tracking
from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from domain.candidacy import Candidacy
from domain.contact import Contact
from domain.values import ERASED_NAME
from projections.paging import PagedProjection, PagedView


@dataclass
class ContactChange:
    """What one page of events changes about one contact."""

    name: str | None = None
    company: str | None = None
    title: str | None = None
    added: int = 0  # 1 if the page holds the contact's Added event: counts it at its company
    touches: int = 0
    first_touch_at: datetime | None = None
    last_touch_at: datetime | None = None
    linkedin_connected_at: datetime | None = None

    def touch(self, at: datetime) -> None:
        self.touches += 1
        self.first_touch_at = at if self.first_touch_at is None else min(self.first_touch_at, at)
        self.last_touch_at = at if self.last_touch_at is None else max(self.last_touch_at, at)


# Who a touch is between, before the owner is looked up: the contact, and the candidacy
# it happened on, or (for a note on the contact's own stream) the recruiter who sent it.
TouchKey = tuple[UUID, UUID | None, UUID | None]


@dataclass
class TouchGroup:
    """The touches of one page between one contact and one candidacy (or one sender)."""

    touches: int = 0
    interviews: int = 0
    first_touch_at: datetime | None = None
    last_touch_at: datetime | None = None

    def touch(self, at: datetime, is_interview: bool) -> None:
        self.touches += 1
        self.interviews += is_interview
        self.first_touch_at = at if self.first_touch_at is None else min(self.first_touch_at, at)
        self.last_touch_at = at if self.last_touch_at is None else max(self.last_touch_at, at)


class ContactNetworkView(PagedView):
    """The network's tables and views, written with the tracking record in one transaction."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sql_create_statements.extend(
            self.sql(statement)
            for statement in (
                """CREATE TABLE IF NOT EXISTS {schema}.contact_network_contacts (
                    contact_id uuid PRIMARY KEY,
                    name text,
                    company text,
                    title text,
                    touches integer NOT NULL DEFAULT 0,
                    first_touch_at timestamptz,
                    last_touch_at timestamptz,
                    next_touch_due timestamptz,
                    linkedin_connected_at timestamptz,
                    erased_at timestamptz)""",
                """CREATE INDEX IF NOT EXISTS contact_network_contacts_by_company
                    ON {schema}.contact_network_contacts (company, last_touch_at)""",
                """CREATE INDEX IF NOT EXISTS contact_network_contacts_by_next_touch
                    ON {schema}.contact_network_contacts (next_touch_due)""",
                """CREATE TABLE IF NOT EXISTS {schema}.contact_network_companies (
                    company text PRIMARY KEY,
                    contacts integer NOT NULL DEFAULT 0,
                    touches integer NOT NULL DEFAULT 0,
                    last_touch_at timestamptz)""",
                """CREATE TABLE IF NOT EXISTS {schema}.contact_network_candidacies (
                    candidacy_id uuid PRIMARY KEY,
                    candidate_id uuid NOT NULL,
                    owner_id uuid NOT NULL,
                    team text)""",
                """CREATE TABLE IF NOT EXISTS {schema}.contact_network_recruiter_edges (
                    recruiter_id uuid NOT NULL,
                    contact_id uuid NOT NULL,
                    touches integer NOT NULL,
                    first_touch_at timestamptz NOT NULL,
                    last_touch_at timestamptz NOT NULL,
                    PRIMARY KEY (recruiter_id, contact_id))""",
                """CREATE INDEX IF NOT EXISTS contact_network_recruiter_edges_by_contact
                    ON {schema}.contact_network_recruiter_edges (contact_id)""",
                """CREATE TABLE IF NOT EXISTS {schema}.contact_network_candidate_edges (
                    candidate_id uuid NOT NULL,
                    contact_id uuid NOT NULL,
                    interviews integer NOT NULL,
                    touches integer NOT NULL,
                    first_touch_at timestamptz NOT NULL,
                    last_touch_at timestamptz NOT NULL,
                    PRIMARY KEY (candidate_id, contact_id))""",
                """CREATE INDEX IF NOT EXISTS contact_network_candidate_edges_by_contact
                    ON {schema}.contact_network_candidate_edges (contact_id)""",
                # The strength formula of the module docstring, in one place for every view and query.
                """CREATE OR REPLACE FUNCTION {schema}.network_strength(
                    touches integer, last_touch_at timestamptz, as_of timestamptz)
                    RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
                    SELECT CASE WHEN touches IS NULL OR touches <= 0 OR last_touch_at IS NULL THEN 0.0
                        ELSE (1 - exp(-touches / 3.0))
                            * power(0.5, greatest(0.0, extract(epoch FROM as_of - last_touch_at) / 86400.0) / 90.0)
                        END::double precision
                    $$""",
                """CREATE OR REPLACE VIEW {schema}.network_contacts AS
                    SELECT contact_id AS id, name, company, title, touches, first_touch_at, last_touch_at,
                           next_touch_due, linkedin_connected_at,
                           {schema}.network_strength(touches, last_touch_at, now()) AS strength,
                           erased_at
                    FROM {schema}.contact_network_contacts""",
                """CREATE OR REPLACE VIEW {schema}.network_companies AS
                    SELECT company, contacts, touches, last_touch_at,
                           {schema}.network_strength(touches, last_touch_at, now()) AS strength
                    FROM {schema}.contact_network_companies""",
                """CREATE OR REPLACE VIEW {schema}.network_recruiter_contacts AS
                    SELECT e.recruiter_id, e.contact_id, c.company, e.touches, e.first_touch_at, e.last_touch_at,
                           {schema}.network_strength(e.touches, e.last_touch_at, now()) AS strength
                    FROM {schema}.contact_network_recruiter_edges e
                    JOIN {schema}.contact_network_contacts c USING (contact_id)""",
                """CREATE OR REPLACE VIEW {schema}.network_candidate_contacts AS
                    SELECT e.candidate_id, e.contact_id, c.company, e.interviews, e.touches,
                           e.first_touch_at, e.last_touch_at,
                           {schema}.network_strength(e.touches, e.last_touch_at, now()) AS strength
                    FROM {schema}.contact_network_candidate_edges e
                    JOIN {schema}.contact_network_contacts c USING (contact_id)""",
            )
        )

    def sql(self, statement: str) -> Composed:
        return SQL(statement).format(schema=Identifier(self.datastore.schema))

    def save_candidacies(self, curs: Cursor[DictRow], opened: Sequence[Candidacy.Opened]) -> None:
        # Arrays go as %b (binary): psycopg's text form quotes every element through a regex,
        # several times slower than binary on a page's thousand rows.
        curs.execute(
            self.sql(
                "INSERT INTO {schema}.contact_network_candidacies (candidacy_id, candidate_id, owner_id, team) "
                "SELECT * FROM unnest(%b::uuid[], %b::uuid[], %b::uuid[], %b::text[]) "
                "ON CONFLICT (candidacy_id) DO NOTHING"
            ),
            (
                [e.originator_id for e in opened], [e.candidate_id for e in opened],
                [e.owner_id for e in opened], [e.team for e in opened],
            ),
            binary=True,
        )

    def save_contacts(self, curs: Cursor[DictRow], changes: dict[UUID, ContactChange], stay_in_touch_days: int) -> None:
        ids = list(changes)
        rows = [changes[contact_id] for contact_id in ids]
        # One statement for both tables: the page's changes are sent once, and each company
        # moves by its contacts' changes (contacts added in this page or before).
        curs.execute(
            self.sql(
                "WITH d AS (SELECT * FROM unnest(%(ids)b::uuid[], %(names)b::text[], %(companies)b::text[], "
                "%(titles)b::text[], %(added)b::integer[], %(touches)b::integer[], %(first)b::timestamptz[], "
                "%(last)b::timestamptz[], %(linkedin)b::timestamptz[]) AS d(contact_id, name, company, title, added, "
                "touches, first_touch_at, last_touch_at, linkedin_connected_at)), "
                "contacts AS (INSERT INTO {schema}.contact_network_contacts AS c (contact_id, name, company, title, "
                "touches, first_touch_at, last_touch_at, next_touch_due, linkedin_connected_at) "
                "SELECT contact_id, name, company, title, touches, first_touch_at, last_touch_at, "
                "last_touch_at + make_interval(days => %(days)s), linkedin_connected_at FROM d "
                # LEAST and GREATEST ignore NULLs, so a page without touches leaves them as they were.
                "ON CONFLICT (contact_id) DO UPDATE SET "
                "touches = c.touches + EXCLUDED.touches, "
                "first_touch_at = LEAST(c.first_touch_at, EXCLUDED.first_touch_at), "
                "last_touch_at = GREATEST(c.last_touch_at, EXCLUDED.last_touch_at), "
                # An erased contact is owed no stay-in-touch message (see scrub_contacts), whatever touches follow.
                "next_touch_due = CASE WHEN c.erased_at IS NULL THEN "
                "GREATEST(c.last_touch_at, EXCLUDED.last_touch_at) + make_interval(days => %(days)s) END, "
                "linkedin_connected_at = LEAST(c.linkedin_connected_at, EXCLUDED.linkedin_connected_at) "
                "RETURNING c.contact_id, c.company) "
                "INSERT INTO {schema}.contact_network_companies AS co (company, contacts, touches, last_touch_at) "
                "SELECT contacts.company, sum(d.added), sum(d.touches), max(d.last_touch_at) "
                "FROM d JOIN contacts USING (contact_id) "
                "WHERE contacts.company IS NOT NULL AND (d.added > 0 OR d.touches > 0) "
                "GROUP BY contacts.company "
                "ON CONFLICT (company) DO UPDATE SET "
                "contacts = co.contacts + EXCLUDED.contacts, "
                "touches = co.touches + EXCLUDED.touches, "
                "last_touch_at = GREATEST(co.last_touch_at, EXCLUDED.last_touch_at)"
            ),
            {
                "ids": ids, "names": [r.name for r in rows], "companies": [r.company for r in rows],
                "titles": [r.title for r in rows], "added": [r.added for r in rows],
                "touches": [r.touches for r in rows], "first": [r.first_touch_at for r in rows],
                "last": [r.last_touch_at for r in rows], "linkedin": [r.linkedin_connected_at for r in rows],
                "days": stay_in_touch_days,
            },
            binary=True,
        )

    def save_edges(self, curs: Cursor[DictRow], touches: dict[TouchKey, TouchGroup]) -> None:
        keys = list(touches)
        groups = [touches[key] for key in keys]
        # One statement for both kinds of edge, so the page's touches are sent once. A touch on
        # a candidacy is its owner's and its candidate's; a note on the contact's own stream is its sender's.
        curs.execute(
            self.sql(
                "WITH t AS (SELECT t.*, k.owner_id, k.candidate_id "
                "FROM unnest(%b::uuid[], %b::uuid[], %b::uuid[], %b::integer[], %b::integer[], %b::timestamptz[], "
                "%b::timestamptz[]) AS t(contact_id, candidacy_id, sender_id, touches, interviews, first_touch_at, "
                "last_touch_at) "
                "LEFT JOIN {schema}.contact_network_candidacies k USING (candidacy_id)), "
                "recruiter_edges AS (INSERT INTO {schema}.contact_network_recruiter_edges AS e "
                "(recruiter_id, contact_id, touches, first_touch_at, last_touch_at) "
                "SELECT coalesce(owner_id, sender_id), contact_id, sum(touches), min(first_touch_at), "
                "max(last_touch_at) FROM t GROUP BY 1, 2 "
                "ON CONFLICT (recruiter_id, contact_id) DO UPDATE SET "
                "touches = e.touches + EXCLUDED.touches, "
                "first_touch_at = LEAST(e.first_touch_at, EXCLUDED.first_touch_at), "
                "last_touch_at = GREATEST(e.last_touch_at, EXCLUDED.last_touch_at)) "
                "INSERT INTO {schema}.contact_network_candidate_edges AS e "
                "(candidate_id, contact_id, interviews, touches, first_touch_at, last_touch_at) "
                "SELECT candidate_id, contact_id, sum(interviews), sum(touches), min(first_touch_at), "
                "max(last_touch_at) FROM t WHERE candidate_id IS NOT NULL GROUP BY 1, 2 "
                "ON CONFLICT (candidate_id, contact_id) DO UPDATE SET "
                "interviews = e.interviews + EXCLUDED.interviews, "
                "touches = e.touches + EXCLUDED.touches, "
                "first_touch_at = LEAST(e.first_touch_at, EXCLUDED.first_touch_at), "
                "last_touch_at = GREATEST(e.last_touch_at, EXCLUDED.last_touch_at)"
            ),
            (
                [key[0] for key in keys], [key[1] for key in keys], [key[2] for key in keys],
                [g.touches for g in groups], [g.interviews for g in groups],
                [g.first_touch_at for g in groups], [g.last_touch_at for g in groups],
            ),
            binary=True,
        )

    def scrub_contacts(self, curs: Cursor[DictRow], erased: dict[UUID, datetime]) -> None:
        """Forget the contacts' names and titles, and stop their stay-in-touch reminders."""
        curs.execute(
            self.sql("UPDATE {schema}.contact_network_contacts AS c SET name = %s, title = NULL, "
                     "erased_at = LEAST(c.erased_at, e.erased_at), next_touch_due = NULL "
                     "FROM unnest(%b::uuid[], %b::timestamptz[]) AS e(contact_id, erased_at) "
                     "WHERE c.contact_id = e.contact_id"),
            (ERASED_NAME, list(erased), list(erased.values())),
        )


class ContactNetworkProjection(PagedProjection[ContactNetworkView]):
    name = "contact_network"
    version = 2  # 2: contact_network_contacts.erased_at
    # Catching up with the other read models, each full page is written while the next is taken in.
    write_behind = True
    topics = tuple(
        get_topic(event_class)
        for event_class in (
            Candidacy.Opened, Candidacy.Interview, Candidacy.NoteSent, Candidacy.CheckInSent,
            Contact.Added, Contact.NoteSent, Contact.LinkedInConnected, Contact.Erased,
        )
    )

    def process_page(self, events: Sequence[DomainEventProtocol[UUID]], tracking: Tracking) -> None:
        opened: list[Candidacy.Opened] = []
        contacts: dict[UUID, ContactChange] = {}
        touches: dict[TouchKey, TouchGroup] = {}
        erased: dict[UUID, datetime] = {}

        def touch(contact_id: UUID, candidacy_id: UUID | None, event: Any, is_interview: bool = False) -> None:
            contacts.setdefault(contact_id, ContactChange()).touch(event.occurred_at)
            sender_id = event.actor_id if candidacy_id is None else None
            touches.setdefault((contact_id, candidacy_id, sender_id), TouchGroup()).touch(
                event.occurred_at, is_interview
            )

        for event in events:
            if isinstance(event, Candidacy.Opened):
                opened.append(event)
            elif isinstance(event, Candidacy.Interview):
                for contact_id in event.interviewer_ids:
                    touch(contact_id, event.originator_id, event, is_interview=True)
            elif isinstance(event, Candidacy.NoteSent):
                touch(event.contact_id, event.originator_id, event)
            elif isinstance(event, Candidacy.CheckInSent):
                if event.contact_id is not None:
                    touch(event.contact_id, event.originator_id, event)
            elif isinstance(event, Contact.Added):
                change = contacts.setdefault(event.originator_id, ContactChange())
                change.name, change.company, change.title, change.added = event.name, event.company, event.title, 1
            elif isinstance(event, Contact.NoteSent):
                touch(event.originator_id, None, event)
            elif isinstance(event, Contact.LinkedInConnected):
                change = contacts.setdefault(event.originator_id, ContactChange())
                earlier = [at for at in (change.linkedin_connected_at, event.connected_at) if at is not None]
                change.linkedin_connected_at = min(earlier)
            elif isinstance(event, Contact.Erased):
                erased.setdefault(event.originator_id, event.occurred_at)

        view = self.view
        with view.datastore.transaction(commit=True) as curs:
            view.start_page(curs, tracking.application_name)
            # Candidacies first: the edges of this page's touches look their owners up.
            if opened:
                view.save_candidacies(curs, opened)
            if contacts:
                view.save_contacts(curs, contacts, self.policy.stay_in_touch_days)
            if touches:
                view.save_edges(curs, touches)
            # Last: a page may hold both the contact's Added event and its erasure.
            if erased:
                view.scrub_contacts(curs, erased)
            view.record_tracking(curs, tracking)
