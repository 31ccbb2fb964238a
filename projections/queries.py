"""The read side's SQL: every query the API runs on the read models (and on the log's positions)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import Connection
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from domain.policy import FollowUpPolicy
from domain.rules import follow_up_items
from domain.values import CandidacyFacts, ContactFacts, FollowUpItem
from projections.facts_codec import facts_from_json

# The eventsourcing library names its stored-events table after the application ("Followup").
EVENTS_TABLE = "followup_events"
# Sorts a missing contact before any real one, so every item has a total order.
NO_CONTACT = UUID(int=0)


@dataclass(frozen=True)
class TeamScope:
    """Which teams' rows a reader may see: every team, or exactly one (None is the team-less group)."""

    all_teams: bool
    team: str | None = None


@dataclass(frozen=True)
class ItemFilters:
    candidacy_id: UUID | None = None
    candidate_id: UUID | None = None
    owner_id: UUID | None = None
    kind: str | None = None


# The follow-up queue's order: by deadline, then a unique tie-break.
# (due_by, candidacy_id, kind, contact_id or NO_CONTACT, opened_at)
ItemKey = tuple[datetime, UUID, str, UUID, datetime]


def _sql(statement: str, schema: str) -> Composed:
    return SQL(statement).format(schema=Identifier(schema), events=Identifier(EVENTS_TABLE))


_STATUS = """CASE
    WHEN done_at IS NOT NULL AND done_at <= %(now)s THEN 'done'
    WHEN %(now)s < due_from THEN 'upcoming'
    WHEN %(now)s <= due_by THEN 'due'
    ELSE 'overdue' END"""


def follow_up_items_page(
    conn: Connection[DictRow],
    schema: str,
    *,
    now: datetime,
    scope: TeamScope,
    filters: ItemFilters,
    statuses: Sequence[str],
    after: ItemKey | None,
    limit: int,
) -> list[dict[str, Any]]:
    """One page of the queue, each item's status derived from its dates at `now`."""
    params: dict[str, Any] = {
        "now": now, "all_teams": scope.all_teams, "team": scope.team,
        "candidacy_id": filters.candidacy_id, "candidate_id": filters.candidate_id,
        "owner_id": filters.owner_id, "kind": filters.kind, "statuses": list(statuses),
        "no_contact": NO_CONTACT, "limit": limit, "has_after": after is not None,
    }
    if after is not None:
        params.update(zip(("a_due_by", "a_candidacy", "a_kind", "a_contact", "a_opened"), after, strict=True))
    else:
        params.update(a_due_by=None, a_candidacy=None, a_kind=None, a_contact=None, a_opened=None)
    statement = _sql(
        f"""SELECT * FROM (
            SELECT kind, candidacy_id, candidate_id, contact_id, opened_at, due_from, due_by, done_at, flags,
                   reason, COALESCE(contact_id, %(no_contact)s) AS sort_contact, {_STATUS} AS status
            FROM {{schema}}.follow_up_items
            WHERE (%(all_teams)s OR team IS NOT DISTINCT FROM %(team)s)
              AND (%(candidacy_id)s::uuid IS NULL OR candidacy_id = %(candidacy_id)s)
              AND (%(candidate_id)s::uuid IS NULL OR candidate_id = %(candidate_id)s)
              AND (%(owner_id)s::uuid IS NULL OR owner_id = %(owner_id)s)
              AND (%(kind)s::text IS NULL OR kind = %(kind)s)
        ) AS items
        WHERE status = ANY(%(statuses)s)
          AND (NOT %(has_after)s OR (due_by, candidacy_id, kind COLLATE "C", sort_contact, opened_at)
               > (%(a_due_by)s::timestamptz, %(a_candidacy)s::uuid, %(a_kind)s::text COLLATE "C",
                  %(a_contact)s::uuid, %(a_opened)s::timestamptz))
        ORDER BY due_by, candidacy_id, kind COLLATE "C", sort_contact, opened_at
        LIMIT %(limit)s""",
        schema,
    )
    return list(conn.execute(statement, params).fetchall())


