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
from domain.values import CandidacyFacts, ContactFacts, FollowUpItem, FollowUpStatus
from projections.analytics import THANK_YOU_FIGURES, check_in_figures
from projections.facts_codec import facts_from_json
from projections.follow_up_queue import ITEM_SOURCES

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


# Each open status as a condition on the dates, as _STATUS derives it for an item not done.
_OPEN_STATUS_CONDITIONS = {
    FollowUpStatus.UPCOMING.value: "%(now)s < due_from",
    FollowUpStatus.DUE.value: "(due_from <= %(now)s AND %(now)s <= due_by)",
    FollowUpStatus.OVERDUE.value: "due_by < %(now)s",
}


def _status_filter(statuses: Sequence[str]) -> str:
    """The items of these statuses at `now`, spelled out on the dates where it can be: the planner
    estimates such conditions well (and reads `due_by` ranges from the indexes), a CASE not at all.
    Nothing is done after now: an item not done is one whose done_at is NULL."""
    open_statuses = [status for status in _OPEN_STATUS_CONDITIONS if status in statuses]
    if len(open_statuses) == len(_OPEN_STATUS_CONDITIONS):
        open_condition = "done_at IS NULL"
    elif open_statuses:
        open_condition = f"done_at IS NULL AND ({' OR '.join(_OPEN_STATUS_CONDITIONS[s] for s in open_statuses)})"
    else:
        open_condition = "FALSE"
    if FollowUpStatus.DONE.value in statuses:
        return f"(done_at IS NOT NULL OR ({open_condition}))"
    return open_condition


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
        "owner_id": filters.owner_id, "kind": filters.kind,
        "no_contact": NO_CONTACT, "limit": limit, "has_after": after is not None,
    }
    if after is not None:
        params.update(zip(("a_due_by", "a_candidacy", "a_kind", "a_contact", "a_opened"), after, strict=True))
    else:
        params.update(a_due_by=None, a_candidacy=None, a_kind=None, a_contact=None, a_opened=None)
    # Spelled out rather than parameterised, so that the planner can use the (team, due_by) index
    # on open items: an open item is one not done yet, and nothing is done after now.
    team_filter = "TRUE" if scope.all_teams else ("team = %(team)s" if scope.team is not None else "team IS NULL")
    status_filter = _status_filter(statuses)
    order = 'due_by, candidacy_id, kind COLLATE "C", sort_contact, opened_at'
    # The page of each kind of row, then the page of both: the view follow_up_items would give the
    # same rows, but its stay_in_touch rows come from a join, which the planner would compute whole
    # and sort, where a page asked of it alone walks the schedules in due_by order.
    branches = [
        f"""(SELECT * FROM (
            SELECT kind, candidacy_id, candidate_id, contact_id, opened_at, due_from, due_by, done_at, flags,
                   reason, COALESCE(contact_id, %(no_contact)s) AS sort_contact, {_STATUS} AS status
            FROM {source} AS items
            WHERE {team_filter} AND {status_filter}
              AND (%(candidacy_id)s::uuid IS NULL OR candidacy_id = %(candidacy_id)s)
              AND (%(candidate_id)s::uuid IS NULL OR candidate_id = %(candidate_id)s)
              AND (%(owner_id)s::uuid IS NULL OR owner_id = %(owner_id)s)
              AND (%(kind)s::text IS NULL OR kind = %(kind)s)
        ) AS items
        WHERE (NOT %(has_after)s OR (due_by, candidacy_id, kind COLLATE "C", sort_contact, opened_at)
               > (%(a_due_by)s::timestamptz, %(a_candidacy)s::uuid, %(a_kind)s::text COLLATE "C",
                  %(a_contact)s::uuid, %(a_opened)s::timestamptz))
        ORDER BY {order}
        LIMIT %(limit)s)"""
        for source in ITEM_SOURCES
    ]
    statement = _sql(f"SELECT * FROM ({' UNION ALL '.join(branches)}) AS page ORDER BY {order} LIMIT %(limit)s",
                     schema)
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
            "SELECT contact_id, touches, linkedin_connected_at, erased_at FROM {schema}.follow_up_contacts "
            "WHERE contact_id = ANY(%b)",
            schema,
        ),
        (list(contact_ids),),
    ).fetchall()
    return {
        row["contact_id"]: ContactFacts(row["contact_id"], tuple(row["touches"]), row["linkedin_connected_at"],
                                        row["erased_at"])
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


# The candidates list (candidates read model): by registration time, then id.
# (registered_at, candidate_id)
CandidateKey = tuple[datetime, UUID]


@dataclass(frozen=True)
class CandidateFilters:
    owner_id: UUID | None = None
    specialty: str | None = None
    career_stage: str | None = None


def candidates_page(
    conn: Connection[DictRow],
    schema: str,
    *,
    scope: TeamScope,
    filters: CandidateFilters,
    after: CandidateKey | None,
    limit: int,
) -> list[dict[str, Any]]:
    """One page of the candidates the scope sees, oldest registration first."""
    a_registered, a_candidate = after if after is not None else (None, None)
    statement = _sql(
        """SELECT candidate_id, owner_id, team, specialty, career_stage, registered_at
        FROM {schema}.candidates
        WHERE erased_at IS NULL
          AND (%(all_teams)s OR team IS NOT DISTINCT FROM %(team)s)
          AND (%(owner_id)s::uuid IS NULL OR owner_id = %(owner_id)s)
          AND (%(specialty)s::text IS NULL OR specialty = %(specialty)s)
          AND (%(career_stage)s::text IS NULL OR career_stage = %(career_stage)s)
          AND (NOT %(has_after)s
               OR (registered_at, candidate_id) > (%(a_registered)s::timestamptz, %(a_candidate)s::uuid))
        ORDER BY registered_at, candidate_id
        LIMIT %(limit)s""",
        schema,
    )
    params = {
        "all_teams": scope.all_teams, "team": scope.team, "owner_id": filters.owner_id,
        "specialty": filters.specialty, "career_stage": filters.career_stage, "has_after": after is not None,
        "a_registered": a_registered, "a_candidate": a_candidate, "limit": limit,
    }
    return list(conn.execute(statement, params).fetchall())


def candidate_key(row: dict[str, Any]) -> CandidateKey:
    return (row["registered_at"], row["candidate_id"])


# The contact network (contact_network read model). Contacts come in the order they are
# due a touch: never touched first, then by next_touch_due, then id; erased contacts, owed
# no touch, come last. Unlike strength, which decays with the clock, that order does not
# move between two pages.
# (0 never touched, 1 due a touch, 2 erased; next_touch_due or None; contact id)
NetworkContactKey = tuple[int, datetime | None, UUID]
NEVER_TOUCHED, DUE_A_TOUCH, ERASED = 0, 1, 2


def network_contacts_page(
    conn: Connection[DictRow],
    schema: str,
    *,
    company: str | None,
    stale_after_days: int | None,
    after: NetworkContactKey | None,
    limit: int,
) -> list[dict[str, Any]]:
    """One page of contacts, with their touches and today's strength; `stale_after_days=N` keeps
    the contacts never touched or last touched more than N days ago (and not erased: those are
    owed no touch)."""
    a_group, a_due, a_id = after if after is not None else (None, None, None)
    statement = _sql(
        """SELECT id, name, company, touches, last_touch_at, next_touch_due, strength, due_group
        FROM (SELECT *, CASE WHEN erased_at IS NOT NULL THEN 2 WHEN next_touch_due IS NULL THEN 0 ELSE 1 END
                        AS due_group
              FROM {schema}.network_contacts) AS c
        WHERE (%(company)s::text IS NULL OR company = %(company)s)
          AND (%(stale_after_days)s::integer IS NULL OR (erased_at IS NULL AND (last_touch_at IS NULL
               OR last_touch_at < now() - make_interval(days => %(stale_after_days)s::integer))))
          AND (NOT %(has_after)s OR (due_group, coalesce(next_touch_due, '-infinity'), id)
               > (%(a_group)s::integer, coalesce(%(a_due)s::timestamptz, '-infinity'), %(a_id)s::uuid))
        ORDER BY due_group, coalesce(next_touch_due, '-infinity'), id
        LIMIT %(limit)s""",
        schema,
    )
    params = {
        "company": company, "stale_after_days": stale_after_days, "has_after": after is not None,
        "a_group": a_group, "a_due": a_due, "a_id": a_id, "limit": limit,
    }
    return list(conn.execute(statement, params).fetchall())


def network_contact_key(row: dict[str, Any]) -> NetworkContactKey:
    return (row["due_group"], row["next_touch_due"], row["id"])


def network_companies_page(
    conn: Connection[DictRow], schema: str, *, after: str | None, limit: int
) -> list[dict[str, Any]]:
    """One page of companies by name (byte order, so the cursor's comparison is the sort's)."""
    statement = _sql(
        """SELECT company AS name, contacts, touches, last_touch_at, strength
        FROM {schema}.network_companies
        WHERE %(after)s::text IS NULL OR company COLLATE "C" > %(after)s::text COLLATE "C"
        ORDER BY company COLLATE "C"
        LIMIT %(limit)s""",
        schema,
    )
    return list(conn.execute(statement, {"after": after, "limit": limit}).fetchall())


# Follow-up compliance (analytics read model) over a range of interview dates. Each query
# groups three ways at once: overall, per team, per recruiter (owner_id with its team).
# The thank-you figures count the interviewer-rounds held in the range; the check-in,
# two-week and outcome figures count the candidacies whose latest round was held in it.
# Like the analytics views, what is overdue, missing or pending is judged at now().

# GROUPING() sets a bit per column left out of the row's grouping set: owner_id 2, team 1.
_LEVEL = "GROUPING(owner_id, team)"
OVERALL, PER_TEAM, PER_RECRUITER = 3, 2, 0


@dataclass(frozen=True)
class ComplianceFilters:
    start: datetime
    end: datetime
    scope: TeamScope
    team: str | None = None
    has_team: bool = False  # team= was given (None is then the team-less group)
    recruiter_id: UUID | None = None

    def params(self) -> dict[str, Any]:
        return {
            "start": self.start, "end": self.end, "all_teams": self.scope.all_teams, "scope_team": self.scope.team,
            "has_team": self.has_team, "team": self.team, "recruiter_id": self.recruiter_id,
        }


_COMPLIANCE_WHERE = """(%(all_teams)s OR team IS NOT DISTINCT FROM %(scope_team)s)
          AND (NOT %(has_team)s OR team IS NOT DISTINCT FROM %(team)s)
          AND (%(recruiter_id)s::uuid IS NULL OR owner_id = %(recruiter_id)s)"""


def compliance_thank_yous(conn: Connection[DictRow], schema: str, filters: ComplianceFilters) -> list[dict[str, Any]]:
    statement = _sql(
        f"""SELECT {_LEVEL} AS level, owner_id, team,
               {THANK_YOU_FIGURES}
        FROM {{schema}}.analytics_interviews
        WHERE held_at >= %(start)s AND held_at < %(end)s AND {_COMPLIANCE_WHERE}
        GROUP BY GROUPING SETS ((), (team), (owner_id, team))""",
        schema,
    )
    return list(conn.execute(statement, filters.params()).fetchall())


def compliance_check_ins(conn: Connection[DictRow], schema: str, filters: ComplianceFilters) -> list[dict[str, Any]]:
    statement = _sql(
        f"""SELECT {_LEVEL} AS level, owner_id, team,
               {check_in_figures()}
        FROM {{schema}}.analytics_check_ins
        WHERE latest_round_held_at >= %(start)s AND latest_round_held_at < %(end)s AND {_COMPLIANCE_WHERE}
        GROUP BY GROUPING SETS ((), (team), (owner_id, team))""",
        schema,
    )
    return list(conn.execute(statement, filters.params()).fetchall())


def compliance_outcomes(conn: Connection[DictRow], schema: str, filters: ComplianceFilters) -> list[dict[str, Any]]:
    statement = _sql(
        f"""SELECT {_LEVEL} AS level, owner_id, team, outcome,
               count(*) FILTER (WHERE thank_you_within_24h) AS with_thank_you_within_24h,
               count(*) FILTER (WHERE NOT thank_you_within_24h) AS without_thank_you_within_24h
        FROM {{schema}}.analytics_candidacies
        WHERE outcome IS NOT NULL
          AND latest_round_held_at >= %(start)s AND latest_round_held_at < %(end)s AND {_COMPLIANCE_WHERE}
        GROUP BY GROUPING SETS ((outcome), (team, outcome), (owner_id, team, outcome))
        ORDER BY outcome""",
        schema,
    )
    return list(conn.execute(statement, filters.params()).fetchall())


# The audit index (audit read model), in log order.


@dataclass(frozen=True)
class AuditFilters:
    actor_id: UUID | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None
    event_type: str | None = None
    stream: UUID | None = None


def audit_events_page(
    conn: Connection[DictRow], schema: str, *, filters: AuditFilters, after: int | None, limit: int
) -> list[dict[str, Any]]:
    """One page of events by position; recorded_from inclusive, recorded_to exclusive."""
    statement = _sql(
        """SELECT position, event_type AS type, aggregate_type, stream, version, actor_id, correlation_id,
               occurred_at, recorded_at
        FROM {schema}.audit_events
        WHERE (%(actor_id)s::uuid IS NULL OR actor_id = %(actor_id)s)
          AND (%(recorded_from)s::timestamptz IS NULL OR recorded_at >= %(recorded_from)s)
          AND (%(recorded_to)s::timestamptz IS NULL OR recorded_at < %(recorded_to)s)
          AND (%(event_type)s::text IS NULL OR event_type = %(event_type)s)
          AND (%(stream)s::uuid IS NULL OR stream = %(stream)s)
          AND (%(after)s::bigint IS NULL OR position > %(after)s)
        ORDER BY position
        LIMIT %(limit)s""",
        schema,
    )
    params = {
        "actor_id": filters.actor_id, "recorded_from": filters.recorded_from, "recorded_to": filters.recorded_to,
        "event_type": filters.event_type, "stream": filters.stream, "after": after, "limit": limit,
    }
    return list(conn.execute(statement, params).fetchall())