@dataclass(frozen=True)
class CandidacyFactsRow:
    facts: CandidacyFacts
    owner_id: UUID
    team: str | None


def candidacy_facts(
    conn: Connection[DictRow], schema: str, *, scope: TeamScope, filters: ItemFilters
) -> list[CandidacyFactsRow]:
    """The facts the follow-up queue keeps of each matching candidacy (for evaluating the rules at any time)."""
    rows = conn.execute(
        _sql(
            """SELECT candidacy_id, owner_id, team, facts FROM {schema}.follow_up_candidacies
            WHERE (%(all_teams)s OR team IS NOT DISTINCT FROM %(team)s)
              AND (%(candidacy_id)s::uuid IS NULL OR candidacy_id = %(candidacy_id)s)
              AND (%(candidate_id)s::uuid IS NULL OR candidate_id = %(candidate_id)s)
              AND (%(owner_id)s::uuid IS NULL OR owner_id = %(owner_id)s)
            ORDER BY candidacy_id""",
            schema,
        ),
        {
            "all_teams": scope.all_teams, "team": scope.team, "candidacy_id": filters.candidacy_id,
            "candidate_id": filters.candidate_id, "owner_id": filters.owner_id,
        },
    ).fetchall()
    return [CandidacyFactsRow(facts_from_json(row["facts"]), row["owner_id"], row["team"]) for row in rows]


def contact_facts(conn: Connection[DictRow], schema: str, contact_ids: Iterable[UUID]) -> dict[UUID, ContactFacts]:
    rows = conn.execute(
        _sql(
            "SELECT contact_id, touches, linkedin_connected_at FROM {schema}.follow_up_contacts "
            "WHERE contact_id = ANY(%s)",
            schema,
        ),
        (list(contact_ids),),
    ).fetchall()
    return {
        row["contact_id"]: ContactFacts(row["contact_id"], tuple(row["touches"]), row["linkedin_connected_at"])
        for row in rows
    }


def event_positions(
    conn: Connection[DictRow], schema: str, originator_id: UUID, *, after_version: int, limit: int
) -> dict[int, int]:
    """Each event's log position (notification id) by its version, for one stream."""
    rows = conn.execute(
        _sql(
            "SELECT originator_version, notification_id FROM {schema}.{events} "
            "WHERE originator_id = %s AND originator_version > %s ORDER BY originator_version LIMIT %s",
            schema,
        ),
        (originator_id, after_version, limit),
    ).fetchall()
    return {row["originator_version"]: row["notification_id"] for row in rows}


def item_key(item: dict[str, Any]) -> ItemKey:
    return (item["due_by"], item["candidacy_id"], item["kind"], item["sort_contact"], item["opened_at"])


def follow_up_items_as_of(
    conn: Connection[DictRow],
    schema: str,
    *,
    as_of: datetime,
    scope: TeamScope,
    filters: ItemFilters,
    statuses: Sequence[str],
    after: ItemKey | None,
    limit: int,
    policy: FollowUpPolicy,
) -> list[dict[str, Any]]:
    """One page of the queue as it stood at as_of: the rules evaluated on the facts that had occurred by then."""
    rows = candidacy_facts(conn, schema, scope=scope, filters=filters)
    contacts = contact_facts(conn, schema, {c for row in rows for c in row.facts.interviewer_ids})
    items = [
        _item_row(item)
        for row in rows
        for item in follow_up_items(row.facts, as_of, contacts=contacts, policy=policy)
        if (filters.kind is None or item.kind.value == filters.kind) and item.status.value in statuses
    ]
    items.sort(key=item_key)
    if after is not None:
        items = [item for item in items if item_key(item) > after]
    return items[:limit]


def _item_row(item: FollowUpItem) -> dict[str, Any]:
    return {
        "kind": item.kind.value, "candidacy_id": item.candidacy_id, "candidate_id": item.candidate_id,
        "contact_id": item.contact_id, "opened_at": item.opened_at, "due_from": item.due_from,
        "due_by": item.due_by, "done_at": item.done_at, "flags": list(item.flags), "reason": item.reason,
        "sort_contact": item.contact_id or NO_CONTACT, "status": item.status.value,
    }
